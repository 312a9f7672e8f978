# shellcheck shell=bash
# pip: pip.conf with index-url only, the credentials as percent-encoded user-info. Writer protocol: packages.sh.

pc_write_python() {
    local file=${XDG_CONFIG_HOME:-$HOME/.config}/pip/pip.conf index
    pc__url_with_auth index "$1" "$2" "$3" "$4"
    # No extra-index-url: pip has no fall-back to pypi.org.
    pc_write_private "$file" "[global]"$'\n'"index-url = $index"$'\n'
}
