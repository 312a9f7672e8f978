"""Harness settings read from the environment, validated on every read, with errors that name the variable."""

import os
import re
from pathlib import Path

from harness.infra.errors import UserError
from harness.infra.files import read_regular_file
from harness.infra.records import record

STATE_DIR_VAR = "AIRGAP_STATE_DIR"
EXTRA_CA_VAR = "AIRGAP_EXTRA_CA_CERTS"
DEBIAN_MIRROR_VAR = "AIRGAP_DEBIAN_MIRROR"
CHOREO_REGISTRY_VAR = "AIRGAP_CHOREO_REGISTRY"
PROFILE_VAR = "AIRGAP_PROFILE"  # the platform profile file (harness/contract/profile.py); unset: profiles/choreo.yaml
DEFAULT_STATE_DIR = "~/.cache/airgap-harness"
DEFAULT_DEBIAN_MIRROR = "http://deb.debian.org/debian"


@record
class Settings:
    state_dir: Path
    extra_ca_certs: tuple[Path, ...]
    debian_mirror: str


def _state_dir(environ) -> Path:
    raw = environ.get(STATE_DIR_VAR, "").strip() or DEFAULT_STATE_DIR
    path = Path(raw).expanduser()
    if path.exists() and not path.is_dir():
        raise UserError(f"{STATE_DIR_VAR}={raw!r} is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"{STATE_DIR_VAR}={raw!r} cannot be created: {error.strerror}") from None
    return path.resolve()


MAX_CA_BYTES = 1 << 20  # a PEM bundle: Debian's whole ca-certificates.crt is about 220 KiB
EXTRA_CA_FILE = "extra-ca-certs"  # in the state directory: the same setting, kept by scripts/bootstrap


def _extra_ca_certs(environ, state_dir: Path) -> tuple[Path, ...]:
    """Colon-separated PEM files; every one must exist and hold a certificate (a typo must not pass silently).

    From $AIRGAP_EXTRA_CA_CERTS when set, else from <state dir>/extra-ca-certs (one path per line).
    """
    raw = environ.get(EXTRA_CA_VAR)
    if raw is None and (state_dir / EXTRA_CA_FILE).is_file():
        try:
            raw = ":".join(read_regular_file(state_dir / EXTRA_CA_FILE, MAX_CA_BYTES).decode().split())
        except UnicodeDecodeError:
            raise UserError(f"{state_dir / EXTRA_CA_FILE}: not UTF-8 text (one CA file path per line)") from None
    paths = []
    for entry in (raw or "").split(":"):
        if not entry.strip():
            continue
        path = Path(entry.strip()).expanduser()
        if not path.is_file():
            raise UserError(f"{EXTRA_CA_VAR}: {entry!r} is not a file (expected colon-separated PEM CA files)")
        try:
            text = read_regular_file(path, MAX_CA_BYTES).decode("ascii")
        except (UserError, UnicodeDecodeError) as error:
            raise UserError(f"{EXTRA_CA_VAR}: {entry!r} cannot be read as PEM text: {error}") from None
        if "-----BEGIN CERTIFICATE-----" not in text:
            raise UserError(f"{EXTRA_CA_VAR}: {entry!r} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        paths.append(path.resolve())
    return tuple(paths)


def _debian_mirror(environ) -> str:
    raw = environ.get(DEBIAN_MIRROR_VAR, "").strip() or DEFAULT_DEBIAN_MIRROR
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", raw):
        raise UserError(f"{DEBIAN_MIRROR_VAR}={raw!r} is not an http(s) URL of a Debian mirror")
    return raw


def load(environ=None) -> Settings:
    """Read the settings from `environ` (default: the process environment)."""
    environ = os.environ if environ is None else environ
    state_dir = _state_dir(environ)
    return Settings(
        state_dir=state_dir,
        extra_ca_certs=_extra_ca_certs(environ, state_dir),
        debian_mirror=_debian_mirror(environ),
    )
