"""The key catalog (harness/contract/catalog.yaml) loaded into typed records and checked for consistency.

All knowledge of keys, strategies, images and public destinations is in the YAML file; this module
only gives it a shape and answers the questions other modules ask ("which keys does webapp consume?").
"""

import functools
import os
from dataclasses import dataclass, field
from importlib import resources

import yaml

from harness.contract import reference
from harness.infra.errors import UserError
from harness.infra.settings import CHOREO_REGISTRY_VAR

FAMILIES = ("oci-mirror", "image-override", "package-proxy")
DEFAULT_CHOREO_REGISTRY = "choreocontrolplane.azurecr.io"


@dataclass(frozen=True)
class Destination:
    host: str
    purpose: str


@dataclass(frozen=True)
class Registry:
    id: str
    title: str
    mirror_key: str
    prefixes: tuple[str, ...]
    endpoints: tuple[str, ...]


@dataclass(frozen=True)
class Manager:
    id: str
    title: str
    default_url: str
    endpoints: tuple[str, ...]
    unredirectable: tuple[Destination, ...]


@dataclass(frozen=True)
class Key:
    name: str
    family: str
    registry: str | None = None  # oci-mirror
    image: str | None = None  # image-override: the logical image it replaces
    manager: str | None = None  # package-proxy
    username: str | None = None
    password: str | None = None
    token: str | None = None
    refused: tuple[str, ...] = ()  # credential keys the seed rules out (npm takes a token only)

    @property
    def credential_keys(self) -> tuple[str, ...]:
        return tuple(k for k in (self.username, self.password, self.token) if k)


@dataclass(frozen=True)
class Image:
    name: str
    default: str
    registry: str
    override: str | None
    origin: str
    pinned: bool = False


@dataclass(frozen=True)
class Strategy:
    name: str
    title: str
    oci_keys: tuple[str, ...]
    image_keys: tuple[str, ...]
    managers: tuple[str, ...]
    dockerhub_login: bool
    images: dict[str, Image]
    unredirectable: tuple[Destination, ...]

    @property
    def url_keys(self) -> tuple[str, ...]:
        """The main keys (not credentials) this strategy consumes, in catalog order."""
        return self.oci_keys + self.image_keys + tuple(f"pkg-{m}-url" for m in self.managers)


@dataclass(frozen=True)
class Catalog:
    registries: dict[str, Registry]
    managers: dict[str, Manager]
    keys: dict[str, Key]
    strategies: dict[str, Strategy]
    credential_owner: dict[str, str] = field(default_factory=dict)  # credential key -> its main key
    aliases: dict[str, dict[str, str]] = field(default_factory=dict)  # managers|registries|fields -> word -> id

    def all_key_names(self) -> list[str]:
        return list(self.keys) + list(self.credential_owner)

    def consumed_keys(self, strategy: str) -> list[str]:
        """Every key name (main and credential) that takes effect for the strategy."""
        names = []
        for key_name in self.strategies[strategy].url_keys:
            names += [key_name, *self.keys[key_name].credential_keys]
        return names

    def registry_of(self, ref: reference.Reference) -> Registry | None:
        for registry in self.registries.values():
            if any(reference.matches_prefix(ref, prefix) for prefix in registry.prefixes):
                return registry
        return None


def _destinations(items) -> tuple[Destination, ...]:
    return tuple(Destination(item["host"], item["for"]) for item in items or ())


def _with_choreo_host(data: dict, host: str) -> None:
    """Swap the platform registry host everywhere it appears (PDPs may run their own ACR). Endpoints are
    host names, as egress evidence names them (DNS, SNI): a port stays in the prefix only."""
    choreo = data["registries"]["choreo"]
    [old] = choreo["prefixes"]
    choreo["prefixes"] = [host]
    choreo["endpoints"] = [host.partition(":")[0]]
    for strategy in data["strategies"].values():
        for image in strategy["images"].values():
            if image["registry"] == "choreo":
                image["default"] = host + image["default"][len(old):]


def _build(data: dict) -> Catalog:
    registries = {
        rid: Registry(rid, r["title"], r["mirror_key"], tuple(r["prefixes"]), tuple(r["endpoints"]))
        for rid, r in data["registries"].items()
    }
    managers = {
        mid: Manager(mid, m["title"], m["default_url"], tuple(m["endpoints"]), _destinations(m.get("unredirectable")))
        for mid, m in data["managers"].items()
    }
    keys = {name: Key(name=name, **{**k, "refused": tuple(k.get("refused", ()))}) for name, k in data["keys"].items()}
    strategies = {}
    for sid, s in data["strategies"].items():
        images = {
            iname: Image(iname, i["default"], i["registry"], i.get("override"), i["origin"], i.get("pinned", False))
            for iname, i in s["images"].items()
        }
        strategies[sid] = Strategy(
            name=sid,
            title=s["title"],
            oci_keys=tuple(s["supports"]["oci"]),
            image_keys=tuple(s["supports"]["images"]),
            managers=tuple(s["supports"]["packages"]),
            dockerhub_login=bool(s["dockerhub_login"]),
            images=images,
            unredirectable=_destinations(s.get("unredirectable")),
        )
    owners = {cred: key.name for key in keys.values() for cred in key.credential_keys}
    catalog = Catalog(registries, managers, keys, strategies, owners, data.get("aliases", {}))
    _check(catalog)
    return catalog


