# shellcheck shell=bash
# PLATFORM SEMANTICS. The platform's own build-preamble functions, re-implemented from the behaviour that
# issue 10 describes (and the public runs of RolandHewage/choreo-build-flows record), flaws included: this is
# the system under test, not a fix. Nothing in lib/ knows about the harness; adapter.sh (the harness side)
# drives it and translates its hand-off into the harness's preamble interface (docs/platform-preamble.md).
#
# What the platform's build step has, here as variables the caller sets before calling a flow:
#   PF_PROXY_DIR       the mounted Secret (the platform: /mnt/proxy-config)
#   PF_RUNTIME         the container runtime command that logs in (the platform: podman or docker)
#   PF_WORK            where the step writes its generated files (the platform: /tmp)
#   PF_SOURCE_DIR      the component's source directory (Gemfile, composer.json); empty: not available
#   PF_DOCKER_USER_NAME, PF_DOCKER_USER_PASSWORD, PF_DOCKER_REGISTRY   the platform's Docker Hub login
# What a flow leaves (the hand-off to `pack build` / `podman build`, assembled as strings like the platform):
#   PF_IMAGE[node|nginx|prism|golang|builder|run|lifecycle]   the images it resolved
#   PF_LANG_ENV, PF_LANG_VOLUMES, PF_MAVEN_BINDING             `--env` / `--volume` words for pack build
#   PF_BUILD_ARGS                                              `--build-arg` / `--secret` words for podman build
#   PF_BUILD_COMMAND                                           the command line the platform would `eval`
#   PF_LIFECYCLE_IMAGE                                         what `pack config lifecycle-image` would be given

# shellcheck source=values.sh
source "${BASH_SOURCE[0]%/*}/values.sh" || return
# shellcheck source=images.sh
source "${BASH_SOURCE[0]%/*}/images.sh" || return
# shellcheck source=login.sh
source "${BASH_SOURCE[0]%/*}/login.sh" || return
# shellcheck source=packages.sh
source "${BASH_SOURCE[0]%/*}/packages.sh" || return
# shellcheck source=flows.sh
source "${BASH_SOURCE[0]%/*}/flows.sh" || return
