# shellcheck shell=bash disable=SC2034 # (variables shared between the files of this directory)
# PLATFORM SEMANTICS: the platform's default images and its image resolution (part of lib/platform.sh).

# The images each flow starts from, as the platform's build flows name them (issue 10, "Default images").
# Short names stay short: the platform never qualifies them with docker.io/library/.
declare -gA PF_DEFAULT_IMAGE=(
    [webapp:node]=node:18-alpine
    [webapp:nginx]=choreoanonymouspullable.azurecr.io/nginxinc/nginx-unprivileged:stable-alpine-slim
    [test-runner:node]=node:18-alpine
    [buildpack:builder]=choreoprivateacr.azurecr.io/buildpacks/builder:google-22
    [buildpack:run]=choreoprivateacr.azurecr.io/buildpacks/google-22/run:2941124e39ef19f49aabac4257daf5f652805e81
    [buildpack:lifecycle]=buildpacksio/lifecycle:0.20.2
    [ballerina:lifecycle]=choreoprivateacr.azurecr.io/buildpacksio/lifecycle:0.20.2
    [ballerina:builder]=choreoprivateacr.azurecr.io/choreoipaas/choreo-buildpacks/builder:0.2.83
    [ballerina:run]=choreoprivateacr.azurecr.io/choreoipaas/choreo-buildpacks/stacks/alpine/run:0.2.83
    [mi:lifecycle]=choreoprivateacr.azurecr.io/buildpacksio/lifecycle:0.19.6
    [mi:builder]=choreoprivateacr.azurecr.io/choreoipaas/choreo-buildpacks/builder:0.2.78
    [prism:prism]=choreoprivateacr.azurecr.io/stoplight/prism:5
    [prism:golang]=choreoprivateacr.azurecr.io/golang:1.22.4-alpine
)

# pf_resolve_image OUT STRATEGY OVERRIDE_KEY MIRROR_KEY ORIGINAL
#  - an override whose last path component has neither ":" nor "@" is a prefix: it takes the original's
#    digest (when the original has "@sha256:") or the text after the original's last ":" (which, for a
#    reference with a registry port and no tag, is the port and the path); any other override replaces it;
#  - else a mirror gives "<mirror>/<original with everything up to its first "/" removed>": a short name
#    keeps its whole text (no library/), a namespaced Docker Hub short name loses its namespace;
#  - else the original.
pf_resolve_image() {
    local -n _pf_resolved=$1
    local _strategy=$2 _override_key=$3 _mirror_key=$4 _original=$5 _override _mirror _last
    pf_proxy_val _override "$_strategy" "$_override_key"
    if [[ -n $_override ]]; then
        _last=${_override##*/}
        if [[ $_last == *:* || $_last == *@* ]]; then
            _pf_resolved=$_override
        elif [[ $_original == *@sha256:* ]]; then
            _pf_resolved=$_override@${_original##*@}
        elif [[ $_original == *:* ]]; then
            _pf_resolved=$_override:${_original##*:}
        else
            _pf_resolved=$_override
        fi
        return 0
    fi
    pf_proxy_val _mirror "$_strategy" "$_mirror_key"
    if [[ -n $_mirror ]]; then
        _pf_resolved=$_mirror/${_original#*/}
        return 0
    fi
    _pf_resolved=$_original
}
