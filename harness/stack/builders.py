"""Builders: a fresh container per command, on the build network (or the simulated internet, as a control),
with the proxy-config mounted read-only at /mnt/proxy-config in the kubelet Secret layout.

A builder trusts the run CA and nothing else (the PEM bundle, and a PKCS12 trust store for Java made once per
run with the builder's own keytool), gets the platform registry as CHOREO_REGISTRY as the platform sets it,
and has its routes set from outside (no NET_ADMIN inside): on build the trap is its only way off the subnet.
It is removed when its command ends (in the background: the result is in, and the next builder need not wait
for it; close() waits for every removal), or when it fails to start.
"""

import base64
import logging
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import docker

from harness.contract.catalog import Catalog
from harness.contract.config import ProxyConfig
from harness.infra.errors import UserError
from harness.infra.images import run_options
from harness.preamble import interface
from harness.preamble.catalog_gen import preamble_profile
from harness.stack import containers, isolation, secret_layout
from harness.stack.identity import resource_name
from harness.stack.networks import RunNetworks
from harness.stack.pki import RunCA
from harness.stack.topology import NETWORKS, Topology

log = logging.getLogger(__name__)

CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"  # the builder trusts the run CA and nothing else
JAVA_TRUSTSTORE = "/etc/ssl/certs/java/airgap-run-ca.p12"  # the same CA for Java, which reads a keystore
JAVA_TRUST_OPTIONS = f"-Djavax.net.ssl.trustStore={JAVA_TRUSTSTORE} -Djavax.net.ssl.trustStorePassword=airgap"
# A build's JVMs (Maven, Gradle) live a few seconds: compiled by C1 alone, with one GC thread, they spend about 40%
# less CPU (Gradle 3.7 -> 2.2 s, Maven 2.4 -> 1.5 s of user time in the builder), which is what two stacks on two
# cores wait for. What a client fetches does not depend on how its JVM compiles.
JAVA_SPEED_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
JAVA_TOOL_OPTIONS = f"{JAVA_TRUST_OPTIONS} {JAVA_SPEED_OPTIONS}"
PROXY_CONFIG_MOUNT = interface.DEFAULT_PROXY_CONFIG_DIR
LOG_FLUSH_S = 0.5  # a request logged just after a command returned still belongs to it


