# shellcheck shell=bash
# OCI: mirrors in effect, image resolution (override, mirror rewrite or default; PROXY_IMAGE_<NAME>),
# registries.conf, auth.json with the mirror logins, and the platform's Docker Hub login. Part of the
# library sourced by proxy-config.sh (conventions there). These steps own the run's OCI state:
# PC_MIRROR_ORDER and PC_MIRROR_URL/KEY/USER/PASS (pc_collect_mirrors), PC_LOGIN_REGISTRY/MIRROR
# (pc_resolve_images).

PC_REGISTRIES_CONF_HEADER='# Written by the proxy-config build preamble.'  # its first line: the file is the preamble's
PC_REGISTRIES_DROP_IN=zzzz-proxy-config.conf  # the same remaps, after the image's drop-ins (name order)

# Registry id -> mirror value / winning key / username key / password key, for the mirrors in effect.
pc_collect_mirrors() {
    declare -gA PC_MIRROR_URL=() PC_MIRROR_KEY=() PC_MIRROR_USER=() PC_MIRROR_PASS=()
    PC_MIRROR_ORDER=()
    local key registry value found rule shown
    local -A credentials
    for key in ${PC_OCI_KEYS[$PC_STRATEGY]}; do
        pc_lookup value found "$key" || continue
        for registry in "${!PC_REGISTRY_MIRROR_KEY[@]}"; do
            [[ ${PC_REGISTRY_MIRROR_KEY[$registry]} == "$key" ]] && break
        done
        if ! pc_mirror_ok rule "$value"; then
            pc_refuse "$found" "$rule"
            return 1
        fi
        PC_MIRROR_ORDER+=("$registry")
        PC_MIRROR_URL[$registry]=$value PC_MIRROR_KEY[$registry]=$found
        pc_credentials credentials "$key"
        PC_MIRROR_USER[$registry]=${credentials[user_key]} PC_MIRROR_PASS[$registry]=${credentials[pass_key]}
        pc_report mirror "$registry" "${PC_MIRROR_KEY[$registry]}" "${PC_MIRROR_USER[$registry]}"
        pc_mask_url shown "$value"
        pc_log "OCI mirror for $registry: $shown (from ${PC_MIRROR_KEY[$registry]})"
    done
}

