"""Reading a proxy-config directory the way a build script's `$(cat /mnt/proxy-config/KEY)` does.

The directory may be a plain folder or a kubelet Secret volume (`..data` and `..<timestamp>` entries,
key files that are symlinks into `..data/`). kubelet's own entries (names starting with `..`) and what version
control or a desktop leaves in a folder (NOT_KEYS: an empty fixture's .gitkeep) are not keys; any other name is
an entry, one starting with `.` too (`.dockerconfigjson` is a valid Secret key, and lint says it is none of the
contract's). A value
is the file's text with trailing newlines removed and nothing else changed. Hostile content (binary,
a FIFO, a loop of symlinks, a huge file...) never raises: the entry records the problem and lint
reports it; such an entry counts as unset.
"""

import errno
import os
import re
import stat
from pathlib import Path

from harness.infra.errors import UserError
from harness.infra.records import record

MAX_VALUE_BYTES = 64 * 1024
SECRET_KEY_RE = re.compile(r"[-._a-zA-Z0-9]+\Z")  # Kubernetes IsConfigMapKey, also used for Secrets
SECRET_KEY_MAX = 253
NOT_KEYS = frozenset({".gitkeep", ".keep", ".gitignore", ".DS_Store"})


@record
class Entry:
    name: str
    raw: bytes | None  # the file's bytes, None when it could not be read
    problem: str | None = None  # why the entry is unusable, in words for a lint message
    rule: str | None = None  # the lint rule id of that problem

    @property
    def value(self) -> str | None:
        """The value as a shell's $(cat file) gives it, or None when the entry is unusable."""
        if self.problem is not None or self.raw is None:
            return None
        return self.raw.decode("utf-8").rstrip("\n")


@record
class Lookup:
    key: str  # the file that won: "<strategy>.<key>" or "<key>"
    value: str


_KEY_REGEX_MESSAGE = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
    "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)


def key_problems(key: str) -> list[str]:
    """Why `key` is not a Secret key (Kubernetes IsConfigMapKey), in its messages and order."""
    problems = []
    if len(key) > SECRET_KEY_MAX:
        problems.append(f"must be no more than {SECRET_KEY_MAX} characters")
    if not SECRET_KEY_RE.match(key):
        problems.append(_KEY_REGEX_MESSAGE)
    if key == ".":
        problems.append("must not be '.'")
    elif key == "..":
        problems.append("must not be '..'")
    elif key.startswith(".."):
        problems.append("must not start with '..'")
    return problems


def split_key_name(name: str) -> tuple[str | None, str]:
    """`<strategy>.<key>` -> (strategy, key); `<key>` -> (None, key). Key names hold no '.', so the first
    one separates the scope; whether the scope is a strategy is the catalog's question. A name starting with '.'
    (`.dockerconfigjson`) has no scope: it is a key of its own, none of the contract's. The one split."""
    scope, dot, bare = name.partition(".")
    return (scope, bare) if dot and scope else (None, name)


def is_valid_key_name(name: str) -> bool:
    return not key_problems(name)


