# shellcheck shell=bash
# PLATFORM SEMANTICS: the package-manager hand-off (part of lib/platform.sh). Nothing is written to the build
# user's home directly: each setup appends `--env NAME=VALUE` words to PF_LANG_ENV and `--volume SRC:DEST`
# words to PF_LANG_VOLUMES / PF_MAVEN_BINDING for `pack build`, unquoted, as the platform does (the command
# line is a string that is evaluated later). Values are pasted into every format as they are: no XML, Groovy,
# JSON, URL or sed escaping anywhere.

# Maven: settings.xml with one mirror of "*" (id proxy-mirror) and, when the username is set, its server, in a
# binding directory (type + settings.xml) mounted at /platform/bindings/maven-settings, and
# GOOGLE_BUILD_ARGS=--settings=<that settings.xml>. With `user-settings` (MI) the same file is also mounted at
# the build user's ~/.m2/settings.xml.
pf_setup_maven() {
    local _strategy=$1 _mode=${2:-} _url _user _pass _dir=$PF_WORK/maven-proxy-binding _servers=""
    pf_proxy_val _url "$_strategy" pkg-maven-url
    [[ -n $_url ]] || return 0
    pf_proxy_val _user "$_strategy" pkg-maven-username
    pf_proxy_val _pass "$_strategy" pkg-maven-password
    mkdir -p "$_dir" || return
    printf '%s\n' maven >"$_dir/type" || return
    if [[ -n $_user ]]; then
        _servers="  <servers>
    <server>
      <id>proxy-mirror</id>
      <username>$_user</username>
      <password>$_pass</password>
    </server>
  </servers>"
    fi
    cat >"$_dir/settings.xml" <<XML || return
<?xml version="1.0" encoding="UTF-8"?>
<settings>
  <mirrors>
    <mirror>
      <id>proxy-mirror</id>
      <mirrorOf>*</mirrorOf>
      <url>$_url</url>
    </mirror>
  </mirrors>
$_servers
</settings>
XML
    PF_MAVEN_BINDING="--volume $_dir:/platform/bindings/maven-settings"
    if [[ $_mode == user-settings ]]; then
        PF_MAVEN_BINDING+=" --volume $_dir/settings.xml:/home/cnb/.m2/settings.xml:ro"
    fi
    PF_LANG_ENV+=" --env GOOGLE_BUILD_ARGS=--settings=/platform/bindings/maven-settings/settings.xml"
}

# Gradle: an init script that clears and replaces the repositories of every project (allprojects only:
# not buildscript or plugin repositories), the URL and credentials inside Groovy double-quoted strings;
# GOOGLE_BUILD_ARGS=--init-script=<it>. A second GOOGLE_BUILD_ARGS (Maven's) is not merged: pack keeps the last.
pf_setup_gradle() {
    local _strategy=$1 _url _user _pass _dir=$PF_WORK/gradle-proxy-binding _maven
    pf_proxy_val _url "$_strategy" pkg-gradle-url
    [[ -n $_url ]] || return 0
    pf_proxy_val _user "$_strategy" pkg-gradle-username
    pf_proxy_val _pass "$_strategy" pkg-gradle-password
    mkdir -p "$_dir" || return
    if [[ -n $_user ]]; then
        _maven="maven {
      url \"$_url\"
      credentials {
        username = \"$_user\"
        password = \"$_pass\"
      }
    }"
    else
        _maven="maven { url \"$_url\" }"
    fi
    printf 'allprojects {\n  repositories {\n    clear()\n    %s\n  }\n}\n' "$_maven" >"$_dir/init.gradle" || return
    PF_LANG_VOLUMES+=" --volume $_dir/init.gradle:/tmp/gradle-proxy-binding/init.gradle"
    PF_LANG_ENV+=" --env GOOGLE_BUILD_ARGS=--init-script=/tmp/gradle-proxy-binding/init.gradle"
}

