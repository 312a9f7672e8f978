# shellcheck shell=bash
# Reading the proxy-config directory and judging its values by the value grammar (harness/contract/grammar.py,
# whose URL patterns and rule summaries catalog.sh carries): lookup with strategy scoping, credentials,
# image references (the distribution grammar, harness/contract/reference.py in bash), OCI mirror values, package
# URLs and the credentials Maven's and NuGet's XML can carry. Part of the library sourced by
# proxy-config.sh (conventions there: results go to the variables the caller names).

PC_MAX_VALUE_BYTES=65536
declare -gA PC_UNUSABLE_SAID=()  # key files said to be unusable (pc__unusable); pc__main empties it

pc__init_grammar() {
    # The distribution reference grammar (github.com/distribution/reference), as POSIX EREs; matched with LC_ALL=C.
    local alnum='[a-z0-9]+' sep='([._]|__|[-]+)' domc='([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
    local pathc="${alnum}(${sep}${alnum})*"
    PC_RE_DOMAIN="^(${domc}(\\.${domc})*|\\[[a-fA-F0-9:]+\\])(:[0-9]+)?\$"
    PC_RE_PATH="^${pathc}(/${pathc})*\$"
    PC_RE_TAG='^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$'
    PC_RE_DIGEST='^[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}$'
    # Well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF), byte by byte.
    PC_RE_UTF8=$'^([\x01-\x7f]|[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf][\x80-\xbf]'
    PC_RE_UTF8+=$'|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf][\x80-\xbf]|[\xf1-\xf3][\x80-\xbf][\x80-\xbf][\x80-\xbf]'
    PC_RE_UTF8+=$'|\xf4[\x80-\x8f][\x80-\xbf][\x80-\xbf])*$'
}
pc__init_grammar

# ---------------------------------------------------------------------------------------------
# Reading the proxy-config directory.

