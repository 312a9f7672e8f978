"""What one strategy's build does with a proxy-config: images, logins, package settings, what stays public.

This is the harness's model of the contract; `airgap plan` prints it and the reference preamble must
agree with it (`airgap preamble-check`). Secrets never enter the plan: credentials appear only as the
names of the files that hold them.
"""

from harness.contract import grammar, reference
from harness.contract.catalog import Catalog, Strategy
from harness.contract.config import ProxyConfig, split_key_name
from harness.infra.records import record


@record
class Mirror:
    registry: str  # catalog registry id
    url: str  # host[:port][/path], as configured
    key: str  # winning file name
    username_key: str | None  # set only when both username and password are in effect
    error: str | None = None  # why the value cannot work as a mirror (lint has the same reason)

    @property
    def domain(self) -> str:
        return self.url.split("/", 1)[0]


@record
class ImagePlan:
    default: str
    resolved: str
    source: str  # "default" | "mirror" | "override"
    key: str | None
    registry: str  # the registry the default image lives in
    credentials: str | None = None  # username file used to pull, None for anonymous or the platform login
    error: str | None = None  # set when `resolved` is not a valid reference

    @property
    def shown(self) -> str:
        """`resolved` as plan, lint and repro print it: the token a hosted registry's path may hold masked."""
        return grammar.mask(self.resolved)


@record
class PackagePlan:
    url: str
    auth: str  # "token" | "basic" | "none"
    key: str | None
    credentials: list[str]  # the files of the credentials in effect
    error: str | None = None  # set when the value cannot be used as a package URL (the build stops)


@record
class Plan:
    strategy: str
    images: dict[str, ImagePlan]
    mirrors: dict[str, dict]
    logins: list[dict]
    dockerhub_login: bool
    packages: dict[str, PackagePlan]
    ignored_keys: list[str]
    shadowed_keys: list[str]
    public: list[dict]
    problems: list[dict]

    def to_json(self) -> dict:
        return {**self._asdict(), "images": {name: {**image._asdict(), "resolved": image.shown}
                                             for name, image in self.images.items()},
                "packages": {name: package._asdict() for name, package in self.packages.items()}}


def _value_error(value: str, kind: grammar.Kind) -> str | None:
    """The grammar's reason the build stops on this value, as plan shows it (lint has the same rule)."""
    violation = grammar.stop_violation(value, kind)
    return f"{violation.text} ({violation.rule})" if violation else None


def effective_mirrors(catalog: Catalog, config: ProxyConfig, strategy: Strategy) -> dict[str, Mirror]:
    mirrors = {}
    for key_name in strategy.oci_keys:
        key = catalog.keys[key_name]
        found = config.lookup(key_name, strategy.name)
        if not found:
            continue
        error = _value_error(found.value, grammar.Kind("oci-mirror"))
        credentials = config.credentials(key, strategy.name)
        username_key = credentials.keys[0] if credentials.auth == "basic" else None
        mirrors[key.registry] = Mirror(key.registry, found.value, found.key, username_key, error)
    return mirrors


def _rewritten(ref: reference.Reference, mirror: Mirror) -> tuple[str, str | None]:
    """The mirror rewrite as text, and the reason the result is not a valid reference, if it is not."""
    try:
        return str(reference.rewrite_to_mirror(ref, mirror.url)), None
    except reference.ReferenceError as problem:
        text = grammar.mask(str(ref.with_name(grammar.mask(mirror.url), ref.path)))  # a token pasted as the mirror
        return text, mirror.error or str(problem)


def _overridden(ref: reference.Reference, value: str) -> tuple[str, str | None]:
    try:
        return str(reference.apply_override(ref, value)), None
    except reference.ReferenceError:
        return grammar.mask(value), _value_error(value, grammar.Kind("image-override"))


def override_login(domain: str, own_registry: str, mirrors: dict[str, Mirror]) -> Mirror | None:
    """The mirror whose credentials an override on `domain` pulls with: one on the same host that has them.

    When several mirrors share the host, the mirror of the image's own registry wins, then catalog order.
    """
    candidates = [m for m in mirrors.values() if m.domain == domain and m.username_key]
    candidates.sort(key=lambda m: m.registry != own_registry)
    return candidates[0] if candidates else None


