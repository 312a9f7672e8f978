"""ServiceSpecs for the servers of a run: the simulated internet (`internet`) and the mirror backends
(`mirrors`, with the gateway contract in its docstring and BACKENDS)."""

from harness.stack.content import Content
from harness.stack.pki import RunCA
from harness.stack.servers import internet, mirrors
from harness.stack.spec import ServiceSpec


def all_specs(ca: RunCA, content: Content) -> list[ServiceSpec]:
    return internet.specs(ca, content) + mirrors.specs(ca)
