"""AirgapStack: one run of the air-gap topology on Testcontainers, from networks to the isolation self-test.

    with AirgapStack() as stack:                      # isolation self-test included; fails if not isolated
        result = stack.run('npm install --registry "$(cat /mnt/proxy-config/pkg-npm-url)"',
                           proxy_config="fixtures/proxy-config/full-global", files={"/work/package.json": ...})
        evidence = stack.evidence_of(result)           # .mirror_hits, .trap_events of that one command
        control = stack.run("npm install", network="internet", files=...)   # open-egress control

A scenario reads its proxy-config once and plans it once, then hands both down:

        config = read_config(directory)
        stack.configure(config, stack.plan(config))   # routes, names, golden images: all from those plans
        result = stack.run(script, mount=config)       # mounted as read, not read again

AirgapStack is a facade; each concern has its module: networks (subnets, bridges closed to the host),
containers (starting one container, removed when its start fails), readiness, configuration (a proxy-config's
plans -> routes and golden images) and serving (applying them to the running gateway, DNS and golden
registry), builders (a fresh confined builder per command), selftest (the isolation self-test). The run's
topology comes from harness.stack.topology; the servers of the simulated internet and the mirror backends from
harness.stack.servers. Every container and network carries the run's labels and is removed on exit, on Ctrl-C,
on SIGTERM and when start-up fails; `airgap clean` handles killed runs.
"""

import atexit
import logging
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Mapping

import docker
from testcontainers.core.config import testcontainers_config

from harness.contract.catalog import Catalog, load_catalog
from harness.contract.config import ProxyConfig, read_config
from harness.contract.plan import Plan
from harness.infra.engine import ensure_engine
from harness.infra.errors import UserError
from harness.infra.images import ensure_image
from harness.stack import cleanup, containers, content, gateway, isolation, networks, readiness, serving, trap
from harness.stack.builders import (CA_BUNDLE, JAVA_TRUST_OPTIONS, JAVA_TRUSTSTORE, LOG_FLUSH_S,  # noqa: F401
                                    PROXY_CONFIG_MOUNT, Builders, RunResult)
from harness.stack.configuration import MirrorConfig, plans_for, routes_for  # noqa: F401 (routes_for: compose, tests)
from harness.stack.containers import RESTART_POLICY, Attachment  # noqa: F401
from harness.stack.evidence import Evidence, parse as parse_evidence
from harness.stack.identity import new_run_id, resource_name, run_labels, sigterm_as_interrupt
from harness.stack.networks import RESERVED_SUBNETS, SUBNET_POOL, RunNetworks  # noqa: F401
from harness.stack.pki import RunCA
from harness.stack.selftest import SelfTest
from harness.stack.servers import all_specs
from harness.stack.topology import BUILD, Placement, Topology, place

log = logging.getLogger(__name__)

# Containers created at once. The engine serialises much of a creation, and a server created early starts while
# the rest are created: on 2 cores, benchmarks/stack.py --starts 4 alternating, a warm start took 10.7 and 9.6 s
# (medians) with 4, 12.2 and 10.4 s with 14 (one per container).
START_WORKERS = 4


