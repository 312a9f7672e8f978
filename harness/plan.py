"""What one strategy's build does with a proxy-config: images, logins, package settings, what stays public.

This is the harness's model of the contract; `airgap plan` prints it and the reference preamble must
agree with it (`airgap preamble-check`). Secrets never enter the plan: credentials appear only as the
names of the files that hold them.
"""

import re
from dataclasses import asdict, dataclass, field
from urllib.parse import SplitResult, urlsplit

from harness import reference
from harness.catalog import Catalog, Registry, Strategy
from harness.config import Lookup, ProxyConfig


@dataclass(frozen=True)
class Mirror:
    registry: str  # catalog registry id
    url: str  # host[:port][/path], as configured
    key: str  # winning file name
    username_key: str | None  # set only when both username and password are in effect
    error: str | None = None  # why the value cannot work as a mirror (lint has the same reason)

    @property
    def domain(self) -> str:
        return self.url.split("/", 1)[0]


@dataclass
class ImagePlan:
    default: str
    resolved: str
    source: str  # "default" | "mirror" | "override"
    key: str | None
    registry: str  # the registry the default image lives in
    credentials: str | None = None  # username file used to pull, None for anonymous or the platform login
    error: str | None = None  # set when `resolved` is not a valid reference


@dataclass
class PackagePlan:
    url: str
    auth: str  # "token" | "basic" | "none"
    key: str | None
    credentials: list[str] = field(default_factory=list)
    error: str | None = None  # set when the value cannot be used as a package URL (the build stops)


PACKAGE_URL_RE = re.compile(r"https?://[^/?#]")
URL_FORBIDDEN_RE = re.compile(r"[\x00-\x20\x7f-\x9f\ufffe\uffff]")


def package_url_error(value: str) -> str | None:
    """Why a pkg-*-url value cannot be written into a package manager's configuration, if it cannot.

    Every manager's file format and client needs an absolute http(s) URL; a space, a control
    character (C0 or C1) or a noncharacter (U+FFFE, U+FFFF) cannot be part of one, and would break
    the line-based and YAML formats it lands in.
    """
    if URL_FORBIDDEN_RE.search(value):
        return "a package URL must not contain spaces, control characters or U+FFFE/U+FFFF"
    if not PACKAGE_URL_RE.match(value):
        return "a package URL must start with http:// or https:// followed by a host"
    return None


def split_package_url(value: str) -> SplitResult | None:
    """urlsplit, or None for a value it cannot split (`https://[x/`, a port that is not a number): the one
    parser lint, the stack's endpoints and preamble-check share, so a customer's value never crashes them."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        return None
    return parts


@dataclass
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
        return asdict(self)


_URL_USERINFO_RE = re.compile(r"\A([a-zA-Z][a-zA-Z0-9+.-]*://)([^/?#]*)@")


def mask_url(url: str) -> str:
    """Hide the password of a URL's user-info (`https://u:p@h/` -> `https://u:***@h/`).

    Matched by hand rather than with urlsplit, which raises on values such as `https://[x/`: a
    customer's malformed URL must still be masked, never crash the plan.
    """
    match = _URL_USERINFO_RE.match(url)
    if match is None or ":" not in match.group(2):
        return url
    user = match.group(2).split(":", 1)[0]
    return f"{match.group(1)}{user}:***@{url[match.end():]}"


def _both(config: ProxyConfig, strategy: str, first: str | None, second: str | None) -> Lookup | None:
    """The first credential's lookup when both credentials are in effect (a lone username does nothing)."""
    if not first or not second:
        return None
    a, b = config.lookup(first, strategy), config.lookup(second, strategy)
    return a if a and b else None


def effective_mirrors(catalog: Catalog, config: ProxyConfig, strategy: Strategy) -> dict[str, Mirror]:
    mirrors = {}
    for key_name in strategy.oci_keys:
        key = catalog.keys[key_name]
        found = config.lookup(key_name, strategy.name)
        if not found:
            continue
        error = None
        try:
            reference.split_mirror(found.value)
        except reference.ReferenceError as problem:
            error = str(problem)
        user = _both(config, strategy.name, key.username, key.password)
        mirrors[key.registry] = Mirror(key.registry, found.value, found.key, user.key if user else None, error)
    return mirrors


