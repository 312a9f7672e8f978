# shellcheck shell=bash
# What the preamble tells and leaves besides client configuration: log lines (every line names the
# preamble; values are shown with %q or masked; secrets are never passed here), refusals naming the key
# and the grammar rule, private files, and the report for `airgap preamble-check` (report.tsv and
# ignored-keys, key names only). Part of the library sourced by proxy-config.sh (conventions there).

pc_log() { printf 'proxy-config: %s\n' "$*" >&2; }

pc_fail() {
    printf 'proxy-config: error: %s\n' "$*" >&2
    return 1
}

# Refuse key $1's value by grammar rule $2: `proxy-config: error: KEY: SUMMARY (RULE)`.
pc_refuse() {
    pc_fail "$1: ${PC_RULE_SUMMARY[$2]} ($2)"
}

# Write $2 to file $1, mode 0600 (umask 077 is in force while the preamble runs), atomically: a
# crash never leaves half a credential file, and an older file's looser mode is not kept.
pc_write_private() {
    local file=$1 tmp=$1.$$.$RANDOM
    if ! { [[ -d ${file%/*} ]] || mkdir -p -- "${file%/*}"; } || ! printf '%s' "$2" >"$tmp" || ! mv -f -- "$tmp" "$file"; then
        pc_fail "cannot write $file"
        return 2  # reported here; a writer's 1 means a value its format cannot carry
    fi
    PC_WRITTEN+=("$file")  # handed off to the build (handoff.sh)
}

# Record one line of the report (tab-separated key names: never values) for `airgap preamble-check`.
pc_report() {
    local IFS=$'\t'
    printf '%s\n' "$*" >>"$PC_STATE_DIR/report.tsv"
}

# Keys present that this strategy does not consume (NUL-separated, for the report).
pc_report_ignored() {
    local path name scope consumed=" ${PC_CONSUMED[$PC_STRATEGY]} "
    : >"$PC_STATE_DIR/ignored-keys"
    [[ -d $PC_DIR ]] || return 0
    for path in "$PC_DIR"/* "$PC_DIR"/.[!.]*; do  # a dot-file is an entry too (..data and the like are not)
        [[ -e $path || -L $path ]] || continue
        name=${path##*/} scope=${name%%.*}
        [[ " $PC_NOT_KEYS " != *" $name "* ]] || continue
        if [[ $name == *.* && " $PC_STRATEGIES " == *" $scope "* ]]; then
            [[ $scope == "$PC_STRATEGY" && $consumed == *" ${name#*.} "* ]] && continue
        elif [[ $consumed == *" $name "* ]]; then
            continue
        fi
        printf '%s\0' "$name" >>"$PC_STATE_DIR/ignored-keys"
        printf -v name '%q' "$name"
        pc_log "ignoring $name: not used by the $PC_STRATEGY build"
    done
}