# $1 <- the value of file $2 in the config directory, as $(cat FILE) gives it. Returns 1 (and $1 <- '')
# when the entry is missing, empty, not a readable regular file, over 64 KiB, binary (NUL) or not UTF-8:
# exactly the entries harness/contract/config.py counts as unset; a present one of these is said once
# (pc__unusable). Builtins only: a build reads many keys.
pc__read_file() {
    local LC_ALL=C _path=$PC_DIR/$2 _value='' _kept
    printf -v "$1" ''
    [[ -e $_path || -L $_path ]] || return 1
    [[ -e $_path ]] || { pc__unusable "$2" broken-symlink; return 1; }
    [[ -f $_path ]] || { pc__unusable "$2" not-a-file; return 1; }
    [[ -r $_path ]] || { pc__unusable "$2" unreadable; return 1; }
    # One bounded read up to the first NUL: success means a NUL (binary) or more than 64 KiB.
    if IFS= read -r -d '' -n $((PC_MAX_VALUE_BYTES + 1)) _value <"$_path"; then
        if ((${#_value} > PC_MAX_VALUE_BYTES)); then pc__unusable "$2" value-too-large; else pc__unusable "$2" binary-value; fi
        return 1
    fi
    if [[ $_value == *[$'\x80'-$'\xff']* && ! $_value =~ $PC_RE_UTF8 ]]; then
        pc__unusable "$2" not-utf8
        return 1
    fi
    # Trailing newlines in one step (a loop that strips one at a time is quadratic: 51 s for 64 KiB).
    if [[ $_value == *$'\n' ]]; then
        _kept=${_value%[!$'\n']*}
        if [[ $_kept == "$_value" ]]; then _value=''; else _value=${_value:0:${#_kept}+1}; fi
    fi
    printf -v "$1" %s "$_value"
    [[ -n $_value ]]
}

# Say once that key file $1 is present but unusable (rule $2: what lint names it), so the build treats it as unset:
# without this line the build's log, often all a customer sees, says only "auth: none" and the mirror answers 401.
pc__unusable() {
    [[ -z ${PC_UNUSABLE_SAID[$1]:-} ]] || return 0
    PC_UNUSABLE_SAID[$1]=1
    pc_log "warning: $1: ${PC_RULE_SUMMARY[$2]:-$2}; treated as unset ($2)"
}

# $1 <- the value in effect for key $3, $2 <- the file it came from: `<strategy>.<key>` wins over
# `<key>`. Returns 1 (both '') when neither is set.
pc_lookup() {
    if pc__read_file "$1" "$PC_STRATEGY.$3"; then
        printf -v "$2" %s "$PC_STRATEGY.$3"
    elif pc__read_file "$1" "$3"; then
        printf -v "$2" %s "$3"
    else
        printf -v "$2" ''
        return 1
    fi
}

# Record $1 (an associative array) <- the credentials in effect for URL key $2: [auth] token|basic|none,
# the values [token] [user] [pass] and the keys that hold them [token_key] [user_key] [pass_key] (empty
# when unused). A username counts only with its password: the rule of harness/contract/config.py
# ProxyConfig.credentials.
pc_credentials() {
    local -n _credentials=$1
    local _key=$2
    _credentials=([auth]=none [token]='' [user]='' [pass]='' [token_key]='' [user_key]='' [pass_key]='')
    if [[ -n ${PC_KEY_TOKEN[$_key]:-} ]] && pc_lookup "$1[token]" "$1[token_key]" "${PC_KEY_TOKEN[$_key]}"; then
        _credentials[auth]=token
    elif [[ -n ${PC_KEY_USERNAME[$_key]:-} ]] && pc_lookup "$1[user]" "$1[user_key]" "${PC_KEY_USERNAME[$_key]}"; then
        if pc_lookup "$1[pass]" "$1[pass_key]" "${PC_KEY_PASSWORD[$_key]}"; then
            _credentials[auth]=basic
        else
            _credentials[user]='' _credentials[user_key]=''
        fi
    fi
    return 0
}

# ---------------------------------------------------------------------------------------------
# Image references: parse, normalise, format (harness/contract/reference.py in bash). A parsed reference is
# a record (associative array): [domain] [path] [tag] [digest], each possibly empty but [path].

pc__digest_ok() {
    local LC_ALL=C algorithm=${1%%:*} encoded=${1#*:} length
    case $algorithm in
        sha256) length=64 ;; sha384) length=96 ;; sha512) length=128 ;; *) return 1 ;;
    esac
    [[ ${#encoded} -eq $length && $encoded =~ ^[a-f0-9]+$ ]]
}

# Whether registry host $1's port, if it has one, is 1-65535 without a leading zero (reference._port_ok).
pc__port_ok() {
    local LC_ALL=C _port
    [[ $1 =~ :([0-9]+)$ ]] || return 0
    _port=${BASH_REMATCH[1]}
    [[ $_port != 0* ]] && ((${#_port} <= 5)) && ((10#$_port <= 65535))
}

# Whether the first component $1 of a name is a registry host, as splitDockerDomain decides
# (reference._reads_as_registry): a '.' or ':', localhost, or an upper-case letter.
pc__reads_as_registry() {
    local LC_ALL=C
    [[ $1 == localhost || $1 == *[.:]* || $1 != "${1,,}" ]]
}

# Record $1 <- reference.Parse($2); returns 1 if invalid.
pc_parse() {
    local -n _ref=$1
    local LC_ALL=C _name=$2 _last _first _rest
    _ref=([domain]='' [path]='' [tag]='' [digest]='')
    [[ -n $_name ]] || return 1
    if [[ $_name == *@* ]]; then
        _ref[digest]=${_name#*@} _name=${_name%%@*}
        [[ ${_ref[digest]} =~ $PC_RE_DIGEST ]] && pc__digest_ok "${_ref[digest]}" || return 1
    fi
    _last=${_name##*/}
    if [[ $_last == *:* ]]; then
        _ref[tag]=${_name##*:} _name=${_name%:*}
        [[ ${_ref[tag]} =~ $PC_RE_TAG ]] || return 1
    fi
    _first=${_name%%/*} _rest=${_name#*/}
    if [[ $_name == */* && $_first =~ $PC_RE_DOMAIN && $_rest =~ $PC_RE_PATH ]]; then
        pc__port_ok "$_first" || return 1
        _ref[domain]=$_first _ref[path]=$_rest
    elif [[ $_name =~ $PC_RE_PATH ]]; then
        _ref[path]=$_name
    else
        return 1
    fi
    ((${#_ref[path]} <= 255))
}

# Record $1 <- reference.ParseNormalizedNamed($2); returns 1 if invalid.
pc_parse_normalized() {
    local LC_ALL=C _text=$2 _domain _remainder _first _remote
    [[ $_text =~ ^[a-f0-9]{64}$ ]] && return 1
    if [[ $_text != */* ]]; then
        _domain=docker.io _remainder=library/$_text
    else
        _first=${_text%%/*} _remainder=${_text#*/} _domain=$_first
        if [[ $_first == index.docker.io ]]; then
            _domain=docker.io
        elif ! pc__reads_as_registry "$_first"; then
            _domain=docker.io _remainder=$_text
        fi
        [[ $_domain == docker.io && $_remainder != */* ]] && _remainder=library/$_remainder
    fi
    _remote=${_remainder%%:*}
    [[ $_remote == "${_remote,,}" ]] || return 1
    pc_parse "$1" "$_domain/$_remainder"
}

# $1 <- the reference record $2 as a reference string.
pc_ref_string() {
    local -n _reference=$2
    local _string=${_reference[path]}
    [[ -n ${_reference[domain]} ]] && _string=${_reference[domain]}/$_string
    [[ -n ${_reference[tag]} ]] && _string+=:${_reference[tag]}
    [[ -n ${_reference[digest]} ]] && _string+=@${_reference[digest]}
    printf -v "$1" %s "$_string"
}

# Whether $2 is a usable OCI mirror `host[:port][/path]` (reference.split_mirror); $1 <- the rule it
# breaks, '' if none.
pc_mirror_ok() {
    local LC_ALL=C _value=$2 _domain _path='' _rule=''
    _domain=${_value%%/*}
    [[ $_value == */* ]] && _path=${_value#*/}
    if [[ $_value == *://* ]]; then
        _rule=oci-url-scheme
    elif ! [[ $_domain =~ $PC_RE_DOMAIN ]] || ! pc__port_ok "$_domain" || ! pc__reads_as_registry "$_domain" \
        || [[ $_value == */ ]] || { [[ -n $_path ]] && ! [[ $_path =~ $PC_RE_PATH ]]; }; then
        _rule=oci-url-invalid
    fi
    printf -v "$1" %s "$_rule"
    [[ -z $_rule ]]
}

# ---------------------------------------------------------------------------------------------
# Package URLs and credentials.

# $1 <- the RFC 5952 form of IPv6 address $2 (as Python's ipaddress prints it); 1 if $2 is none.
pc__ipv6_canonical() {
    local LC_ALL=C IFS=: _text=$2 _head _tail _group _i _zeros _best=-1 _best_length=1 _run_start=-1 _out=''
    local -a _h=() _t=() _groups=()
    [[ $_text =~ ^[0-9a-fA-F:]+$ && $_text != *:::* ]] || return 1
    if [[ $_text == *::* ]]; then
        _head=${_text%%::*} _tail=${_text#*::}
        [[ $_tail != *::* && $_head != :* && $_head != *: && $_tail != :* && $_tail != *: ]] || return 1
    else
        _head=$_text _tail=''
        [[ $_head != :* && $_head != *: ]] || return 1
    fi
    [[ -n $_head ]] && read -ra _h <<<"$_head"
    [[ -n $_tail ]] && read -ra _t <<<"$_tail"
    if [[ $_text == *::* ]]; then
        ((${#_h[@]} + ${#_t[@]} <= 7)) || return 1
    else
        ((${#_h[@]} == 8)) || return 1
    fi
    for _group in "${_h[@]}" "${_t[@]}"; do
        [[ $_group =~ ^[0-9a-fA-F]{1,4}$ ]] || return 1
    done
    _groups=("${_h[@]}")
    for ((_zeros = 8 - ${#_h[@]} - ${#_t[@]}; _zeros > 0; _zeros--)); do _groups+=(0); done
    _groups+=("${_t[@]}")
    for ((_i = 0; _i <= 8; _i++)); do
        if ((_i < 8 && 16#${_groups[_i]:-1} == 0)); then
            ((_run_start < 0)) && _run_start=$_i
        elif ((_run_start >= 0)); then
            ((_i - _run_start > _best_length)) && _best=$_run_start _best_length=$((_i - _run_start))
            _run_start=-1
        fi
    done
    for ((_i = 0; _i < 8; _i++)); do
        if ((_i == _best)); then
            _out+=::
            ((_i += _best_length - 1))
            continue
        fi
        [[ -n $_out && $_out != *:: ]] && _out+=:
        printf -v _group '%x' "$((16#${_groups[_i]}))"
        _out+=$_group
    done
    printf -v "$1" %s "$_out"
}

# Whether package URL $1 fits the grammar's patterns, with a port up to 65535 and an IPv6 literal in
# its normal form (harness/contract/grammar.py _url_fits).
pc__url_fits() {
    local LC_ALL=C url=$1 authority host port='' canonical
    [[ $url =~ $PC_RE_PACKAGE_URL || $url =~ $PC_RE_PACKAGE_URL_IPV4 || $url =~ $PC_RE_PACKAGE_URL_IPV6 ]] || return 1
    authority=${url#*://} authority=${authority%%/*} authority=${authority##*@}
    if [[ $authority == \[* ]]; then
        host=${authority#\[} host=${host%%]*}
        pc__ipv6_canonical canonical "$host" && [[ $canonical == "$host" ]] || return 1
        port=${authority#*]} port=${port#:}
    elif [[ $authority == *:* ]]; then
        port=${authority#*:}
    fi
    [[ -z $port ]] || ((10#$port <= 65535))
}

# $1 <- the first grammar rule package URL $2 of manager $3 breaks, in harness/contract/grammar.py's order
# (package_url_violation), '' if none; returns 1 when it breaks one.
pc_package_url_violation() {
    local LC_ALL=C _url=$2 _rule='' _authority
    if ! [[ $_url =~ $PC_RE_URL_CHARACTER ]]; then
        _rule=pkg-url-character
    elif [[ $_url != http://* && $_url != https://* ]]; then
        _rule=pkg-url-scheme
    elif ! pc__url_fits "$_url"; then
        _rule=pkg-url-invalid
    elif [[ $_url =~ $PC_RE_DOT_SEGMENT ]]; then
        _rule=pkg-url-dot-segment
    elif [[ " $PC_LIST_VALUED_URL_MANAGERS " == *" $3 "* && $_url == *[,\|]* ]]; then
        _rule=go-proxy-list
    else
        _authority=${_url#*://} _authority=${_authority%%[/?#]*}
        if [[ " $PC_DECODED_USERINFO_MANAGERS " == *" $3 "* && $_authority == *@* && ${_authority%@*} == *%00* ]]; then
            _rule=userinfo-nul-escape
        fi
    fi
    printf -v "$1" %s "$_rule"
    [[ -z $_rule ]]
}

# Whether $1 fits a JVM string constant: 65,535 bytes of modified UTF-8, which is UTF-8 but for a character outside
# the BMP, 6 bytes instead of 4 (one per 4-byte lead byte F0-F4 more). grammar.py _jvm_constant_bytes.
pc__jvm_constant_ok() {
    local LC_ALL=C _leads
    _leads=${1//[!$'\xf0'-$'\xf4']/}
    ((${#1} + 2 * ${#_leads} <= 65535))
}

# Whether manager $1's configuration can carry credentials of kind $2 (token|basic|none): username $4
# from key $3, password $6 from key $5. Maven's and NuGet's XML cannot carry every character, and Maven replaces
# ${...} in its settings; refuses
# naming the key if not (harness/contract/grammar.py credential_format_violation).
pc__credential_format_ok() {
    local LC_ALL=C manager=$1 i value expression='\$\{[^}]+\}'  # Maven replaces ${...} (grammar.py MAVEN_EXPRESSION_RE)
    local variable='%[A-Za-z_][A-Za-z0-9_]*%'  # NuGet replaces %NAME% (grammar.py ENVIRONMENT_REFERENCE_RE)
    local -a pairs=("$3" "$4" "$5" "$6")
    [[ $2 == basic && " $PC_XML_CREDENTIALS_MANAGERS " == *" $manager "* ]] || return 0
    for ((i = 0; i < 4; i += 2)); do
        value=${pairs[i + 1]}
        if [[ $value == *[$'\x01'-$'\x08'$'\x0b'$'\x0c'$'\x0e'-$'\x1f']* || $value == *$'\xef\xbf'[$'\xbe\xbf']* ]] ||
            [[ " $PC_INTERPOLATED_CREDENTIALS_MANAGERS " == *" $manager "* &&
                ($value == [$' \t\n\r']* || $value == *[$' \t\n\r'] || $value =~ $expression) ]] ||
            [[ " $PC_ENV_EXPANDED_CREDENTIALS_MANAGERS " == *" $manager "* && $value =~ $variable ]]; then
            pc_refuse "${pairs[i]}" credential-format
            return 1
        fi
    done
}
