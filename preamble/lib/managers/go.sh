# shellcheck shell=bash
# Go: GOPROXY (no direct), GOSUMDB through the proxy, GOTOOLCHAIN=local, exported and in Go's env file.
# Writer protocol: packages.sh.

pc_write_go() {
    local file=${GOENV:-${XDG_CONFIG_HOME:-$HOME/.config}/go/env} proxy sumdb base
    pc__url_with_auth proxy "$1" "$2" "$3" "$4"
    # No ",direct": modules come from the proxy only. The checksum database is reached through the
    # same proxy (<proxy>/sumdb/sum.golang.org), never directly. GOTOOLCHAIN=local: no toolchain download.
    pc_url_without_trailing_slashes base "$proxy"
    sumdb="sum.golang.org $base/sumdb/sum.golang.org"
    # The environment takes at most 128 KiB per entry (harness/contract/grammar.py go_environment_violation):
    # status 3, which pc_configure_packages refuses naming the password key (go-environment-limit).
    ((${#sumdb} + 9 > 131072)) && return 3
    export GOPROXY=$proxy GOSUMDB=$sumdb GOTOOLCHAIN=local
    PC_HANDOFF_ENV+=(GOPROXY GOSUMDB GOTOOLCHAIN)
    pc_write_private "$file" "GOPROXY=$GOPROXY"$'\n'"GOSUMDB=$GOSUMDB"$'\n'"GOTOOLCHAIN=local"$'\n'
}
