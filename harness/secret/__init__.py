"""The proxy-config Kubernetes Secret: rendered from, imported into and mounted as a directory.

May import harness.contract and harness.infra.
"""

DEFAULT_NAME = "choreo-build-registry-proxy"
DEFAULT_KUBECTL_VERSION = (1, 32)
DEFAULT_MOUNT_MODE = 0o644  # a Secret volume's defaultMode (420)
