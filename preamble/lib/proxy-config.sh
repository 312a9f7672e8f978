# shellcheck shell=bash
# Reference build preamble: the shared library behind every strategy entry (preamble/<strategy>.sh),
# and its single entry point: it sources the library's parts below and defines pc_main.
#
# It reads the proxy-config directory (`<strategy>.<key>` then `<key>`, trailing newlines trimmed,
# nothing else changed), resolves the strategy's images, writes podman/skopeo/buildah configuration
# and each package manager's own configuration, and exports one variable per logical image.
# Values are data, never code: they are only ever expanded inside double quotes, never eval'd, and
# escaped for the file format they land in. Secrets are never printed. docs/preamble.md documents
# the interface (variables in, files and variables out) and every choice made here.
#
# The parts, each sourced once, in this order (only pc__init_grammar runs while sourcing):
#   catalog.sh          the key catalog and the grammar's URL patterns as bash data (generated from
#                       harness/contract/*.yaml: python -m harness.preamble.catalog_gen --write)
#   report.sh           log lines, refusals, private files, report.tsv and ignored-keys
#   handoff.sh          what is handed to the build command (pack build, podman build): the handoff file
#   values.sh           reading the proxy-config directory and judging each value by the grammar:
#                       lookup, credentials, image references, mirror and package URL rules
#   escape.sh           one escaper per output format family: quoted literals (JSON, Groovy), XML,
#                       percent-encoding (URL user-info), masking (the log)
#   oci.sh              OCI mirrors, image resolution, registries.conf, auth.json, the Docker Hub login
#   packages.sh         the package step: for each manager of the strategy, checks, then its writer
#   managers/<m>.sh     pc_write_<m>, one file per package manager of the catalog
#
# Conventions
#
# Results come back in the caller's own variables, never in a shared global. A function that computes
# something takes, first, the name of each variable that receives a result and assigns it with
# `printf -v "$1" …` or through a nameref (`local -n _out=$1`); a record (a parsed image reference, a
# set of credentials, XML-escaped values) is an associative array the caller declared (`local -A`).
# The exit status only says whether the function succeeded. For example:
#     local quoted
#     pc_json_string quoted "$url"            # quoted <- "$url" as a JSON string literal
#     local -A ref
#     pc_parse ref "$name" || …               # ref[domain] ref[path] ref[tag] ref[digest]
# So that none of its own variables can hide the caller's, a function that takes a variable name gives
# its locals (namerefs included; LC_ALL and IFS aside) names that start with `_`, and hands other
# functions only the names it was given (`"$1"`, or an element of it: `"$1[token]"`): it may use its
# output as scratch space before the final assignment. Callers never name a variable with a leading `_`.
#
# The only globals are the catalog's tables (catalog.sh), the grammar's expressions (PC_RE_*,
# PC_MAX_VALUE_BYTES) and the run's state, set once by the step that owns it and read by the later
# ones: PC_STRATEGY, PC_DIR, PC_STATE_DIR, PC_CHOREO_REGISTRY (pc_main; PREAMBLE_PROFILE's records replace
# catalog tables there, pc_load_profile), PC_MIRROR_ORDER and
# PC_MIRROR_URL/KEY/USER/PASS (pc_collect_mirrors), PC_LOGIN_REGISTRY/MIRROR (pc_resolve_images).

# shellcheck source=catalog.sh
source "${BASH_SOURCE[0]%/*}/catalog.sh" || return
# shellcheck source=report.sh
source "${BASH_SOURCE[0]%/*}/report.sh" || return
# shellcheck source=handoff.sh
source "${BASH_SOURCE[0]%/*}/handoff.sh" || return
# shellcheck source=values.sh
source "${BASH_SOURCE[0]%/*}/values.sh" || return
# shellcheck source=escape.sh
source "${BASH_SOURCE[0]%/*}/escape.sh" || return
# shellcheck source=oci.sh
source "${BASH_SOURCE[0]%/*}/oci.sh" || return
# shellcheck source=packages.sh
source "${BASH_SOURCE[0]%/*}/packages.sh" || return
# shellcheck source=managers/npm.sh
source "${BASH_SOURCE[0]%/*}/managers/npm.sh" || return
# shellcheck source=managers/maven.sh
source "${BASH_SOURCE[0]%/*}/managers/maven.sh" || return
# shellcheck source=managers/gradle.sh
source "${BASH_SOURCE[0]%/*}/managers/gradle.sh" || return
# shellcheck source=managers/nuget.sh
source "${BASH_SOURCE[0]%/*}/managers/nuget.sh" || return
# shellcheck source=managers/python.sh
source "${BASH_SOURCE[0]%/*}/managers/python.sh" || return
# shellcheck source=managers/go.sh
source "${BASH_SOURCE[0]%/*}/managers/go.sh" || return
# shellcheck source=managers/composer.sh
source "${BASH_SOURCE[0]%/*}/managers/composer.sh" || return
# shellcheck source=managers/rubygems.sh
source "${BASH_SOURCE[0]%/*}/managers/rubygems.sh" || return

