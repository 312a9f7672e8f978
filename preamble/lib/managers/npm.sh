# shellcheck shell=bash
# npm: ~/.npmrc (or $NPM_CONFIG_USERCONFIG) with the registry, replace-registry-host=npmjs and the
# token under npm's own normal form of the registry URL. Writer protocol: packages.sh.

# $1 <- the .npmrc key npm looks the token of registry $2 up under: //host[:port]/path/ as npm
# normalises it (lowercase host, default port dropped, no user-info, the path up to its last '/').
# harness/contract/grammar.py npm_token_key; $2 is a URL the grammar accepted (no query, no fragment).
pc__npm_token_key() {
    local LC_ALL=C _scheme=${2%%://*} _rest=${2#*://} _authority _host _port
    _authority=${_rest%%/*} _rest=${_rest#"$_authority"}
    _authority=${_authority##*@}
    if [[ $_authority == \[* ]]; then
        _host=${_authority%%]*}] _port=${_authority#*]}
    else
        _host=${_authority%%:*} _port=${_authority#"$_host"}
    fi
    _port=${_port#:} _host=${_host,,}
    [[ ($_scheme == https && $_port == 443) || ($_scheme == http && $_port == 80) ]] && _port=''
    printf -v "$1" %s "//$_host${_port:+:$_port}${_rest%/*}/"
}

# $1 <- $2 with npm's ${VAR} expansion disabled: npm expands ${VAR} in .npmrc keys and values; an odd
# run of backslashes keeps it literal. Byte-wise and linear: one word split cuts the value at every
# '${' (at \xff, a byte UTF-8 never uses; a value holding \xfe or \xff, not UTF-8, is encoded around
# it first), so the loop runs once per '${', not once per byte, and never rescans the rest of the value.
pc__npm_no_env() {
    local LC_ALL=C _s=$2 IFS=$'\xff' _open=$'\x24{' _encoded='' _noglob='' _pieces _i _prev _lead _run _result
    if [[ $_s != *"$_open"* ]]; then
        printf -v "$1" %s "$_s"
        return 0
    fi
    if [[ $_s == *[$'\xfe\xff']* ]]; then
        _encoded=1 _s=${_s//$'\xfe'/$'\xfe\xfd'} _s=${_s//$'\xff'/$'\xfe\xfc'}
    fi
    [[ $- == *f* ]] && _noglob=1
    set -f
    # Split on purpose (IFS is \xff, globbing is off); the '.' keeps a last, empty piece (removed below).
    # shellcheck disable=SC2206
    _pieces=(${_s//"$_open"/$'\xff'}.)
    [[ -n $_noglob ]] || set +f
    _pieces[${#_pieces[@]} - 1]=${_pieces[${#_pieces[@]} - 1]%.}
    # Each piece but the first follows a '${'. Up to its first '$' or '{', one that starts with `NAME}`
    # (NAME: no '$', '{' or '}') follows an expansion: the backslashes just before that '${' (the end
    # of the piece before) are doubled and one is added. Pieces are joined back with '${'.
    for ((_i = 1; _i < ${#_pieces[@]}; _i++)); do
        case ${_pieces[_i]%%[\$\{]*} in
            [!\}]*\}*)
                _prev=${_pieces[_i - 1]} _run=''
                if [[ $_prev == *\\ ]]; then
                    _lead=${_prev%[!\\]*}
                    if [[ $_lead == "$_prev" ]]; then _run=$_prev; else _run=${_prev:${#_lead}+1}; fi
                fi
                _pieces[_i - 1]+=$_run\\
                ;;
        esac
    done
    printf -v _result "%s$_open" "${_pieces[@]}"
    _result=${_result%"$_open"}
    if [[ -n $_encoded ]]; then
        _result=${_result//$'\xfe\xfc'/$'\xff'} _result=${_result//$'\xfe\xfd'/$'\xfe'}
    fi
    printf -v "$1" %s "$_result"
}

pc_write_npm() {
    local url=$1 auth=$2 token=$5 file=${NPM_CONFIG_USERCONFIG:-$HOME/.npmrc} out registry key value
    pc__npm_no_env registry "$url" && pc_json_string registry "$registry"
    # replace-registry-host=npmjs (npm's default, written out so that a global npmrc cannot turn it off): lockfile
    # `resolved` URLs on registry.npmjs.org are fetched from the registry. Not `always`: npm 9.2 (Debian bookworm's) then puts
    # the registry's path in front of tarball URLs that already carry it (npm/cli#6110), so every install
    # without a lockfile (npm install, npm i -g) asks a path-prefixed mirror for .../npm-proxy/npm-proxy/... .
    out="registry=$registry"$'\nreplace-registry-host=npmjs\n'
    if [[ $auth == token ]]; then
        pc__npm_token_key key "$url" && pc__npm_no_env key "$key:_authToken" && pc_json_string key "$key"
        pc__npm_no_env value "$token" && pc_json_string value "$value"
        out+="$key=$value"$'\n'
    fi
    pc_handoff_location NPM_CONFIG_USERCONFIG
    # shellcheck disable=SC2034 # read by handoff.sh
    pc_write_private "$file" "$out" && PC_HANDOFF_NPMRC=$file
}