def _rewritten(ref: reference.Reference, mirror: Mirror) -> tuple[str, str | None]:
    """The mirror rewrite as text, and the reason the result is not a valid reference, if it is not."""
    try:
        return str(reference.rewrite_to_mirror(ref, mirror.url)), None
    except reference.ReferenceError as problem:
        text = str(ref.with_name(mirror.url, ref.path))
        return text, mirror.error or str(problem)


def _overridden(ref: reference.Reference, value: str) -> tuple[str, str | None]:
    try:
        return str(reference.apply_override(ref, value)), None
    except reference.ReferenceError as problem:
        return value, str(problem)


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
            plan = ImagePlan(image.default, resolved, "override", override.key, image.registry, error=error)
            login = override_login(resolved.split("/", 1)[0], image.registry, mirrors)
            plan.credentials = login.username_key if login else None
        elif mirror:
            resolved, error = _rewritten(ref, mirror)
            plan = ImagePlan(image.default, resolved, "mirror", mirror.key, image.registry, mirror.username_key, error)
        else:
            plan = ImagePlan(image.default, image.default, "default", None, image.registry)
        images[image.name] = plan
    return images


def _logins(images: dict[str, ImagePlan], mirrors: dict[str, Mirror], dockerhub_login: bool) -> list[dict]:
    logins = [{"registry": m.url, "key": m.username_key} for m in mirrors.values() if m.username_key]
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
            packages[manager_id] = PackagePlan(catalog.managers[manager_id].default_url, "none", None)
            continue
        token = config.lookup(key.token, strategy.name) if key.token else None
        user = _both(config, strategy.name, key.username, key.password)
        if token:
            plan = PackagePlan(mask_url(found.value), "token", found.key, [token.key])
        elif user:
            password = config.lookup(key.password, strategy.name)
            plan = PackagePlan(mask_url(found.value), "basic", found.key, [user.key, password.key])
        else:
            plan = PackagePlan(mask_url(found.value), "none", found.key)
        plan.error = package_url_error(found.value)
        if plan.error is None and plan.auth != "none" and _URL_USERINFO_RE.match(found.value):
            # Two sources of credentials for one request: the build cannot tell which one is meant.
            plan.error = f"the URL holds credentials and {', '.join(plan.credentials)} are set too: keep one"
        packages[manager_id] = plan
    return packages


def _key_usage(catalog, config, strategy) -> tuple[list[str], list[str]]:
    """Keys present that this strategy never reads, and global keys its scoped keys shadow."""
    consumed = set(catalog.consumed_keys(strategy.name))
    ignored, shadowed = [], []
    for name in config.present():
        scope, dot, bare = name.partition(".")
        if dot and scope in catalog.strategies:
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

    def add_registry(self, registry: Registry, purpose: str, covered_by: str | None) -> None:
        for host in registry.endpoints:
            self.add(host, purpose, covered_by)

    def as_list(self) -> list[dict]:
        return [{**d, "purpose": "; ".join(d["purpose"])} for d in self.by_host.values()]


def _public(catalog, strategy, images, mirrors, packages, dockerhub_login) -> list[dict]:
    out = _Destinations()
    for name, image in images.items():
        if image.error:
            continue
        registry = catalog.registry_of(reference.parse(image.resolved))
        if registry is None or registry.id in mirrors:
            continue  # on a customer host, or remapped to the mirror by registries.conf
        key = registry.mirror_key if registry.mirror_key in strategy.oci_keys else None
        override = strategy.images[name].override
        out.add_registry(registry, f"image {name} ({image.resolved})", key or override)
    if dockerhub_login:
        out.add_registry(catalog.registries["dockerhub"], "Docker Hub login with the platform's credentials", "oci-dockerhub-url")
    for manager_id, package in packages.items():
        manager = catalog.managers[manager_id]
        if package.key is None:
            for host in manager.endpoints:
                out.add(host, f"{manager.title} packages", f"pkg-{manager_id}-url")
        for destination in manager.unredirectable:
            out.add(destination.host, destination.purpose, None)
    for destination in strategy.unredirectable:
        out.add(destination.host, destination.purpose, None)
    return out.as_list()


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
        mirrors={rid: {"url": m.url, "key": m.key, "credentials": m.username_key, "error": m.error} for rid, m in mirrors.items()},
        logins=_logins(images, mirrors, dockerhub_login),
        dockerhub_login=dockerhub_login,
        packages=packages,
        ignored_keys=ignored,
        shadowed_keys=shadowed,
        public=_public(catalog, strategy, images, mirrors, packages, dockerhub_login),
        problems=problems,
    )
