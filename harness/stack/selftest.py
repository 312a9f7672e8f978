"""The isolation self-test of a run: show the build network is closed, without sending anything to an address
the run did not create. No scenario may run on a stack whose self-test failed (AirgapStack.start raises).

From a builder: public and unknown names resolve only to the trap, a public IP literal and the cloud metadata
address route to the trap, IPv6 has no route and no global address, the host (bridge gateway) is unreachable,
and a TCP connection, a UDP DNS query and an ICMP echo off the build subnet each end in the trap, recorded with
their original destination (an address of this run: the simulated internet's resolver). From a throwaway
container on every network: the host is unreachable, and its firewall rule is in place. A decoy listener on
the host must see no connection at all.
"""

import os
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import docker
import docker.errors

from harness.stack import dns, isolation, secret_layout, trap
from harness.stack.builders import LOG_FLUSH_S, Builders
from harness.stack.evidence import Evidence
from harness.stack.identity import resource_name
from harness.stack.networks import RunNetworks
from harness.stack.topology import BUILD, INTERNET, NETWORKS, Topology

OFF_SUBNET_PORT = 53  # TCP DNS on the internet resolver: it would answer, were it reachable
RESOLVE_ATTEMPTS = 3  # name lookups that got no answer at all, on a machine busy starting another stack


@dataclass
class SelfTest:
    """What the self-test needs of a started run."""

    client: docker.DockerClient
    run_id: str
    labels: dict[str, str]
    probe_image: str  # the dns image: a shell, nc and ip
    topology: Topology
    networks: RunNetworks
    builders: Builders
    evidence: Callable[[float], Evidence]  # trap events and mirror hits since a Unix time

    def probe(self, network: str, command: list[str]) -> str:
        """Output of `command` in a throwaway container on `network` with no route changes (firewall check)."""
        try:
            output = self.client.containers.run(
                self.probe_image, command, remove=True, labels=dict(self.labels), network=self.networks.name(network),
                name=resource_name(self.run_id, f"probe-{uuid.uuid4().hex[:6]}"))
        except docker.errors.ContainerError as error:
            return f"probe failed: {error}"
        return output.decode(errors="replace")

    def off_subnet_checks(self, builder) -> list[isolation.Check]:
        """A connection, a DNS query over UDP and an ICMP echo to an address off the build subnet (the simulated
        internet's resolver, an address of this run): each must end in the trap, recorded with its original
        destination (the query with the name it asks for), and never reach the target (the trap does not
        forward). One wait for the trap's log serves all three."""
        target = self.topology.address(dns.INTERNET_DNS, INTERNET)
        name = f"udp-selftest-{self.run_id}.example.com"
        since = time.time()
        output = builder.exec_run(isolation.connect_probe(target, OFF_SUBNET_PORT)).output.decode(errors="replace")
        udp = builder.exec_run(isolation.udp_probe(target, OFF_SUBNET_PORT, name)).output.decode(errors="replace")
        icmp = builder.exec_run(isolation.icmp_probe(target)).output.decode(errors="replace")
        time.sleep(LOG_FLUSH_S)
        evidence = self.evidence(since)
        captured = [e for e in evidence.trapped_connections() if (e.dst_ip, e.dst_port) == (target, OFF_SUBNET_PORT)]
        events = evidence.trap_events
        datagrams = [e for e in events if e.kind == "udp" and (e.dst_ip, e.dst_port, e.name) == (target, OFF_SUBNET_PORT, name)]
        echoes = [e for e in events if e.kind == "icmp" and e.dst_ip == target and e.icmp_type == 8]
        return [
            isolation.Check(f"a connection off the build subnet ({target}:{OFF_SUBNET_PORT}) ends in the trap",
                            bool(captured), f"probe: {output.strip()}; trap events: {len(captured)}"),
            isolation.Check(f"a UDP DNS query to a resolver off the build subnet ({target}:{OFF_SUBNET_PORT}) is "
                            "recorded by the trap with its name", bool(datagrams),
                            f"probe: {udp.strip()}; trap events: {len(datagrams)}"),
            isolation.Check(f"an ICMP echo off the build subnet ({target}) is recorded by the trap", bool(echoes),
                            f"probe: {icmp.strip()}; trap events: {len(echoes)}"),
        ]

    def run(self) -> isolation.Report:
        decoy = isolation.Decoy()
        checks: list[isolation.Check] = []
        trap_address = self.topology.address(trap.NAME, BUILD)
        # the probes from throwaway containers on each network start first and run beside the builder's checks
        pool = ThreadPoolExecutor(max_workers=len(NETWORKS))
        host_probes = {network: pool.submit(self.probe, network, isolation.connect_probe(
            self.topology.bridge_gateway(network), decoy.port)) for network in NETWORKS}
        try:
            with tempfile.TemporaryDirectory(prefix="airgap-selftest-") as tmp:
                secret_layout.mount_config(None, Path(tmp) / "proxy-config")
                with self.builders.builder(BUILD, Path(tmp) / "proxy-config") as builder:
                    wrapped = builder.wrapped
                    for name in ("registry.npmjs.org", f"selftest-{self.run_id}.example.com"):
                        for _ in range(RESOLVE_ATTEMPTS):  # no answer at all (a reply lost on a loaded machine) is
                            # asked again; any answer, right or wrong, is judged
                            output = wrapped.exec_run(isolation.resolve_probe(name)).output.decode(errors="replace")
                            if output.strip():
                                break
                        checks.append(isolation.check_resolution(name, output, trap_address))
                    route = wrapped.exec_run(["ip", "route", "get", isolation.PUBLIC_LITERAL])
                    checks.append(isolation.check_public_route(route.output.decode(errors="replace"), trap_address))
                    route = wrapped.exec_run(["ip", "route", "get", isolation.METADATA_ADDRESS])
                    checks.append(isolation.check_public_route(route.output.decode(errors="replace"), trap_address,
                                                               isolation.METADATA_ADDRESS, "the cloud metadata address"))
                    route6 = wrapped.exec_run(["ip", "-6", "route", "get", isolation.IPV6_LITERAL])
                    global6 = wrapped.exec_run(["ip", "-6", "addr", "show", "scope", "global"])
                    checks.append(isolation.check_no_ipv6_way_out(route6.output.decode(errors="replace"),
                                                                  global6.output.decode(errors="replace")))
                    gateway_ip = self.topology.bridge_gateway(BUILD)
                    output = wrapped.exec_run(isolation.connect_probe(gateway_ip, decoy.port)).output.decode()
                    checks.append(isolation.check_unreachable(
                        f"the host (bridge gateway {gateway_ip}, decoy port {decoy.port}) from a builder", output))
                    checks += self.off_subnet_checks(wrapped)
            outputs = {network: future.result() for network, future in host_probes.items()}  # re-raises an error
            for network in NETWORKS:
                checks.append(isolation.check_unreachable(
                    f"the host from any container on {network} (bridge gateway {self.topology.bridge_gateway(network)},"
                    " decoy port; host firewall, no builder routes)", outputs[network]))
                closed = isolation.bridge_closed(self.networks.id(network), self.run_id, os.getpid())
                checks.append(isolation.Check(f"host firewall rule for the {network} bridge", closed,
                                              isolation.bridge_name(self.networks.id(network))))
            checks.append(isolation.Check("the host decoy listener saw no connection", not decoy.accepted,
                                          f"connections from {decoy.accepted}" if decoy.accepted else "none"))
        finally:
            pool.shutdown(wait=True)
            decoy.close()
        return isolation.Report(tuple(checks))
