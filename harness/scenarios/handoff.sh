# shellcheck shell=bash
# The build's side of the hand-off (harness/preamble/interface.py, HANDOFF_FILE), sourced by the scenario's build
# script in the builder after the preamble: what the preamble handed to the strategy's build command reaches the
# steps as that command gives it, and nothing else does.
#   pack build    the buildpacks' build runs as the build user (cnb) in its own home, with the builder image's
#                 environment and the hand-off's: `env` items as pack's --env-file gives them (the last of a name
#                 wins; never on a command line), `volume` items copied as a bind mount shows them (owner and mode
#                 kept; missing parents made root's, as the container runtime makes them)
#   podman build  a real `podman build` of the component's Dockerfile: FROM the stage image's build argument
#                 (NODE_IMAGE), `npm config set registry "$NPM_REGISTRY"`, then the step as a RUN with the `npmrc`
#                 secret mounted at /root/.npmrc (airgap_podman_build), with the `build-arg` and `secret` items
# Every item of a kind the command does not take is ignored. Names are logged, values never.

AIRGAP_BUILD_USER=cnb  # the user of pack's builders (the builder image has it, uid 1000)
AIRGAP_BUILD_HOME=/home/cnb
AIRGAP_RUN_DIR=/run/airgap
# The builder image's environment, taken before any preamble runs: its PATH and its trust store for Java.
AIRGAP_BASE_ENV=(LANG=C.UTF-8 "PATH=$PATH" "JAVA_TOOL_OPTIONS=${JAVA_TOOL_OPTIONS:-}")
declare -gA AIRGAP_BUILD_ARG=() AIRGAP_SECRET=()

airgap__log() { printf 'airgap hand-off: %s\n' "$*"; }