def _check(catalog: Catalog) -> None:
    """Fail loudly on an inconsistent catalog: a typo here would silently change every verdict."""
    problems = []
    for key in catalog.keys.values():
        if key.family not in FAMILIES:
            problems.append(f"{key.name}: unknown family {key.family}")
        if key.family == "oci-mirror" and catalog.registries.get(key.registry, None) is None:
            problems.append(f"{key.name}: unknown registry {key.registry}")
        if key.family == "package-proxy" and key.manager not in catalog.managers:
            problems.append(f"{key.name}: unknown manager {key.manager}")
    for strategy in catalog.strategies.values():
        for key_name in strategy.oci_keys + strategy.image_keys:
            if key_name not in catalog.keys:
                problems.append(f"{strategy.name}: unknown key {key_name}")
        for manager in strategy.managers:
            if f"pkg-{manager}-url" not in catalog.keys:
                problems.append(f"{strategy.name}: no key pkg-{manager}-url")
        for image in strategy.images.values():
            ref = reference.parse_normalized(image.default)
            if str(ref) != image.default:
                problems.append(f"{strategy.name}/{image.name}: default {image.default} is not normalised")
            registry = catalog.registry_of(ref)
            if registry is None or registry.id != image.registry:
                problems.append(f"{strategy.name}/{image.name}: {image.default} is not in registry {image.registry}")
            if image.override and image.override not in strategy.image_keys:
                problems.append(f"{strategy.name}/{image.name}: override {image.override} not in its support row")
        if strategy.dockerhub_login and "oci-dockerhub-url" not in strategy.oci_keys:
            problems.append(f"{strategy.name}: logs in to Docker Hub but cannot take oci-dockerhub-url")
    if problems:
        raise UserError("harness/contract/catalog.yaml is inconsistent:\n  " + "\n  ".join(problems))


@functools.lru_cache(maxsize=None)
def load_catalog(choreo_registry: str | None = None) -> Catalog:
    """The catalog, with the platform registry host replaced when a PDP uses its own registry."""
    text = resources.files("harness.contract").joinpath("catalog.yaml").read_text(encoding="utf-8")
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if choreo_registry and choreo_registry != DEFAULT_CHOREO_REGISTRY:
        # The host stands where a registry domain stands in image references, and the stack serves it under
        # that name (DNS, certificate, evidence). So: a dot (a dot-less first component is a Docker Hub
        # path: `myacr/x` is docker.io/myacr/x), lowercase (one spelling everywhere), not an IP address,
        # and not a host the catalog already gives to another public source.
        name, _, port = choreo_registry.partition(":")
        if not (reference.is_valid_domain(choreo_registry) and "." in name and name == name.lower()
                and not name.replace(".", "").isdigit() and (not port or 0 < int(port) < 65536)):
            raise UserError(f"{choreo_registry!r} is not a platform registry host: expected a lowercase DNS name "
                            "with a dot, optionally with :port, as it stands in an image reference "
                            "(e.g. acr.pdp.example.com or registry.pdp.internal:5000)")
        sources = [r for rid, r in data["registries"].items() if rid != "choreo"] + list(data["managers"].values())
        owner = next((s["title"] for s in sources for h in s["endpoints"] + s.get("prefixes", [])
                      if h.partition("/")[0] == name), None)
        if owner:
            raise UserError(f"{choreo_registry!r} is not a platform registry host: {name} is a host of {owner}")
        _with_choreo_host(data, choreo_registry)
    return _build(data)


def choreo_registry_from_environment(environ=None) -> str | None:
    """The PDP's platform registry host from $AIRGAP_CHOREO_REGISTRY (None: the catalog's default), checked as
    `load_catalog` checks it. `--choreo-registry` takes its default from here."""
    raw = (os.environ if environ is None else environ).get(CHOREO_REGISTRY_VAR) or None
    try:
        load_catalog(raw)
    except UserError as error:
        raise UserError(f"{CHOREO_REGISTRY_VAR}: {error}") from None
    return raw
