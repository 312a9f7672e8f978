# shellcheck shell=bash
# pip: pip.conf with index-url only, the credentials as percent-encoded user-info; for an http:// index also
# trusted-host with its host[:port] (pip ignores an index on plain http on any host but loopback otherwise, and
# finds nothing). Writer protocol: packages.sh.

pc_write_python() {
    local file=${XDG_CONFIG_HOME:-$HOME/.config}/pip/pip.conf index host trusted=''
    pc__url_with_auth index "$1" "$2" "$3" "$4"
    if [[ $1 == http://* ]]; then
        host=${1#*://} host=${host%%[/?#]*} host=${host##*@}
        trusted="trusted-host = $host"$'\n'
    fi
    # No extra-index-url: pip has no fall-back to pypi.org.
    pc_write_private "$file" "[global]"$'\n'"index-url = $index"$'\n'"$trusted"
}
