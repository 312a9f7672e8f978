# shellcheck shell=bash
# The hand-off: what the build command (pack build, podman build) is given, written to the state directory's
# `handoff` (NUL-terminated triples KIND NAME VALUE, harness/preamble/interface.py). The build runs in another
# container, as another user (PREAMBLE_BUILD_USER, uid:gid) with another home (PREAMBLE_BUILD_HOME): only what
# is listed here reaches it.
#   volume  each client configuration written under HOME, mounted at the same place in the build user's home:
#           a top-level file or directory of HOME (under .config, its subdirectory), given to the build user
#           (mode 0600 kept). Not handed: the state directory and .config/containers (the pulls' registries.conf
#           and auth.json are the runtime's, not the build's). A file outside HOME is mounted at its own path.
#   env     the variables a writer exported (Go's, COMPOSER_HOME) and the client location variables it followed
#           (pc_handoff_location), paths under HOME moved to the build's home
#   build-arg  <IMAGE>_IMAGE for every image of the strategy: the resolved reference (NODE_IMAGE, NGINX_IMAGE)
#   secret  npmrc: the .npmrc written, for a Dockerfile's `RUN --mount=type=secret,id=npmrc`
# Part of the library sourced by proxy-config.sh (conventions there).

declare -ga PC_WRITTEN=() PC_HANDOFF_ENV=()
PC_HANDOFF_NPMRC=''  # the .npmrc written (managers/npm.sh)

pc__handoff_item() {
    printf '%s\0%s\0%s\0' "$1" "$2" "$3" >>"$PC_STATE_DIR/handoff"
}

# A client location variable the image set ($@: NPM_CONFIG_USERCONFIG, XDG_CONFIG_HOME, ...) goes to the build with
# the files: a writer followed it, so the build's client must too, or it reads its default place and finds nothing.
pc_handoff_location() {
    local name
    for name; do
        if [[ -n ${!name:-} && " ${PC_HANDOFF_ENV[*]} " != *" $name "* ]]; then PC_HANDOFF_ENV+=("$name"); fi
    done
}

pc_write_handoff() {
    local build_home=${PREAMBLE_BUILD_HOME:-$HOME} home=${HOME%/} file unit rest target name value image variable
    local -A seen=()
    : >"$PC_STATE_DIR/handoff" || return
    for file in "${PC_WRITTEN[@]}"; do
        unit=$file target=$file  # a file outside HOME: mounted at its own path
        if [[ $file == "$home"/* ]]; then
            rest=${file#"$home"/} unit=${file#"$home"/} unit=${unit%%/*}
            [[ $unit == .config ]] && rest=${rest#.config/} && unit=.config/${rest%%/*}
            [[ $home/$unit == "${PC_STATE_DIR%/}" || $unit == .config/containers ]] && continue
            target=${build_home%/}/$unit unit=$home/$unit
        fi
        [[ -n ${seen[$unit]:-} ]] && continue
        seen[$unit]=1
        if [[ -n ${PREAMBLE_BUILD_USER:-} ]] && ! chown -R -- "$PREAMBLE_BUILD_USER" "$unit"; then
            pc_fail "cannot give $unit to the build user $PREAMBLE_BUILD_USER (PREAMBLE_BUILD_USER)"
            return 2
        fi
        pc__handoff_item volume "$unit" "$target"
    done
    for name in "${PC_HANDOFF_ENV[@]}"; do
        value=${!name}
        [[ $value == "$home"/* ]] && value=${build_home%/}/${value#"$home"/}
        pc__handoff_item env "$name" "$value"
    done
    for image in ${PC_IMAGES[$PC_STRATEGY]}; do
        pc__upper variable "PROXY_IMAGE_${image//-/_}"
        pc__upper name "${image//-/_}_IMAGE"
        pc__handoff_item build-arg "$name" "${!variable}"
    done
    [[ -z $PC_HANDOFF_NPMRC ]] || pc__handoff_item secret npmrc "$PC_HANDOFF_NPMRC"
}
