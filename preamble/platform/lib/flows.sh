# shellcheck shell=bash disable=SC2034 # (variables shared between the files of this directory)
# PLATFORM SEMANTICS: one flow per strategy, in the order the platform's build step runs them (part of
# lib/platform.sh). `pf_flow STRATEGY` runs one; it returns non-zero where the platform's step would stop.

declare -gA PF_IMAGE=()

pf_flow() {
    PF_IMAGE=() PF_LANG_ENV="" PF_LANG_VOLUMES="" PF_MAVEN_BINDING="" PF_BUILD_ARGS="" PF_BUILD_COMMAND=""
    PF_LIFECYCLE_IMAGE="" PF_NPMRC_SECRET=""
    case $1 in
        webapp | test-runner | byoc | buildpack | ballerina | mi | prism) "pf_flow_${1//-/_}" ;;
        *) printf 'unknown build strategy %s\n' "$1" >&2; return 1 ;;
    esac
}

# A podman build with the node image (and for webapp the nginx image) as build arguments only when they
# differ from the defaults, NPM_REGISTRY when set, and the .npmrc as the build secret.
pf__podman_build_flow() {
    local _strategy=$1 _image _npm_url
    pf_dockerhub_login "$_strategy" || return
    pf_proxy_login "$_strategy" || return
    pf_resolve_image "PF_IMAGE[node]" "$_strategy" image-node-ref oci-dockerhub-url "${PF_DEFAULT_IMAGE[$_strategy:node]}"
    if [[ $_strategy == webapp ]]; then
        pf_resolve_image "PF_IMAGE[nginx]" "$_strategy" image-nginx-ref oci-choreo-url "${PF_DEFAULT_IMAGE[webapp:nginx]}"
    fi
    for _image in node nginx; do
        [[ -n ${PF_IMAGE[$_image]:-} && ${PF_IMAGE[$_image]} != "${PF_DEFAULT_IMAGE[$_strategy:$_image]}" ]] &&
            PF_BUILD_ARGS+=" --build-arg ${_image^^}_IMAGE=${PF_IMAGE[$_image]}"
    done
    pf_proxy_val _npm_url "$_strategy" pkg-npm-url
    [[ -n $_npm_url ]] && PF_BUILD_ARGS+=" --build-arg NPM_REGISTRY=$_npm_url"
    pf_write_npmrc_secret "$_strategy" || return
    PF_BUILD_ARGS+=" --secret id=npmrc,src=$PF_NPMRC_SECRET"
    PF_BUILD_COMMAND="DOCKER_BUILDKIT=1 podman build $PF_BUILD_ARGS -t choreo/app-image:latest --file Dockerfile ."
}

pf_flow_webapp() { pf__podman_build_flow webapp; }
pf_flow_test_runner() { pf__podman_build_flow test-runner; }

# BYOC: the logins, then the component's own Dockerfile as it is: no image is resolved, no package manager set.
pf_flow_byoc() {
    pf_dockerhub_login byoc || return
    pf_proxy_login byoc || return
    PF_BUILD_COMMAND="podman build -t choreo/app-image:latest --file Dockerfile ."
}

# Prism: the prism and golang images through oci-choreo-url, and npm configured in the step itself.
pf_flow_prism() {
    pf_proxy_login prism || return
    pf_resolve_image "PF_IMAGE[prism]" prism image-prism-ref oci-choreo-url "${PF_DEFAULT_IMAGE[prism:prism]}"
    pf_resolve_image "PF_IMAGE[golang]" prism image-golang-ref oci-choreo-url "${PF_DEFAULT_IMAGE[prism:golang]}"
    pf_npm_config_set prism || return
    PF_BUILD_COMMAND="podman build -t prism-mock ."
}

# Google buildpacks: every package manager's hand-off, then the run, builder and lifecycle images.
pf_flow_buildpack() {
    pf_dockerhub_login buildpack || return
    pf_proxy_login buildpack || return
    pf_setup_maven buildpack || return
    pf_setup_gradle buildpack || return
    pf_setup_npm buildpack || return
    pf_setup_python buildpack || return
    pf_setup_go buildpack || return
    pf_setup_bundler buildpack || return
    pf_setup_nuget buildpack || return
    pf_setup_composer buildpack || return
    pf__pack_images buildpack builder run lifecycle
    PF_BUILD_COMMAND="pack build app --builder \"${PF_IMAGE[builder]}\" --run-image=\"${PF_IMAGE[run]}\" --path . $PF_LANG_ENV $PF_LANG_VOLUMES $PF_MAVEN_BINDING --pull-policy if-not-present"
}

# Ballerina: the lifecycle and builder images only; the run image comes from the builder's metadata (not
# resolved) and no package manager is configured (Ballerina Central is not proxied).
pf_flow_ballerina() {
    pf_proxy_login ballerina || return
    pf__pack_images ballerina lifecycle builder
    PF_IMAGE[run]=${PF_DEFAULT_IMAGE[ballerina:run]}
    PF_BUILD_COMMAND="pack build app --builder \"${PF_IMAGE[builder]}\" --path . --env BALLERINA_PROD_CENTRAL=true --pull-policy if-not-present"
}

# MI: the lifecycle and builder images, and Maven through the binding and the build user's ~/.m2.
pf_flow_mi() {
    pf_proxy_login mi || return
    pf__pack_images mi lifecycle builder
    pf_setup_maven mi user-settings || return
    PF_BUILD_COMMAND="pack build app --builder \"${PF_IMAGE[builder]}\" --path . $PF_MAVEN_BINDING $PF_LANG_ENV --pull-policy if-not-present"
}

# Resolve the named pack images through image-buildpacks-<name>-ref and oci-buildpacks-url; the lifecycle
# image is what `pack config lifecycle-image` is given.
pf__pack_images() {
    local _strategy=$1 _image
    shift
    for _image in "$@"; do
        pf_resolve_image "PF_IMAGE[$_image]" "$_strategy" "image-buildpacks-$_image-ref" oci-buildpacks-url \
            "${PF_DEFAULT_IMAGE[$_strategy:$_image]}"
    done
    PF_LIFECYCLE_IMAGE=${PF_IMAGE[lifecycle]:-}
}
