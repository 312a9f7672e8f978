# shellcheck shell=bash
# Build preamble for the prism strategy. Source it at the start of the build step, before anything is
# fetched: `source preamble/prism.sh || exit 1`. Interface: docs/preamble.md.
# shellcheck source=lib/proxy-config.sh
source "$(builtin cd -- "$(command dirname -- "${BASH_SOURCE[0]}")" && builtin pwd)/lib/proxy-config.sh" && pc_main prism
