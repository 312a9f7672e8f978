"""ServiceSpecs for the servers of a run: the simulated internet (`internet`) and the mirror backends
(`mirrors`, with the gateway contract in its docstring and BACKENDS)."""

from harness.contract.catalog import Catalog, load_catalog
from harness.stack.content import Content
from harness.stack.pki import RunCA
from harness.stack.servers import internet, mirrors
from harness.stack.spec import ServiceSpec


def all_specs(ca: RunCA, content: Content, catalog: Catalog | None = None) -> list[ServiceSpec]:
    """The servers of a run; the platform registry's host comes from `catalog` (default: the default catalog)."""
    platform = (catalog or load_catalog()).registries["choreo"].prefixes[0]
    return internet.specs(ca, content, platform) + mirrors.specs(ca, platform)
