# shellcheck shell=bash
# Composer: $COMPOSER_HOME/config.json (packagist.org disabled, one composer repository) and auth.json
# (http-basic for the proxy's host[:port]). Writer protocol: packages.sh.

pc_write_composer() {
    local url=$1 auth=$2 home=${COMPOSER_HOME:-$HOME/.composer} repository host secure=true rest user pass out
    export COMPOSER_HOME=$home
    PC_HANDOFF_ENV+=(COMPOSER_HOME)
    pc_json_string repository "$url"
    [[ $url == http://* ]] && secure=false
    printf -v out '{\n  "config": {"secure-http": %s},\n  "repositories": {\n    "packagist.org": false,\n    "proxy-config": {"type": "composer", "url": %s}\n  }\n}\n' \
        "$secure" "$repository"
    pc_write_private "$home/config.json" "$out" || return
    if [[ $auth == basic ]]; then
        rest=${url#*://} host=${rest%%[/?#]*} host=${host##*@}
        pc_json_string host "$host"
        pc_json_string user "$3"
        pc_json_string pass "$4"
        printf -v out '{"http-basic": {%s: {"username": %s, "password": %s}}}\n' "$host" "$user" "$pass"
        pc_write_private "$home/auth.json" "$out"
    elif [[ -e $home/auth.json ]]; then
        rm -f -- "$home/auth.json"
    fi
}