# A platform profile's defaults from PREAMBLE_PROFILE, over catalog.sh's (the default profile's): one record a
# line, tab-separated (harness/preamble/interface.py, PROFILE_RECORDS). Read as data, never evaluated.
pc_load_profile() {
    local kind first second third fourth
    [[ -n ${PREAMBLE_PROFILE:-} ]] || return 0
    while IFS=$'\t' read -r kind first second third fourth; do
        case $kind in
            platform-hosts) PC_PLATFORM_HOSTS=$first ;;
            registry)
                if [[ -z ${PC_REGISTRY_MIRROR_KEY[$first]+set} ]]; then
                    pc_fail "PREAMBLE_PROFILE: unknown registry ${first@Q}"
                    return 1
                fi
                PC_REGISTRY_PREFIXES[$first]=$second ;;
            images)
                if [[ -z ${PC_OCI_KEYS[$first]+set} ]]; then
                    pc_fail "PREAMBLE_PROFILE: unknown strategy ${first@Q}"
                    return 1
                fi
                PC_IMAGES[$first]=$second ;;
            image)
                if [[ -z ${PC_REGISTRY_MIRROR_KEY[$third]+set} ]]; then
                    pc_fail "PREAMBLE_PROFILE: image ${first@Q}: unknown registry ${third@Q}"
                    return 1
                fi
                PC_IMAGE_DEFAULT[$first]=$second PC_IMAGE_REGISTRY[$first]=$third PC_IMAGE_OVERRIDE[$first]=$fourth ;;
            '') ;;
            *)
                pc_fail "PREAMBLE_PROFILE: unknown record ${kind@Q}"
                return 1 ;;
        esac
    done <<<"$PREAMBLE_PROFILE"
}

# The entry point: configure everything for strategy $1. Returns non-zero (never exits) on a bad value.
# A build step often runs with `set -x`: its trace would print every credential the preamble reads, so the trace
# is off while the preamble runs and back on after it; so are the caller's glob options and noclobber, and its IFS (the strict
# mode's IFS=$'\n\t' would join the words the preamble splits: local here, the caller's again after).
pc_main() {
    local _pc_xtrace='' _pc_noglob='' _pc_noclobber='' _pc_shopt _pc_status=0 IFS=$' \t\n'
    [[ -o xtrace ]] && _pc_xtrace=1
    { set +x; } 2>/dev/null
    # noclobber (set -C) would refuse every file the preamble writes again (report.tsv, a second sourcing)
    [[ -o noclobber ]] && _pc_noclobber=1
    set +C
    # The caller's glob and match options would change what the preamble reads (failglob stops at a pattern with no
    # match, dotglob and nocasematch change what matches): bash's defaults while it runs, the caller's after.
    [[ -o noglob ]] && _pc_noglob=1
    _pc_shopt=$(shopt -p dotglob extglob failglob globstar nocaseglob nocasematch nullglob || true)  # non-zero: some off
    set +f
    shopt -u dotglob failglob globstar nocaseglob nocasematch nullglob
    pc__main "$@" || _pc_status=$?
    eval "$_pc_shopt"
    [[ -z $_pc_noglob ]] || set -f
    [[ -z $_pc_noclobber ]] || set -C
    [[ -z $_pc_xtrace ]] || set -x
    return "$_pc_status"
}

pc__main() {
    PC_STRATEGY=$1
    PC_DIR=${PROXY_CONFIG_DIR:-/mnt/proxy-config}
    PC_CHOREO_REGISTRY=${CHOREO_REGISTRY:-}
    PC_STATE_DIR=${PREAMBLE_STATE_DIR:-$HOME/.proxy-config-preamble}
    pc_load_profile || return 1
    if [[ -z ${PC_OCI_KEYS[$PC_STRATEGY]+set} ]]; then
        pc_fail "unknown strategy $PC_STRATEGY (one of: $PC_STRATEGIES)"
        return 1
    fi
    if [[ -e $PC_DIR && ! -d $PC_DIR ]]; then
        pc_fail "$PC_DIR: not a directory (PROXY_CONFIG_DIR)"
        return 1
    fi
    local status=0 shown umask
    PC_WRITTEN=() PC_HANDOFF_ENV=() PC_HANDOFF_NPMRC=''
    PC_UNUSABLE_SAID=()
    umask=$(umask)
    umask 077
    [[ -d $PC_STATE_DIR ]] || mkdir -p -- "$PC_STATE_DIR"
    : >"$PC_STATE_DIR/report.tsv"
    [[ -e $PC_STATE_DIR/dockerhub-login ]] && rm -f -- "$PC_STATE_DIR/dockerhub-login"
    printf -v shown '%q' "$PC_DIR"
    pc_log "strategy $PC_STRATEGY, configuration $shown"
    pc_collect_mirrors &&
        pc_resolve_images &&
        pc_write_registries_conf &&
        pc_write_auth &&
        pc_configure_packages &&
        pc_write_handoff &&
        pc_report_ignored || status=$?
    umask "$umask"
    return "$status"
}
