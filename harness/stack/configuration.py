"""What the stack serves for one proxy-config, derived from its plans.

A proxy-config is read once (harness.contract.config.read_config) and planned once per strategy the stack
serves (`plans_for`); everything the mirrors need comes from that configuration and those plans, with no
second read and no second plan: the gateway's routes and the names the build network resolves to it
(harness.contract.endpoints.planned_endpoints, gateway.build_routes), and the images put into the golden
registry for overrides on hosts no mirror uses. What does not change between scenarios is computed once:
the plan of the empty configuration, per catalog and strategy (`empty_plan`).

    config = read_config(directory)
    served = MirrorConfig.derive(catalog, config, plans_for(catalog, config), enforce_auth=True)
    served.routes, served.unrouted, served.mirror_hosts, served.golden_images
"""

import threading
from dataclasses import dataclass
from typing import Mapping

from harness.contract import reference
from harness.contract.catalog import Catalog, load_catalog
from harness.contract.config import ProxyConfig, read_config
from harness.contract.endpoints import planned_endpoints
from harness.contract.plan import Plan, plan
from harness.stack import gateway
from harness.stack.content.oci import ImageRef
from harness.stack.servers.mirrors import BACKENDS

_EMPTY_PLANS: dict[tuple[int, str], tuple[Catalog, Plan]] = {}  # (id(catalog), strategy) -> (catalog, its plan)
_EMPTY_LOCK = threading.Lock()


def empty_plan(catalog: Catalog, strategy: str) -> Plan:
    """The plan of no configuration at all: the public defaults. Made once per catalog and strategy; shared,
    so never changed by its users."""
    cache_key = (id(catalog), strategy)
    with _EMPTY_LOCK:
        cached = _EMPTY_PLANS.get(cache_key)
        if cached is None or cached[0] is not catalog:  # the catalog is held, so its id is not reused
            cached = _EMPTY_PLANS[cache_key] = (catalog, plan(catalog, read_config(None), strategy))
        return cached[1]


def plans_for(catalog: Catalog, config: ProxyConfig, strategies: list[str] | None = None) -> dict[str, Plan]:
    """`config` planned once for each strategy (default: every strategy of the catalog)."""
    names = strategies or list(catalog.strategies)
    if not config.entries:
        return {name: empty_plan(catalog, name) for name in names}
    return {name: plan(catalog, config, name) for name in names}


def routes_of(catalog: Catalog, config: ProxyConfig, plans: Mapping[str, Plan],
              enforce_auth: bool = True, not_proxied: Mapping[str, tuple[str, ...]] | None = None,
              ) -> tuple[list[gateway.Route], dict[str, str]]:
    """The gateway routes the plans ask for (credentials from `config`), and key -> why no route of its own
    serves it. `not_proxied`: key -> paths below its mirror that the mirror answers 404 for (gateway.build_routes)."""
    values = {name: entry.value for name, entry in config.entries.items() if entry.value}
    return gateway.build_routes(planned_endpoints(catalog, config, plans), values, BACKENDS, enforce_auth, not_proxied)


def routes_for(config: ProxyConfig, strategies: list[str] | None = None, enforce_auth: bool = True,
               catalog: Catalog | None = None) -> tuple[list[gateway.Route], dict[str, str]]:
    """The gateway routes a proxy-config asks for (planned here), and key -> why no route of its own serves it."""
    catalog = catalog or load_catalog()
    return routes_of(catalog, config, plans_for(catalog, config, strategies), enforce_auth)


def golden_images(plans: Mapping[str, Plan], routes: list[gateway.Route]) -> list[ImageRef] | None:
    """The image under every overriding reference that the gateway sends to the golden registry (an override
    on a host no mirror uses: the customer's own registry), so that pull succeeds as it would there; None
    when no route goes to the golden registry (nothing to put there)."""
    golden = {route.key for route in routes if route.locations[0].service == BACKENDS["golden"].service}
    refs: dict[str, ImageRef] = {}
    if not golden:
        return None
    for planned in plans.values():
        for image in planned.images.values():
            if image.source == "override" and image.key in golden and not image.error:
                ref = reference.parse(image.resolved)
                refs[image.resolved] = ImageRef(image.resolved, ref.domain, ref.path, ref.tag or "latest")
    return list(refs.values())


@dataclass(frozen=True)
class MirrorConfig:
    """One proxy-config as the stack serves it: the configuration and its plans, and what derives from them."""

    config: ProxyConfig
    plans: Mapping[str, Plan]  # strategy -> plan of `config`, for every strategy the stack serves
    enforce_auth: bool
    routes: tuple[gateway.Route, ...]
    unrouted: Mapping[str, str]  # proxy-config key -> why the gateway has no route of its own for it
    golden_images: tuple[ImageRef, ...] | None  # None: no route goes to the golden registry

    @classmethod
    def derive(cls, catalog: Catalog, config: ProxyConfig, plans: Mapping[str, Plan],
               enforce_auth: bool = True, not_proxied: Mapping[str, tuple[str, ...]] | None = None) -> "MirrorConfig":
        routes, unrouted = routes_of(catalog, config, plans, enforce_auth, not_proxied)
        golden = golden_images(plans, routes)
        return cls(config, dict(plans), enforce_auth, tuple(routes), unrouted, None if golden is None else tuple(golden))

    @property
    def mirror_hosts(self) -> list[str]:
        """The host names the build network resolves to the mirror gateway (every other name: the trap)."""
        return gateway.mirror_hosts(list(self.routes))
