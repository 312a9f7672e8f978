# shellcheck shell=bash
# Gradle: an init script (not gradle.properties) that replaces every dependency and plugin repository
# with the proxy. Writer protocol: packages.sh.

pc_write_gradle() {
    local file=${GRADLE_USER_HOME:-$HOME/.gradle}/init.d/proxy-config.gradle url user="''" pass="''" out
    pc_groovy_string url "$1"
    if [[ $2 == basic ]]; then
        pc_groovy_string user "$3"
        pc_groovy_string pass "$4"
    fi
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
    pc_handoff_location GRADLE_USER_HOME
    pc_write_private "$file" "$out"
}