@dataclass(frozen=True)
class RunResult:
    command: str
    network: str
    exit_code: int
    stdout: str
    stderr: str
    started: float  # Unix time the command started: pass it to evidence(since=...)
    finished: float
    address: str  # the builder's address, the `client` of its evidence records

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class Builders:
    """The builders of one run (its networks and topology must exist)."""

    def __init__(self, client: docker.DockerClient, run_id: str, labels: dict[str, str], tags: dict[str, str],
                 ca: RunCA, catalog: Catalog, networks: RunNetworks, topology: Topology) -> None:
        self.client, self.run_id, self.labels, self.tags = client, run_id, labels, tags
        self.ca, self.catalog, self.networks, self.topology = ca, catalog, networks, topology
        self._count = 0
        self._removals = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"airgap-{run_id}-removal")
        self._java_truststore: bytes | None = None

    def java_trust(self) -> bytes:
        """The run CA as a PKCS12 trust store, made once per run with the builder's own keytool (Java
        ignores the PEM bundle; a keystore without Java's trust attribute would not be trusted)."""
        if self._java_truststore is None:
            script = ('printf %s "$CA_PEM" > /tmp/ca.pem && keytool -importcert -noprompt -alias airgap-run-ca '
                      '-file /tmp/ca.pem -keystore /tmp/trust.p12 -storetype PKCS12 -storepass airgap >/dev/null '
                      '&& base64 -w0 /tmp/trust.p12')
            container = self.client.containers.run(
                self.tags["builder"], ["sh", "-c", script],
                environment={"CA_PEM": self.ca.ca_pem.decode(), "JAVA_TOOL_OPTIONS": JAVA_SPEED_OPTIONS},
                network_mode="none", detach=True, labels=dict(self.labels))
            try:
                status = container.wait(timeout=120)["StatusCode"]
                output = container.logs(stdout=True, stderr=False)
                errors = container.logs(stdout=False, stderr=True).decode(errors="replace")
            finally:
                container.remove(force=True)
            if status != 0 or not output.strip():
                raise UserError(f"could not make the Java trust store of run {self.run_id} (exit {status}): {errors}")
            self._java_truststore = base64.b64decode(output)
        return self._java_truststore

    @contextmanager
    def builder(self, network: str, secret_dir: Path, env: dict[str, str] | None = None,
                files: dict[str, bytes] | None = None) -> Iterator[containers.Container]:
        """A started, confined builder on `network` with `secret_dir` at /mnt/proxy-config; removed on exit."""
        if network not in NETWORKS:
            raise UserError(f"network must be one of {', '.join(NETWORKS)}, not {network!r}")
        self._count += 1
        trust = {CA_BUNDLE: self.ca.ca_pem, JAVA_TRUSTSTORE: self.java_trust()}
        platform = interface.Environment(home=None, dry_run_login=False, choreo_registry=self.catalog.choreo_registry,
                                         profile=preamble_profile(self.catalog)).variables()  # the PDP's host, the profile
        resolver = self.topology.resolver(network)
        builder = containers.start(self.client, containers.ContainerConfig(
            image=self.tags["builder"], name=resource_name(self.run_id, f"builder-{self._count}"), labels=self.labels,
            attachments=(containers.Attachment(self.networks.name(network)),), command=["sleep", "infinity"],
            env={**platform, **(env or {})}, files={**trust, **(files or {})}, hostname="builder", dns=(resolver,),
            volumes=((str(secret_dir), PROXY_CONFIG_MOUNT, "ro"),),
            # run_options: what podman/buildah need (SYS_ADMIN, no seccomp), never NET_ADMIN: routes stay as set
            options=run_options("builder")))
        try:
            confine = isolation.confine_commands(network, resolver, self.topology.bridge_gateway(network))
            self.client.containers.run(
                self.tags["dns"], ["sh", "-c", confine], remove=True, labels=dict(self.labels),
                network_mode=f"container:{builder.wrapped.id}", cap_add=["NET_ADMIN"])
            yield builder
        finally:
            try:
                self._removals.submit(_remove, builder)
            except RuntimeError:  # close() was called (the stack is stopping): remove it here
                _remove(builder)

    def close(self) -> None:
        """Wait until every builder is removed."""
        self._removals.shutdown(wait=True)

    def address(self, builder: containers.Container, network: str) -> str:
        wrapped = builder.wrapped
        wrapped.reload()
        return wrapped.attrs["NetworkSettings"]["Networks"][self.networks.name(network)]["IPAddress"]

    def run(self, command: str, network: str, mount: ProxyConfig | None, env: dict[str, str] | None = None,
            files: dict[str, bytes] | None = None, workdir: str = "/work", timeout_s: int = 600,
            not_before: float = 0.0) -> RunResult:
        """Run `command` (sh -c) in a fresh builder on `network` with `mount` (a configuration already read;
        None: an empty directory) at /mnt/proxy-config and `files` (path -> bytes) in place; not before the
        time.monotonic() `not_before` (when the mirrors serve what they were just given)."""
        with tempfile.TemporaryDirectory(prefix="airgap-secret-") as tmp:
            secret_dir = Path(tmp) / "proxy-config"
            secret_layout.mount_config(mount, secret_dir)
            return self.execute(command, network, secret_dir, env, files, workdir, timeout_s, not_before)

    def execute(self, command: str, network: str, secret_dir: Path, env: dict[str, str] | None,
                files: dict[str, bytes] | None, workdir: str, timeout_s: int, not_before: float = 0.0) -> RunResult:
        """`command` in a fresh builder with `secret_dir` (already laid out) mounted."""
        with self.builder(network, secret_dir, env, files) as builder:
            address = self.address(builder, network)
            time.sleep(max(0.0, not_before - time.monotonic()))
            started = time.time()
            result = builder.wrapped.exec_run(
                ["timeout", str(timeout_s), "sh", "-c", command], demux=True, workdir=workdir,
                environment={"JAVA_TOOL_OPTIONS": JAVA_TOOL_OPTIONS, **(env or {})})
            finished = time.time()
        stdout, stderr = result.output
        return RunResult(command=command, network=network, exit_code=result.exit_code,
                         stdout=(stdout or b"").decode(errors="replace"), stderr=(stderr or b"").decode(errors="replace"),
                         started=started, finished=finished, address=address)


def _remove(builder: containers.Container) -> None:
    try:
        builder.stop()
    except docker.errors.APIError as error:  # the run's cleanup removes it by its labels
        log.warning("could not remove builder %s: %s", builder.wrapped.name, error)
