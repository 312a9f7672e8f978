"""The key catalog (harness/contract/catalog.yaml) and a platform profile (profiles/choreo.yaml by default)
loaded into typed records and checked for consistency.

The contract's facts (keys, registries, the support matrix) are in catalog.yaml; the platform's images,
hand-off and public destinations are in the profile (harness/contract/profile.py reads it). This module
merges the two into one `Catalog` and answers the questions other modules ask ("which keys does webapp
consume?", "which registry does this image belong to?").
"""

import functools
import os
from pathlib import Path

from harness.contract import reference
from harness.contract.profile import Handoff, Profile, load_profile
from harness.infra.errors import UserError
from harness.infra.files import resolved
from harness.infra.records import record
from harness.infra.settings import CHOREO_REGISTRY_VAR
from harness.infra.yamltext import YAMLSyntaxError, load_yaml

FAMILIES = ("oci-mirror", "image-override", "package-proxy")
DEFAULT_CHOREO_REGISTRY = "choreocontrolplane.azurecr.io"


@record
class Destination:
    host: str
    purpose: str
    key: str | None = None  # the key that redirects it under the contract (profile destinations); None: none


@record
class Registry:
    id: str
    title: str
    mirror_key: str
    prefixes: tuple[str, ...]
    endpoints: tuple[str, ...]


@record
class Manager:
    id: str
    title: str
    default_url: str
    endpoints: tuple[str, ...]
    unredirectable: tuple[Destination, ...]


@record
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


@record
class Image:
    name: str
    default: str
    registry: str
    override: str | None
    origin: str  # platform: as the profile's platform flows name it; model: the harness's stand-in
    pinned: bool = False
    written: str = ""  # the default as the profile writes it (node:18-alpine); `default` is its normalised form
    platform_resolves: bool = True  # False: the platform's own preamble never resolves it (the profile says so)


@record
class Strategy:
    name: str
    title: str
    oci_keys: tuple[str, ...]
    image_keys: tuple[str, ...]
    managers: tuple[str, ...]
    dockerhub_login: bool
    images: dict[str, Image]
    unredirectable: tuple[Destination, ...]  # the destinations no key redirects
    destinations: tuple[Destination, ...] = ()  # every destination of the profile's steps (with a key or not)
    handoff: Handoff | None = None  # how the profile's platform hands configuration to the build

    @property
    def url_keys(self) -> tuple[str, ...]:
        """The main keys (not credentials) this strategy consumes, in catalog order."""
        return self.oci_keys + self.image_keys + tuple(f"pkg-{m}-url" for m in self.managers)