def _images(config, strategy, mirrors) -> dict[str, ImagePlan]:
    images = {}
    for image in strategy.images.values():
        ref = reference.parse_normalized(image.default)
        override = config.lookup(image.override, strategy.name) if image.override else None
        mirror = mirrors.get(image.registry)
        if override:
            resolved, error = _overridden(ref, override.value)
            login = override_login(resolved.split("/", 1)[0], image.registry, mirrors)
            plan = ImagePlan(image.default, resolved, "override", override.key, image.registry,
                             login.username_key if login else None, error)
        elif mirror:
            resolved, error = _rewritten(ref, mirror)
            plan = ImagePlan(image.default, resolved, "mirror", mirror.key, image.registry, mirror.username_key, error)
        else:
            plan = ImagePlan(image.default, image.default, "default", None, image.registry)
        images[image.name] = plan
    return images


def _logins(images: dict[str, ImagePlan], mirrors: dict[str, Mirror], dockerhub_login: bool) -> list[dict]:
    logins = [{"registry": grammar.mask(m.url), "key": m.username_key} for m in mirrors.values() if m.username_key]
    for image in images.values():
        if image.source == "override" and image.credentials and not image.error:
            repository = reference.parse(image.resolved).name
            logins.append({"registry": repository, "key": image.credentials})
    if dockerhub_login:
        logins.append({"registry": "docker.io", "key": None})
    unique = []
    for login in logins:
        if login not in unique:
            unique.append(login)
    return unique


def _packages(catalog, config, strategy) -> dict[str, PackagePlan]:
    packages = {}
    for manager_id in strategy.managers:
        key = catalog.keys[f"pkg-{manager_id}-url"]
        found = config.lookup(key.name, strategy.name)
        if not found:
            packages[manager_id] = PackagePlan(catalog.managers[manager_id].default_url, "none", None, [])
            continue
        credentials = config.credentials(key, strategy.name)
        error = _value_error(found.value, grammar.Kind("package-proxy", manager_id))
        for lookup, family in zip(credentials.lookups, ("username", "password")):
            if error is None and credentials.auth == "basic":
                error = _value_error(lookup.value, grammar.Kind(family, manager_id))
                error = error and f"{lookup.key}: {error}"  # the credential's file, not the URL's, is at fault
        if error is None:
            stops = [v for _, v in source_violations(manager_id, found.value, credentials)
                     if grammar.RULES[v.rule].build == "stops"]
            error = f"{stops[0].text} ({stops[0].rule})" if stops else None
        packages[manager_id] = PackagePlan(grammar.mask(grammar.client_url(manager_id, found.value)), credentials.auth,
                                           found.key, credentials.keys, error)
    return packages


def source_violations(manager: str, url: str, credentials) -> list[tuple[str, grammar.Violation]]:
    """The grammar's rules on a package URL with the credentials in effect for it (plan and lint both ask)."""
    return grammar.source_violations(manager, url, credentials.auth, credentials.keys,
                                     [lookup.value for lookup in credentials.lookups])


def _key_usage(catalog, config, strategy) -> tuple[list[str], list[str]]:
    """Keys present that this strategy never reads, and global keys its scoped keys shadow."""
    consumed = set(catalog.consumed_keys(strategy.name))
    ignored, shadowed = [], []
    for name in config.present():
        scope, bare = split_key_name(name)
        if scope in catalog.strategies:
            if scope != strategy.name or bare not in consumed:
                ignored.append(name)
        elif name not in consumed:
            ignored.append(name)
        elif (winner := config.lookup(name, strategy.name)) and winner.key != name:
            shadowed.append(name)
    return ignored, shadowed


class _Destinations:
    """Public hosts a build still reaches, merged by host, each with the key that would redirect it."""

    def __init__(self):
        self.by_host: dict[str, dict] = {}

    def add(self, host: str, purpose: str, covered_by: str | None) -> None:
        entry = self.by_host.setdefault(host, {"host": host, "purpose": [], "covered_by": covered_by})
        if purpose not in entry["purpose"]:
            entry["purpose"].append(purpose)
        entry["covered_by"] = entry["covered_by"] or covered_by

    def as_list(self) -> list[dict]:
        return [{**d, "purpose": "; ".join(d["purpose"])} for d in self.by_host.values()]


