"""What one container of the stack is, independent of how the topology starts it.

Servers (simulated internet, mirrors) describe themselves as ServiceSpecs; the topology
(harness.stack.topology) turns each into a labelled container on the right networks.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # unique within a run, e.g. "sim-edge", "mirror-npm"; also a DNS alias inside the run
    image: str  # logical image name for harness.infra.images.ensure_image, e.g. "registry", "nginx"
    command: list[str] | None = None  # None: the image's default command
    files: dict[str, bytes] = field(default_factory=dict)  # absolute path in the container -> content
    env: dict[str, str] = field(default_factory=dict)
    port: int = 80  # the port it serves on inside the container
    ready: list[str] | None = None  # a command run inside the container that exits 0 once it serves
    networks: tuple[str, ...] = ("internet",)  # logical networks: "internet", "build"
    aliases: tuple[str, ...] = ()  # extra DNS names other containers use for it
    request_log: str | None = None  # path of its JSON-lines request log inside the container, if any
