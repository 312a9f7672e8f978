"""ServiceSpecs for the servers of a run: the simulated internet (`internet`) and the mirror backends
(`mirrors`, with the gateway contract in its docstring and BACKENDS). What each package manager needs of
them is its slice's data (harness/stack/managers/<manager>.yaml, read by harness.stack.slices)."""

from harness.contract.catalog import Catalog, load_catalog
from harness.stack.content import Content
from harness.stack.pki import RunCA
from harness.stack.servers import internet, mirrors
from harness.stack.spec import ServiceSpec


def all_specs(ca: RunCA, content: Content, catalog: Catalog | None = None) -> list[ServiceSpec]:
    """The servers of a run; the platform registry's host comes from `catalog` (default: the default catalog)."""
    catalog = catalog or load_catalog()
    return internet.specs(ca, content, catalog) + mirrors.specs(ca, catalog.registries["choreo"].prefixes[0])
