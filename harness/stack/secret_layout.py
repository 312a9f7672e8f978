"""A proxy-config directory laid out as kubelet mounts a Secret volume, for a builder's /mnt/proxy-config.

harness.secret (read_for_mount + mount_layout: kubelet's AtomicWriter layout, with its checks) is used when
present; until that module is on this branch, a minimal layout stands in: a timestamped data directory,
`..data` pointing at it, one symlink per key into `..data/`. No source (None) gives an empty directory, as
kubelet mounts an absent optional Secret.
"""

import os
import time
from pathlib import Path


def mount(source: str | os.PathLike | None, destination: Path) -> None:
    if source is None:
        destination.mkdir(parents=True)
        return
    try:
        from harness.secret import mount_layout, read_for_mount
    except ImportError:
        _minimal_layout(Path(source), destination)
        return
    mount_layout(read_for_mount(source), destination)


def _minimal_layout(source: Path, destination: Path) -> None:
    destination.mkdir(parents=True)
    stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.000000000", time.gmtime())
    data_dir = destination / stamp
    data_dir.mkdir()
    for entry in sorted(source.iterdir()):
        if entry.name.startswith(".") or not entry.is_file():
            continue
        (data_dir / entry.name).write_bytes(entry.read_bytes())
        os.symlink(f"..data/{entry.name}", destination / entry.name)
    os.symlink(stamp, destination / "..data")
