# shellcheck shell=bash
# Maven: ~/.m2/settings.xml with a mirror of `*` and one of `central` (Maven takes a mirror naming a repository's
# id over `*`, and an image's global settings.xml often mirrors central: the user's settings come first), each
# with a server holding the credentials; and for the project's Maven wrapper (./mvnw, which reads no
# settings.xml) MVNW_REPOURL and its credentials. Writer protocol: packages.sh.

pc_write_maven() {
    local url=$1 auth=$2 user=$3 pass=$4 file=$HOME/.m2/settings.xml value out mirrors servers=''
    local -A xml
    pc__xml_values xml "$url" "$auth" "$user" "$pass" || return 1
    if [[ $auth == basic ]]; then
        # Maven trims element text, so surrounding whitespace cannot be carried. Braces stay as they
        # are: Maven 3.8 keeps a {...} password that it cannot decrypt (no settings-security.xml)
        # and does not unescape the documented \{ form for plain passwords (docs/preamble.md).
        for value in "$user" "$pass"; do
            [[ $value == [$' \t\n\r']* || $value == *[$' \t\n\r'] ]] && return 1
        done
        printf -v servers '    <server>\n      <id>%s</id>\n      <username>%s</username>\n      <password>%s</password>\n    </server>\n' \
            proxy-config "${xml[user]}" "${xml[pass]}" proxy-config-central "${xml[user]}" "${xml[pass]}"
        servers="  <servers>"$'\n'"$servers  </servers>"$'\n'
    fi
    printf -v mirrors '    <mirror>\n      <id>%s</id>\n      <mirrorOf>%s</mirrorOf>\n      <url>%s</url>\n    </mirror>\n' \
        proxy-config '*' "${xml[url]}" proxy-config-central central "${xml[url]}"
    printf -v out '%s\n%s\n<settings>\n  <mirrors>\n%s  </mirrors>\n%s</settings>\n' \
        '<?xml version="1.0" encoding="UTF-8"?>' '<!-- Written by the proxy-config build preamble. -->' "$mirrors" "$servers"
    pc_write_private "$file" "$out" || return
    pc__maven_wrapper "$url" "$auth" "$user" "$pass"
}

# ./mvnw downloads its Maven from distributionUrl with everything up to /org/apache/maven/ replaced by
# MVNW_REPOURL as written, so the mirror's URL without its trailing '/'. Credentials go to MVNW_USERNAME and
# MVNW_PASSWORD (the wrapper then downloads through Java's Authenticator), a URL's own user-info too, decoded:
# left in MVNW_REPOURL, the wrapper's wget or curl would carry it on its command line.
pc__maven_wrapper() {
    local url=$1 auth=$2 user=$3 pass=$4 scheme rest authority userinfo
    scheme=${url%%://*} rest=${url#*://}
    authority=${rest%%/*} rest=${rest#"$authority"}
    if [[ $authority == *@* ]]; then
        userinfo=${authority%@*} authority=${authority##*@}
        pc_percent_decode user "${userinfo%%:*}" || return 1
        pass=''
        [[ $userinfo == *:* ]] && { pc_percent_decode pass "${userinfo#*:}" || return 1; }
        auth=basic
    fi
    pc_url_without_trailing_slashes MVNW_REPOURL "$scheme://$authority$rest"
    export MVNW_REPOURL
    PC_HANDOFF_ENV+=(MVNW_REPOURL)
    if [[ $auth == basic ]]; then
        export MVNW_USERNAME=$user MVNW_PASSWORD=$pass
        PC_HANDOFF_ENV+=(MVNW_USERNAME MVNW_PASSWORD)
    fi
}