@record
class Catalog:
    registries: dict[str, Registry]
    managers: dict[str, Manager]
    keys: dict[str, Key]
    strategies: dict[str, Strategy]
    credential_owner: dict[str, str]  # credential key -> its main key
    aliases: dict[str, dict[str, str]]  # managers|registries|fields -> word -> id
    profile: Profile | None = None  # the platform profile merged in
    choreo_registry: str | None = None  # the PDP's own platform registry host[:port], when one was given
    platform_hosts: tuple[str, ...] = ()  # the platform registry's hosts (choreo), as `CHOREO_REGISTRY` replaces them
    dockerhub_hosts: tuple[str, ...] = ()  # Docker Hub's own names (catalog.yaml's prefixes, not a profile's)
    dockerhub_endpoints: tuple[str, ...] = ()  # what a pull from them reaches (catalog.yaml's endpoints)

    def all_key_names(self) -> list[str]:
        return list(self.keys) + list(self.credential_owner)

    def consumed_keys(self, strategy: str) -> list[str]:
        """Every key name (main and credential) that takes effect for the strategy."""
        names = []
        for key_name in self.strategies[strategy].url_keys:
            names += [key_name, *self.keys[key_name].credential_keys]
        return names

    def registry_of(self, ref: reference.Reference) -> Registry | None:
        """The registry of the longest prefix `ref` lives under (docker.io/buildpacksio/lifecycle is the buildpacks
        registry's, docker.io/library/node Docker Hub's), as registries.conf picks the longest matching prefix."""
        return self.remapping(ref, self.registries)

    def remapping(self, ref: reference.Reference, registry_ids) -> Registry | None:
        """Among the registries `registry_ids` (the mirrors in effect), the one whose prefix remaps `ref` in the
        build's registries.conf: the longest matching prefix. None: no mirror in effect takes the reference."""
        best, length = None, -1
        for rid in registry_ids:
            for prefix in self.registries[rid].prefixes:
                if len(prefix) > length and reference.matches_prefix(ref, prefix):
                    best, length = self.registries[rid], len(prefix)
        return best

    def public_hosts(self) -> frozenset[str]:
        """Every host the catalog and the profile know as the public internet's own: the hosts of registry prefixes
        without a path (docker.io) and those registries' endpoints, the managers' endpoints and what no key
        redirects, each strategy's destinations. A host only named with a path (gcr.io/buildpacks) is shared by
        every tenant: a customer's repository there (us-docker.pkg.dev/acme/dockerhub-remote) is a mirror, and
        public_prefixes() has the public paths."""
        whole = [r for r in self.registries.values() if any("/" not in prefix for prefix in r.prefixes)]
        hosts = {prefix.partition(":")[0] for r in whole for prefix in r.prefixes if "/" not in prefix}
        hosts |= {host for r in whole for host in r.endpoints}
        hosts |= {host for m in self.managers.values() for host in m.endpoints}
        hosts |= {d.host for m in self.managers.values() for d in m.unredirectable}
        hosts |= {d.host for s in self.strategies.values() for d in (*s.unredirectable, *s.destinations)}
        prefixes = [prefix for r in self.registries.values() for prefix in r.prefixes]
        shared = {p.partition("/")[0] for p in prefixes if "/" in p} - {p.partition(":")[0] for p in prefixes if "/" not in p}
        return frozenset(host.lower() for host in hosts - shared)

    def public_prefixes(self) -> tuple[str, ...]:
        """The registry prefixes that have a path (gcr.io/buildpacks): public below them, on a shared host."""
        return tuple(prefix for r in self.registries.values() for prefix in r.prefixes if "/" in prefix)

    def pull_hosts(self, ref: reference.Reference) -> tuple[str, ...]:
        """The host names a pull of `ref` reaches (egress names hosts, never ports): Docker Hub's endpoints for a
        Docker Hub reference, else the reference's own host (mirror.gcr.io too, a profile's Docker Hub prefix)."""
        if ref.domain in self.dockerhub_hosts:
            return self.dockerhub_endpoints
        return (ref.domain.partition(":")[0],)


def _destinations(items) -> tuple[Destination, ...]:
    return tuple(Destination(item["host"], item["for"], item.get("key")) for item in items or ())


def _swap_host(text: str, hosts: set[str], host: str) -> str:
    """`text` (a reference or prefix) with its domain replaced by `host` when the domain is one of `hosts`."""
    domain, slash, rest = text.partition("/")
    return host + slash + rest if domain in hosts else text


def platform_registry_hosts(data: dict) -> tuple[str, ...]:
    """The platform registry's hosts: those of the choreo registry's prefixes, but for a host another registry has
    whole (a choreo prefix docker.io/myorg leaves Docker Hub Docker Hub's)."""
    others = {p for rid, r in data["registries"].items() if rid != "choreo" for p in r["prefixes"] if "/" not in p}
    return tuple(dict.fromkeys(p.partition("/")[0] for p in data["registries"]["choreo"]["prefixes"]
                               if p.partition("/")[0] not in others))


def _with_choreo_host(data: dict, host: str) -> None:
    """Swap every platform registry host (the choreo registry's, catalog and profile) for a PDP's own, everywhere
    it appears: registry prefixes (a buildpacks prefix on the platform's ACR too), default images and a profile's
    destinations. Endpoints are host names, as egress evidence names them (DNS, SNI): a port stays in the
    prefixes only."""
    hosts = set(platform_registry_hosts(data))
    names = {h.partition(":")[0] for h in hosts}
    for registry in data["registries"].values():
        registry["prefixes"] = list(dict.fromkeys(_swap_host(p, hosts, host) for p in registry["prefixes"]))
        registry["endpoints"] = list(dict.fromkeys(host.partition(":")[0] if e in names else e
                                                   for e in registry["endpoints"]))
    for strategy in data["strategies"].values():
        for image in strategy["images"].values():
            image["default"] = _swap_host(image["default"], hosts, host)
        for destination in strategy.get("destinations", []):
            if destination["host"] in names:
                destination["host"] = host.partition(":")[0]


