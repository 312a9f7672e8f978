"""A proxy-config directory laid out as kubelet mounts a Secret volume, for a builder's /mnt/proxy-config.

harness.secret.convert does the work (values_for_mount + mount_layout: kubelet's AtomicWriter layout, with its
checks). A configuration already read (`mount_config`) is laid out from what was read, not read again. No
source (None) gives an empty directory, as kubelet mounts an absent optional Secret.
"""

import os
from pathlib import Path

from harness.contract.config import ProxyConfig
from harness.secret.convert import mount_layout, read_for_mount, values_for_mount


def mount(source: str | os.PathLike | None, destination: Path) -> None:
    if source is None:
        destination.mkdir(parents=True)
        return
    mount_layout(read_for_mount(source), destination)


def mount_config(config: ProxyConfig | None, destination: Path) -> None:
    """`config`, as read from its directory, in the Secret-volume layout at `destination`."""
    if config is None or config.path is None:  # no configuration (read_config(None) has no directory)
        destination.mkdir(parents=True)
        return
    mount_layout(values_for_mount(config), destination)
