"""The platform profile (profiles/choreo.yaml by default): what a platform's build flows pull, hand to the build
and reach, strategy by strategy, as data a platform team edits when its versions move.

The contract's facts (keys, registries and their mirror keys, the support matrix) stay in
harness/contract/catalog.yaml; `harness.contract.catalog.load_catalog(profile=...)` merges a profile into the
catalog the rest of the harness reads. This module only reads a profile file and checks its shape, with errors
that name the file and the entry (`profiles/x.yaml: strategies.webapp.images.node: ...`); the checks that need
the catalog (a registry id, a strategy, an image's registry) are made where the two are merged.
"""

import os
import re
from pathlib import Path


from harness.contract import reference
from harness.infra import paths
from harness.infra.errors import UserError
from harness.infra.files import resolved
from harness.infra.records import record
from harness.infra.settings import PROFILE_VAR
from harness.infra.textsafe import printable
from harness.infra.yamltext import YAMLSyntaxError, load_yaml

DEFAULT_PROFILE = "choreo.yaml"  # under the checkout's profiles/
MAX_BYTES = 256 * 1024
ORIGINS = ("platform", "model")
HANDOFF_COMMANDS = ("pack build", "podman build")  # the build commands harness/scenarios/handoff.sh models
IMAGE_NAME = re.compile(r"[a-z][a-z0-9-]*")  # a logical image's name: PROXY_IMAGE_<NAME> in the build's environment
HANDOFF_HOW = ("build_arg", "env", "secret", "volume", "file", "flag", "step")  # exactly one per hand-off item
HANDOFF_DETAILS = ("value", "content", "when", "note")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x80-\x9f]")  # a control character: C0 but tab, and C1 (\x9b is a CSI)


@record
class ProfileImage:
    name: str
    written: str  # the default as the profile writes it (a short name stays short here)
    default: str  # normalised as podman and skopeo resolve it (docker.io/library/node:18-alpine)
    registry: str | None  # the registry id the profile says; None: the one its longest prefix names
    origin: str = "platform"
    pinned: bool = False
    platform_resolves: bool = True
    note: str = ""


@record
class ProfileDestination:
    host: str
    purpose: str
    key: str | None  # the key that redirects it under the contract; None: no key does


@record
class HandoffItem:
    how: str  # one of HANDOFF_HOW
    target: str  # the build argument, variable, secret id, mount target, file, flag or step
    value: str = ""
    content: str = ""
    when: str = ""
    note: str = ""


@record
class Handoff:
    command: str  # the build command the configuration is handed to (podman build, pack build)
    note: str
    images: dict[str, tuple[HandoffItem, ...]]
    managers: dict[str, tuple[HandoffItem, ...]]
    build: tuple[HandoffItem, ...]  # hand-off that belongs to no image or manager


@record
class ProfileStrategy:
    name: str
    images: dict[str, ProfileImage]
    handoff: Handoff
    destinations: tuple[ProfileDestination, ...]


@record
class Profile:
    path: Path
    name: str
    title: str
    prefixes: dict[str, tuple[str, ...]]  # registry id -> the platform's prefixes beside the seed's
    strategies: dict[str, ProfileStrategy]
    text: str  # the file as read (innocent text for preamble-check: it names image references)

    @property
    def is_default(self) -> bool:
        return self.path == default_path()


def default_path() -> Path:
    return (paths.checkout() / "profiles" / DEFAULT_PROFILE).resolve()


def path_from_environment(environ=None) -> Path | None:
    """$AIRGAP_PROFILE, or None (the default profile)."""
    raw = (os.environ if environ is None else environ).get(PROFILE_VAR) or None
    return Path(raw) if raw else None


