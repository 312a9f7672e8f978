# shellcheck shell=bash
# Reference build preamble: the shared library behind every strategy entry (preamble/<strategy>.sh).
#
# It reads the proxy-config directory (`<strategy>.<key>` then `<key>`, trailing newlines trimmed,
# nothing else changed), resolves the strategy's images, writes podman/skopeo/buildah configuration
# and each package manager's own configuration, and exports one variable per logical image.
# Values are data, never code: they are only ever expanded inside double quotes, never eval'd, and
# escaped for the file format they land in. Secrets are never printed. docs/preamble.md documents
# the interface (variables in, files and variables out) and every choice made here.

# shellcheck source=catalog.sh
source "${BASH_SOURCE[0]%/*}/catalog.sh"

PC_MAX_VALUE_BYTES=65536

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
# Logging: every line names the preamble; values are shown with %q; secrets are never passed here.

pc_log() { printf 'proxy-config: %s\n' "$*" >&2; }

pc_fail() {
    printf 'proxy-config: error: %s\n' "$*" >&2
    return 1
}

pc_refuse() {
    pc_fail "$1: ${PC_RULE_SUMMARY[$2]} ($2)"
}

# PC_R <- $1 with the password of its user-info replaced by *** (harness/grammar.py `mask`, step for
# step). Unless the authority is a plain host[:port], the user-info runs to the last '@' that does not
# start a path segment: a password may hold '/', '?', '#' or '@', and masking too much is safe.
pc_mask_url() {
    local LC_ALL=C text=$1 start='' rest authority after_host userinfo
    PC_R=$text
    [[ $text == *://* ]] && start=${text%%://*}://
    rest=${text#"$start"}
    authority=${rest%%[/?#]*}
    after_host=$authority
    [[ $authority == \[* ]] && { [[ $authority == *]* ]] && after_host=${authority#*]} || after_host=''; }
    if [[ $authority != *@* ]]; then
        [[ $after_host == *:* && ${after_host#*:} == *[!0-9]* ]] || return 0
    fi
    userinfo=${rest%[!/]@*}
    [[ $userinfo == "$rest" ]] && return 0
    userinfo=${rest:0:${#userinfo}+1}
    [[ $userinfo == *:* ]] || return 0
    PC_R="$start${userinfo%%:*}:***${rest:${#userinfo}}"
}

# ---------------------------------------------------------------------------------------------
# Reading the proxy-config directory.

# PC_VALUE <- the value of file $1 in the config directory, as $(cat FILE) gives it. Returns 1 when
# the entry is missing, empty, not a readable regular file, over 64 KiB, binary (NUL) or not UTF-8:
# exactly the entries harness/config.py counts as unset. Builtins only: a build reads many keys.
pc__read_file() {
    local LC_ALL=C path=$PC_DIR/$1
    PC_VALUE=''
    [[ -f $path && -r $path ]] || return 1
    # One bounded read up to the first NUL: success means a NUL (binary) or more than 64 KiB.
    if IFS= read -r -d '' -n $((PC_MAX_VALUE_BYTES + 1)) PC_VALUE <"$path"; then
        PC_VALUE=''
        return 1
    fi
    [[ $PC_VALUE == *[$'\x80'-$'\xff']* && ! $PC_VALUE =~ $PC_RE_UTF8 ]] && { PC_VALUE='' && return 1; }
    # Trailing newlines in one step (a loop that strips one at a time is quadratic: 51 s for 64 KiB).
    if [[ $PC_VALUE == *$'\n' ]]; then
        local kept=${PC_VALUE%[!$'\n']*}
        if [[ $kept == "$PC_VALUE" ]]; then PC_VALUE=''; else PC_VALUE=${PC_VALUE:0:${#kept}+1}; fi
    fi
    [[ -n $PC_VALUE ]]
}

# PC_VALUE, PC_KEY <- the value in effect for key $1 (`<strategy>.<key>` wins over `<key>`).
pc_lookup() {
    PC_KEY=''
    if pc__read_file "$PC_STRATEGY.$1"; then
        PC_KEY=$PC_STRATEGY.$1
    elif pc__read_file "$1"; then
        PC_KEY=$1
    else
        return 1
    fi
}

# ---------------------------------------------------------------------------------------------
# Image references: parse, normalise, rewrite, override (harness/reference.py in bash).

pc__digest_ok() {
    local LC_ALL=C algorithm=${1%%:*} encoded=${1#*:} length
    case $algorithm in
        sha256) length=64 ;; sha384) length=96 ;; sha512) length=128 ;; *) return 1 ;;
    esac
    [[ ${#encoded} -eq $length && $encoded =~ ^[a-f0-9]+$ ]]
}

# PC_REF_DOMAIN, PC_REF_PATH, PC_REF_TAG, PC_REF_DIGEST <- reference.Parse($1); returns 1 if invalid.
pc_parse() {
    local LC_ALL=C name=$1 last first rest
    PC_REF_DOMAIN='' PC_REF_PATH='' PC_REF_TAG='' PC_REF_DIGEST=''
    [[ -n $name ]] || return 1
    if [[ $name == *@* ]]; then
        PC_REF_DIGEST=${name#*@} name=${name%%@*}
        [[ $PC_REF_DIGEST =~ $PC_RE_DIGEST ]] && pc__digest_ok "$PC_REF_DIGEST" || return 1
    fi
    last=${name##*/}
    if [[ $last == *:* ]]; then
        PC_REF_TAG=${name##*:} name=${name%:*}
        [[ $PC_REF_TAG =~ $PC_RE_TAG ]] || return 1
    fi
    first=${name%%/*} rest=${name#*/}
    if [[ $name == */* && $first =~ $PC_RE_DOMAIN && $rest =~ $PC_RE_PATH ]]; then
        PC_REF_DOMAIN=$first PC_REF_PATH=$rest
    elif [[ $name =~ $PC_RE_PATH ]]; then
        PC_REF_PATH=$name
    else
        return 1
    fi
    ((${#PC_REF_PATH} <= 255))
}

# reference.ParseNormalizedNamed($1) into the PC_REF_* variables.
pc_parse_normalized() {
    local LC_ALL=C text=$1 domain remainder first remote
    [[ $text =~ ^[a-f0-9]{64}$ ]] && return 1
    if [[ $text != */* ]]; then
        domain=docker.io remainder=library/$text
    else
        first=${text%%/*} remainder=${text#*/} domain=$first
        if [[ $first == index.docker.io ]]; then
            domain=docker.io
        elif [[ $first != localhost && $first != *[.:]* && $first == "${first,,}" ]]; then
            domain=docker.io remainder=$text
        fi
        [[ $domain == docker.io && $remainder != */* ]] && remainder=library/$remainder
    fi
    remote=${remainder%%:*}
    [[ $remote == "${remote,,}" ]] || return 1
    pc_parse "$domain/$remainder"
}

# PC_R <- the PC_REF_* variables as a reference string.
pc_ref_string() {
    PC_R=$PC_REF_PATH
    [[ -n $PC_REF_DOMAIN ]] && PC_R=$PC_REF_DOMAIN/$PC_R
    [[ -n $PC_REF_TAG ]] && PC_R+=:$PC_REF_TAG
    [[ -n $PC_REF_DIGEST ]] && PC_R+=@$PC_REF_DIGEST
    return 0
}

# Whether $1 is a usable OCI mirror `host[:port][/path]` (reference.split_mirror); PC_R <- the rule if not.
pc_mirror_ok() {
    local LC_ALL=C value=$1 domain path=''
    domain=${value%%/*}
    [[ $value == */* ]] && path=${value#*/}
    if [[ $value == *://* ]]; then
        PC_R=oci-url-scheme
    elif ! [[ $domain =~ $PC_RE_DOMAIN ]] || [[ $value == */ ]] || { [[ -n $path ]] && ! [[ $path =~ $PC_RE_PATH ]]; }; then
        PC_R=oci-url-invalid
    else
        return 0
    fi
    return 1
}

# ---------------------------------------------------------------------------------------------
# Escaping for each file format. Results go to PC_R; builtins only, but for one od per long value in
# pc_percent_encode. Each helper is linear in the value's length (up to 64 KiB): in bash, ${s:i:1} and
# each match of ${s//x/y} cost O(length of s), so a loop over the bytes, or many matches in one long
# string, is quadratic. The helpers work on 4 KiB blocks instead (every escape maps one byte to a fixed
# text, so a block may end between any two bytes) and replace each distinct byte of a block at once.

pc__has_c0() { local LC_ALL=C; [[ $1 == *[$'\x01'-$'\x1f']* ]]; }

# PC_R <- block $2 with every byte listed in $3 replaced by printf format $1 applied to its code, in
# the order listed: one replacement per distinct byte, the shared step of the escapers below.
pc__escape_bytes() {
    local LC_ALL=C block=$2 bytes=$3 c escape
    while [[ -n $bytes ]]; do
        c=${bytes:0:1}
        # shellcheck disable=SC2059 # the format is the caller's escape, e.g. '\u%04x' or '%%%02X'
        printf -v escape "$1" "'$c"
        block=${block//"$c"/"$escape"} bytes=${bytes//"$c"/}
    done
    PC_R=$block
}

# PC_R <- $1 with every remaining C0 control character as \uXXXX (JSON and Groovy share this escape).
pc__escape_c0() {
    local LC_ALL=C s=$1 block i parts=('')
    if [[ $s != *[$'\x01'-$'\x1f']* ]]; then
        PC_R=$s
        return 0
    fi
    for ((i = 0; i < ${#s}; i += 4096)); do
        block=${s:i:4096}
        if [[ $block == *[$'\x01'-$'\x1f']* ]]; then
            pc__escape_bytes '\\u%04x' "$block" "${block//[!$'\x01'-$'\x1f']/}" && block=$PC_R
        fi
        parts+=("$block")
    done
    printf -v PC_R %s "${parts[@]}"
}

# PC_R <- $2 as a string literal quoted with $1 (" for JSON, ' for Groovy): the backslash, the quote
# and control characters escaped. One function for both: their escapes differ only in the quote.
pc__quoted_literal() {
    local LC_ALL=C q=$1 s=$2 block i parts=("$1")
    if [[ $s != *[\\"$q"$'\x01'-$'\x1f']* ]]; then
        PC_R=$q$s$q
        return 0
    fi
    for ((i = 0; i < ${#s}; i += 4096)); do
        block=${s:i:4096}
        block=${block//\\/\\\\} block=${block//"$q"/"\\$q"}
        block=${block//$'\n'/\\n} block=${block//$'\r'/\\r} block=${block//$'\t'/\\t}
        pc__has_c0 "$block" && pc__escape_c0 "$block" && block=$PC_R
        parts+=("$block")
    done
    parts+=("$q")
    printf -v PC_R %s "${parts[@]}"
}

pc_json_string() { pc__quoted_literal '"' "$1"; }

# XML character data or attribute value; returns 1 when the text holds a character XML 1.0 cannot carry.
pc_xml_text() {
    local LC_ALL=C s=$1 block i parts=('')
    [[ $s == *[$'\x01'-$'\x08'$'\x0b'$'\x0c'$'\x0e'-$'\x1f']* || $s == *$'\xef\xbf'[$'\xbe'$'\xbf']* ]] && return 1
    if [[ $s != *[\&\<\>\"\'$'\t\n\r']* ]]; then
        PC_R=$s
        return 0
    fi
    for ((i = 0; i < ${#s}; i += 4096)); do
        block=${s:i:4096}
        # Quoted replacements: bash 5.2's patsub_replacement would read a bare & as "the match".
        block=${block//&/"&amp;"} block=${block//</"&lt;"} block=${block//>/"&gt;"}
        block=${block//\"/"&quot;"} block=${block//\'/"&apos;"}
        block=${block//$'\t'/"&#9;"} block=${block//$'\n'/"&#10;"} block=${block//$'\r'/"&#13;"}
        parts+=("$block")
    done
    printf -v PC_R %s "${parts[@]}"
}

# A Groovy single-quoted string literal (no interpolation; \ ' and control characters escaped).
pc_groovy_string() { pc__quoted_literal "'" "$1"; }

# Percent-encoding of everything but RFC 3986 unreserved characters (for URL user-info). Up to 4 KiB,
# each distinct unsafe byte is replaced at once. A longer value may hold up to 190 distinct such bytes
# in every block, so it is one printf instead: its format is the value with each unsafe byte as
# %%%02X, its arguments are those bytes' codes from one od (without od: the blocks way).
pc_percent_encode() {
    local LC_ALL=C IFS=$' \t\n' s=$1 block unsafe i format='' codes parts=('')
    if [[ $s != *[!A-Za-z0-9._~-]* ]]; then
        PC_R=$s
        return 0
    fi
    if ((${#s} > 4096)); then
        unsafe=''
        for ((i = 0; i < ${#s}; i += 4096)); do
            block=${s:i:4096}
            format+=${block//[!A-Za-z0-9._~-]/%%%02X} unsafe+=${block//[A-Za-z0-9._~-]/}
        done
        if codes=$(printf '%s' "$unsafe" | od -An -v -tu1 2>/dev/null); then
            # The format holds unreserved characters (never '%' or '\') and %%%02X; one argument per code.
            # shellcheck disable=SC2059,SC2086
            printf -v PC_R -- "$format" $codes
            return 0
        fi
    fi
    for ((i = 0; i < ${#s}; i += 4096)); do
        block=${s:i:4096}
        unsafe=${block//[A-Za-z0-9._~-]/}
        # '%' first: the other bytes' escapes hold a '%' that must stay as it is.
        [[ $unsafe == *%* ]] && unsafe=%${unsafe//"%"/}
        pc__escape_bytes '%%%02X' "$block" "$unsafe" && block=$PC_R
        parts+=("$block")
    done
    printf -v PC_R %s "${parts[@]}"
}

# PC_R <- URL $1 with user-info $2:$3 (percent-encoded) in place of any it had.
pc_url_with_userinfo() {
    local url=$1 scheme rest authority user
    scheme=${url%%://*} rest=${url#*://}
    authority=${rest%%[/?#]*} rest=${rest#"$authority"}
    authority=${authority##*@}
    pc_percent_encode "$2" && user=$PC_R
    pc_percent_encode "$3"
    PC_R="$scheme://$user:$PC_R@$authority$rest"
}

# Write $2 to file $1, mode 0600 (umask 077 is in force while the preamble runs), atomically: a
# crash never leaves half a credential file, and an older file's looser mode is not kept.
pc_write_private() {
    local file=$1 tmp=$1.$$.$RANDOM
    if ! { [[ -d ${file%/*} ]] || mkdir -p -- "${file%/*}"; } || ! printf '%s' "$2" >"$tmp" || ! mv -f -- "$tmp" "$file"; then
        pc_fail "cannot write $file"
        return 2  # reported here; a writer's 1 means a value its format cannot carry
    fi
}

# Record one line of the report (tab-separated key names: never values) for `airgap preamble-check`.
pc_report() {
    local IFS=$'\t'
    printf '%s\n' "$*" >>"$PC_STATE_DIR/report.tsv"
}

# ---------------------------------------------------------------------------------------------
# OCI mirrors, images, registries.conf, auth.json, logins.

# Registry id -> mirror value / winning key / username key / password key, for the mirrors in effect.
pc_collect_mirrors() {
    declare -gA PC_MIRROR_URL=() PC_MIRROR_KEY=() PC_MIRROR_USER=() PC_MIRROR_PASS=()
    PC_MIRROR_ORDER=()
    local key registry
    for key in ${PC_OCI_KEYS[$PC_STRATEGY]}; do
        pc_lookup "$key" || continue
        for registry in "${!PC_REGISTRY_MIRROR_KEY[@]}"; do
            [[ ${PC_REGISTRY_MIRROR_KEY[$registry]} == "$key" ]] && break
        done
        if ! pc_mirror_ok "$PC_VALUE"; then
            pc_refuse "$PC_KEY" "$PC_R"
            return 1
        fi
        PC_MIRROR_ORDER+=("$registry")
        PC_MIRROR_URL[$registry]=$PC_VALUE PC_MIRROR_KEY[$registry]=$PC_KEY
        pc_credentials "$key"
        PC_MIRROR_USER[$registry]=$PC_USER_KEY PC_MIRROR_PASS[$registry]=$PC_PASS_KEY
        pc_report mirror "$registry" "${PC_MIRROR_KEY[$registry]}" "${PC_MIRROR_USER[$registry]}"
        pc_log "OCI mirror for $registry: ${PC_MIRROR_URL[$registry]} (from ${PC_MIRROR_KEY[$registry]})"
    done
}

# The mirror whose host serves an override at domain $1: own registry $2 first, then catalog order.
pc__override_mirror() {
    local registry
    PC_R=''
    for registry in "$2" "${PC_MIRROR_ORDER[@]}"; do
        [[ -n ${PC_MIRROR_URL[$registry]:-} && -n ${PC_MIRROR_USER[$registry]} ]] || continue
        if [[ ${PC_MIRROR_URL[$registry]%%/*} == "$1" ]]; then
            PC_R=$registry
            return 0
        fi
    done
    return 1
}

pc_add_login() {
    local registry=$1 mirror=$2 i
    for ((i = 0; i < ${#PC_LOGIN_REGISTRY[@]}; i++)); do
        [[ ${PC_LOGIN_REGISTRY[i]} == "$registry" && ${PC_LOGIN_MIRROR[i]} == "$mirror" ]] && return 0
    done
    PC_LOGIN_REGISTRY+=("$registry") PC_LOGIN_MIRROR+=("$mirror")
}

# Resolve every image of the strategy and export PROXY_IMAGE_<NAME>.
pc_resolve_images() {
    local image index default registry override variable resolved source key mirror domain path
    PC_LOGIN_REGISTRY=() PC_LOGIN_MIRROR=()
    for registry in "${PC_MIRROR_ORDER[@]}"; do
        [[ -n ${PC_MIRROR_USER[$registry]} ]] && pc_add_login "${PC_MIRROR_URL[$registry]}" "$registry"
    done
    for image in ${PC_IMAGES[$PC_STRATEGY]}; do
        index=$PC_STRATEGY/$image
        default=${PC_IMAGE_DEFAULT[$index]} registry=${PC_IMAGE_REGISTRY[$index]} override=${PC_IMAGE_OVERRIDE[$index]}
        if [[ $registry == choreo && $PC_CHOREO_REGISTRY != "$PC_DEFAULT_CHOREO_REGISTRY" ]]; then
            default=$PC_CHOREO_REGISTRY${default#"$PC_DEFAULT_CHOREO_REGISTRY"}
        fi
        pc_parse_normalized "$default" || { pc_fail "catalog default $default is not a valid reference"; return 1; }
        mirror=''
        if [[ -n $override ]] && pc_lookup "$override"; then
            source=override key=$PC_KEY
            local tag=$PC_REF_TAG digest=$PC_REF_DIGEST
            if ! pc_parse_normalized "$PC_VALUE"; then
                pc_refuse "$key" image-override-invalid
                return 1
            fi
            if [[ -z $PC_REF_TAG && -z $PC_REF_DIGEST ]]; then
                PC_REF_TAG=$tag PC_REF_DIGEST=$digest
                pc_ref_string
                if ! pc_parse "$PC_R"; then
                    pc_refuse "$key" image-override-invalid
                    return 1
                fi
            fi
            pc_ref_string && resolved=$PC_R
            domain=${resolved%%/*}
            if pc__override_mirror "$domain" "$registry"; then
                mirror=$PC_R
                pc_parse "$resolved" && PC_REF_TAG='' PC_REF_DIGEST='' && pc_ref_string
                pc_add_login "$PC_R" "$mirror"
            fi
        elif [[ -n ${PC_MIRROR_URL[$registry]:-} ]]; then
            source=mirror key=${PC_MIRROR_KEY[$registry]}
            [[ -n ${PC_MIRROR_USER[$registry]} ]] && mirror=$registry
            domain=${PC_MIRROR_URL[$registry]%%/*} path=''
            [[ ${PC_MIRROR_URL[$registry]} == */* ]] && path=${PC_MIRROR_URL[$registry]#*/}/
            PC_REF_DOMAIN=$domain PC_REF_PATH=$path$PC_REF_PATH
            pc_ref_string && resolved=$PC_R
            pc_parse "$resolved" || { pc_refuse "$key" mirror-rewrite-invalid; return 1; }
        else
            source=default key='' resolved=$default
        fi
        variable=PROXY_IMAGE_${image^^} variable=${variable//-/_}
        printf -v "$variable" '%s' "$resolved"
        export "${variable?}"
        pc_report image "$image" "$source" "$key" "${mirror:+${PC_MIRROR_USER[$mirror]}}"
        pc_log "image $image: $resolved ($source${key:+ from $key})"
    done
}

# registries.conf: each mirrored registry's prefixes remapped (no [[registry.mirror]], which would
# fall back to the public registry), short names resolved only through docker.io.
pc_write_registries_conf() {
    local file=$HOME/.config/containers/registries.conf registry prefix location out entry
    out=$'# Written by the proxy-config build preamble.\n'
    out+=$'unqualified-search-registries = ["docker.io"]\nshort-name-mode = "enforcing"\n'
    for registry in "${PC_MIRROR_ORDER[@]}"; do
        for prefix in ${PC_REGISTRY_PREFIXES[$registry]}; do
            [[ $registry == choreo ]] && prefix=$PC_CHOREO_REGISTRY
            location=${PC_MIRROR_URL[$registry]}
            [[ $prefix == */* ]] && location+=/${prefix#*/}
            printf -v entry '\n[[registry]]\nprefix = "%s"\nlocation = "%s"\n' "$prefix" "$location"
            out+=$entry
        done
    done
    pc_write_private "$file" "$out" || return 1
    # A CONTAINERS_REGISTRIES_CONF from the image would win over this file (and bring in the system
    # registries.conf.d drop-ins); the preamble owns the registry configuration.
    unset CONTAINERS_REGISTRIES_CONF
}

pc__base64() { printf '%s' "$1" | base64 -w0; }

# auth.json with every mirror login, then the Docker Hub login when no Docker Hub mirror is in effect.
pc_write_auth() {
    local file=$HOME/.config/containers/auth.json i registry mirror user pass entries=() out entry sep=''
    for ((i = 0; i < ${#PC_LOGIN_REGISTRY[@]}; i++)); do
        registry=${PC_LOGIN_REGISTRY[i]} mirror=${PC_LOGIN_MIRROR[i]}
        pc__read_file "${PC_MIRROR_USER[$mirror]}" && user=$PC_VALUE
        pc__read_file "${PC_MIRROR_PASS[$mirror]}" && pass=$PC_VALUE
        entries+=("$registry" "$(pc__base64 "$user:$pass")")
        pc_report login "$registry" "${PC_MIRROR_USER[$mirror]}" "${PC_MIRROR_PASS[$mirror]}"
        pc_log "credentials for $registry from ${PC_MIRROR_USER[$mirror]} / ${PC_MIRROR_PASS[$mirror]}"
    done
    export REGISTRY_AUTH_FILE=$file
    out='{"auths": {'
    for ((i = 0; i < ${#entries[@]}; i += 2)); do
        printf -v entry '%s"%s": {"auth": "%s"}' "$sep" "${entries[i]}" "${entries[i + 1]}"
        out+=$entry sep=', '
    done
    pc_write_private "$file" "$out"$'}}\n' || return 1
    if [[ -n ${PC_DOCKERHUB_LOGIN[$PC_STRATEGY]} && -z ${PC_MIRROR_URL[dockerhub]:-} ]]; then
        pc_dockerhub_login
    fi
}

# The platform's Docker Hub login, as builds do today when oci-dockerhub-url is not set.
pc_dockerhub_login() {
    local user=${PLATFORM_DOCKERHUB_USERNAME:-} pass=${PLATFORM_DOCKERHUB_PASSWORD:-} hint
    hint="on a restricted cluster set oci-dockerhub-url in the proxy-config Secret to skip this login"
    if [[ -z $user || -z $pass ]]; then
        pc_fail "Docker Hub login: PLATFORM_DOCKERHUB_USERNAME / PLATFORM_DOCKERHUB_PASSWORD are not set; $hint"
        return 1
    fi
    pc_report login docker.io "" ""
    if [[ -n ${PREAMBLE_DRY_RUN_LOGIN:-} ]]; then
        pc_log "Docker Hub login recorded, not performed (PREAMBLE_DRY_RUN_LOGIN)"
        printf '%s\n' "$user" >"$PC_STATE_DIR/dockerhub-login"
        return 0
    fi
    pc_log "logging in to docker.io with the platform's credentials"
    if ! printf '%s\n' "$pass" | "${PREAMBLE_LOGIN_COMMAND:-podman}" login --authfile "$REGISTRY_AUTH_FILE" \
        --username "$user" --password-stdin docker.io >/dev/null; then
        pc_fail "Docker Hub login failed; $hint"
        return 1
    fi
}

# ---------------------------------------------------------------------------------------------
# Package managers. Each writer gets the URL in PC_URL, the auth kind in PC_AUTH (token|basic|none)
# and the credential values in PC_CRED_USER / PC_CRED_PASS / PC_CRED_TOKEN.

# PC_R <- the .npmrc key npm looks the token of registry $1 up under: //host[:port]/path/ as npm
# normalises it (lowercase host, default port dropped, no user-info, the path up to its last '/').
# harness/grammar.py npm_token_key; $1 is a URL the grammar accepted (no query, no fragment).
pc__npm_token_key() {
    local LC_ALL=C scheme=${1%%://*} rest=${1#*://} authority host port
    authority=${rest%%/*} rest=${rest#"$authority"}
    authority=${authority##*@}
    if [[ $authority == \[* ]]; then
        host=${authority%%]*}] port=${authority#*]}
    else
        host=${authority%%:*} port=${authority#"$host"}
    fi
    port=${port#:} host=${host,,}
    [[ ($scheme == https && $port == 443) || ($scheme == http && $port == 80) ]] && port=''
    PC_R=//$host${port:+:$port}${rest%/*}/
}

# npm expands ${VAR} in .npmrc keys and values; an odd run of backslashes keeps it literal.
# Byte-wise and linear: one word split cuts the value at every '${' (at \xff, a byte UTF-8 never uses;
# a value holding \xfe or \xff, not UTF-8, is encoded around it first), so the loop runs once per
# '${', not once per byte, and never rescans the rest of the value.
pc__npm_no_env() {
    local LC_ALL=C s=$1 IFS=$'\xff' open=$'\x24{' encoded='' noglob='' pieces i prev lead run
    if [[ $s != *"$open"* ]]; then
        PC_R=$s
        return 0
    fi
    if [[ $s == *[$'\xfe\xff']* ]]; then
        encoded=1 s=${s//$'\xfe'/$'\xfe\xfd'} s=${s//$'\xff'/$'\xfe\xfc'}
    fi
    [[ $- == *f* ]] && noglob=1
    set -f
    # Split on purpose (IFS is \xff, globbing is off); the '.' keeps a last, empty piece (removed below).
    # shellcheck disable=SC2206
    pieces=(${s//"$open"/$'\xff'}.)
    [[ -n $noglob ]] || set +f
    pieces[${#pieces[@]} - 1]=${pieces[${#pieces[@]} - 1]%.}
    # Each piece but the first follows a '${'. Up to its first '$' or '{', one that starts with `NAME}`
    # (NAME: no '$', '{' or '}') follows an expansion: the backslashes just before that '${' (the end
    # of the piece before) are doubled and one is added. Pieces are joined back with '${'.
    for ((i = 1; i < ${#pieces[@]}; i++)); do
        case ${pieces[i]%%[\$\{]*} in
            [!\}]*\}*)
                prev=${pieces[i - 1]} run=''
                if [[ $prev == *\\ ]]; then
                    lead=${prev%[!\\]*}
                    if [[ $lead == "$prev" ]]; then run=$prev; else run=${prev:${#lead}+1}; fi
                fi
                pieces[i - 1]+=$run\\
                ;;
        esac
    done
    printf -v PC_R "%s$open" "${pieces[@]}"
    PC_R=${PC_R%"$open"}
    if [[ -n $encoded ]]; then
        PC_R=${PC_R//$'\xfe\xfc'/$'\xff'} PC_R=${PC_R//$'\xfe\xfd'/$'\xfe'}
    fi
    return 0
}

pc_write_npm() {
    local file=${NPM_CONFIG_USERCONFIG:-$HOME/.npmrc} out
    pc__npm_no_env "$PC_URL" && pc_json_string "$PC_R"
    # replace-registry-host=always: lockfile `resolved` URLs of any host are fetched from the registry.
    out="registry=$PC_R"$'\nreplace-registry-host=always\n'
    if [[ $PC_AUTH == token ]]; then
        pc__npm_token_key "$PC_URL" && pc__npm_no_env "$PC_R:_authToken" && pc_json_string "$PC_R"
        out+="$PC_R="
        pc__npm_no_env "$PC_CRED_TOKEN" && pc_json_string "$PC_R"
        out+=$PC_R$'\n'
    fi
    pc_write_private "$file" "$out"
}

# PC_XML_URL, PC_XML_USER, PC_XML_PASS <- the URL and basic credentials escaped for XML; 1 if XML cannot carry them.
pc__xml_values() {
    pc_xml_text "$PC_URL" || return 1
    PC_XML_URL=$PC_R PC_XML_USER='' PC_XML_PASS=''
    [[ $PC_AUTH == basic ]] || return 0
    pc_xml_text "$PC_CRED_USER" || return 1
    PC_XML_USER=$PC_R
    pc_xml_text "$PC_CRED_PASS" || return 1
    PC_XML_PASS=$PC_R
}

pc_write_maven() {
    local file=$HOME/.m2/settings.xml value out servers=''
    pc__xml_values || return 1
    if [[ $PC_AUTH == basic ]]; then
        # Maven trims element text, so surrounding whitespace cannot be carried. Braces stay as they
        # are: Maven 3.8 keeps a {...} password that it cannot decrypt (no settings-security.xml)
        # and does not unescape the documented \{ form for plain passwords (docs/preamble.md).
        for value in "$PC_CRED_USER" "$PC_CRED_PASS"; do
            [[ $value == [$' \t\n\r']* || $value == *[$' \t\n\r'] ]] && return 1
        done
        printf -v servers '  <servers>\n    <server>\n      <id>proxy-config</id>\n      <username>%s</username>\n      <password>%s</password>\n    </server>\n  </servers>\n' "$PC_XML_USER" "$PC_XML_PASS"
    fi
    printf -v out '%s\n%s\n<settings>\n  <mirrors>\n    <mirror>\n      <id>proxy-config</id>\n      <mirrorOf>*</mirrorOf>\n      <url>%s</url>\n    </mirror>\n  </mirrors>\n%s</settings>\n' \
        '<?xml version="1.0" encoding="UTF-8"?>' '<!-- Written by the proxy-config build preamble. -->' "$PC_XML_URL" "$servers"
    pc_write_private "$file" "$out"
}

pc_write_gradle() {
    local file=${GRADLE_USER_HOME:-$HOME/.gradle}/init.d/proxy-config.gradle url user="''" pass="''"
    pc_groovy_string "$PC_URL" && url=$PC_R
    if [[ $PC_AUTH == basic ]]; then
        pc_groovy_string "$PC_CRED_USER" && user=$PC_R
        pc_groovy_string "$PC_CRED_PASS" && pass=$PC_R
    fi
    local out
    IFS='' read -r -d '' out <<EOF || true
// Written by the proxy-config build preamble: every dependency and plugin repository is replaced
// by the proxy below, so no build script can add a public repository back.
def proxyConfigUrl = $url
def proxyConfigUsername = $user
def proxyConfigPassword = $pass
def proxyConfigRepositories = { handler ->
    handler.all { repo ->
        if (repo.name != 'proxy-config') { handler.remove(repo) }
    }
    handler.maven {
        name = 'proxy-config'
        url = proxyConfigUrl
        if (proxyConfigUrl.startsWith('http:') && delegate.hasProperty('allowInsecureProtocol')) {
            allowInsecureProtocol = true
        }
        if (proxyConfigUsername) {
            credentials { username = proxyConfigUsername; password = proxyConfigPassword }
        }
    }
}
settingsEvaluated { settings -> proxyConfigRepositories(settings.pluginManagement.repositories) }
allprojects { project ->
    proxyConfigRepositories(project.buildscript.repositories)
    proxyConfigRepositories(project.repositories)
}
EOF
    pc_write_private "$file" "$out"
}

# NuGet.Config where the .NET SDK reads it (~/.nuget/NuGet) and where nuget.exe on mono reads it
# (~/.config/NuGet), with the default source cleared.
pc_write_nuget() {
    local out credentials=''
    pc__xml_values || return 1
    if [[ $PC_AUTH == basic ]]; then
        printf -v credentials '  <packageSourceCredentials>\n    <proxy-config>\n      <add key="Username" value="%s" />\n      <add key="ClearTextPassword" value="%s" />\n    </proxy-config>\n  </packageSourceCredentials>\n' "$PC_XML_USER" "$PC_XML_PASS"
    fi
    printf -v out '%s\n%s\n<configuration>\n  <packageSources>\n    <clear />\n    <add key="proxy-config" value="%s" />\n  </packageSources>\n%s</configuration>\n' \
        '<?xml version="1.0" encoding="utf-8"?>' '<!-- Written by the proxy-config build preamble. -->' "$PC_XML_URL" "$credentials"
    pc_write_private "$HOME/.nuget/NuGet/NuGet.Config" "$out" || return
    pc_write_private "${XDG_CONFIG_HOME:-$HOME/.config}/NuGet/NuGet.Config" "$out"
}

# PC_R <- PC_URL, with the basic credentials as percent-encoded user-info when there are any.
pc__url_with_auth() {
    PC_R=$PC_URL
    [[ $PC_AUTH == basic ]] && pc_url_with_userinfo "$PC_URL" "$PC_CRED_USER" "$PC_CRED_PASS"
    return 0
}

pc_write_python() {
    local file=${XDG_CONFIG_HOME:-$HOME/.config}/pip/pip.conf
    pc__url_with_auth
    # No extra-index-url: pip has no fall-back to pypi.org.
    pc_write_private "$file" "[global]"$'\n'"index-url = $PC_R"$'\n'
}

pc_write_go() {
    local file=${GOENV:-${XDG_CONFIG_HOME:-$HOME/.config}/go/env} sumdb base
    pc__url_with_auth
    # No ",direct": modules come from the proxy only. The checksum database is reached through the
    # same proxy (<proxy>/sumdb/sum.golang.org), never directly. GOTOOLCHAIN=local: no toolchain download.
    base=$PC_R
    if [[ $base == */ ]]; then  # trailing slashes in one step, not one at a time
        local kept=${base%[!/]*}
        base=${base:0:${#kept}+1}
    fi
    sumdb="sum.golang.org $base/sumdb/sum.golang.org"
    # The environment takes at most 128 KiB per entry (harness/grammar.py go_environment_violation).
    if ((${#sumdb} + 9 > 131072)); then
        pc_refuse "$PC_PASS_KEY" go-environment-limit
        return 2
    fi
    export GOPROXY=$PC_R GOSUMDB=$sumdb GOTOOLCHAIN=local
    pc_write_private "$file" "GOPROXY=$GOPROXY"$'\n'"GOSUMDB=$GOSUMDB"$'\n'"GOTOOLCHAIN=local"$'\n'
}

pc_write_composer() {
    local home=${COMPOSER_HOME:-$HOME/.composer} url host secure=true rest user pass out
    export COMPOSER_HOME=$home
    pc_json_string "$PC_URL" && url=$PC_R
    [[ $PC_URL == http://* ]] && secure=false
    printf -v out '{\n  "config": {"secure-http": %s},\n  "repositories": {\n    "packagist.org": false,\n    "proxy-config": {"type": "composer", "url": %s}\n  }\n}\n' \
        "$secure" "$url"
    pc_write_private "$home/config.json" "$out" || return
    if [[ $PC_AUTH == basic ]]; then
        rest=${PC_URL#*://} host=${rest%%[/?#]*} host=${host##*@}
        pc_json_string "$host" && host=$PC_R
        pc_json_string "$PC_CRED_USER" && user=$PC_R
        pc_json_string "$PC_CRED_PASS" && pass=$PC_R
        printf -v out '{"http-basic": {%s: {"username": %s, "password": %s}}}\n' "$host" "$user" "$pass"
        pc_write_private "$home/auth.json" "$out"
    elif [[ -e $home/auth.json ]]; then
        rm -f -- "$home/auth.json"
    fi
}

pc_write_rubygems() {
    local bundle=${BUNDLE_USER_CONFIG:-${BUNDLE_USER_HOME:-$HOME/.bundle}/config} source
    pc__url_with_auth
    pc_json_string "$PC_R" && source=$PC_R
    # .gemrc :sources: replaces the default list (no rubygems.org left); Bundler's mirror has no
    # fallback_timeout, so it never falls back to rubygems.org.
    pc_write_private "$HOME/.gemrc" $'---\n:sources:\n- '"$source"$'\n' || return
    pc_write_private "$bundle" $'---\nBUNDLE_MIRROR__HTTPS://RUBYGEMS__ORG/: '"$source"$'\n'
}

# PC_R <- the RFC 5952 form of IPv6 address $1 (as Python's ipaddress prints it); 1 if $1 is none.
pc__ipv6_canonical() {
    local LC_ALL=C IFS=: text=$1 head tail group i zeros best=-1 best_length=1 run_start=-1 out=''
    local -a h=() t=() groups=()
    [[ $text =~ ^[0-9a-fA-F:]+$ && $text != *:::* ]] || return 1
    if [[ $text == *::* ]]; then
        head=${text%%::*} tail=${text#*::}
        [[ $tail != *::* && $head != :* && $head != *: && $tail != :* && $tail != *: ]] || return 1
    else
        head=$text tail=''
        [[ $head != :* && $head != *: ]] || return 1
    fi
    [[ -n $head ]] && read -ra h <<<"$head"
    [[ -n $tail ]] && read -ra t <<<"$tail"
    if [[ $text == *::* ]]; then
        ((${#h[@]} + ${#t[@]} <= 7)) || return 1
    else
        ((${#h[@]} == 8)) || return 1
    fi
    for group in "${h[@]}" "${t[@]}"; do
        [[ $group =~ ^[0-9a-fA-F]{1,4}$ ]] || return 1
    done
    groups=("${h[@]}")
    for ((zeros = 8 - ${#h[@]} - ${#t[@]}; zeros > 0; zeros--)); do groups+=(0); done
    groups+=("${t[@]}")
    for ((i = 0; i <= 8; i++)); do
        if ((i < 8 && 16#${groups[i]:-1} == 0)); then
            ((run_start < 0)) && run_start=$i
        elif ((run_start >= 0)); then
            ((i - run_start > best_length)) && best=$run_start best_length=$((i - run_start))
            run_start=-1
        fi
    done
    for ((i = 0; i < 8; i++)); do
        if ((i == best)); then
            out+=::
            ((i += best_length - 1))
            continue
        fi
        [[ -n $out && $out != *:: ]] && out+=:
        printf -v group '%x' "$((16#${groups[i]}))"
        out+=$group
    done
    PC_R=$out
}

# Whether package URL $1 fits the grammar's patterns, with a port up to 65535 and an IPv6 literal in
# its normal form (harness/grammar.py _url_fits).
pc__url_fits() {
    local LC_ALL=C url=$1 authority host port=''
    [[ $url =~ $PC_RE_PACKAGE_URL || $url =~ $PC_RE_PACKAGE_URL_IPV4 || $url =~ $PC_RE_PACKAGE_URL_IPV6 ]] || return 1
    authority=${url#*://} authority=${authority%%/*} authority=${authority##*@}
    if [[ $authority == \[* ]]; then
        host=${authority#\[} host=${host%%]*}
        pc__ipv6_canonical "$host" && [[ $PC_R == "$host" ]] || return 1
        port=${authority#*]} port=${port#:}
    elif [[ $authority == *:* ]]; then
        port=${authority#*:}
    fi
    [[ -z $port ]] || ((10#$port <= 65535))
}

# PC_R <- the first grammar rule package URL $1 of manager $2 breaks, in harness/grammar.py's order
# (package_url_violation); returns 1 when it breaks one.
pc_package_url_violation() {
    local LC_ALL=C url=$1
    if ! [[ $url =~ $PC_RE_URL_CHARACTER ]]; then
        PC_R=pkg-url-character
    elif [[ $url != http://* && $url != https://* ]]; then
        PC_R=pkg-url-scheme
    elif ! pc__url_fits "$url"; then
        PC_R=pkg-url-invalid
    elif [[ $url =~ $PC_RE_DOT_SEGMENT ]]; then
        PC_R=pkg-url-dot-segment
    elif [[ $2 == go && $url == *[,\|]* ]]; then
        PC_R=go-proxy-list
    else
        return 0
    fi
    return 1
}

# PC_AUTH (token|basic|none), PC_CRED_TOKEN / PC_CRED_USER / PC_CRED_PASS and the keys that hold them
# (PC_TOKEN_KEY, PC_USER_KEY, PC_PASS_KEY) <- the credentials in effect for URL key $1. A username
# counts only with its password: the rule of harness/config.py ProxyConfig.credentials.
pc_credentials() {
    local key=$1 user user_key
    PC_AUTH=none PC_CRED_TOKEN='' PC_CRED_USER='' PC_CRED_PASS='' PC_TOKEN_KEY='' PC_USER_KEY='' PC_PASS_KEY=''
    if [[ -n ${PC_KEY_TOKEN[$key]:-} ]] && pc_lookup "${PC_KEY_TOKEN[$key]}"; then
        PC_AUTH=token PC_CRED_TOKEN=$PC_VALUE PC_TOKEN_KEY=$PC_KEY
    elif [[ -n ${PC_KEY_USERNAME[$key]:-} ]] && pc_lookup "${PC_KEY_USERNAME[$key]}"; then
        user=$PC_VALUE user_key=$PC_KEY
        if pc_lookup "${PC_KEY_PASSWORD[$key]}"; then
            PC_AUTH=basic PC_CRED_USER=$user PC_USER_KEY=$user_key PC_CRED_PASS=$PC_VALUE PC_PASS_KEY=$PC_KEY
        fi
    fi
    return 0
}

# Whether Maven's or NuGet's XML can carry the basic credentials; refuses naming the key if not
# (harness/grammar.py credential_format_violation).
pc__credential_format_ok() {
    local LC_ALL=C manager=$1 i value
    local -a pairs=("$PC_USER_KEY" "$PC_CRED_USER" "$PC_PASS_KEY" "$PC_CRED_PASS")
    [[ $PC_AUTH == basic && ($manager == maven || $manager == nuget) ]] || return 0
    for ((i = 0; i < 4; i += 2)); do
        value=${pairs[i + 1]}
        if [[ $value == *[$'\x01'-$'\x08'$'\x0b'$'\x0c'$'\x0e'-$'\x1f']* || $value == *$'\xef\xbf'[$'\xbe\xbf']* ]] ||
            [[ $manager == maven && ($value == [$' \t\n\r']* || $value == *[$' \t\n\r']) ]]; then
            pc_refuse "${pairs[i]}" credential-format
            return 1
        fi
    done
}

pc_configure_packages() {
    local manager key url_key authority status
    for manager in ${PC_MANAGERS[$PC_STRATEGY]}; do
        key=pkg-$manager-url
        pc_lookup "$key" || { pc_report package "$manager" none "" && continue; }
        PC_URL=$PC_VALUE url_key=$PC_KEY
        if ! pc_package_url_violation "$PC_URL" "$manager"; then
            pc_refuse "$url_key" "$PC_R"
            return 1
        fi
        pc_credentials "$key"
        authority=${PC_URL#*://} authority=${authority%%/*}
        if [[ $PC_AUTH != none && $authority == *@* ]]; then
            pc_refuse "$url_key" url-credentials-conflict
            return 1
        fi
        pc__credential_format_ok "$manager" || return 1
        status=0
        "pc_write_$manager" || status=$?
        if ((status == 1)); then
            pc_fail "$url_key: a value holds a character the $manager configuration format cannot carry"
        fi
        ((status == 0)) || return 1  # 2: pc_write_private has said which file it could not write
        pc_report package "$manager" "$PC_AUTH" "$url_key" "$PC_TOKEN_KEY" "$PC_USER_KEY" "$PC_PASS_KEY"
        pc_mask_url "$PC_URL"
        pc_log "$manager: $PC_R (from $url_key, auth: $PC_AUTH)"
    done
}

# ---------------------------------------------------------------------------------------------

# Keys present that this strategy does not consume (NUL-separated, for the report).
pc_report_ignored() {
    local path name scope consumed=" ${PC_CONSUMED[$PC_STRATEGY]} "
    : >"$PC_STATE_DIR/ignored-keys"
    [[ -d $PC_DIR ]] || return 0
    for path in "$PC_DIR"/*; do
        [[ -e $path || -L $path ]] || continue
        name=${path##*/} scope=${name%%.*}
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

# The entry point: configure everything for strategy $1. Returns non-zero (never exits) on a bad value.
pc_main() {
    PC_STRATEGY=$1
    PC_DIR=${PROXY_CONFIG_DIR:-/mnt/proxy-config}
    PC_CHOREO_REGISTRY=${CHOREO_REGISTRY:-$PC_DEFAULT_CHOREO_REGISTRY}
    PC_STATE_DIR=${PREAMBLE_STATE_DIR:-$HOME/.proxy-config-preamble}
    if [[ -z ${PC_OCI_KEYS[$PC_STRATEGY]+set} ]]; then
        pc_fail "unknown strategy $PC_STRATEGY (one of: $PC_STRATEGIES)"
        return 1
    fi
    if [[ -e $PC_DIR && ! -d $PC_DIR ]]; then
        pc_fail "$PC_DIR: not a directory (PROXY_CONFIG_DIR)"
        return 1
    fi
    local status=0 shown umask
    umask=$(umask)
    umask 077
    [[ -d $PC_STATE_DIR ]] || mkdir -p -- "$PC_STATE_DIR"
    : >"$PC_STATE_DIR/report.tsv"
    [[ -e $PC_STATE_DIR/dockerhub-login ]] && rm -f -- "$PC_STATE_DIR/dockerhub-login"
    printf -v shown '%q' "$PC_DIR"
    pc_log "strategy $PC_STRATEGY, configuration $shown"
    pc_collect_mirrors &&
        pc_resolve_images &&
        pc_write_registries_conf &&
        pc_write_auth &&
        pc_configure_packages &&
        pc_report_ignored || status=$?
    umask "$umask"
    return "$status"
}