def _longest_prefix_registry(data: dict, ref: reference.Reference) -> str | None:
    best, length = None, -1
    for rid, registry in data["registries"].items():
        for prefix in registry["prefixes"]:
            if len(prefix) > length and reference.matches_prefix(ref, prefix):
                best, length = rid, len(prefix)
    return best


def _merge(data: dict, profile: Profile) -> None:
    """Put the profile's registries, images, destinations and hand-off into the catalog's data, checking what
    needs the catalog: a registry id, a strategy, an image's registry and override key, a destination's key."""
    def fail(where: str, problem: str):
        raise UserError(f"{profile.path}: {where}: {problem}")

    registries = data["registries"]
    for rid, prefixes in profile.prefixes.items():
        if rid not in registries:
            fail(f"registries.{rid}", f"unknown registry (harness/contract/catalog.yaml has: {', '.join(registries)})")
        registries[rid]["prefixes"] = list(dict.fromkeys([*registries[rid]["prefixes"], *prefixes]))
    owner = {}
    for rid, registry in registries.items():
        for prefix in registry["prefixes"]:
            if prefix in owner and owner[prefix] != rid:
                fail(f"registries.{rid}", f"{prefix} is already a prefix of the {owner[prefix]} registry")
            owner[prefix] = rid
    strategies = data["strategies"]
    missing = [s for s in strategies if s not in profile.strategies]
    unknown = [s for s in profile.strategies if s not in strategies]
    if unknown:
        fail(f"strategies.{unknown[0]}", f"unknown strategy (one of: {', '.join(strategies)})")
    if missing:
        fail("strategies", f"no entry for {', '.join(missing)} (every strategy of the catalog needs one)")
    image_keys = {name: key for name, key in data["keys"].items() if key["family"] == "image-override"}
    for sid, strategy in strategies.items():
        entry = profile.strategies[sid]
        row = strategy["supports"]["images"]
        images = {}
        for name, image in entry.images.items():
            where = f"strategies.{sid}.images.{name}"
            found = _longest_prefix_registry(data, reference.parse_normalized(image.default))
            registry = image.registry or found
            if registry not in registries:
                fail(f"{where}.registry", f"{registry!r} is not a registry (one of: {', '.join(registries)})")
            if found != registry:
                fail(where, f"{image.default} is not under a prefix of the {registry} registry "
                            f"({found or 'no registry'} holds it): add its host or host/path to registries.{registry}.prefixes")
            override = next((key for key, k in image_keys.items() if k["image"] == name and key in row), None)
            images[name] = {"default": image.default, "registry": registry, "override": override,
                            "origin": image.origin, "pinned": image.pinned, "written": image.written,
                            "platform_resolves": image.platform_resolves}
        for key in row:
            if key not in image_keys:
                raise UserError(f"harness/contract/catalog.yaml: strategies.{sid}.supports.images: {key!r} is not an "
                                "image-override key of keys:")
            if image_keys[key]["image"] not in images:
                fail(f"strategies.{sid}.images", f"no image {image_keys[key]['image']!r}, which {key} (in {sid}'s "
                                                 "support row) replaces")
        for name in entry.handoff.images:
            if name not in images:
                fail(f"strategies.{sid}.handoff.images.{name}", f"no such image of {sid}")
        for manager in entry.handoff.managers:
            if manager not in data["managers"]:
                fail(f"strategies.{sid}.handoff.managers.{manager}",
                     f"unknown package manager (one of: {', '.join(data['managers'])})")
        consumed = set(strategy["supports"]["oci"]) | {f"pkg-{m}-url" for m in strategy["supports"]["packages"]}
        destinations = []
        for index, destination in enumerate(entry.destinations):
            where = f"strategies.{sid}.destinations[{index}]"
            if destination.key is not None:
                key = data["keys"].get(destination.key)
                if destination.key not in consumed:
                    fail(f"{where}.key", f"{destination.key} is not a URL key of {sid}'s support row: leave the key out "
                                         "when no key of the strategy redirects it")
                source = registries[key["registry"]] if key["family"] == "oci-mirror" else data["managers"][key["manager"]]
                # a host a pull under one of the registry's prefixes reaches counts too (a profile's own prefix)
                redirected = source["endpoints"] + [p.partition("/")[0].partition(":")[0] for p in source.get("prefixes", [])]
                if destination.host not in redirected:
                    fail(f"{where}.host", f"{destination.host} is not a host {destination.key} redirects "
                                          f"({', '.join(dict.fromkeys(redirected))})")
            destinations.append({"host": destination.host, "for": destination.purpose, "key": destination.key})
        strategy["images"] = images
        strategy["destinations"] = destinations
        strategy["handoff"] = entry.handoff


