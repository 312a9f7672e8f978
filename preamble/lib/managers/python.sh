# shellcheck shell=bash
# pip: pip.conf with index-url, the credentials as percent-encoded user-info; for an http:// index also
# trusted-host with its host[:port] (pip ignores an index on plain http on any host but loopback otherwise, and
# finds nothing). Writer protocol: packages.sh.
#
# pip merges every pip.conf it finds (/etc/pip.conf, /etc/xdg/pip/pip.conf, ~/.pip/pip.conf, this one; this one
# wins for the same section and key) and a command's own section ([install], [download] ...) over [global]. So
# the same settings go in [global] and in each section of a command that fetches, with extra-index-url and
# find-links empty: an image's /etc/pip.conf with `[install] index-url` or an extra index of pypi.org must not
# bring pypi.org back (pip has no fall-back to it otherwise).
PC_PIP_SECTIONS="global install download wheel index"

pc_write_python() {
    local file=${XDG_CONFIG_HOME:-$HOME/.config}/pip/pip.conf index host trusted='' section out=''
    pc__url_with_auth index "$1" "$2" "$3" "$4"
    if [[ $1 == http://* ]]; then
        host=${1#*://} host=${host%%[/?#]*} host=${host##*@}
        trusted="trusted-host = $host"$'\n'
    fi
    for section in $PC_PIP_SECTIONS; do
        out+="[$section]"$'\n'"index-url = $index"$'\n'"extra-index-url ="$'\n'"find-links ="$'\n'"$trusted"
    done
    pc_handoff_location XDG_CONFIG_HOME
    pc_write_private "$file" "$out" || return
    # uv reads no pip configuration, and Google's Python buildpack installs a pyproject.toml project with it: its
    # default index from the environment, which wins over a project's or user's uv.toml (UV_INDEX_URL, its older
    # name, for an older uv)
    export UV_DEFAULT_INDEX=$index UV_INDEX_URL=$index
    PC_HANDOFF_ENV+=(UV_DEFAULT_INDEX UV_INDEX_URL)
}
