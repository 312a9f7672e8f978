"""A minimal starter for the servers' ServiceSpecs, so their tests need not wait for the topology layer.

It puts every spec's container on one internal network the test creates (labelled airgap-harness=1),
with the spec's name and aliases as DNS names, plus a builder that trusts the run CA. Containers start
as the stack starts them (harness.stack.containers: files in one archive, removed if the start fails).
"""

import uuid

import docker

from harness.infra.images import ensure_image
from harness.stack import containers, readiness
from harness.stack.spec import ServiceSpec

LABELS = {"airgap-harness": "1", "airgap-harness.test": "servers"}
READY_TIMEOUT_S = 90


class ServersRun:
    """Containers for a list of specs on a fresh internal network; `close()` removes them all."""

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self.run_id = uuid.uuid4().hex[:8]
        self.network = client.networks.create(f"airgap-servers-{self.run_id}", internal=True,
                                              labels=LABELS | {"airgap-harness.run": self.run_id})
        self.containers: dict[str, docker.models.containers.Container] = {}

    def start(self, spec: ServiceSpec, command: list[str] | None = None, restart_policy: dict | None = None) -> None:
        started = containers.start(self.client, containers.service_config(
            spec, ensure_image(spec.image, self.client), name=f"airgap-{self.run_id}-{spec.name}",
            labels=LABELS | {"airgap-harness.run": self.run_id},
            attachments=[containers.Attachment(self.network.name)], command=command, restart_policy=restart_policy))
        self.containers[spec.name] = started.wrapped

    def wait_ready(self, spec: ServiceSpec) -> None:
        """Wait as the stack waits (harness.stack.readiness): fails with the container's log when it stops."""
        readiness.wait_ready([spec], self.containers.__getitem__, timeout_s=READY_TIMEOUT_S)

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