def display_name(name: str) -> str:
    """A file name safe to print: undecodable bytes shown as \\xNN escapes."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _content_entry(name: str, raw: bytes) -> Entry:
    nul = raw.find(b"\0")
    if nul >= 0:
        return Entry(name, raw, f"binary content (NUL byte at offset {nul}); values are plain text", "binary-value")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return Entry(name, raw, f"not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start})", "not-utf8")
    return Entry(name, raw)


def read_entry(path: Path) -> Entry:
    """Read one key file without ever blocking, following symlinks, and without raising."""
    name = display_name(path.name)
    if not is_valid_key_name(path.name):
        # quoted: a space or tab at its end is otherwise invisible
        return Entry(name, None, f"not a valid Secret key name ({name!r}; allowed: letters, digits, '-', '_', '.')",
                     "invalid-key-name")
    try:
        info = os.stat(path)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return Entry(name, None, "symlink loop", "broken-symlink")
        if error.errno == errno.ENOENT and path.is_symlink():
            return Entry(name, None, f"broken symlink (points to {os.readlink(path)})", "broken-symlink")
        return Entry(name, None, f"cannot be read: {error.strerror}", "unreadable")
    if stat.S_ISDIR(info.st_mode):
        return Entry(name, None, "a directory where a key file is expected", "not-a-file")
    if not stat.S_ISREG(info.st_mode):
        return Entry(name, None, "not a regular file (FIFO, socket or device) where a key file is expected", "not-a-file")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            raw = os.read(fd, MAX_VALUE_BYTES + 1)  # bounded, whatever the file's size
        finally:
            os.close(fd)
    except OSError as error:
        return Entry(name, None, f"cannot be read: {error.strerror}", "unreadable")
    # A NUL within what is read first, as the preamble's one bounded read (up to the first NUL) sees it
    if b"\0" not in raw and (info.st_size > MAX_VALUE_BYTES or len(raw) > MAX_VALUE_BYTES):
        size = f"{info.st_size} bytes" if info.st_size > MAX_VALUE_BYTES else f"over {MAX_VALUE_BYTES} bytes"
        return Entry(name, None, f"too large ({size}; a value is at most {MAX_VALUE_BYTES} bytes)", "value-too-large")
    return _content_entry(name, raw)


@record
class Credentials:
    """The credentials in effect for one URL key: a token, or a username with its password, or none.

    A username counts only with its password (and the reverse): a lone one is `unpaired` and the build
    sends nothing. This is the one place that rule lives in Python (the preamble's is pc_credentials).
    """

    auth: str  # "token" | "basic" | "none"
    lookups: tuple[Lookup, ...] = ()  # the token, or the username and the password, in that order
    unpaired: Lookup | None = None  # a username without its password, or the reverse
    missing: str | None = None  # the key that would pair it

    @property
    def keys(self) -> list[str]:
        return [found.key for found in self.lookups]


class ProxyConfig:
    """The keys of one proxy-config directory and the `<strategy>.<key>`-then-`<key>` lookup."""

    def __init__(self, path: Path | None, entries: dict[str, Entry]):
        self.path = path
        self.entries = entries

    def lookup(self, key: str, strategy: str | None = None) -> Lookup | None:
        """The value in effect for `key` in `strategy`; an empty or unusable value counts as unset."""
        names = ([f"{strategy}.{key}"] if strategy else []) + [key]
        for name in names:
            entry = self.entries.get(name)
            if entry is not None and entry.value:
                return Lookup(name, entry.value)
        return None

    def credentials(self, key, strategy: str | None = None) -> Credentials:
        """The credentials in effect for catalog key `key` (its token, username and password keys)."""
        token = self.lookup(key.token, strategy) if key.token else None
        if token:
            return Credentials("token", (token,))
        pair = [(name, self.lookup(name, strategy)) for name in (key.username, key.password) if name]
        found = [lookup for _, lookup in pair if lookup]
        if len(pair) == 2 and len(found) == 2:
            return Credentials("basic", tuple(found))
        if found:
            return Credentials("none", unpaired=found[0], missing=next(name for name, lookup in pair if not lookup))
        return Credentials("none")

    def present(self) -> list[str]:
        return sorted(self.entries)


def read_config(path: str | os.PathLike | None) -> ProxyConfig:
    """Read a proxy-config directory; a missing or empty one means no configuration."""
    if path is None:
        return ProxyConfig(None, {})
    directory = Path(path)
    if not directory.exists():
        return ProxyConfig(directory, {})
    if not directory.is_dir():
        raise UserError(f"{directory}: not a directory (a proxy-config is a directory with one file per key)")
    try:
        names = sorted(os.listdir(directory))
    except OSError as error:
        raise UserError(f"{directory}: cannot list the directory: {error.strerror}") from None
    entries = {display_name(name): read_entry(directory / name) for name in names
               if not name.startswith("..") and name not in NOT_KEYS}
    return ProxyConfig(directory, entries)