# npm under pack: NPM_CONFIG_REGISTRY=<url>; with a token, an .npmrc for the build user whose one line is
# built inside printf's format string, so a "%" or "\" in the token (or the host) is interpreted by printf.
pf_setup_npm() {
    local _strategy=$1 _url _token _host _dir=$PF_WORK/npm-proxy-auth
    pf_proxy_val _url "$_strategy" pkg-npm-url
    [[ -n $_url ]] || return 0
    PF_LANG_ENV+=" --env NPM_CONFIG_REGISTRY=$_url"
    pf_proxy_val _token "$_strategy" pkg-npm-token
    [[ -n $_token ]] || return 0
    pf_host _host "$_url"
    mkdir -p "$_dir" || return
    # shellcheck disable=SC2059 # the platform's flaw, reproduced: the token is part of the format string
    printf "//${_host}/:_authToken=${_token}\n" >"$_dir/.npmrc" || return
    PF_LANG_VOLUMES+=" --volume $_dir/.npmrc:/home/cnb/.npmrc"
}

# pip: PIP_INDEX_URL=<url>, with "user:password@" pasted after the scheme when the username is set
# (not percent-encoded).
pf_setup_python() {
    local _strategy=$1 _url _user _pass
    pf_proxy_val _url "$_strategy" pkg-python-url
    [[ -n $_url ]] || return 0
    pf_proxy_val _user "$_strategy" pkg-python-username
    pf_proxy_val _pass "$_strategy" pkg-python-password
    if [[ -n $_user ]]; then
        _url="${_url%%://*}://$_user:$_pass@${_url#*://}"
    fi
    PF_LANG_ENV+=" --env PIP_INDEX_URL=$_url"
}

# Go: GOPROXY=<url> (the URL alone: GOSUMDB is left at its default, sum.golang.org, reached directly).
# With a username: a .netrc for the URL's host mounted at the build user's ~/.netrc, and GONOSUMDB=*, which
# turns checksum-database verification off for every module.
pf_setup_go() {
    local _strategy=$1 _url _user _pass _host _dir=$PF_WORK/go-proxy-auth
    pf_proxy_val _url "$_strategy" pkg-go-url
    [[ -n $_url ]] || return 0
    PF_LANG_ENV+=" --env GOPROXY=$_url"
    pf_proxy_val _user "$_strategy" pkg-go-username
    pf_proxy_val _pass "$_strategy" pkg-go-password
    [[ -n $_user ]] || return 0
    pf_host _host "$_url"
    mkdir -p "$_dir" || return
    printf 'machine %s\nlogin %s\npassword %s\n' "$_host" "$_user" "$_pass" >"$_dir/.netrc" || return
    PF_LANG_VOLUMES+=" --volume $_dir/.netrc:/home/cnb/.netrc"
    PF_LANG_ENV+=" --env GONOSUMDB=*"
}

