"""Where the checkout's data lives (preamble/, images/, fixtures/, scenarios/, compose/): one rule for all.

The package runs from a checkout (an editable install, as tox and the README install it). The checkout is
the directory above the package when it holds preamble/, else the working directory when that does (a
non-editable install run from a clone). Anything else is an error that says where to run from.
"""

import functools
import os
from pathlib import Path

from harness.infra.errors import UserError

PACKAGE = Path(__file__).resolve().parents[1]
PREAMBLE_DIR_VAR = "AIRGAP_PREAMBLE_DIR"
_MARKER = Path("preamble") / "lib" / "proxy-config.sh"


@functools.cache
def checkout() -> Path:
    for candidate in (PACKAGE.parent, Path.cwd()):
        if (candidate / _MARKER).is_file():
            return candidate
    raise UserError(f"no airgap-harness checkout beside the package ({PACKAGE.parent}) or in {Path.cwd()}: "
                    "run from the repository root")


def images_dir() -> Path:
    return checkout() / "images"


def fixtures_dir() -> Path:
    return checkout() / "fixtures"


def scenarios_dir() -> Path:
    return checkout() / "scenarios"


def compose_dir() -> Path:
    return checkout() / "compose"


def preamble_dir() -> Path:
    """The reference preamble: $AIRGAP_PREAMBLE_DIR when set (it must hold lib/proxy-config.sh), else the checkout's."""
    chosen = os.environ.get(PREAMBLE_DIR_VAR)
    if chosen:
        if not (Path(chosen) / _MARKER.relative_to("preamble")).is_file():
            raise UserError(f"{PREAMBLE_DIR_VAR}={chosen!r} holds no lib/proxy-config.sh")
        return Path(chosen)
    return checkout() / "preamble"
