"""A proxy-config directory laid out as kubelet mounts a Secret volume, for a builder's /mnt/proxy-config.

harness.secret.convert does the work (read_for_mount + mount_layout: kubelet's AtomicWriter layout, with its
checks). No source (None) gives an empty directory, as kubelet mounts an absent optional Secret.
"""

import os
from pathlib import Path

from harness.secret.convert import mount_layout, read_for_mount


def mount(source: str | os.PathLike | None, destination: Path) -> None:
    if source is None:
        destination.mkdir(parents=True)
        return
    mount_layout(read_for_mount(source), destination)
