"""Starting one container: a typed description (ContainerConfig) in, a started testcontainers container out.

    container = start(client, service_config(spec, tag, name=..., labels=..., attachments=[Attachment(net, address)]))

Its files go in as one archive between create and start (a server brings up to a hundred); it is created on its
first network with its aliases and fixed address and connected to the others before anything else sees it. A
container that fails to start, or to join a network, is removed before the error propagates, so a failed start
leaves nothing of its own behind. The air-gap stack (harness.stack.stack) and the server tests
(tests/stack/servers_stack.py) start every container through here.
"""

import io
import tarfile
import time
from dataclasses import dataclass, field

import docker
import docker.errors
from docker.types import EndpointConfig
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer

from harness.infra.errors import UserError
from harness.stack.spec import ServiceSpec

# Servers start together; one that needs another at start (registry:2 in proxy mode pings its upstream and
# panics when it is not up yet) is restarted by the engine until the other answers.
RESTART_POLICY = {"Name": "on-failure", "MaximumRetryCount": 10}


def archive(files: dict[str, bytes]) -> bytes:
    """A tar of `files` (absolute path -> bytes) to unpack at /: scripts (*.sh) executable."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for path, data in sorted(files.items()):
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode, info.mtime = len(data), 0o755 if path.endswith(".sh") else 0o644, int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def put_files(container, files: dict[str, bytes]) -> None:
    """Copy `files` into a running (or created) docker container in one archive."""
    if not container.put_archive("/", archive(files)):
        raise UserError(f"could not copy files into container {container.name}")


@dataclass(frozen=True)
class Attachment:
    """One network a container is on: the Docker network's name, the container's aliases there and its
    fixed address (None: the engine picks one)."""

    network: str
    aliases: tuple[str, ...] = ()
    address: str | None = None


@dataclass(frozen=True)
class ContainerConfig:
    image: str  # an image reference or tag (harness.infra.images.ensure_image gives it)
    name: str
    labels: dict[str, str]
    attachments: tuple[Attachment, ...]  # the first is the network it is created on
    command: list[str] | None = None
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    hostname: str | None = None
    dns: tuple[str, ...] = ()
    cap_add: tuple[str, ...] = ()
    sysctls: dict[str, str] = field(default_factory=dict)
    restart_policy: dict | None = None
    volumes: tuple[tuple[str, str, str], ...] = ()  # (host path, container path, mode)
    options: dict = field(default_factory=dict)  # further docker create options (harness.infra.images.run_options)


class Container(DockerContainer):
    """A DockerContainer whose files go in as one archive between create and start (testcontainers would
    send one archive per file)."""

    def __init__(self, image: str, files: dict[str, bytes], **kwargs) -> None:
        super().__init__(image, **kwargs)
        if files:
            self._transferable_specs.append((archive(files), "/", 0))

    def _transfer_into_container(self, transferable, destination_in_container, mode) -> None:
        if not self.get_wrapped_container().put_archive("/", transferable):
            raise UserError(f"could not copy files into container {self._name}")

    @property
    def wrapped(self):
        """The docker-py container (exec_run, put_archive, reload, logs)."""
        return self.get_wrapped_container()


def _remove(container: Container) -> None:
    if getattr(container, "_container", None) is None:
        return  # never created
    try:
        container.get_wrapped_container().remove(force=True, v=True)
    except docker.errors.NotFound:
        pass


def start(client: docker.DockerClient, config: ContainerConfig) -> Container:
    """Create, fill and start the container, then connect it to its further networks; removed on failure."""
    testcontainers_config.ryuk_disabled = True  # Ryuk's image cannot be pulled; labels and removal clean up
    first, *others = config.attachments
    container = Container(config.image, config.files, command=config.command, env=dict(config.env), name=config.name)
    for host, target, mode in config.volumes:
        container.with_volume_mapping(host, target, mode)
    endpoint = None
    if first.aliases or first.address:
        endpoint = {first.network: EndpointConfig(client.api.api_version, aliases=list(first.aliases) or None,
                                                  ipv4_address=first.address)}
    options = {"labels": dict(config.labels), "hostname": config.hostname, "network": first.network,
               "networking_config": endpoint, "dns": list(config.dns) or None,
               "cap_add": list(config.cap_add) or None, "sysctls": dict(config.sysctls) or None,
               "restart_policy": dict(config.restart_policy) if config.restart_policy else None}
    container.with_kwargs(**{**{name: value for name, value in options.items() if value is not None}, **config.options})
    try:
        container.start()
        for attachment in others:
            client.networks.get(attachment.network).connect(
                container.wrapped.id, aliases=list(attachment.aliases) or None, ipv4_address=attachment.address)
    except BaseException:
        _remove(container)
        raise
    return container


def service_config(spec: ServiceSpec, image: str, *, name: str, labels: dict[str, str],
                   attachments: list[Attachment] | tuple[Attachment, ...], command: list[str] | None = None,
                   **options) -> ContainerConfig:
    """The container of a server's ServiceSpec: its files, command, environment, and its name and aliases as
    DNS names on every network (the host name is the spec's name); `options` as ContainerConfig's."""
    aliases = (spec.name, *spec.aliases)
    return ContainerConfig(image=image, name=name, labels=labels, command=command or spec.command, env=dict(spec.env),
                           files=spec.files, hostname=spec.name,
                           attachments=tuple(Attachment(a.network, a.aliases or aliases, a.address) for a in attachments),
                           **options)