def _endpoints(data: dict, dockerhub_hosts: tuple[str, ...], dockerhub_endpoints: tuple[str, ...]) -> None:
    """Each registry's endpoints: the catalog's, and the hosts a pull under each of its prefixes reaches (a prefix on
    Docker Hub's own names reaches Docker Hub's endpoints; another, a profile's mirror.gcr.io, its own host)."""
    for registry in data["registries"].values():
        hosts = list(registry["endpoints"])
        for prefix in registry["prefixes"]:
            domain = prefix.partition("/")[0]
            hosts += dockerhub_endpoints if domain in dockerhub_hosts else [domain.partition(":")[0]]
        registry["endpoints"] = list(dict.fromkeys(hosts))


def _build(data: dict, profile: Profile | None = None, choreo_registry: str | None = None,
           platform_hosts: tuple[str, ...] = (), dockerhub: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())) -> Catalog:
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
            iname: Image(iname, i["default"], i["registry"], i.get("override"), i["origin"], i.get("pinned", False),
                         i.get("written", ""), i.get("platform_resolves", True))
            for iname, i in s["images"].items()
        }
        destinations = _destinations(s.get("destinations"))
        strategies[sid] = Strategy(
            name=sid,
            title=s["title"],
            oci_keys=tuple(s["supports"]["oci"]),
            image_keys=tuple(s["supports"]["images"]),
            managers=tuple(s["supports"]["packages"]),
            dockerhub_login=bool(s["dockerhub_login"]),
            images=images,
            unredirectable=tuple(d for d in destinations if d.key is None),
            destinations=destinations,
            handoff=s.get("handoff"),
        )
    owners = {cred: key.name for key in keys.values() for cred in key.credential_keys}
    catalog = Catalog(registries, managers, keys, strategies, owners, data.get("aliases", {}), profile,
                      choreo_registry, platform_hosts, *dockerhub)
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
        elif key.family == "package-proxy" and key.name != f"pkg-{key.manager}-url":
            problems.append(f"{key.name}: a package key of manager {key.manager} is named pkg-{key.manager}-url")
        if bool(key.username) != bool(key.password):
            problems.append(f"keys.{key.name}: a username key needs a password key, and a password key a username key")
    for registry in catalog.registries.values():
        owner = catalog.keys.get(registry.mirror_key)
        if owner is None or owner.family != "oci-mirror" or owner.registry != registry.id:
            problems.append(f"registries.{registry.id}.mirror_key: {registry.mirror_key} is not an oci-mirror key of "
                            f"registry {registry.id} in keys:")
        if not registry.prefixes:
            problems.append(f"registries.{registry.id}.prefixes: empty; a registry needs the host (or host/path) of "
                            "its images, which its mirror replaces")
    for strategy in catalog.strategies.values():
        problems += [f"strategies.{strategy.name}.images.{image.name}.pinned: {strategy.name}'s support row has no "
                     f"image-override key for {image.name}, which alone could change a pinned image: drop pinned, or "
                     "pin an image with one" for image in strategy.images.values() if image.pinned and not image.override]
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
        source = f" with {catalog.profile.path}" if catalog.profile else ""
        raise UserError(f"harness/contract/catalog.yaml{source} is inconsistent:\n  " + "\n  ".join(problems))


