# shellcheck shell=bash
# PLATFORM SEMANTICS: reading one value from the mounted Secret (part of lib/platform.sh).
#
# pf_proxy_val OUT STRATEGY KEY: the value of `<STRATEGY>.<KEY>`, or of `<KEY>` when the scoped file is absent
# or its value is empty. A value is the file's content with every "\n" deleted, wherever it is, and nothing
# else trimmed: a CR (a file written on Windows) and spaces stay. An empty STRATEGY looks the key up globally
# only (so `pf_proxy_val v "" "webapp.pkg-npm-url"` reads that one file).
# The platform hands the value back through `echo "$val"`, so a value that bash's echo takes for its options
# (-n, -e, -E and their combinations) comes back empty.
# A caller may define pf_on_lookup STRATEGY KEY to observe each lookup (the adapter does, for ignored-keys).
pf_proxy_val() {
    local -n _pf_value=$1
    local _strategy=$2 _key=$3 _read=""
    if declare -F pf_on_lookup >/dev/null; then
        pf_on_lookup "$_strategy" "$_key"
    fi
    if [[ -n $_strategy && -f $PF_PROXY_DIR/$_strategy.$_key ]]; then
        _read=$(tr -d '\n' <"$PF_PROXY_DIR/$_strategy.$_key")
    fi
    if [[ -z $_read && -f $PF_PROXY_DIR/$_key ]]; then
        _read=$(tr -d '\n' <"$PF_PROXY_DIR/$_key")
    fi
    if [[ $_read =~ ^-[neE]+$ ]]; then
        _read=""
    fi
    _pf_value=$_read
}

# pf_host OUT URL: the host part the platform derives from a URL: the scheme up to "://" dropped, then
# everything from the first "/" dropped (a port and any user-info stay).
pf_host() {
    local -n _pf_host=$1
    local _rest=${2#*://}
    _pf_host=${_rest%%/*}
}
