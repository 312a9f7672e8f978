"""A proxy-config directory laid out as kubelet mounts a Secret volume, for a builder's /mnt/proxy-config.

harness.secret.mount (the Secret engineer's, with the full kubelet semantics) is used when present; until
then this minimal layout stands in: a timestamped data directory, `..data` pointing at it, and one
symlink per key into `..data/`. No source (None) gives an empty directory, as an absent optional Secret does.
"""

import os
import time
from pathlib import Path


def mount(source: str | os.PathLike | None, destination: Path) -> None:
    try:
        from harness.secret import mount as secret_mount
    except ImportError:
        secret_mount = None
    if secret_mount is not None and source is not None:
        secret_mount(source, destination)
        return
    destination.mkdir(parents=True, exist_ok=True)
    if source is None:
        return
    stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.000000000", time.gmtime())
    data_dir = destination / stamp
    data_dir.mkdir()
    for entry in sorted(Path(source).iterdir()):
        if entry.name.startswith(".") or not entry.is_file():
            continue
        (data_dir / entry.name).write_bytes(entry.read_bytes())
        os.symlink(f"..data/{entry.name}", destination / entry.name)
    os.symlink(stamp, destination / "..data")