def public_mirrors(catalog: Catalog, oci: list[tuple[str, str]], packages: dict[str, PackagePlan]) -> list[tuple[str, str]]:
    """(key, host) of each usable OCI mirror (`oci`: (key, value) pairs) or package proxy in effect that is a public
    registry itself: on a host of catalog.public_hosts, or below a public prefix of a shared host (gcr.io/buildpacks).
    `pkg-npm-url=https://registry.npmjs.org/` is no mirror: the build still reaches the internet."""
    public, prefixes = catalog.public_hosts(), catalog.public_prefixes()
    found = []
    for key, url in oci:
        host = grammar.host_of(url)
        if host in public or any(f"{url.lower()}/".startswith(f"{prefix}/") for prefix in prefixes):
            found.append((key, host))
    for package in packages.values():
        host = grammar.host_of(package.url) if package.key and package.error is None else ""
        if host in public:
            found.append((package.key, host))
    return found


def _public(catalog, strategy, images, mirrors, packages, dockerhub_login) -> list[dict]:
    out = _Destinations()
    if dockerhub_login:  # first: it is what reaches Docker Hub first, and oci-dockerhub-url is what skips it
        for host in catalog.dockerhub_endpoints:  # Docker Hub's own, not a profile's Docker Hub prefix
            out.add(host, "Docker Hub login with the platform's credentials", "oci-dockerhub-url")
    for name, image in images.items():
        if image.error:
            continue
        ref = reference.parse(image.resolved)
        registry = catalog.registry_of(ref)
        if registry is None or catalog.remapping(ref, mirrors) is not None:
            continue  # on a customer host, or remapped to a mirror by registries.conf (its longest prefix in effect)
        key = registry.mirror_key if registry.mirror_key in strategy.oci_keys else None
        override = strategy.images[name].override
        for host in catalog.pull_hosts(ref):
            out.add(host, f"image {name} ({image.resolved})", key or override)
    for manager_id, package in packages.items():
        manager = catalog.managers[manager_id]
        if package.key is None:
            for host in manager.endpoints:
                out.add(host, f"{manager.title} packages", f"pkg-{manager_id}-url")
        for destination in manager.unredirectable:
            out.add(destination.host, destination.purpose, None)
    for key, host in public_mirrors(catalog, [(m.key, m.url) for m in mirrors.values() if m.error is None], packages):
        out.add(host, f"{key} names this public host, not a mirror", key)
    for destination in strategy.destinations:  # the profile's: a keyed one only while its key is not in effect
        key = destination.key
        if key is None:
            out.add(destination.host, destination.purpose, None)
        elif not _in_effect(catalog, key, mirrors, packages):
            out.add(destination.host, destination.purpose, key)
    return out.as_list()


def _in_effect(catalog: Catalog, key: str, mirrors: dict, packages: dict) -> bool:
    entry = catalog.keys[key]
    if entry.family == "oci-mirror":
        return entry.registry in mirrors
    package = packages.get(entry.manager)
    return package is not None and package.key is not None


def plan(catalog: Catalog, config: ProxyConfig, strategy_name: str) -> Plan:
    strategy = catalog.strategies[strategy_name]
    mirrors = effective_mirrors(catalog, config, strategy)
    images = _images(config, strategy, mirrors)
    dockerhub_login = strategy.dockerhub_login and "dockerhub" not in mirrors
    packages = _packages(catalog, config, strategy)
    ignored, shadowed = _key_usage(catalog, config, strategy)
    problems = [
        {"key": name, "problem": entry.problem}
        for name, entry in config.entries.items()
        if entry.problem and name not in ignored
    ]
    return Plan(
        strategy=strategy_name,
        images=images,
        mirrors={rid: {"url": grammar.mask(m.url), "key": m.key, "credentials": m.username_key, "error": m.error} for rid, m in mirrors.items()},
        logins=_logins(images, mirrors, dockerhub_login),
        dockerhub_login=dockerhub_login,
        packages=packages,
        ignored_keys=ignored,
        shadowed_keys=shadowed,
        public=_public(catalog, strategy, images, mirrors, packages, dockerhub_login),
        problems=problems,
    )