# $1 <- the mirror (registry id) whose host serves an override at domain $2: own registry $3 first,
# then catalog order; returns 1 (and $1 <- '') when none does.
pc__override_mirror() {
    local _registry
    printf -v "$1" ''
    for _registry in "$3" "${PC_MIRROR_ORDER[@]}"; do
        [[ -n ${PC_MIRROR_URL[$_registry]:-} && -n ${PC_MIRROR_USER[$_registry]} ]] || continue
        if [[ ${PC_MIRROR_URL[$_registry]%%/*} == "$2" ]]; then
            printf -v "$1" %s "$_registry"
            return 0
        fi
    done
    return 1
}

# Add a login for auth.json key $1 with mirror $2's credentials (once per pair).
pc_add_login() {
    local registry=$1 mirror=$2 i
    for ((i = 0; i < ${#PC_LOGIN_REGISTRY[@]}; i++)); do
        [[ ${PC_LOGIN_REGISTRY[i]} == "$registry" && ${PC_LOGIN_MIRROR[i]} == "$mirror" ]] && return 0
    done
    PC_LOGIN_REGISTRY+=("$registry") PC_LOGIN_MIRROR+=("$mirror")
}

# Resolve every image of the strategy and export PROXY_IMAGE_<NAME>.
pc_resolve_images() {
    local image index default registry override variable resolved source key mirror domain path value tag digest repository shown
    local -A ref
    PC_LOGIN_REGISTRY=() PC_LOGIN_MIRROR=()
    for registry in "${PC_MIRROR_ORDER[@]}"; do
        [[ -n ${PC_MIRROR_USER[$registry]} ]] && pc_add_login "${PC_MIRROR_URL[$registry]}" "$registry"
    done
    for image in ${PC_IMAGES[$PC_STRATEGY]}; do
        index=$PC_STRATEGY/$image
        default=${PC_IMAGE_DEFAULT[$index]} registry=${PC_IMAGE_REGISTRY[$index]} override=${PC_IMAGE_OVERRIDE[$index]}
        pc_platform_host default "$default"
        pc_parse_normalized ref "$default" || { pc_fail "catalog default $default is not a valid reference"; return 1; }
        mirror=''
        if [[ -n $override ]] && pc_lookup value key "$override"; then
            source=override
            tag=${ref[tag]} digest=${ref[digest]}
            if ! pc_parse_normalized ref "$value"; then
                pc_refuse "$key" image-override-invalid
                return 1
            fi
            if [[ -z ${ref[tag]} && -z ${ref[digest]} ]]; then
                ref[tag]=$tag ref[digest]=$digest
                pc_ref_string resolved ref
                if ! pc_parse ref "$resolved"; then
                    pc_refuse "$key" image-override-invalid
                    return 1
                fi
            fi
            pc_ref_string resolved ref
            domain=${resolved%%/*}
            if pc__override_mirror mirror "$domain" "$registry"; then
                # Its login: the repository the override names (ref holds resolved, parsed), without tag or digest.
                ref[tag]='' ref[digest]=''
                pc_ref_string repository ref
                pc_add_login "$repository" "$mirror"
            fi
        elif [[ -n ${PC_MIRROR_URL[$registry]:-} ]]; then
            source=mirror key=${PC_MIRROR_KEY[$registry]}
            [[ -n ${PC_MIRROR_USER[$registry]} ]] && mirror=$registry
            domain=${PC_MIRROR_URL[$registry]%%/*} path=''
            [[ ${PC_MIRROR_URL[$registry]} == */* ]] && path=${PC_MIRROR_URL[$registry]#*/}/
            ref[domain]=$domain ref[path]=$path${ref[path]}
            pc_ref_string resolved ref
            pc_parse ref "$resolved" || { pc_refuse "$key" mirror-rewrite-invalid; return 1; }
        else
            source=default key='' resolved=$default
        fi
        pc__upper variable "PROXY_IMAGE_${image//-/_}"
        printf -v "$variable" '%s' "$resolved"
        export "${variable?}"
        pc_report image "$image" "$source" "$key" "${mirror:+${PC_MIRROR_USER[$mirror]}}"
        pc_mask_url shown "$resolved"  # a token a hosted registry's path holds (grammar.yaml path_tokens)
        pc_log "image $image: $shown ($source${key:+ from $key})"
    done
}

# $1 <- reference or prefix $2 with its registry host replaced by CHOREO_REGISTRY (a PDP's own platform
# registry) when that host is one of the platform's (PC_PLATFORM_HOSTS); else $2 unchanged.
pc_platform_host() {
    local _host=${2%%/*} _platform
    printf -v "$1" %s "$2"
    [[ -n $PC_CHOREO_REGISTRY ]] || return 0
    for _platform in $PC_PLATFORM_HOSTS; do
        if [[ $_host == "$_platform" ]]; then
            printf -v "$1" %s "$PC_CHOREO_REGISTRY${2:${#_host}}"
            return 0
        fi
    done
}

# registries.conf: each mirrored registry's prefixes remapped (no [[registry.mirror]], which would
# fall back to the public registry), short names resolved only through docker.io. A registry's prefix
# may lie inside another's (docker.io/buildpacksio in docker.io): the longest prefix wins, as in plan.
# The same again as the last of the user's drop-ins (PC_REGISTRIES_DROP_IN): containers/image reads
# ~/.config/containers/registries.conf.d/*.conf after the file, in name order, and a drop-in's entry for a
# prefix replaces the file's, so an image's own drop-in would otherwise take a mirrored prefix.
# Without a mirror in effect the image's own configuration stays (the contract: opt-in, backwards compatible);
# only files an earlier run of the preamble wrote are removed.
pc_write_registries_conf() {
    local dir=$HOME/.config/containers file registry prefix location out entry first
    local -A written=()
    if ((${#PC_MIRROR_ORDER[@]} == 0)); then
        for file in "$dir/registries.conf" "$dir/registries.conf.d/$PC_REGISTRIES_DROP_IN"; do
            first=''
            [[ -f $file ]] && IFS= read -r first <"$file"
            [[ $first == "$PC_REGISTRIES_CONF_HEADER" ]] || continue
            pc__remove_stale "$file" || return
        done
        return 0
    fi
    out=$PC_REGISTRIES_CONF_HEADER$'\n'
    out+=$'unqualified-search-registries = ["docker.io"]\nshort-name-mode = "enforcing"\n'
    for registry in "${PC_MIRROR_ORDER[@]}"; do
        for prefix in ${PC_REGISTRY_PREFIXES[$registry]}; do
            pc_platform_host prefix "$prefix"
            [[ -n ${written[$prefix]:-} ]] && continue
            written[$prefix]=1
            location=${PC_MIRROR_URL[$registry]}
            [[ $prefix == */* ]] && location+=/${prefix#*/}
            printf -v entry '\n[[registry]]\nprefix = "%s"\nlocation = "%s"\n' "$prefix" "$location"
            out+=$entry
        done
    done
    pc_write_private "$dir/registries.conf" "$out" || return 1
    pc_write_private "$dir/registries.conf.d/$PC_REGISTRIES_DROP_IN" "$out" || return 1
    # A CONTAINERS_REGISTRIES_CONF from the image would win over this file (and bring in the system
    # registries.conf.d drop-ins); the preamble owns the registry configuration.
    unset CONTAINERS_REGISTRIES_CONF
}

# Remove $1, a file an earlier run of the preamble wrote for a mirror no longer in effect: left behind, it would still
# send pulls to that mirror, so a file that cannot be removed stops the build.
pc__remove_stale() {
    if ! rm -f -- "$1" 2>/dev/null || [[ -e $1 ]]; then
        pc_fail "cannot remove $1, written by an earlier run for a mirror no longer in effect: it would still apply"
        return 2
    fi
}

pc__base64() { printf '%s' "$1" | base64 -w0; }

# auth.json with every mirror login, then the Docker Hub login when no Docker Hub mirror is in effect. With no
# mirror login the image's auth.json and REGISTRY_AUTH_FILE stay as they are (opt-in: a login the build made
# before is kept); only a file this preamble wrote and nobody changed since is removed (its digest in the state).
pc_write_auth() {
    local file=$HOME/.config/containers/auth.json stamp=$PC_STATE_DIR/auth.json.sha256 i registry mirror user pass
    local entries=() out entry sep='' digest=''
    if ((${#PC_LOGIN_REGISTRY[@]} == 0)); then
        if [[ -f $stamp && -f $file ]] && digest=$(sha256sum <"$file") && [[ $digest == "$(<"$stamp")" ]]; then
            pc__remove_stale "$file" || return 1
            [[ ${REGISTRY_AUTH_FILE:-} != "$file" ]] || unset REGISTRY_AUTH_FILE  # an earlier sourcing's export
        fi
        rm -f -- "$stamp"
    else
        for ((i = 0; i < ${#PC_LOGIN_REGISTRY[@]}; i++)); do
            registry=${PC_LOGIN_REGISTRY[i]} mirror=${PC_LOGIN_MIRROR[i]}
            pc__read_file user "${PC_MIRROR_USER[$mirror]}"
            pc__read_file pass "${PC_MIRROR_PASS[$mirror]}"
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
    fi
    if [[ -n ${PC_DOCKERHUB_LOGIN[$PC_STRATEGY]} && -z ${PC_MIRROR_URL[dockerhub]:-} ]]; then
        pc_dockerhub_login || return 1
    fi
    if ((${#entries[@]})); then sha256sum <"$file" >"$stamp"; fi
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
    if ! printf '%s\n' "$pass" | "${PREAMBLE_LOGIN_COMMAND:-podman}" login ${REGISTRY_AUTH_FILE:+--authfile "$REGISTRY_AUTH_FILE"} \
        --username "$user" --password-stdin docker.io >/dev/null; then
        pc_fail "Docker Hub login failed; $hint"
        return 1
    fi
}