# Copy SOURCE to TARGET as a bind mount of SOURCE at TARGET shows it.
airgap__mount() {
    if [[ $2 != /* ]]; then
        airgap__log "volume target ${2@Q} is not an absolute path: the build command refuses it"
        return 1
    fi
    if [[ ! -e $1 ]]; then
        airgap__log "volume source ${1@Q} does not exist: the build command refuses it"
        return 1
    fi
    [[ $1 -ef $2 ]] && return 0  # a path mounted onto itself (a file written outside HOME): as it is
    mkdir -p -- "$(dirname -- "$2")" && rm -rf -- "$2" && cp -a -- "$1" "$2"
}

# airgap_handoff COMMAND STATE_DIR: prepare the build as COMMAND (pack build, podman build) takes the hand-off.
airgap_handoff() {
    local command=$1 file=$2/handoff kind name value env=$AIRGAP_RUN_DIR/build-env
    local -a taken=()
    AIRGAP_BUILD_ARG=() AIRGAP_SECRET=()
    mkdir -p -- "$AIRGAP_RUN_DIR" && (umask 077 && : >"$env") || return
    if [[ -f $file ]]; then
        while IFS= read -r -d '' kind && IFS= read -r -d '' name && IFS= read -r -d '' value; do
            case $command/$kind in
                "pack build/env")
                    if [[ ! $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
                        airgap__log "env ${name@Q} is not a variable name: not given to the build"
                        continue
                    fi
                    printf 'export %s=%q\n' "$name" "$value" >>"$env" || return
                    taken+=("env $name") ;;  # never a value
                "pack build/volume")
                    airgap__mount "$name" "$value" || return
                    taken+=("volume ${name@Q} -> ${value@Q}") ;;
                "podman build/build-arg")
                    AIRGAP_BUILD_ARG[$name]=$value
                    taken+=("build-arg $name") ;;
                "podman build/secret")
                    AIRGAP_SECRET[$name]=$value
                    taken+=("secret $name -> ${value@Q}") ;;
            esac
        done <"$file"
    fi
    chown "$AIRGAP_BUILD_USER:" "$env" || return
    airgap__log "${command:-none}: ${#taken[@]} item(s)"
    local item
    for item in "${taken[@]}"; do airgap__log "  $item"; done
}

# Run COMMAND as the buildpacks' build runs it: the build user, its home, the builder's and the hand-off's env.
# shellcheck disable=SC2016 # the inner script's variables are its own
airgap_build_user() {
    setpriv --reuid="$AIRGAP_BUILD_USER" --regid="$AIRGAP_BUILD_USER" --init-groups \
        env -i "${AIRGAP_BASE_ENV[@]}" HOME="$AIRGAP_BUILD_HOME" USER="$AIRGAP_BUILD_USER" LOGNAME="$AIRGAP_BUILD_USER" \
        bash -c 'source "$0" && cd && exec bash -c "$1"' "$AIRGAP_RUN_DIR/build-env" "$1"
}

# The component's Dockerfile for one step COMMAND (the platform's webapp and test-runner Dockerfiles, reduced to
# that step): FROM the build argument AIRGAP_STAGE_ARG (NODE_IMAGE), whose default is AIRGAP_STAGE_DEFAULT (the
# profile's image, used when the hand-off does not give it, as the platform passes it only when it differs);
# the projects directory copied to the same path, so COMMAND's `cd` holds; `npm config set registry` when the
# NPM_REGISTRY argument is given; COMMAND as a RUN with the npmrc secret mounted over root's ~/.npmrc.
airgap__dockerfile() {
    if [[ -z ${AIRGAP_STAGE_ARG:-} || -z ${AIRGAP_STAGE_DEFAULT:-} || -z ${AIRGAP_PROJECTS:-} ]]; then
        airgap__log "no build stage: the profile gives this podman build strategy no node image with a build_arg"
        return 1
    fi
    if [[ $1 == *[$'\n\r']* ]]; then
        airgap__log "a step command with a line break cannot be one RUN line"
        return 1
    fi
    # shellcheck disable=SC2016 # $NPM_REGISTRY and ${NAME} are the Dockerfile's
    printf 'ARG %s=%s\nFROM ${%s}\nARG NPM_REGISTRY\nCOPY . %s/\n' \
        "$AIRGAP_STAGE_ARG" "$AIRGAP_STAGE_DEFAULT" "$AIRGAP_STAGE_ARG" "$AIRGAP_PROJECTS"
    # shellcheck disable=SC2016
    printf 'RUN if [ -n "$NPM_REGISTRY" ]; then npm config set registry "$NPM_REGISTRY"; fi\n'
    printf 'RUN --mount=type=secret,id=npmrc,target=/root/.npmrc %s\n' "$1"
}

# Run COMMAND as a RUN of the component's Dockerfile, built by podman as the build command builds it (vfs storage,
# chroot isolation: the builder's network, DNS and the runtime's registries.conf and auth.json for the FROM pull),
# with the hand-off's build arguments and secrets, as arrays: nothing is evaluated. The stand-in images hold no
# programs (harness/stack/content/oci.py): the RUN borrows the builder's /usr (Debian's Node 18, node:18-alpine's npm 10.8.2) and
# its trust store (the run CA), read-only. --layers=false: one commit, of the final image, instead of one per
# instruction, each of which copies the whole root file system on vfs (webapp's 18 scenarios: 45 -> 32 s of
# builds); what a RUN fetches does not depend on how its result is stored.
airgap_podman_build() {
    local dir=$AIRGAP_RUN_DIR/podman-build name
    local -a args=(--storage-driver vfs build --layers=false --isolation chroot -v /usr:/usr:ro -v /etc/ssl/certs:/etc/ssl/certs:ro)
    rm -rf -- "$dir" && mkdir -p -- "$dir" && airgap__dockerfile "$1" >"$dir/Dockerfile" || return 1
    for name in "${!AIRGAP_BUILD_ARG[@]}"; do args+=(--build-arg "$name=${AIRGAP_BUILD_ARG[$name]}"); done
    for name in "${!AIRGAP_SECRET[@]}"; do args+=(--secret "id=$name,src=${AIRGAP_SECRET[$name]}"); done
    podman "${args[@]}" -f "$dir/Dockerfile" "$AIRGAP_PROJECTS"
}
