# shellcheck shell=bash
# RubyGems and Bundler: ~/.gemrc :sources: and Bundler's rubygems.org mirror, both the proxy alone.
# Writer protocol: packages.sh.

pc_write_rubygems() {
    local bundle=${BUNDLE_USER_CONFIG:-${BUNDLE_USER_HOME:-$HOME/.bundle}/config} source
    pc__url_with_auth source "$1" "$2" "$3" "$4" && pc_json_string source "$source"
    # .gemrc :sources: replaces the default list (no rubygems.org left); Bundler's mirror has no
    # fallback_timeout, so it never falls back to rubygems.org.
    pc_write_private "$HOME/.gemrc" $'---\n:sources:\n- '"$source"$'\n' || return
    pc_handoff_location BUNDLE_USER_CONFIG BUNDLE_USER_HOME
    pc_write_private "$bundle" $'---\nBUNDLE_MIRROR__HTTPS://RUBYGEMS__ORG/: '"$source"$'\n'
}