class AirgapStack:
    """The simulated internet, the mirrors, the closed build network and its trap, for one run.

    `catalog` is the run's contract (load_catalog(host) for a PDP's own platform registry): the simulated
    internet serves the platform images under its host, every builder gets it as CHOREO_REGISTRY, and the
    gateway's routes are planned with it, so the stack serves what the scenarios are judged by. `strategies`
    are the strategies whose keys the mirrors serve (default: all of the catalog's). `served_content`: what the
    simulated internet serves instead of the fixtures alone (content.with_standins: a customer's stand-ins).
    """

    def __init__(self, proxy_config: str | os.PathLike | None = None, *, enforce_auth: bool = True,
                 strategies: list[str] | None = None, catalog: Catalog | None = None,
                 served_content: content.Content | None = None) -> None:
        self.catalog = catalog or load_catalog()
        self.content = served_content  # what the simulated internet serves (None: the fixtures, content.build())
        self.run_id = new_run_id()
        self.labels = run_labels(self.run_id)
        self.enforce_auth = enforce_auth
        self.strategies = strategies
        self.initial_proxy_config = proxy_config
        self.client: docker.DockerClient | None = None
        self.topology: Topology | None = None
        self.isolation_report: isolation.Report | None = None
        self.timings: dict[str, float] = {}  # seconds per start-up phase, for benchmarks/stack.py
        self._ca = RunCA()
        self._tags: dict[str, str] = {}
        self._networks = RunNetworks()
        self._containers: dict[str, containers.Container] = {}
        self._mirrors: serving.Mirrors | None = None
        self._builders: Builders | None = None
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

    def stop(self) -> None:
        """Remove every container, network and host rule of the run (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
        if self._builders is not None:
            self._builders.close()
        if self.client is not None:  # None: the engine never answered, so nothing of the run exists
            cleanup.remove_run(self.client, self.run_id)

    def _phase(self, name: str, started: float) -> float:
        now = time.monotonic()
        self.timings[name] = round(now - started, 2)
        return now

    def _start(self) -> None:
        mark = time.monotonic()
        self.client = ensure_engine()
        servers = all_specs(self._ca, self.content or content.build(), self.catalog)
        for name in {"dns", "nginx", "builder", *(server.image for server in servers)}:
            self._tags[name] = ensure_image(name, self.client)
        mark = self._phase("images", mark)
        self._networks = networks.create(self.client, self.run_id, self.labels)
        initial = read_config(self.initial_proxy_config)
        served = MirrorConfig.derive(self.catalog, initial, self.plan(initial), self.enforce_auth)
        routes = list(served.routes)
        gateway_spec = gateway.spec(routes, serving.certificate(self._ca, routes))
        self.topology = place(self.run_id, self._networks.subnets, servers, gateway_spec, gateway.mirror_hosts(routes))
        self._mirrors = serving.Mirrors(self._ca, self._wrapped, lambda: self.topology.address(gateway.NAME, BUILD), served)
        self._builders = Builders(self.client, self.run_id, self.labels, self._tags, self._ca, self.catalog,
                                  self._networks, self.topology)
        with ThreadPoolExecutor(max_workers=START_WORKERS) as pool:
            list(pool.map(self._start_placement, self.topology.start_order()))  # list(): re-raise any failure
        mark = self._phase("containers", mark)
        with ThreadPoolExecutor(max_workers=1) as background:
            # the self-test needs only the networks and the trap: it runs while the servers come up
            self_test = background.submit(lambda: self._wait_ready([trap.NAME]) or self.self_test())
            self._wait_ready()
            mark = self._phase("ready", mark)
            self.isolation_report = self_test.result()
        self._phase("self-test (beyond ready)", mark)
        self._mirrors.seed_golden()
        log.info("isolation self-test of run %s:\n%s", self.run_id, self.isolation_report.summary())
        if not self.isolation_report.ok:
            raise isolation.IsolationError("the build network is not isolated; no scenario may run:\n"
                                           + self.isolation_report.summary())

    def _start_placement(self, placement: Placement) -> None:
        spec = placement.spec
        attachments = [Attachment(self._networks.name(network), address=placement.addresses[network])
                       for network in spec.networks]
        self._containers[spec.name] = containers.start(self.client, containers.service_config(
            spec, self._tags[spec.image], name=resource_name(self.run_id, spec.name), labels=self.labels,
            attachments=attachments, dns=(placement.dns,) if placement.dns else (), cap_add=placement.cap_add,
            sysctls=placement.sysctls, restart_policy=RESTART_POLICY))

    def _wait_ready(self, names: list[str] | None = None) -> None:
        """Wait until every server (or those named) answers its readiness probe."""
        readiness.wait_ready([p.spec for p in self.topology.placements if names is None or p.spec.name in names],
                             self._wrapped)

    def _wrapped(self, name: str):
        return self._containers[name].wrapped

    def _started(self) -> None:
        if self._mirrors is None or self._builders is None or self._stopped:
            raise UserError(f"run {self.run_id} is not up: start the stack (with AirgapStack() as stack: ...) first")

    # --- mirrors -----------------------------------------------------------------------------------

    def plan(self, config: ProxyConfig) -> dict[str, Plan]:
        """`config` planned once for every strategy the mirrors serve: what configure() takes."""
        return plans_for(self.catalog, config, self.strategies)

    def configure(self, config: ProxyConfig, plans: Mapping[str, Plan] | None = None, *,
                  enforce_auth: bool | None = None,
                  not_proxied: Mapping[str, tuple[str, ...]] | None = None) -> MirrorConfig:
        """Serve `config` (read once by the caller) from its `plans` (stack.plan(config), made once): gateway
        routes and certificate, the build network's names, and the images its overrides name on hosts no
        mirror uses. Nothing is read or planned again; without `plans`, they are made here, once.
        `not_proxied`: key -> paths below its mirror that the mirror answers 404 for, for this configuration."""
        if enforce_auth is not None:
            self.enforce_auth = enforce_auth
        if plans is None:
            plans = self.plan(config)
        served_strategies = self.strategies or list(self.catalog.strategies)
        if sorted(plans) != sorted(served_strategies):
            raise ValueError(f"plans for {sorted(plans)}; the mirrors serve {sorted(served_strategies)}: use stack.plan()")
        self._started()
        served = MirrorConfig.derive(self.catalog, config, plans, self.enforce_auth, not_proxied)
        self._mirrors.serve(served)
        return served

    def use_proxy_config(self, directory: str | os.PathLike | None) -> None:
        """Serve the mirror names of `directory` (read and planned here, once; None: no mirrors)."""
        self.configure(read_config(directory))

    @property
    def served(self) -> MirrorConfig | None:
        """The proxy-config the mirrors serve now, with its plans, routes and golden images."""
        return self._mirrors.served if self._mirrors else None

    @property
    def routes(self) -> list[gateway.Route]:
        return list(self.served.routes) if self.served else []

    @property
    def unrouted(self) -> dict[str, str]:
        """proxy-config key -> why the gateway has no route of its own for it."""
        return dict(self.served.unrouted) if self.served else {}

    @property
    def mirror_hosts(self) -> list[str]:
        """The host names the build network resolves to the mirror gateway (every other name: the trap)."""
        return self.served.mirror_hosts if self.served else []

    # --- builders ----------------------------------------------------------------------------------

    def run(self, command: str, network: str = BUILD, proxy_config: str | os.PathLike | None = None,
            env: dict[str, str] | None = None, files: dict[str, bytes] | None = None,
            workdir: str = "/work", timeout_s: int = 600, *, mount: ProxyConfig | None = None) -> RunResult:
        """Run `command` (sh -c) in a fresh builder on `network` with `files` (path -> bytes) in place and a
        proxy-config mounted read-only at /mnt/proxy-config in the kubelet Secret layout (empty when none).

        `proxy_config`: a directory, read here once; on the build network the mirrors serve it first (None
        keeps the mirrors as they are: an unconfigured build just ignores them). `mount`: a configuration the
        caller read (and served with configure()), mounted as it is."""
        if proxy_config is not None and mount is not None:
            raise ValueError("pass proxy_config (a directory) or mount (a configuration already read), not both")
        self._started()
        if proxy_config is not None:
            mount = read_config(proxy_config)
            if network == BUILD:
                self.configure(mount)
        return self._builders.run(command, network, mount, env, files, workdir, timeout_s, self._mirrors.settled_at)

    # --- evidence and self-test ----------------------------------------------------------------------

    def _read_log(self, name: str, path: str) -> str:
        result = self._wrapped(name).exec_run(["cat", path])
        return result.output.decode(errors="replace") if result.exit_code == 0 else ""

    def evidence(self, since: float | None = None, until: float | None = None,
                 client: str | None = None) -> Evidence:
        """Mirror hits and trap events between `since` and `until` (Unix times), optionally of one address."""
        return parse_evidence(self._read_log(gateway.NAME, gateway.LOG_FILE), self._read_log(trap.NAME, trap.EVENTS_FILE),
                              since=since, until=until, client=client)

    def evidence_of(self, result: RunResult) -> Evidence:
        """What one builder command did: records from its address while it ran (addresses are reused later)."""
        return self.evidence(since=result.started, until=result.finished + LOG_FLUSH_S, client=result.address)

    def self_test(self) -> isolation.Report:
        """Show the build network is closed, without sending anything to an address the run did not create."""
        return SelfTest(self.client, self.run_id, self.labels, self._tags["dns"], self.topology, self._networks,
                        self._builders, self.evidence).run()
