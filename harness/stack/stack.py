"""AirgapStack: one run of the air-gap topology on Testcontainers, from networks to the isolation self-test.

    with AirgapStack() as stack:                      # isolation self-test included; fails if not isolated
        result = stack.run('npm install --registry "$(cat /mnt/proxy-config/pkg-npm-url)"',
                           proxy_config="fixtures/proxy-config/full-global", files={"/work/package.json": ...})
        evidence = stack.evidence_of(result)           # .mirror_hits, .trap_events of that one command
        control = stack.run("npm install", network="internet", files=...)   # open-egress control

The run's topology comes from harness.stack.topology; the servers of the simulated internet and the
mirror backends from harness.stack.servers. Every container and network carries the run's labels and is
removed on exit, on Ctrl-C, on SIGTERM and when start-up fails; `airgap clean` handles killed runs.
"""

import atexit
import base64
import fcntl
import io
import ipaddress
import logging
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
from docker.types import EndpointConfig, IPAMConfig, IPAMPool
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network

from harness.infra import settings
from harness.contract.catalog import Catalog, load_catalog
from harness.contract.config import ProxyConfig, read_config
from harness.contract.endpoints import mirror_endpoints
from harness.infra.engine import ensure_engine
from harness.infra.errors import UserError
from harness.infra.images import ensure_image, run_options
from harness.stack import cleanup, content, dns, gateway, isolation, secret_layout, topology, trap
from harness.stack.evidence import Evidence, parse as parse_evidence
from harness.stack.pki import RunCA
from harness.stack.identity import new_run_id, resource_name, run_labels, sigterm_as_interrupt
from harness.stack.servers import all_specs
from harness.stack.servers.mirrors import BACKENDS, GOLDEN_STORAGE
from harness.stack.spec import ServiceSpec
from harness.stack.topology import BUILD, INTERNET, NETWORKS, Placement, Topology, place

log = logging.getLogger(__name__)

SUBNET_POOL = ipaddress.ip_network("10.213.0.0/16")
RESERVED_SUBNETS = (ipaddress.ip_network("10.213.254.0/23"),)  # the compose project's fixed subnets
READY_TIMEOUT_S = 300  # devpi initialising its server directory takes minutes on a loaded 2-core machine
START_WORKERS = 14  # one per container: creation is mostly waiting on the engine
# Servers start together; one that needs another at start (registry:2 in proxy mode pings its upstream and
# panics when it is not up yet) is restarted by the engine until the other answers.
RESTART_POLICY = {"Name": "on-failure", "MaximumRetryCount": 10}
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"  # the builder trusts the run CA and nothing else
JAVA_TRUSTSTORE = "/etc/ssl/certs/java/airgap-run-ca.p12"  # the same CA for Java, which reads a keystore
JAVA_TRUST_OPTIONS = f"-Djavax.net.ssl.trustStore={JAVA_TRUSTSTORE} -Djavax.net.ssl.trustStorePassword=airgap"
PROXY_CONFIG_MOUNT = "/mnt/proxy-config"
LOG_FLUSH_S = 0.5  # a request logged just after the command returned still belongs to it
OFF_SUBNET_PORT = 53  # TCP DNS on the internet resolver: it would answer, were it reachable
NO_CERT_NAME = "mirror-gateway.airgap.invalid"  # the gateway's certificate before any proxy-config names a host


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


def _archive(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for path, data in sorted(files.items()):
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode, info.mtime = len(data), 0o755 if path.endswith(".sh") else 0o644, int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


class _Container(DockerContainer):
    """A DockerContainer whose files go in as one archive between create and start (testcontainers would
    send one archive per file, and a server brings up to a hundred)."""

    def __init__(self, image: str, files: dict[str, bytes], **kwargs) -> None:
        super().__init__(image, **kwargs)
        if files:
            self._transferable_specs.append((_archive(files), "/", 0))

    def _transfer_into_container(self, transferable, destination_in_container, mode) -> None:
        if not self.get_wrapped_container().put_archive("/", transferable):
            raise UserError(f"could not copy files into container {self._name}")


def _taken_subnets(client: docker.DockerClient) -> list[ipaddress.IPv4Network]:
    """Subnets of existing Docker networks and of the host's routes (a new bridge must not shadow them)."""
    taken = list(RESERVED_SUBNETS)
    for network in client.networks.list():
        for pool in (network.attrs.get("IPAM") or {}).get("Config") or []:
            try:
                taken.append(ipaddress.ip_network(pool.get("Subnet", ""), strict=False))
            except ValueError:
                pass
    routes = ""
    if shutil.which("ip"):
        routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True, check=False).stdout
    for line in routes.splitlines():
        try:
            taken.append(ipaddress.ip_network(line.split()[0], strict=False))
        except (ValueError, IndexError):
            pass  # "default via ..."
    return [net for net in taken if isinstance(net, ipaddress.IPv4Network)]