class _Reader:
    """Walks the document, naming the entry at fault: `<file>: strategies.webapp.images.node: <problem>`."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, problem: str):
        # the path, a field name or a value quoted in `problem` may hold terminal control characters: escaped
        raise UserError(printable(f"{self.path}: {where + ': ' if where else ''}{problem}"))

    def mapping(self, value, where: str, required: tuple[str, ...] = (), allowed: tuple[str, ...] | None = None) -> dict:
        if not isinstance(value, dict):
            self.fail(where, f"expected a mapping, got {type(value).__name__}")
        for name in value:
            if not isinstance(name, str):
                self.fail(where, f"{name!r}: names must be text")
        missing = [name for name in required if name not in value]
        if missing:
            self.fail(where, f"missing {', '.join(missing)}")
        if allowed is not None:
            unknown = sorted(set(value) - set(required) - set(allowed))
            if unknown:
                self.fail(where, f"unknown field(s) {', '.join(unknown)} (known: {', '.join((*required, *allowed))})")
        return value

    def text(self, value, where: str, empty: bool = False) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.fail(where, f"expected text, got {type(value).__name__}")
        value = str(value)
        if not value.strip() and not empty:
            self.fail(where, "must not be empty")
        if _CONTROL.search(value):
            self.fail(where, "holds a control character")
        return value

    def flag(self, value, where: str) -> bool:
        if not isinstance(value, bool):
            self.fail(where, f"expected true or false, got {value!r}")
        return value

    def items(self, value, where: str) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(where, f"expected a list, got {type(value).__name__}")
        return value


def _host(reader: _Reader, value, where: str) -> str:
    host = reader.text(value, where)
    name = host.partition(":")[0]
    if host != host.lower() or "." not in name or "/" in host or not reference.is_valid_domain(host):
        reader.fail(where, f"{host!r} is not a host name (lowercase, with a dot)")
    return host


def _prefix(reader: _Reader, value, where: str) -> str:
    prefix = reader.text(value, where)
    domain, slash, path = prefix.partition("/")
    _host(reader, domain, where)
    if slash and not path:  # containers/image trims it, and would remap the whole host
        reader.fail(where, f"{prefix!r}: ends with '/': write the host alone, or host/path")
    if path and not reference.is_valid_path(path):
        reader.fail(where, f"{prefix!r}: the part after the host is not a repository path")
    return prefix


def _image(reader: _Reader, name: str, value, where: str) -> ProfileImage:
    data = reader.mapping(value, where, ("default",), ("registry", "origin", "pinned", "platform_resolves", "note"))
    written = reader.text(data["default"], f"{where}.default")
    try:
        normalised = reference.parse_normalized(written)
    except reference.ReferenceError as error:
        reader.fail(f"{where}.default", f"{written!r} is not an image reference podman accepts ({error})")
    if normalised.digest is None and normalised.tag is None:
        reader.fail(f"{where}.default", f"{written!r} names no tag or digest: write the version the platform pulls")
    origin = reader.text(data.get("origin", "platform"), f"{where}.origin")
    if origin not in ORIGINS:
        reader.fail(f"{where}.origin", f"{origin!r} is not one of {', '.join(ORIGINS)}")
    return ProfileImage(
        name=name, written=written, default=str(normalised),
        registry=reader.text(data["registry"], f"{where}.registry") if "registry" in data else None,
        origin=origin, pinned=reader.flag(data.get("pinned", False), f"{where}.pinned"),
        platform_resolves=reader.flag(data.get("platform_resolves", True), f"{where}.platform_resolves"),
        note=reader.text(data.get("note", ""), f"{where}.note", empty=True))


def _handoff_items(reader: _Reader, value, where: str) -> tuple[HandoffItem, ...]:
    items = []
    for index, item in enumerate(reader.items(value, where)):
        at = f"{where}[{index}]"
        data = reader.mapping(item, at, allowed=HANDOFF_HOW + HANDOFF_DETAILS)
        how = [name for name in HANDOFF_HOW if name in data]
        if len(how) != 1:
            reader.fail(at, f"needs exactly one of {', '.join(HANDOFF_HOW)} (has {', '.join(how) or 'none'})")
        items.append(HandoffItem(how[0], reader.text(data[how[0]], f"{at}.{how[0]}"),
                                 **{d: reader.text(data[d], f"{at}.{d}", empty=True) for d in HANDOFF_DETAILS if d in data}))
    return tuple(items)


def _handoff(reader: _Reader, value, where: str) -> Handoff:
    data = reader.mapping(value, where, ("command",), ("note", "images", "managers", "build"))
    groups = {}
    for group in ("images", "managers"):
        entries = reader.mapping(data.get(group) or {}, f"{where}.{group}")
        groups[group] = {name: _handoff_items(reader, items, f"{where}.{group}.{name}") for name, items in entries.items()}
    command = reader.text(data["command"], f"{where}.command")
    if command not in HANDOFF_COMMANDS:
        reader.fail(f"{where}.command", f"{command!r} is not a build command the harness models "
                                        f"({', '.join(HANDOFF_COMMANDS)})")
    return Handoff(command=command,
                   note=reader.text(data.get("note", ""), f"{where}.note", empty=True),
                   build=_handoff_items(reader, data.get("build"), f"{where}.build"), **groups)


def _destination(reader: _Reader, value, where: str) -> ProfileDestination:
    data = reader.mapping(value, where, ("host", "for"), ("key",))
    key = data.get("key")
    host = _host(reader, data["host"], f"{where}.host")
    if ":" in host or re.fullmatch(r"[0-9.]+", host):  # egress is named by host name alone
        reader.fail(f"{where}.host", f"{host!r}: a destination is a host name, without a port, not an address")
    return ProfileDestination(host, reader.text(data["for"], f"{where}.for"),
                              None if key is None else reader.text(key, f"{where}.key"))


def _strategy(reader: _Reader, name: str, value, where: str) -> ProfileStrategy:
    data = reader.mapping(value, where, ("images", "handoff"), ("destinations",))
    images = reader.mapping(data["images"] or {}, f"{where}.images")
    for image in images:
        if not IMAGE_NAME.fullmatch(image):
            reader.fail(f"{where}.images", f"{image!r} is not an image name ({IMAGE_NAME.pattern}: it names a variable "
                                           "of the build's environment)")
    return ProfileStrategy(
        name=name,
        images={image: _image(reader, image, entry, f"{where}.images.{image}") for image, entry in images.items()},
        handoff=_handoff(reader, data["handoff"], f"{where}.handoff"),
        destinations=tuple(_destination(reader, d, f"{where}.destinations[{i}]")
                           for i, d in enumerate(reader.items(data.get("destinations"), f"{where}.destinations"))))


def load_profile(path: str | os.PathLike | None = None) -> Profile:
    """Read and check a profile file (None: the default profile). Errors name the file and the entry."""
    path = resolved(path) if path is not None else default_path()
    reader = _Reader(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            reader.fail("", "not a regular file")
        if size > MAX_BYTES:
            reader.fail("", f"{size} bytes: a profile is at most {MAX_BYTES // 1024} KiB")
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        reader.fail("", f"cannot be read ({error.strerror})")
    except UnicodeDecodeError:
        reader.fail("", "not UTF-8 text")
    try:
        document = load_yaml(text)
    except YAMLSyntaxError as error:
        reader.fail("", f"not valid YAML ({error})")
    data = reader.mapping(document, "", ("profile", "strategies"), ("title", "registries"))
    prefixes = {}
    for rid, entry in reader.mapping(data.get("registries") or {}, "registries").items():
        entry = reader.mapping(entry, f"registries.{rid}", ("prefixes",))
        prefixes[rid] = tuple(_prefix(reader, p, f"registries.{rid}.prefixes[{i}]")
                              for i, p in enumerate(reader.items(entry["prefixes"], f"registries.{rid}.prefixes")))
    strategies = {name: _strategy(reader, name, entry, f"strategies.{name}")
                  for name, entry in reader.mapping(data["strategies"], "strategies").items()}
    return Profile(path=path, name=reader.text(data["profile"], "profile"),
                   title=reader.text(data.get("title", ""), "title", empty=True),
                   prefixes=prefixes, strategies=strategies, text=text)
