# shellcheck shell=bash disable=SC2034 # (variables shared between the files of this directory)
# ADAPTER (harness side). Puts the platform's preamble (lib/platform.sh: the platform's semantics, untouched)
# behind the harness's preamble interface, harness/preamble/interface.py (docs/platform-preamble.md):
#
#   in   PROXY_CONFIG_DIR, HOME, CHOREO_REGISTRY, PLATFORM_DOCKERHUB_USERNAME/PASSWORD, PREAMBLE_DRY_RUN_LOGIN,
#        PREAMBLE_LOGIN_COMMAND, PREAMBLE_STATE_DIR, PREAMBLE_SOURCE_DIRS (the components' source directories,
#        ':'-separated: the platform's Gemfile and composer.json edits are made in each; unset: in none)
#   does run the platform's flow for the strategy with its logins going through pfa_runtime (performed with
#        PREAMBLE_LOGIN_COMMAND, or recorded when PREAMBLE_DRY_RUN_LOGIN is set), then hand its `pack build` /
#        `podman build` hand-off to the build step as the build container would see it:
#          --env NAME=VALUE                 exported (and written to the client's own file where the harness
#                                           reads it: NPM_CONFIG_REGISTRY -> ~/.npmrc, PIP_INDEX_URL -> pip.conf,
#                                           GOPROXY/GONOSUMDB -> Go's env file; the same setting, lower precedence)
#          --volume SRC:/home/cnb/PATH      SRC copied to $HOME/PATH (the build user's home is the step's HOME)
#          GOOGLE_BUILD_ARGS=--settings=F   (the last one, as pack keeps it) F as ~/.m2/settings.xml;
#                    --init-script=F    F as ~/.gradle/init.d/platform-proxy.gradle (Gradle applies every init.d script)
#          --secret id=npmrc,src=F          F as ~/.npmrc (the secret the Dockerfile's npm reads), when not empty
#          --build-arg NODE_IMAGE=V ...     V as the image the build uses
#        The words are split as the platform's `eval` splits them (whitespace), but never evaluated.
#   out  PROXY_IMAGE_<NAME> for every image of the catalog's strategy (an image the platform does not name keeps
#        the catalog's default), REGISTRY_AUTH_FILE, and in the state directory report.tsv, ignored-keys,
#        dockerhub-login and `logins` (each login's arguments, NUL-separated, one login a line: dry run only),
#        and build-command (the command line the platform would evaluate).

PFA_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd) || return
# The harness's catalog (generated from harness/contract/catalog.yaml): the strategies' logical images.
# shellcheck source=../lib/catalog.sh
source "$PFA_DIR/../lib/catalog.sh" || return
# shellcheck source=lib/platform.sh
source "$PFA_DIR/lib/platform.sh" || return

# Which catalog image is which of the platform's, and for the ones the platform resolves, the keys it reads.
declare -gA PFA_SLOT=([buildpacks-builder]=builder [buildpacks-run]=run [buildpacks-lifecycle]=lifecycle
    [node]=node [nginx]=nginx [prism]=prism [golang]=golang)
declare -gA PFA_RESOLVED=(
    [webapp:node]="image-node-ref oci-dockerhub-url" [webapp:nginx]="image-nginx-ref oci-choreo-url"
    [test-runner:node]="image-node-ref oci-dockerhub-url"
    [prism:prism]="image-prism-ref oci-choreo-url" [prism:golang]="image-golang-ref oci-choreo-url"
    [buildpack:builder]="image-buildpacks-builder-ref oci-buildpacks-url"
    [buildpack:run]="image-buildpacks-run-ref oci-buildpacks-url"
    [buildpack:lifecycle]="image-buildpacks-lifecycle-ref oci-buildpacks-url"
    [ballerina:builder]="image-buildpacks-builder-ref oci-buildpacks-url"
    [ballerina:lifecycle]="image-buildpacks-lifecycle-ref oci-buildpacks-url"
    [mi:builder]="image-buildpacks-builder-ref oci-buildpacks-url"
    [mi:lifecycle]="image-buildpacks-lifecycle-ref oci-buildpacks-url"
)
# The package managers each platform flow configures (report lines), in the flow's order.
declare -gA PFA_MANAGERS=([buildpack]="maven gradle npm python go rubygems nuget composer" [mi]=maven
    [webapp]=npm [test-runner]=npm [prism]=npm [ballerina]="" [byoc]="")
