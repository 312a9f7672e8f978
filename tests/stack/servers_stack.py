"""A minimal starter for the servers' ServiceSpecs, so their tests need not wait for the topology layer.

It puts every spec's container on one internal network the test creates (labelled airgap-harness=1),
with the spec's name and aliases as DNS names, plus a builder that trusts the run CA.
"""

import io
import tarfile
import time
import uuid

import docker

from harness.infra.images import ensure_image
from harness.stack.spec import ServiceSpec

LABELS = {"airgap-harness": "1", "airgap-harness.test": "servers"}
READY_TIMEOUT_S = 90


def _tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for path, data in sorted(files.items()):
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode = len(data), 0o755 if path.endswith(".sh") else 0o644
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


class ServersRun:
    """Containers for a list of specs on a fresh internal network; `close()` removes them all."""

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self.run_id = uuid.uuid4().hex[:8]
        self.network = client.networks.create(f"airgap-servers-{self.run_id}", internal=True,
                                              labels=LABELS | {"airgap-harness.run": self.run_id})
        self.containers: dict[str, docker.models.containers.Container] = {}

    def start(self, spec: ServiceSpec, command: list[str] | None = None) -> None:
        api = self.client.api
        endpoint = api.create_endpoint_config(aliases=[spec.name, *spec.aliases])
        created = api.create_container(
            ensure_image(spec.image, self.client), command=command or spec.command, environment=spec.env,
            labels=LABELS | {"airgap-harness.run": self.run_id}, name=f"airgap-{self.run_id}-{spec.name}",
            host_config=api.create_host_config(network_mode=self.network.name),
            networking_config=api.create_networking_config({self.network.name: endpoint}))
        container = self.client.containers.get(created["Id"])
        self.containers[spec.name] = container
        if spec.files:
            container.put_archive("/", _tar(spec.files))
        container.start()

    def wait_ready(self, spec: ServiceSpec) -> float:
        """Seconds until the spec's readiness command exits 0 (fails with the container's log otherwise)."""
        started = time.monotonic()
        container = self.containers[spec.name]
        while time.monotonic() - started < READY_TIMEOUT_S:
            container.reload()
            if container.status != "running":
                break
            if spec.ready is None or container.exec_run(spec.ready).exit_code == 0:
                return time.monotonic() - started
            time.sleep(0.2)
        logs = container.logs(tail=40).decode(errors="replace")
        raise AssertionError(f"{spec.name} not ready ({container.status}); last log lines:\n{logs}")

    def exec(self, name: str, command: str, timeout_s: int = 300) -> tuple[int, str]:
        """Run `command` with sh in container `name`; (exit code, combined output)."""
        result = self.containers[name].exec_run(["timeout", str(timeout_s), "sh", "-c", command])
        return result.exit_code, result.output.decode(errors="replace")

    def close(self) -> None:
        for container in self.containers.values():
            try:
                container.remove(force=True, v=True)
            except docker.errors.NotFound:
                pass
        self.network.remove()