def load_catalog(choreo_registry: str | None = None, profile: str | os.PathLike | None = None) -> Catalog:
    """The catalog with the platform profile `profile` merged in (None: the default, profiles/choreo.yaml; the
    commands take --profile / $AIRGAP_PROFILE), and every platform registry host replaced by `choreo_registry`
    when a PDP uses its own registry."""
    return _load_catalog(choreo_registry or None, str(resolved(profile)) if profile else None)


@functools.lru_cache(maxsize=None)
def _load_catalog(choreo_registry: str | None, profile_path: str | None) -> Catalog:
    text = Path(__file__).with_name("catalog.yaml").read_text(encoding="utf-8")  # beside this module, as packaged
    return catalog_from_text(text, profile_path, choreo_registry)


def catalog_from_text(text: str, profile_path: str | None = None, choreo_registry: str | None = None) -> Catalog:
    """The catalog of catalog.yaml's `text` (a copy being edited: tests), checked as load_catalog checks it."""
    try:
        data = load_yaml(text)
    except YAMLSyntaxError as error:  # a key given twice, a tab ...: while editing it to add a key
        raise UserError(f"harness/contract/catalog.yaml: not valid YAML ({error})") from None
    profile = load_profile(profile_path)
    try:
        return _loaded(data, profile, choreo_registry)
    except (KeyError, TypeError, AttributeError, ValueError) as error:  # a field missing or of another shape
        source = f" with the profile {profile.path}" if profile else ""
        raise UserError(f"harness/contract/catalog.yaml{source} cannot be read: {type(error).__name__}: {error} "
                        "(a misspelt field or family, or a value of the wrong shape)") from None


def _loaded(data: dict, profile, choreo_registry: str | None) -> Catalog:
    hub = data["registries"]["dockerhub"]  # Docker Hub as the catalog has it, before a profile adds to it
    dockerhub = (tuple(prefix.partition("/")[0] for prefix in hub["prefixes"]), tuple(hub["endpoints"]))
    _merge(data, profile)
    if choreo_registry:
        # The host stands where a registry domain stands in image references, and the stack serves it under
        # that name (DNS, certificate, evidence). So: a dot (a dot-less first component is a Docker Hub
        # path: `myacr/x` is docker.io/myacr/x), lowercase (one spelling everywhere), not an IP address,
        # and not a host the catalog already gives to another public source.
        name = choreo_registry.partition(":")[0]
        if not (reference.is_valid_domain(choreo_registry) and "." in name and name == name.lower()
                and not name.replace(".", "").isdigit()):  # is_valid_domain checks the port
            from harness.contract.grammar import mask  # user-info typed into it is no part of the message

            raise UserError(f"{mask(choreo_registry)!r} is not a platform registry host: expected a lowercase DNS name "
                            "with a dot, optionally with :port, as it stands in an image reference "
                            "(e.g. acr.pdp.example.com or registry.pdp.internal:5000)")
        sources = [r for rid, r in data["registries"].items() if rid != "choreo"] + list(data["managers"].values())
        platform = {h.partition(":")[0] for h in platform_registry_hosts(data)}
        owner = next((s["title"] for s in sources for h in s["endpoints"] + s.get("prefixes", [])
                      if h.partition("/")[0] == name and name not in platform), None)
        if owner:
            raise UserError(f"{choreo_registry!r} is not a platform registry host: {name} is a host of {owner}")
        _with_choreo_host(data, choreo_registry)
    _endpoints(data, *dockerhub)
    platform_hosts = platform_registry_hosts(data)
    return _build(data, profile, choreo_registry, platform_hosts, dockerhub)


def choreo_registry_from_environment(environ=None) -> str | None:
    """The PDP's platform registry host from $AIRGAP_CHOREO_REGISTRY (None: the catalog's default), checked as
    `load_catalog` checks it. `--choreo-registry` takes its default from here."""
    raw = (os.environ if environ is None else environ).get(CHOREO_REGISTRY_VAR) or None
    try:
        load_catalog(raw)
    except UserError as error:
        raise UserError(f"{CHOREO_REGISTRY_VAR}: {error}") from None
    return raw
