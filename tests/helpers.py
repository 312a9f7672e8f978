"""What the test modules share: the checkout's paths, the `airgap` command as a user runs it, a proxy-config writer.

Paths come from harness.infra.paths (one rule for the harness and its tests), never from `__file__`.
Importable as `helpers` from every test directory ([tool.pytest.ini_options] pythonpath = ["tests"]).
"""

import os
import subprocess
import sys
from pathlib import Path

from harness.infra import paths

CHECKOUT = paths.checkout()
FIXTURES = paths.fixtures_dir()
PROXY_CONFIGS = FIXTURES / "proxy-config"
PREAMBLE = paths.preamble_dir()
PROXY_CONFIG_LIB = PREAMBLE / "lib" / "proxy-config.sh"
SCENARIOS = paths.scenarios_dir()
AIRGAP = (sys.executable, "-m", "harness")


def airgap(*args, entry=None, **options) -> subprocess.CompletedProcess:
    """`python -m harness ARGS` (or `ENTRY ARGS`) in its own process, from the checkout, output captured as text.

    ARGS may be str, bytes or paths; `options` go to subprocess.run and win over these defaults (cwd, env,
    timeout, text=False for bytes output, stdout=... to hand it another stream)."""
    options = {"cwd": CHECKOUT, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, **options}
    return subprocess.run([*(entry or AIRGAP), *(_argument(arg) for arg in args)], **options)


def _argument(arg):
    return os.fspath(arg) if isinstance(arg, (str, bytes, os.PathLike)) else str(arg)


def write_proxy_config(directory: Path, values: dict, *, newline: bool = False, kubelet_layout: bool = False) -> Path:
    """One file per key in `directory` (created): a str value as UTF-8, bytes as they are, each followed by a
    newline when `newline` (as `echo v > key` writes it); None makes a directory where a file should be. With
    `kubelet_layout`, the files sit in `..data/` behind one symlink each, as kubelet mounts a Secret."""
    target = directory / "..data" if kubelet_layout else directory
    target.mkdir(parents=True, exist_ok=True)
    for name, value in values.items():
        path = target / name
        if value is None:
            path.mkdir()
        else:
            data = value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")
            path.write_bytes(data + b"\n" if newline else data)
        if kubelet_layout:
            (directory / name).symlink_to(f"..data/{name}")
    return directory
