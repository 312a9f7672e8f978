# shellcheck shell=bash
# PLATFORM SEMANTICS: the registry logins (part of lib/platform.sh). Each login is
# `$PF_RUNTIME login <host> -u <user> -p <password>`: the password is a command-line argument, visible in the
# process list for as long as the login runs. A failed login stops the flow (the platform runs under set -e).

# pf_proxy_login STRATEGY: for dockerhub, choreo and buildpacks in that order, when the mirror URL and the
# username are both set, log in to the URL up to its first "/" (a path is dropped; so is nothing else).
pf_proxy_login() {
    local _strategy=$1 _registry _url _user _pass
    for _registry in dockerhub choreo buildpacks; do
        pf_proxy_val _url "$_strategy" "oci-$_registry-url"
        pf_proxy_val _user "$_strategy" "oci-$_registry-username"
        pf_proxy_val _pass "$_strategy" "oci-$_registry-password"
        if [[ -n $_url && -n $_user ]]; then
            printf 'Logging into proxy mirror: %s\n' "${_url%%/*}"
            "$PF_RUNTIME" login "${_url%%/*}" -u "$_user" -p "$_pass" || return
        fi
    done
}

# pf_dockerhub_login STRATEGY: the platform's own Docker Hub login, skipped when the strategy's
# oci-dockerhub-url (scoped or global) is set.
pf_dockerhub_login() {
    local _mirror
    pf_proxy_val _mirror "$1" oci-dockerhub-url
    if [[ -n $_mirror ]]; then
        printf '%s\n' "Dockerhub proxy configured: skipping Docker Hub login"
        return 0
    fi
    printf '%s\n' "No dockerhub proxy configured: logging into Docker Hub"
    "$PF_RUNTIME" login "${PF_DOCKER_REGISTRY:-https://index.docker.io/v1/}" \
        -u "${PF_DOCKER_USER_NAME:-}" -p "${PF_DOCKER_USER_PASSWORD:-}" || return
}