declare -gA PFA_LOOKED_UP=() PFA_LOGIN_USER=() PFA_AUTHS=()

pfa_log() { printf 'platform-preamble: %s\n' "$*" >&2; }

# The platform's lookups, observed: every name it looks at is a key it consumes (ignored-keys).
pf_on_lookup() {
    [[ -n ${PFA_QUIET:-} ]] && return 0
    PFA_LOOKED_UP[$2]=1
    [[ -n $1 ]] && PFA_LOOKED_UP[$1.$2]=1
    return 0
}

# The file name that wins for KEY under the platform's rule (scoped when its value is non-empty, else global
# when its value is non-empty), or empty: provenance for the report, read with the platform's own function.
pfa_winner() {
    local -n _pfa_winner=$1
    local _value PFA_QUIET=1
    _pfa_winner=""
    pf_proxy_val _value "" "$PFA_STRATEGY.$2"
    if [[ -n $_value ]]; then
        _pfa_winner=$PFA_STRATEGY.$2
        return 0
    fi
    pf_proxy_val _value "" "$2"
    [[ -n $_value ]] && _pfa_winner=$2
    return 0
}

pfa_report() {
    local IFS=$'\t'
    printf '%s\n' "$*" >>"$PFA_STATE_DIR/report.tsv"
}

# The mirror logins the platform's pf_proxy_login will perform, in order: "USERKEY<TAB>PASSKEY" each.
pfa_queue_logins() {
    local _registry _url _user _pass
    declare -ga PFA_LOGIN_QUEUE=()
    for _registry in dockerhub choreo buildpacks; do
        pfa_winner _url "oci-$_registry-url"
        pfa_winner _user "oci-$_registry-username"
        pfa_winner _pass "oci-$_registry-password"
        [[ -n $_url && -n $_user ]] && PFA_LOGIN_QUEUE+=("$_user"$'\t'"$_pass")
    done
    return 0
}