def _free_subnets(client: docker.DockerClient, count: int) -> list[ipaddress.IPv4Network]:
    taken = _taken_subnets(client)
    free = [net for net in SUBNET_POOL.subnets(new_prefix=24) if not any(net.overlaps(t) for t in taken)]
    if len(free) < count:
        raise UserError(f"no free /24 left in {SUBNET_POOL} for a run's networks: run `airgap clean`")
    return free[:count]


def _read(directory: str | os.PathLike | None) -> ProxyConfig:
    """The proxy-config of `directory`; None stands for an empty one (no mirrors)."""
    with tempfile.TemporaryDirectory() as empty:
        return read_config(empty if directory is None else directory)


def routes_for(config: ProxyConfig, strategies: list[str] | None = None, enforce_auth: bool = True,
               catalog: Catalog | None = None) -> tuple[list[gateway.Route], dict[str, str]]:
    """The gateway routes a proxy-config asks for, and key -> why no route of its own serves it."""
    values = {name: entry.value for name, entry in config.entries.items() if entry.value}
    return gateway.build_routes(mirror_endpoints(config, strategies, catalog), values, BACKENDS, enforce_auth)


class AirgapStack:
    """The simulated internet, the mirrors, the closed build network and its trap, for one run.

    `catalog` is the run's contract (load_catalog(host) for a PDP's own platform registry): the simulated
    internet serves the platform images under its host, every builder gets it as CHOREO_REGISTRY, and the
    gateway's routes are planned with it, so the stack serves what the scenarios are judged by.
    """

    def __init__(self, proxy_config: str | os.PathLike | None = None, *, enforce_auth: bool = True,
                 strategies: list[str] | None = None, catalog: Catalog | None = None) -> None:
        self.catalog = catalog or load_catalog()
        self.run_id = new_run_id()
        self.labels = run_labels(self.run_id)
        self.enforce_auth = enforce_auth
        self.strategies = strategies
        self.initial_proxy_config = proxy_config
        self.client: docker.DockerClient | None = None
        self.topology: Topology | None = None
        self.isolation_report: isolation.Report | None = None
        self.routes: list[gateway.Route] = []
        self.timings: dict[str, float] = {}  # seconds per start-up phase, for benchmarks/stack.py
        self.unrouted: dict[str, str] = {}  # proxy-config key -> why the gateway has no route of its own for it
        self._ca = RunCA()
        self._tags: dict[str, str] = {}
        self._networks: dict[str, Network] = {}
        self._containers: dict[str, _Container] = {}
        self._builders = 0
        self._java_truststore: bytes | None = None
        self._stopped = False
        self._previous_sigterm = None

    # --- life cycle --------------------------------------------------------------------------------

    def __enter__(self) -> "AirgapStack":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> "AirgapStack":
        """Bring the run up and prove its isolation; on any failure remove what was made, then raise."""
        testcontainers_config.ryuk_disabled = True  # Ryuk's image cannot be pulled; labels and stop() clean up
        self._previous_sigterm = sigterm_as_interrupt()
        atexit.register(self.stop)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _phase(self, name: str, started: float) -> float:
        now = time.monotonic()
        self.timings[name] = round(now - started, 2)
        return now

    def _start(self) -> None:
        mark = time.monotonic()
        self.client = ensure_engine()
        servers = all_specs(self._ca, content.build(), self.catalog)
        for name in {"dns", "nginx", "builder", *(server.image for server in servers)}:
            self._tags[name] = ensure_image(name, self.client)
        mark = self._phase("images", mark)
        subnets = self._create_networks()
        initial = _read(self.initial_proxy_config)
        self.routes, self.unrouted = routes_for(initial, self.strategies, self.enforce_auth, self.catalog)
        gateway_spec = gateway.spec(self.routes, self._gateway_cert())
        self.topology = place(self.run_id, subnets, servers, gateway_spec, gateway.mirror_hosts(self.routes))
        with ThreadPoolExecutor(max_workers=START_WORKERS) as pool:
            list(pool.map(self._start_placement, self.topology.placements))  # list(): re-raise any failure
        mark = self._phase("containers", mark)
        with ThreadPoolExecutor(max_workers=1) as background:
            # the self-test needs only the networks and the trap: it runs while the servers come up
            self_test = background.submit(lambda: self._wait_ready([trap.NAME]) or self.self_test())
            self._wait_ready()
            mark = self._phase("ready", mark)
            self.isolation_report = self_test.result()
        self._phase("self-test (beyond ready)", mark)
        self._serve_overrides(initial)
        log.info("isolation self-test of run %s:\n%s", self.run_id, self.isolation_report.summary())
        if not self.isolation_report.ok:
            raise isolation.IsolationError("the build network is not isolated; no scenario may run:\n"
                                           + self.isolation_report.summary())

    def stop(self) -> None:
        """Remove every container, network and host rule of the run (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
        if self.client is not None:  # None: the engine never answered, so nothing of the run exists
            cleanup.remove_run(self.client, self.run_id)

    def _create_networks(self) -> dict[str, ipaddress.IPv4Network]:
        lock_path = settings.load().state_dir / "subnets.lock"
        with lock_path.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # two runs must not pick the same subnets
            chosen = dict(zip(NETWORKS, _free_subnets(self.client, len(NETWORKS))))
            for name, subnet in chosen.items():
                pool = IPAMPool(subnet=str(subnet), iprange=str(topology.dynamic_range(subnet)),
                                gateway=topology.bridge_gateway(subnet))
                network = Network(docker_network_kw={
                    "driver": "bridge", "internal": True, "labels": dict(self.labels),
                    "ipam": IPAMConfig(pool_configs=[pool])})
                network.name = resource_name(self.run_id, name)
                network.create()
                self._networks[name] = network
                isolation.close_bridge(network.id, self.run_id, os.getpid())
                if name == BUILD:
                    isolation.let_trap_capture(network.id, self.run_id, os.getpid())
        return chosen

    def _start_placement(self, placement: Placement) -> None:
        spec = placement.spec
        first, *others = spec.networks
        aliases = [spec.name, *spec.aliases]
        network_name = self._networks[first].name
        container = _Container(self._tags[spec.image], spec.files, command=spec.command, env=dict(spec.env),
                               name=resource_name(self.run_id, spec.name))
        container.with_kwargs(
            labels=dict(self.labels), hostname=spec.name, network=network_name,
            networking_config={network_name: EndpointConfig(
                self.client.api.api_version, aliases=aliases, ipv4_address=placement.addresses[first])},
            dns=[placement.dns] if placement.dns else None, cap_add=list(placement.cap_add) or None,
            sysctls=placement.sysctls or None, restart_policy=dict(RESTART_POLICY))
        container.start()
        self._containers[spec.name] = container
        for network in others:
            self.client.networks.get(self._networks[network].id).connect(
                container.get_wrapped_container().id, aliases=aliases, ipv4_address=placement.addresses[network])

    def _is_ready(self, spec: ServiceSpec) -> bool:
        wrapped = self._containers[spec.name].get_wrapped_container()
        wrapped.reload()
        restarts_left = wrapped.attrs.get("RestartCount", 0) < RESTART_POLICY["MaximumRetryCount"]
        if wrapped.status != "running":
            if wrapped.status == "restarting" or (wrapped.status == "exited" and restarts_left):
                return False  # the engine restarts it
            raise UserError(f"{spec.name} stopped while starting ({wrapped.status}); last log lines:\n"
                            + wrapped.logs(tail=30).decode(errors="replace"))
        try:
            return wrapped.exec_run(spec.ready).exit_code == 0
        except docker.errors.APIError:
            return False  # it stopped between the two calls; the next round sees why

    def _wait_ready(self, names: list[str] | None = None) -> None:
        """Wait until every server (or those named) answers its readiness probe; all probed in parallel."""
        pending = [p.spec for p in self.topology.placements if p.spec.ready and (names is None or p.spec.name in names)]
        deadline = time.monotonic() + READY_TIMEOUT_S
        with ThreadPoolExecutor(max_workers=START_WORKERS) as pool:
            while pending and time.monotonic() < deadline:
                pending = [spec for spec, ready in zip(pending, pool.map(self._is_ready, pending)) if not ready]
                time.sleep(0.2)
        if pending:
            raise UserError(f"not ready within {READY_TIMEOUT_S} s: {', '.join(spec.name for spec in pending)}")

    # --- mirrors -----------------------------------------------------------------------------------

    def _gateway_cert(self):
        return self._ca.issue(gateway.mirror_hosts(self.routes) or [NO_CERT_NAME])

    def _serve_overrides(self, config: ProxyConfig) -> None:
        """Put a fixture image under every overriding reference that the gateway sends to the golden registry
        (an override on a host no mirror uses: the customer's own registry), so that pull succeeds as it
        would at the customer. The tag can change while the route stays the same, so this runs every time."""
        from harness.contract import reference
        from harness.contract.plan import plan
        from harness.stack.content import oci

        golden = {route.key for route in self.routes if route.locations[0].service == BACKENDS["golden"].service}
        if not golden:
            return
        catalog, refs = self.catalog, {}
        for strategy in self.strategies or list(catalog.strategies):
            for image in plan(catalog, config, strategy).images.values():
                if image.source == "override" and image.key in golden and not image.error:
                    ref = reference.parse(image.resolved)
                    refs[image.resolved] = oci.ImageRef(image.resolved, ref.domain, ref.path, ref.tag or "latest")
        storage = oci.registry_storage(list(refs.values()))
        self._wrapped(BACKENDS["golden"].service).put_archive(
            "/", _archive({f"{GOLDEN_STORAGE}/{path}": data for path, data in storage.items()}))

    def use_proxy_config(self, directory: str | os.PathLike | None) -> None:
        """Serve the mirror names of `directory`: new gateway routes and certificate, new build-network DNS,
        and the images its overrides name on hosts no mirror uses."""
        config = _read(directory)
        routes, unrouted = routes_for(config, self.strategies, self.enforce_auth, self.catalog)
        if routes != self.routes:
            self.routes, self.unrouted = routes, unrouted
            gateway_container = self._wrapped(gateway.NAME)
            gateway_container.put_archive("/", _archive(gateway.render(routes, self._gateway_cert())))
            reload = gateway_container.exec_run(["sh", "-c", "nginx -t && nginx -s reload"])
            if reload.exit_code != 0:
                raise UserError("the mirror gateway refused its new configuration:\n"
                                + reload.output.decode(errors="replace"))
            gateway_address = self.topology.address(gateway.NAME, BUILD)
            names = {host: gateway_address for host in gateway.mirror_hosts(routes)}
            self._wrapped(trap.NAME).put_archive("/", _archive({dns.HOSTS_FILE: dns.hosts_file(names)}))
            time.sleep(0.3)  # nginx workers and dnsmasq's inotify pick the new files up
        self._serve_overrides(config)

    @property
    def mirror_hosts(self) -> list[str]:
        """The host names the build network resolves to the mirror gateway (every other name: the trap)."""
        return gateway.mirror_hosts(self.routes)

    def _wrapped(self, name: str):
        return self._containers[name].get_wrapped_container()

    # --- builders ----------------------------------------------------------------------------------

    def _start_builder(self, network: str, secret_dir: Path, env: dict[str, str] | None,
                       files: dict[str, bytes] | None) -> _Container:
        if network not in NETWORKS:
            raise UserError(f"network must be one of {', '.join(NETWORKS)}, not {network!r}")
        self._builders += 1
        name = resource_name(self.run_id, f"builder-{self._builders}")
        network_name = self._networks[network].name
        trust = {CA_BUNDLE: self._ca.ca_pem, JAVA_TRUSTSTORE: self._java_trust()}
        platform = {"CHOREO_REGISTRY": self.catalog.registries["choreo"].prefixes[0]}  # as the platform sets it
        builder = _Container(self._tags["builder"], {**trust, **(files or {})},
                             command=["sleep", "infinity"], env={**platform, **(env or {})}, name=name)
        builder.with_volume_mapping(str(secret_dir), PROXY_CONFIG_MOUNT, "ro")
        # run_options: what podman/buildah need (SYS_ADMIN, no seccomp), never NET_ADMIN: routes stay as set
        builder.with_kwargs(labels=dict(self.labels), hostname="builder", network=network_name,
                            dns=[self.topology.resolver(network)], **run_options("builder"))
        builder.start()
        try:
            confine = isolation.confine_commands(network, self.topology.resolver(network),
                                                 self.topology.bridge_gateway(network))
            self.client.containers.run(
                self._tags["dns"], ["sh", "-c", confine], remove=True, labels=dict(self.labels),
                network_mode=f"container:{builder.get_wrapped_container().id}", cap_add=["NET_ADMIN"])
        except BaseException:
            builder.stop()
            raise
        return builder

    def _java_trust(self) -> bytes:
        """The run CA as a PKCS12 trust store, made once per run with the builder's own keytool (Java
        ignores the PEM bundle; a keystore without Java's trust attribute would not be trusted)."""
        if self._java_truststore is None:
            script = ('printf %s "$CA_PEM" > /tmp/ca.pem && keytool -importcert -noprompt -alias airgap-run-ca '
                      '-file /tmp/ca.pem -keystore /tmp/trust.p12 -storetype PKCS12 -storepass airgap >/dev/null '
                      '&& base64 -w0 /tmp/trust.p12')
            container = self.client.containers.run(
                self._tags["builder"], ["sh", "-c", script], environment={"CA_PEM": self._ca.ca_pem.decode()},
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

    def _address(self, builder: _Container, network: str) -> str:
        wrapped = builder.get_wrapped_container()
        wrapped.reload()
        return wrapped.attrs["NetworkSettings"]["Networks"][self._networks[network].name]["IPAddress"]

    def run(self, command: str, network: str = BUILD, proxy_config: str | os.PathLike | None = None,
            env: dict[str, str] | None = None, files: dict[str, bytes] | None = None,
            workdir: str = "/work", timeout_s: int = 600) -> RunResult:
        """Run `command` (sh -c) in a fresh builder on `network`, with `proxy_config` mounted read-only at
        /mnt/proxy-config in the kubelet Secret layout (empty when None) and `files` (path -> bytes) in place."""
        if network == BUILD and proxy_config is not None:
            self.use_proxy_config(proxy_config)  # None keeps the mirrors up: an unconfigured build just ignores them
        with tempfile.TemporaryDirectory(prefix="airgap-secret-") as tmp:
            secret_dir = Path(tmp) / "proxy-config"
            secret_layout.mount(proxy_config, secret_dir)
            builder = self._start_builder(network, secret_dir, env, files)
            try:
                address = self._address(builder, network)
                started = time.time()
                result = builder.get_wrapped_container().exec_run(
                    ["timeout", str(timeout_s), "sh", "-c", command], demux=True, workdir=workdir,
                    environment={"JAVA_TOOL_OPTIONS": JAVA_TRUST_OPTIONS, **(env or {})})
                finished = time.time()
            finally:
                builder.stop()
        stdout, stderr = result.output
        return RunResult(command=command, network=network, exit_code=result.exit_code,
                         stdout=(stdout or b"").decode(errors="replace"), stderr=(stderr or b"").decode(errors="replace"),
                         started=started, finished=finished, address=address)

    # --- evidence and self-test ----------------------------------------------------------------------

    def _read(self, name: str, path: str) -> str:
        result = self._wrapped(name).exec_run(["cat", path])
        return result.output.decode(errors="replace") if result.exit_code == 0 else ""

    def evidence(self, since: float | None = None, until: float | None = None,
                 client: str | None = None) -> Evidence:
        """Mirror hits and trap events between `since` and `until` (Unix times), optionally of one address."""
        return parse_evidence(self._read(gateway.NAME, gateway.LOG_FILE), self._read(trap.NAME, trap.EVENTS_FILE),
                              since=since, until=until, client=client)

    def evidence_of(self, result: RunResult) -> Evidence:
        """What one builder command did: records from its address while it ran (addresses are reused later)."""
        return self.evidence(since=result.started, until=result.finished + LOG_FLUSH_S, client=result.address)

    def _probe(self, network: str, command: list[str]) -> str:
        """Output of `command` in a throwaway container on `network` with no route changes (firewall check)."""
        try:
            output = self.client.containers.run(
                self._tags["dns"], command, remove=True, labels=dict(self.labels),
                network=self._networks[network].name, name=resource_name(self.run_id, f"probe-{uuid.uuid4().hex[:6]}"))
        except docker.errors.ContainerError as error:
            return f"probe failed: {error}"
        return output.decode(errors="replace")

    def _off_subnet_check(self, builder) -> isolation.Check:
        """A connection to an address off the build subnet (the simulated internet's resolver, an address of
        this run) must end in the trap, recorded with its original destination, and never reach the target."""
        target = self.topology.address(dns.INTERNET_DNS, INTERNET)
        since = time.time()
        output = builder.exec_run(isolation.connect_probe(target, OFF_SUBNET_PORT)).output.decode(errors="replace")
        time.sleep(LOG_FLUSH_S)
        captured = [e for e in self.evidence(since).trapped_connections()
                    if (e.dst_ip, e.dst_port) == (target, OFF_SUBNET_PORT)]
        return isolation.Check(f"a connection off the build subnet ({target}:{OFF_SUBNET_PORT}) ends in the trap",
                               bool(captured), f"probe: {output.strip()}; trap events: {len(captured)}")

    def self_test(self) -> isolation.Report:
        """Show the build network is closed, without sending anything to an address the run did not create."""
        decoy = isolation.Decoy()
        checks: list[isolation.Check] = []
        trap_address = self.topology.address(trap.NAME, BUILD)
        try:
            with tempfile.TemporaryDirectory(prefix="airgap-selftest-") as tmp:
                secret_layout.mount(None, Path(tmp) / "proxy-config")
                builder = self._start_builder(BUILD, Path(tmp) / "proxy-config", None, None)
                try:
                    wrapped = builder.get_wrapped_container()
                    for name in ("registry.npmjs.org", f"selftest-{self.run_id}.example.com"):
                        output = wrapped.exec_run(isolation.resolve_probe(name)).output.decode(errors="replace")
                        checks.append(isolation.check_resolution(name, output, trap_address))
                    route = wrapped.exec_run(["ip", "route", "get", isolation.PUBLIC_LITERAL])
                    checks.append(isolation.check_public_route(route.output.decode(errors="replace"), trap_address))
                    gateway_ip = self.topology.bridge_gateway(BUILD)
                    output = wrapped.exec_run(isolation.connect_probe(gateway_ip, decoy.port)).output.decode()
                    checks.append(isolation.check_unreachable(
                        f"the host (bridge gateway {gateway_ip}, decoy port {decoy.port}) from a builder", output))
                    checks.append(self._off_subnet_check(wrapped))
                finally:
                    builder.stop()
            with ThreadPoolExecutor(max_workers=len(NETWORKS)) as pool:  # re-raises a probe's error
                outputs = dict(zip(NETWORKS, pool.map(lambda n: self._probe(
                    n, isolation.connect_probe(self.topology.bridge_gateway(n), decoy.port)), NETWORKS)))
            for network in NETWORKS:
                checks.append(isolation.check_unreachable(
                    f"the host from any container on {network} (bridge gateway {self.topology.bridge_gateway(network)},"
                    " decoy port; host firewall, no builder routes)", outputs[network]))
                closed = isolation.bridge_closed(self._networks[network].id, self.run_id, os.getpid())
                checks.append(isolation.Check(f"host firewall rule for the {network} bridge", closed,
                                              isolation.bridge_name(self._networks[network].id)))
            checks.append(isolation.Check("the host decoy listener saw no connection", not decoy.accepted,
                                          f"connections from {decoy.accepted}" if decoy.accepted else "none"))
        finally:
            decoy.close()
        return isolation.Report(tuple(checks))
