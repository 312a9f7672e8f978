"""The mirror endpoints a proxy-config names, for the stack to serve under exactly those names.

A customer's values are used unchanged (`nexus.example.com/dockerhub-proxy`,
`https://artifactory.acme.internal/artifactory/api/npm/npm-remote/`), so the stack derives its DNS
names, certificates and routes from here rather than from fixed host names.
"""

from typing import Mapping

from harness.contract import grammar, reference
from harness.contract.catalog import Catalog, load_catalog
from harness.contract.config import ProxyConfig
from harness.contract.plan import Mirror, Plan, override_login, plan
from harness.infra.records import record


@record
class Endpoint:
    key: str  # the winning file name
    family: str  # "oci-mirror" | "package-proxy" | "image-override"
    target: str  # registry id, manager id, or logical image name
    scheme: str
    host: str
    port: int
    path: str  # prefix, always ending in "/"
    username_key: str | None = None
    password_key: str | None = None
    token_key: str | None = None
    pinned: bool = False  # an image override by digest: only the customer's own bytes match it


def _host_port(netloc: str, default_port: int) -> tuple[str, int]:
    if netloc.startswith("["):
        host, _, rest = netloc[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    host, _, port = netloc.partition(":")
    return host, int(port) if port else default_port


def _prefix(path: str) -> str:
    return "/" + path.strip("/") + "/" if path.strip("/") else "/"


def mirror_endpoints(config: ProxyConfig, strategies: list[str] | None = None, catalog: Catalog | None = None) -> list[Endpoint]:
    """Every mirror endpoint in effect for the given strategies (default: all), without duplicates."""
    catalog = catalog or load_catalog()
    return planned_endpoints(catalog, config, {name: plan(catalog, config, name) for name in strategies or list(catalog.strategies)})


def _planned_mirrors(config: ProxyConfig, planned: Plan) -> dict[str, Mirror]:
    """The OCI mirrors a plan found in effect, with their values as configured (the plan shows them masked)."""
    return {rid: Mirror(rid, config.entries[m["key"]].value, m["key"], m["credentials"], m["error"])
            for rid, m in planned.mirrors.items()}


def planned_endpoints(catalog: Catalog, config: ProxyConfig, plans: Mapping[str, Plan]) -> list[Endpoint]:
    """Every mirror endpoint in effect in `plans` (strategy -> its plan of `config`), without duplicates:
    what the mirrors must serve, derived from plans already made (nothing is planned again)."""
    found: dict[tuple, Endpoint] = {}
    for name, planned in plans.items():
        strategy = catalog.strategies[name]
        mirrors = _planned_mirrors(config, planned)

        def password_key(mirror: Mirror | None) -> str | None:
            key = catalog.keys[catalog.registries[mirror.registry].mirror_key] if mirror else None
            found = config.lookup(key.password, name) if key and mirror.username_key else None
            return found.key if found else None

        for mirror in mirrors.values():
            if mirror.error:
                continue
            domain, path = reference.split_mirror(mirror.url)
            host, port = _host_port(domain, 443)
            endpoint = Endpoint(mirror.key, "oci-mirror", mirror.registry, "https", host, port, _prefix(path),
                                mirror.username_key, password_key(mirror))
            found.setdefault((endpoint.family, endpoint.target, host, port, endpoint.path), endpoint)
        for key_name in strategy.image_keys:
            lookup = config.lookup(key_name, name)
            if not lookup:
                continue
            try:
                ref = reference.parse_normalized(lookup.value)
            except reference.ReferenceError:
                continue
            host, port = _host_port(ref.domain, 443)
            image = catalog.keys[key_name].image
            login = override_login(ref.domain, strategy.images[image].registry, mirrors)  # as the plan pulls
            endpoint = Endpoint(lookup.key, "image-override", image, "https", host, port, _prefix(ref.path),
                                login.username_key if login else None, password_key(login), pinned=bool(ref.digest))
            found.setdefault((endpoint.family, image, host, port, endpoint.path), endpoint)
        for manager in strategy.managers:
            key = catalog.keys[f"pkg-{manager}-url"]
            lookup = config.lookup(key.name, name)
            if not lookup:
                continue
            url = grammar.split_package_url(lookup.value)
            if url is None:
                continue
            credentials = config.credentials(key, name)
            user_key, password_key = credentials.keys if credentials.auth == "basic" else (None, None)
            token_key = credentials.keys[0] if credentials.auth == "token" else None
            host, port = url.host, url.port
            endpoint = Endpoint(lookup.key, "package-proxy", manager, url.scheme, host, port, _prefix(url.path),
                                user_key, password_key, token_key)
            found.setdefault((endpoint.family, manager, host, port, endpoint.path), endpoint)
    return list(found.values())