# Bundler: the project's Gemfile has every "https://rubygems.org" (and the slashes after it) replaced by the
# URL with sed (the URL is part of the sed program); with a username, BUNDLE_<HOST>=user:password, <HOST>
# upper-cased with "." as "__" and "-" as "___".
pf_setup_bundler() {
    local _strategy=$1 _url _user _pass _host _name _tmp
    pf_proxy_val _url "$_strategy" pkg-rubygems-url
    [[ -n $_url ]] || return 0
    pf_proxy_val _user "$_strategy" pkg-rubygems-username
    pf_proxy_val _pass "$_strategy" pkg-rubygems-password
    if [[ -n ${PF_SOURCE_DIR:-} && -f $PF_SOURCE_DIR/Gemfile ]]; then
        _tmp=$(mktemp) || return
        sed "s|https://rubygems.org[/]*|$_url|g" "$PF_SOURCE_DIR/Gemfile" >"$_tmp" || return
        mv -- "$_tmp" "$PF_SOURCE_DIR/Gemfile" || return
    fi
    if [[ -n $_user ]]; then
        pf_host _host "$_url"
        _name=${_host//./__}
        _name=${_name//-/___}
        PF_LANG_ENV+=" --env BUNDLE_${_name^^}=$_user:$_pass"
    fi
}

# NuGet: NuGet.Config with <clear/> and one source "proxy-mirror" (ClearTextPassword when the username is
# set), mounted at the build user's ~/.nuget/NuGet/NuGet.Config.
pf_setup_nuget() {
    local _strategy=$1 _url _user _pass _dir=$PF_WORK/nuget-proxy-config _credentials=""
    pf_proxy_val _url "$_strategy" pkg-nuget-url
    [[ -n $_url ]] || return 0
    pf_proxy_val _user "$_strategy" pkg-nuget-username
    pf_proxy_val _pass "$_strategy" pkg-nuget-password
    mkdir -p "$_dir" || return
    if [[ -n $_user ]]; then
        _credentials="  <packageSourceCredentials>
    <proxy-mirror>
      <add key=\"Username\" value=\"$_user\" />
      <add key=\"ClearTextPassword\" value=\"$_pass\" />
    </proxy-mirror>
  </packageSourceCredentials>
"
    fi
    printf '%s\n%s\n  %s\n    %s\n    %s\n  %s\n%s%s\n' '<?xml version="1.0" encoding="utf-8"?>' '<configuration>' \
        '<packageSources>' '<clear />' "<add key=\"proxy-mirror\" value=\"$_url\" />" '</packageSources>' \
        "$_credentials" '</configuration>' >"$_dir/NuGet.Config" || return
    PF_LANG_VOLUMES+=" --volume $_dir/NuGet.Config:/home/cnb/.nuget/NuGet/NuGet.Config"
}

# Composer: the project's composer.json gets the composer repository and packagist.org disabled in front of
# its own repositories (jq); with a username, an auth.json in the project directory whose JSON is assembled
# with printf (values not escaped), http-basic keyed by the URL's host.
pf_setup_composer() {
    local _strategy=$1 _url _user _pass _host _tmp
    pf_proxy_val _url "$_strategy" pkg-composer-url
    [[ -n $_url ]] || return 0
    pf_proxy_val _user "$_strategy" pkg-composer-username
    pf_proxy_val _pass "$_strategy" pkg-composer-password
    pf_host _host "$_url"
    [[ -n ${PF_SOURCE_DIR:-} ]] || return 0
    if [[ -f $PF_SOURCE_DIR/composer.json ]]; then
        _tmp=$(mktemp) || return
        jq --arg url "$_url" '.repositories = [{"type": "composer", "url": $url}, {"packagist.org": false}] + (.repositories // [])' \
            "$PF_SOURCE_DIR/composer.json" >"$_tmp" || return
        mv -- "$_tmp" "$PF_SOURCE_DIR/composer.json" || return
    fi
    if [[ -n $_user ]]; then
        printf '{"http-basic":{"%s":{"username":"%s","password":"%s"}}}' "$_host" "$_user" "$_pass" \
            >"$PF_SOURCE_DIR/auth.json" || return
    fi
}

# npm for podman builds (webapp, test-runner): an .npmrc passed as the build secret "npmrc": `registry=<url>`
# and, with a token, `//<host>/:_authToken=<token>` (the host only, no path), each line written as it is.
# The file always exists (empty without a URL). Its path is left in PF_NPMRC_SECRET.
pf_write_npmrc_secret() {
    local _strategy=$1 _url _token _host
    PF_NPMRC_SECRET=$PF_WORK/.npmrc
    mkdir -p "$PF_WORK" && : >"$PF_NPMRC_SECRET" || return
    pf_proxy_val _url "$_strategy" pkg-npm-url
    [[ -n $_url ]] || return 0
    printf '%s\n' "registry=$_url" >"$PF_NPMRC_SECRET" || return
    pf_proxy_val _token "$_strategy" pkg-npm-token
    if [[ -n $_token ]]; then
        pf_host _host "$_url"
        printf '%s\n' "//$_host/:_authToken=$_token" >>"$PF_NPMRC_SECRET" || return
    fi
}

# npm in the prism step: `npm config set registry <url>` and `npm config set //<host>/:_authToken <token>`
# in the step's own user configuration (NPM_CONFIG_USERCONFIG, else ~/.npmrc). npm itself is not needed:
# `npm config set` leaves one `key=value` line per key, which is what is written here.
pf_npm_config_set() {
    local _strategy=$1 _url _token _host _file=${NPM_CONFIG_USERCONFIG:-$HOME/.npmrc}
    pf_proxy_val _url "$_strategy" pkg-npm-url
    [[ -n $_url ]] || return 0
    pf_proxy_val _token "$_strategy" pkg-npm-token
    printf '%s\n' "registry=$_url" >"$_file" || return
    if [[ -n $_token ]]; then
        pf_host _host "$_url"
        printf '%s\n' "//$_host/:_authToken=$_token" >>"$_file" || return
    fi
}
