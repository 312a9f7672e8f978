# shellcheck shell=bash
# The platform's build preamble for the webapp strategy, behind the harness's preamble interface: the adapter
# (adapter.sh, harness side) runs the platform's flow (lib/, the platform's semantics). Source it at the start
# of the build step: `source preamble/platform/webapp.sh || exit 1`. docs/platform-preamble.md.
# shellcheck source=adapter.sh
source "$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)/adapter.sh" && pfa_main webapp
