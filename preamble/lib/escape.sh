# shellcheck shell=bash
# Escaping for each output format family, one function per family: the quoted literal (JSON and Groovy
# strings: pc_json_string, pc_groovy_string), XML text (pc_xml_text), percent-encoding (URL user-info:
# pc_percent_encode, pc_percent_decode, pc_url_with_userinfo) and masking (the log: pc_mask_url). Part of the library
# sourced by proxy-config.sh (conventions there: $1 names the variable that receives the result).
#
# Builtins only, but for one od per long value in pc_percent_encode. Each helper is linear in the value's
# length (up to 64 KiB): in bash, ${s:i:1} and each match of ${s//x/y} cost O(length of s), so a loop
# over the bytes, or many matches in one long string, is quadratic. The helpers work on 4 KiB blocks
# instead (every escape maps one byte to a fixed text, so a block may end between any two bytes) and
# replace each distinct byte of a block at once.

# $1 <- $2 with the secret of its user-info replaced by *** (harness/contract/grammar.py `mask`, step for
# step): its password, or all of it when it has none (a token written as the user name). Unless the authority
# is a plain host[:port], the user-info runs to the last '@' that does not start a path segment: a password may
# hold '/', '?', '#' or '@', and masking too much is safe. A mistyped scheme (https:/u:p@h, https//u:p@h,
# https:///u:p@h) is masked from the value's start to that '@'. A scheme-relative value (//u:p@h) has its
# user-info after the //. A first segment with no '.', ':' or '[' (no mirror's host; not localhost) before a later
# '@' is a token holding '/', '?' or '#' as the user name: masked up to the last '@' that neither starts a path
# segment nor a digest (name@sha256:). A value shaped like a well-known access token (PC_TOKEN_SHAPES), but for
# a byte-order mark or white space around it, is masked whole first. Then the token a hosted registry takes as a path segment (PC_PATH_TOKEN_*,
# generated from grammar.yaml's path_tokens): the first entry whose ERE matches the lowercased value, where the
# next segment is not one of its `not` words and, with `more`, another segment follows, has that segment masked.
# Last, what follows the first '?', '#' or white space (no valid value has a query, a fragment or a space; one that
# does often holds a token, or a second URL with its own user-info).
pc_mask_url() {
    local LC_ALL=C _masked _lower _i _from _token _rest _word _skip _not _shape _core
    _core=${2#$'\xef\xbb\xbf'}  # without a byte-order mark and the white space around it (grammar.py mask)
    _core=${_core#"${_core%%[![:space:]]*}"} && _core=${_core%"${_core##*[![:space:]]}"}
    for _shape in "${PC_TOKEN_SHAPES[@]}"; do  # a well-known access token's shape: masked whole
        if [[ $_core =~ $_shape ]]; then printf -v "$1" %s '***'; return 0; fi
    done
    pc__mask_userinfo _masked "$2"
    _lower=${_masked,,}
    for _i in "${!PC_PATH_TOKEN_BEFORE[@]}"; do
        [[ $_lower =~ ${PC_PATH_TOKEN_BEFORE[_i]} ]] || continue
        _from=${#BASH_REMATCH[0]}
        _token=${_lower:_from} && _token=${_token%%[/?#]*}
        _rest=${_masked:_from+${#_token}}
        _skip='' && read -ra _not <<<"${PC_PATH_TOKEN_NOT[_i]}"
        for _word in "${_not[@]}"; do [[ $_token == "$_word" ]] && _skip=1; done
        [[ -n $_token && -z $_skip ]] || continue
        [[ -z ${PC_PATH_TOKEN_MORE[_i]} || $_rest =~ ^/[^/?#] ]] || continue
        _masked="${_masked:0:_from}***$_rest"
        break
    done
    _rest=${_masked%%[?#[:space:]]*}
    (( ${#_rest} + 1 < ${#_masked} )) && _masked="${_masked:0:${#_rest}+1}***"
    printf -v "$1" %s "$_masked"
}

# $1 <- $2 with the secret of its user-info masked: pc_mask_url's first step (grammar.mask's user-info part).
pc__mask_userinfo() {
    local LC_ALL=C _text=$2 _start='' _rest _authority _after_host _userinfo _head
    local _typo='^[A-Za-z]+(:[^0-9]|//)' _url='^[A-Za-z][A-Za-z0-9+.-]*://[^/]'
    printf -v "$1" %s "$_text"
    _head=${_text%%://*}  # a scheme only where the first :// ends a first word (grammar.py _userinfo_span)
    if [[ $_text == *://* && $_head != *[/?#@[:space:]]* ]]; then _start=$_head://; elif [[ $_text == //* ]]; then _start=//; fi
    _rest=${_text#"$_start"}
    _authority=${_rest%%[/?#]*}
    _after_host=$_authority
    [[ $_authority == \[* ]] && { [[ $_authority == *]* ]] && _after_host=${_authority#*]} || _after_host=''; }
    _userinfo=$_rest
    if [[ $_authority == *@* ]] || [[ $_after_host == *:* && ${_after_host#*:} == *[!0-9]* ]]; then
        _userinfo=${_rest%[!/]@*}
    elif [[ -n $_authority ]] && { [[ $_authority != *[.:[]* && ${_authority,,} != localhost ]] \
            || [[ $_after_host == *:* ]]; }; then  # no mirror's host, or a port (a password's digits before a '/')
        _head=$_rest  # the last '@' after a character other than '/' that no digest follows
        while [[ $_head == *[!/]@* ]]; do
            _head=${_head%[!/]@*}
            case ${_rest:${#_head}+2} in
                sha256:* | sha384:* | sha512:*) _head=${_rest:0:${#_head}+1} ;;
                *) _userinfo=$_head; break ;;
            esac
        done
    fi
    if [[ $_userinfo == "$_rest" ]]; then
        [[ $_text =~ $_typo && ! $_text =~ $_url ]] || return 0
        _start='' _rest=$_text
        _userinfo=${_rest%[!/]@*}
        [[ $_userinfo == "$_rest" ]] && return 0
    fi
    _userinfo=${_rest:0:${#_userinfo}+1}
    if [[ $_userinfo == *:* ]]; then
        printf -v "$1" %s "$_start${_userinfo%%:*}:***${_rest:${#_userinfo}}"
    else
        printf -v "$1" %s "$_start***${_rest:${#_userinfo}}"
    fi
}

pc__has_c0() { local LC_ALL=C; [[ $1 == *[$'\x01'-$'\x1f']* ]]; }

# Variable $1 set to $2 upper-cased as ASCII: in a Turkish locale ${x^^} makes `i` a dotted capital İ, no name.
pc__upper() { local LC_ALL=C; printf -v "$1" '%s' "${2^^}"; }

# $1 <- block $3 with every byte listed in $4 replaced by printf format $2 applied to its code, in
# the order listed: one replacement per distinct byte, the shared step of the escapers below.
pc__escape_bytes() {
    local LC_ALL=C _block=$3 _bytes=$4 _c _escape
    while [[ -n $_bytes ]]; do
        _c=${_bytes:0:1}
        # shellcheck disable=SC2059 # the format is the caller's escape, e.g. '\u%04x' or '%%%02X'
        printf -v _escape "$2" "'$_c"
        _block=${_block//"$_c"/"$_escape"} _bytes=${_bytes//"$_c"/}
    done
    printf -v "$1" %s "$_block"
}

# $1 <- $2 with every remaining C0 control character as \uXXXX (JSON and Groovy share this escape).
pc__escape_c0() {
    local -n _out=$1
    local LC_ALL=C _s=$2 _block _i _parts=('')
    if [[ $_s != *[$'\x01'-$'\x1f']* ]]; then
        _out=$_s
        return 0
    fi
    for ((_i = 0; _i < ${#_s}; _i += 4096)); do
        _block=${_s:_i:4096}
        if [[ $_block == *[$'\x01'-$'\x1f']* ]]; then
            pc__escape_bytes "$1" '\\u%04x' "$_block" "${_block//[!$'\x01'-$'\x1f']/}" && _block=$_out
        fi
        _parts+=("$_block")
    done
    printf -v "$1" %s "${_parts[@]}"
}

# $1 <- $3 as a string literal quoted with $2 (" for JSON, ' for Groovy): the backslash, the quote
# and control characters escaped. One function for both: their escapes differ only in the quote.
pc__quoted_literal() {
    local -n _out=$1
    local LC_ALL=C _q=$2 _s=$3 _block _i _parts=("$2")
    if [[ $_s != *[\\"$_q"$'\x01'-$'\x1f']* ]]; then
        _out=$_q$_s$_q
        return 0
    fi
    for ((_i = 0; _i < ${#_s}; _i += 4096)); do
        _block=${_s:_i:4096}
        _block=${_block//\\/\\\\} _block=${_block//"$_q"/"\\$_q"}
        _block=${_block//$'\n'/\\n} _block=${_block//$'\r'/\\r} _block=${_block//$'\t'/\\t}
        pc__has_c0 "$_block" && pc__escape_c0 "$1" "$_block" && _block=$_out
        _parts+=("$_block")
    done
    _parts+=("$_q")
    printf -v "$1" %s "${_parts[@]}"
}

# $1 <- $2 as a JSON string.
pc_json_string() { pc__quoted_literal "$1" '"' "$2"; }

# $1 <- $2 as a Groovy single-quoted string literal (no interpolation; \ ' and control characters escaped).
pc_groovy_string() { pc__quoted_literal "$1" "'" "$2"; }

# $1 <- $2 as XML character data or attribute value; returns 1 when the text holds a character XML 1.0
# cannot carry.
pc_xml_text() {
    local LC_ALL=C _s=$2 _block _i _parts=('')
    [[ $_s == *[$'\x01'-$'\x08'$'\x0b'$'\x0c'$'\x0e'-$'\x1f']* || $_s == *$'\xef\xbf'[$'\xbe'$'\xbf']* ]] && return 1
    if [[ $_s != *[\&\<\>\"\'$'\t\n\r']* ]]; then
        printf -v "$1" %s "$_s"
        return 0
    fi
    for ((_i = 0; _i < ${#_s}; _i += 4096)); do
        _block=${_s:_i:4096}
        # Quoted replacements: bash 5.2's patsub_replacement would read a bare & as "the match".
        _block=${_block//&/"&amp;"} _block=${_block//</"&lt;"} _block=${_block//>/"&gt;"}
        _block=${_block//\"/"&quot;"} _block=${_block//\'/"&apos;"}
        _block=${_block//$'\t'/"&#9;"} _block=${_block//$'\n'/"&#10;"} _block=${_block//$'\r'/"&#13;"}
        _parts+=("$_block")
    done
    printf -v "$1" %s "${_parts[@]}"
}

# Record $1 <- URL $2 and, when the credentials' kind $3 is basic, username $4 and password $5, escaped
# for XML ([url] [user] [pass]; Maven and NuGet); returns 1 if XML cannot carry one of them.
pc__xml_values() {
    local -n _xml=$1
    _xml=([url]='' [user]='' [pass]='')
    pc_xml_text "$1[url]" "$2" || return 1
    [[ $3 == basic ]] || return 0
    pc_xml_text "$1[user]" "$4" || return 1
    pc_xml_text "$1[pass]" "$5" || return 1
}

# $1 <- $2 percent-encoded: everything but RFC 3986 unreserved characters (for URL user-info). Up to
# 4 KiB, each distinct unsafe byte is replaced at once. A longer value may hold up to 190 distinct such
# bytes in every block, so it is one printf instead: its format is the value with each unsafe byte as
# %%%02X, its arguments are those bytes' codes from one od (without od: the blocks way).
pc_percent_encode() {
    local -n _out=$1
    local LC_ALL=C IFS=$' \t\n' _s=$2 _block _unsafe _i _format='' _codes _parts=('')
    if [[ $_s != *[!A-Za-z0-9._~-]* ]]; then
        _out=$_s
        return 0
    fi
    if ((${#_s} > 4096)); then
        _unsafe=''
        for ((_i = 0; _i < ${#_s}; _i += 4096)); do
            _block=${_s:_i:4096}
            _format+=${_block//[!A-Za-z0-9._~-]/%%%02X} _unsafe+=${_block//[A-Za-z0-9._~-]/}
        done
        if _codes=$(printf '%s' "$_unsafe" | od -An -v -tu1 2>/dev/null); then
            # The format holds unreserved characters (never '%' or '\') and %%%02X; one argument per code.
            # shellcheck disable=SC2059,SC2086
            printf -v "$1" -- "$_format" $_codes
            return 0
        fi
    fi
    for ((_i = 0; _i < ${#_s}; _i += 4096)); do
        _block=${_s:_i:4096}
        _unsafe=${_block//[A-Za-z0-9._~-]/}
        # '%' first: the other bytes' escapes hold a '%' that must stay as it is.
        [[ $_unsafe == *%* ]] && _unsafe=%${_unsafe//"%"/}
        pc__escape_bytes "$1" '%%%02X' "$_block" "$_unsafe" && _block=$_out
        _parts+=("$_block")
    done
    printf -v "$1" %s "${_parts[@]}"
}

# $1 <- $2 percent-decoded: URL user-info as the grammar accepts it (every '%' starts %HH, no '\'). Status 1
# for any other value, or one that decodes to a NUL byte (no variable holds it). 4 KiB blocks, none ending
# inside an escape, each decoded by one printf %b.
pc_percent_decode() {
    local -n _out=$1
    local LC_ALL=C _s=$2 _block _rest _i=0 _parts=('')
    while ((_i < ${#_s})); do
        _block=${_s:_i:4096}
        if [[ ${_block: -1} == % ]]; then _block=${_s:_i:4098}
        elif [[ ${_block: -2:1} == % ]]; then _block=${_s:_i:4097}
        fi
        ((_i += ${#_block}))
        _rest=${_block//%[0-9A-Fa-f][0-9A-Fa-f]/}
        [[ $_rest == *[%\\]* || $_block == *%00* ]] && return 1
        printf -v _out %b "${_block//%/\\x}"
        _parts+=("$_out")
    done
    printf -v "$1" %s "${_parts[@]}"
}

# $1 <- URL $2 without its trailing '/'s, cut in one step (removing them one at a time is quadratic in bash).
pc_url_without_trailing_slashes() {
    local LC_ALL=C _url=$2 _kept
    if [[ $_url == */ ]]; then
        _kept=${_url%[!/]*}
        _url=${_url:0:${#_kept}+1}
    fi
    printf -v "$1" %s "$_url"
}

# $1 <- URL $2 with user-info $3:$4 (percent-encoded) in place of any it had.
pc_url_with_userinfo() {
    local -n _out=$1
    local _url=$2 _scheme _rest _authority _user
    _scheme=${_url%%://*} _rest=${_url#*://}
    _authority=${_rest%%[/?#]*} _rest=${_rest#"$_authority"}
    _authority=${_authority##*@}
    pc_percent_encode "$1" "$3" && _user=$_out
    pc_percent_encode "$1" "$4"
    _out="$_scheme://$_user:$_out@$_authority$_rest"
}

# $1 <- URL $2, with the credentials as percent-encoded user-info when their kind $3 is basic
# (username $4, password $5).
# $1 <- URL $2 with each '+' of its user-info (up to the authority's last '@') as %2B (grammar.py client_url).
pc__plus_in_userinfo() {
    local _start='' _rest=$2 _authority _userinfo
    [[ $_rest == *://* ]] && _start=${_rest%%://*}:// _rest=${_rest#*://}
    _authority=${_rest%%[/?#]*}
    if [[ $_authority == ?*@* ]]; then
        _userinfo=${_authority%@*}
        printf -v "$1" %s "$_start${_userinfo//+/%2B}${_rest:${#_userinfo}}"
    else
        printf -v "$1" %s "$2"
    fi
}

pc__url_with_auth() {
    if [[ $3 == basic ]]; then
        pc_url_with_userinfo "$1" "$2" "$4" "$5"
    else
        printf -v "$1" %s "$2"
    fi
}