# The runtime the platform's logins call: `pfa_runtime login HOST -u USER -p PASSWORD`.
pfa_runtime() {
    local _record _dockerhub="" _keys=""
    [[ $2 == "${PF_DOCKER_REGISTRY:-https://index.docker.io/v1/}" ]] && _dockerhub=1
    if [[ -n $_dockerhub ]]; then
        pfa_report login docker.io "" ""
    else
        if ((${#PFA_LOGIN_QUEUE[@]})); then  # the mirror this login is for (the platform's order)
            _keys=${PFA_LOGIN_QUEUE[0]}
            PFA_LOGIN_QUEUE=("${PFA_LOGIN_QUEUE[@]:1}")
        fi
        pfa_report login "$2" "${_keys%$'\t'*}" "${_keys#*$'\t'}"
        PFA_LOGIN_USER[$2]=${_keys%$'\t'*}  # the host's credentials are the last login's, as podman keeps them
    fi
    if [[ -z ${PREAMBLE_DRY_RUN_LOGIN:-} ]]; then
        "${PREAMBLE_LOGIN_COMMAND:-podman}" "$@"
        return
    fi
    _record=$PFA_STATE_DIR/logins
    [[ -n $_dockerhub ]] && _record=$PFA_STATE_DIR/dockerhub-login
    (umask 077 && { printf '%s' "${PREAMBLE_LOGIN_COMMAND:-podman}" && printf '\0%s' "$@" && printf '\n'; } >>"$_record") || return
    if [[ -n $_dockerhub ]]; then
        pfa_log "Docker Hub login recorded, not performed (PREAMBLE_DRY_RUN_LOGIN)"
    else
        PFA_AUTHS[$2]=$(printf '%s' "$4:$6" | base64 -w0)  # what `podman login` stores in REGISTRY_AUTH_FILE
        pfa_write_auths || return
        pfa_log "login to ${2@Q} recorded, not performed (PREAMBLE_DRY_RUN_LOGIN)"
    fi
}

pfa_json_string() {
    local -n _pfa_json=$1
    local _s=${2//\\/\\\\}
    _s=${_s//\"/\\\"}
    _s=${_s//$'\r'/\\r}
    _s=${_s//$'\t'/\\t}
    _pfa_json="\"$_s\""
}

pfa_write_auths() {
    local _host _key _out="" _sep=""
    for _host in "${!PFA_AUTHS[@]}"; do
        pfa_json_string _key "$_host"
        _out+="$_sep$_key: {\"auth\": \"${PFA_AUTHS[$_host]}\"}" _sep=", "
    done
    (umask 077 && mkdir -p "${REGISTRY_AUTH_FILE%/*}" && printf '{"auths": {%s}}\n' "$_out" >"$REGISTRY_AUTH_FILE")
}

# Copy a file of the hand-off into the build user's home (mode 0600 under the run's umask).
pfa_install() {
    local _source=$1 _target=$HOME/$2
    [[ -f $_source ]] || { pfa_log "hand-off file ${_source@Q} is missing"; return 0; }
    mkdir -p "${_target%/*}" && cp -- "$_source" "$_target.$$" && mv -f -- "$_target.$$" "$_target"
}

# The host file behind a container path, through the --volume mounts (exact, or under a mounted directory).
pfa_host_path() {
    local -n _pfa_path=$1
    local _container=$2 _mount
    _pfa_path=""
    for _mount in "${PFA_MOUNTS[@]}"; do
        local _src=${_mount%%:*} _rest=${_mount#*:}
        local _dest=${_rest%%:*}
        if [[ $_container == "$_dest" ]]; then
            _pfa_path=$_src
        elif [[ $_container == "$_dest"/* ]]; then
            _pfa_path=$_src/${_container#"$_dest"/}
        fi
    done
}

pfa_set_ini_line() {  # FILE KEY VALUE: KEY=VALUE first in FILE, replacing an earlier KEY line
    local _file=$1 _rest=""
    [[ -f $_file ]] && _rest=$(grep -v -- "^$2=" "$_file" || true)
    mkdir -p "${_file%/*}" && printf '%s=%s\n%s' "$2" "$3" "${_rest:+$_rest$'\n'}" >"$_file"
}

pfa_handoff() {
    printf '%s\0%s\0%s\0' "$1" "$2" "$3" >>"$PFA_STATE_DIR/handoff"
}

# The hand-off words, split as `eval` splits them: written to the interface's hand-off file, and applied to
# HOME and the environment (what preamble-check reads).
pfa_apply_handoff() {
    local -a _words
    local _i _word _name _value _google="" _path _goenv=${GOENV:-${XDG_CONFIG_HOME:-$HOME/.config}/go/env}
    declare -ga PFA_MOUNTS=()
    declare -gA PFA_BUILD_ARG=()
    # shellcheck disable=SC2153 # set by the platform's flow (lib/flows.sh)
    read -ra _words <<<"$PF_LANG_ENV $PF_LANG_VOLUMES $PF_MAVEN_BINDING $PF_BUILD_ARGS"
    : >"$PFA_STATE_DIR/handoff" || return
    for ((_i = 0; _i < ${#_words[@]}; _i++)); do  # the interface's hand-off file: the words as pack and podman take them
        _word=${_words[_i + 1]:-}
        case ${_words[_i]} in
            --volume)
                PFA_MOUNTS+=("$_word")
                _path=${_word#*:}
                pfa_handoff volume "${_word%%:*}" "${_path%%:*}" ;;
            --env) pfa_handoff env "${_word%%=*}" "${_word#*=}" ;;
            --build-arg) pfa_handoff build-arg "${_word%%=*}" "${_word#*=}" ;;
            --secret)
                _name=${_word#id=} _name=${_name%%,*}
                if [[ $_word == *,src=* ]]; then pfa_handoff secret "$_name" "${_word#*,src=}"; fi ;;
        esac || return
    done
    for ((_i = 0; _i < ${#_words[@]}; _i++)); do  # files first: an --env below may add to one of them
        _word=${_words[_i + 1]:-}
        case ${_words[_i]} in
            --volume)
                _path=${_word#*:} _path=${_path%%:*}
                if [[ $_path == /home/cnb/* ]]; then
                    pfa_install "${_word%%:*}" "${_path#/home/cnb/}" || return
                fi
                ;;
            --secret)
                if [[ $_word == id=npmrc,src=* && -s ${_word#id=npmrc,src=} ]]; then  # empty: as no file for npm
                    pfa_install "${_word#id=npmrc,src=}" .npmrc || return
                fi
                ;;
            --build-arg) PFA_BUILD_ARG[${_word%%=*}]=${_word#*=} ;;
        esac
    done
    for ((_i = 0; _i < ${#_words[@]}; _i++)); do
        [[ ${_words[_i]} == --env ]] || continue
        _word=${_words[_i + 1]:-} _name=${_words[_i + 1]%%=*} _value=${_words[_i + 1]#*=}
        if [[ $_name == GOOGLE_BUILD_ARGS ]]; then
            _google=$_value
            continue
        fi
        export "$_name=$_value"
        case $_name in
            NPM_CONFIG_REGISTRY) pfa_set_ini_line "$HOME/.npmrc" registry "$_value" ;;
            PIP_INDEX_URL)
                mkdir -p "$HOME/.config/pip" && printf '[global]\nindex-url = %s\n' "$_value" >"$HOME/.config/pip/pip.conf" ;;
            GOPROXY | GONOSUMDB) pfa_set_ini_line "$_goenv" "$_name" "$_value" ;;
        esac || return
    done
    case $_google in
        --settings=*)
            pfa_host_path _path "${_google#--settings=}"
            [[ -z $_path ]] || pfa_install "$_path" .m2/settings.xml || return ;;
        --init-script=*)
            pfa_host_path _path "${_google#--init-script=}"
            [[ -z $_path ]] || pfa_install "$_path" .gradle/init.d/platform-proxy.gradle || return ;;
    esac
}

pfa_export_images() {
    local _image _slot _value _keys _override_key _mirror_key _source _key _user _host PFA_QUIET=1
    for _image in ${PC_IMAGES[$PFA_STRATEGY]}; do
        _slot=${PFA_SLOT[$_image]:-} _source=default _key="" _user=""
        if [[ -n $_slot && -n ${PF_IMAGE[$_slot]+set} ]]; then
            _value=${PF_IMAGE[$_slot]}
            [[ -n ${PFA_BUILD_ARG[${_slot^^}_IMAGE]+set} ]] && _value=${PFA_BUILD_ARG[${_slot^^}_IMAGE]}
        else
            _value=${PC_IMAGE_DEFAULT[$PFA_STRATEGY/$_image]}
            [[ -n ${CHOREO_REGISTRY:-} && $_value == "$PC_DEFAULT_CHOREO_REGISTRY"/* ]] &&
                _value=$CHOREO_REGISTRY/${_value#"$PC_DEFAULT_CHOREO_REGISTRY"/}
        fi
        _keys=${PFA_RESOLVED[$PFA_STRATEGY:$_slot]:-}
        if [[ -n $_keys ]]; then
            _override_key=${_keys% *} _mirror_key=${_keys#* }
            pfa_winner _key "$_override_key"
            if [[ -n $_key ]]; then
                _source=override
                pf_proxy_val _host "" "$_key"
            else
                pfa_winner _key "$_mirror_key"
                [[ -n $_key ]] && _source=mirror && pf_proxy_val _host "" "$_key"
            fi
            [[ -n $_key ]] && _user=${PFA_LOGIN_USER[${_host%%/*}]:-}
        fi
        export "PROXY_IMAGE_$(tr 'a-z-' 'A-Z_' <<<"$_image")=$_value"
        pfa_report image "$_image" "$_source" "$_key" "$_user"
    done
}

pfa_report_packages() {
    local _manager _url _token _user _pass PFA_QUIET=1
    for _manager in ${PFA_MANAGERS[$PFA_STRATEGY]}; do
        pfa_winner _url "pkg-$_manager-url"
        [[ -n $_url ]] || continue
        if [[ $_manager == npm ]]; then
            pfa_winner _token pkg-npm-token
            if [[ -n $_token ]]; then
                pfa_report package npm token "$_url" "$_token" "" ""
            else
                pfa_report package npm none "$_url" "" "" ""
            fi
            continue
        fi
        pfa_winner _user "pkg-$_manager-username"
        pfa_winner _pass "pkg-$_manager-password"
        if [[ -n $_user ]]; then
            pfa_report package "$_manager" basic "$_url" "" "$_user" "$_pass"
        else
            pfa_report package "$_manager" none "$_url" "" "" ""
        fi
    done
}

pfa_report_ignored() {
    local _path _name
    : >"$PFA_STATE_DIR/ignored-keys"
    [[ -d $PF_PROXY_DIR ]] || return 0
    for _path in "$PF_PROXY_DIR"/*; do
        [[ -e $_path || -L $_path ]] || continue
        _name=${_path##*/}
        [[ -n ${PFA_LOOKED_UP[$_name]:-} ]] && continue
        printf '%s\0' "$_name" >>"$PFA_STATE_DIR/ignored-keys"
        pfa_log "ignoring ${_name@Q}: the platform's $PFA_STRATEGY flow never reads it"
    done
}

# The component's own files the platform's flow edits before its build (functions of lib/packages.sh that write
# into PF_SOURCE_DIR), made in each directory of PREAMBLE_SOURCE_DIRS as the flow makes them for its one
# component: only the edits the strategy's flow calls, each in a subshell, so that the hand-off it adds to
# (PF_LANG_ENV) is the flow's own, once.
PFA_SOURCE_EDITS=(pf_setup_bundler pf_setup_composer)
pfa_edit_sources() {
    local _dirs _dir _edit _flow
    _flow=$(declare -f "pf_flow_${PFA_STRATEGY//-/_}") || return
    IFS=: read -r -a _dirs <<<"${PREAMBLE_SOURCE_DIRS:-}"
    for _dir in "${_dirs[@]}"; do
        [[ -d $_dir ]] || continue
        for _edit in "${PFA_SOURCE_EDITS[@]}"; do
            [[ $_flow == *"$_edit $PFA_STRATEGY"* ]] || continue
            (PF_SOURCE_DIR=$_dir && "$_edit" "$PFA_STRATEGY") || return
        done
    done
}

# The entry point: run the platform's flow for strategy $1 behind the interface. Non-zero where the
# platform's build step would stop (it never exits).
pfa_main() {
    PFA_STRATEGY=$1
    PF_PROXY_DIR=${PROXY_CONFIG_DIR:-/mnt/proxy-config}
    PFA_STATE_DIR=${PREAMBLE_STATE_DIR:-$HOME/.proxy-config-preamble}
    PF_WORK=$PFA_STATE_DIR/platform
    PF_RUNTIME=pfa_runtime
    PF_SOURCE_DIR=''  # the flow hands off without a source; pfa_edit_sources edits each component's
    PF_DOCKER_USER_NAME=${PLATFORM_DOCKERHUB_USERNAME:-} PF_DOCKER_USER_PASSWORD=${PLATFORM_DOCKERHUB_PASSWORD:-}
    PFA_LOOKED_UP=() PFA_LOGIN_USER=() PFA_AUTHS=()
    if [[ -z ${PC_IMAGES[$PFA_STRATEGY]+set} ]]; then
        pfa_log "unknown strategy $PFA_STRATEGY (one of: $PC_STRATEGIES)"
        return 1
    fi
    local _status=0 _umask
    _umask=$(umask)
    umask 077
    if ! mkdir -p -- "$PF_WORK" || ! : >"$PFA_STATE_DIR/report.tsv"; then
        umask "$_umask"
        return 1
    fi
    rm -f -- "$PFA_STATE_DIR/dockerhub-login" "$PFA_STATE_DIR/logins"
    export REGISTRY_AUTH_FILE=${XDG_CONFIG_HOME:-$HOME/.config}/containers/auth.json
    unset CONTAINERS_REGISTRIES_CONF
    {
        pfa_queue_logins &&
            { umask "$_umask"; pf_flow "$PFA_STRATEGY" && pfa_edit_sources; } &&  # the platform's files, its umask
            { umask 077; pfa_apply_handoff; } &&
            pfa_export_images &&
            pfa_report_packages &&
            pfa_report_ignored &&
            printf '%s\n' "$PF_BUILD_COMMAND" >"$PFA_STATE_DIR/build-command"
    } || _status=$?
    umask "$_umask"
    if ((_status)); then
        pfa_log "the platform's $PFA_STRATEGY flow stopped (status $_status): the build would stop here"
    fi
    return "$_status"
}
