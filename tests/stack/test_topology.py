"""The run's address plan and resolvers, from the real server specs (no Docker needed)."""

import ipaddress

import pytest

from harness.infra import images
from harness.stack import content, dns, gateway, topology, trap
from harness.stack.pki import RunCA
from harness.stack.servers import all_specs

SUBNETS = {"internet": ipaddress.ip_network("10.213.7.0/24"), "build": ipaddress.ip_network("10.213.8.0/24")}
MIRROR_HOSTS = ["nexus.example.com", "harbor.acme.internal"]
pytestmark = pytest.mark.offline  # plans addresses from the specs: no engine


def planned():
    servers = all_specs(RunCA(), content.build())
    gateway_spec = gateway.spec([], RunCA().issue(["x.invalid"]))
    return servers, topology.place("t0p0", SUBNETS, servers, gateway_spec, MIRROR_HOSTS)


def test_every_address_is_unique_inside_its_subnet_and_below_the_builders():
    _, plan = planned()
    seen = set()
    for placement in plan.placements:
        for network, address in placement.addresses.items():
            ip = ipaddress.ip_address(address)
            assert ip in SUBNETS[network] and ip not in plan.dynamic_range(network)
            assert ip != SUBNETS[network].network_address + 1  # the bridge gateway
            assert (network, address) not in seen
            seen.add((network, address))


def test_build_network_holds_only_the_trap_and_the_gateway():
    _, plan = planned()
    on_build = {p.spec.name for p in plan.placements if "build" in p.addresses}
    assert on_build == {trap.NAME, gateway.NAME}


def test_resolvers_answer_mirror_names_with_the_gateway_and_public_names_with_their_server():
    servers, plan = planned()
    trap_hosts = plan.placement(trap.NAME).spec.files[dns.HOSTS_FILE].decode()
    gateway_ip = plan.address(gateway.NAME, "build")
    assert trap_hosts.splitlines() == [f"{gateway_ip} {host}" for host in sorted(MIRROR_HOSTS)]
    assert f"--address=/#/{plan.address(trap.NAME, 'build')}" in plan.placement(trap.NAME).spec.command[-1]
    internet_hosts = plan.placement(dns.INTERNET_DNS).spec.files[dns.HOSTS_FILE].decode().splitlines()
    edge = next(s for s in servers if "registry.npmjs.org" in s.aliases)
    assert f"{plan.address(edge.name, 'internet')} registry.npmjs.org" in internet_hosts
    assert not any("--address" in arg for arg in plan.placement(dns.INTERNET_DNS).spec.command)
    assert plan.resolver("build") == plan.address(trap.NAME, "build")
    assert plan.resolver("internet") == plan.address(dns.INTERNET_DNS, "internet")


def test_the_node_and_python_servers_start_before_the_others():
    """verdaccio and devpi spend seconds of CPU starting (benchmarks/stack.py): started first, that overlaps the
    creation of the other containers. The simulated npm registry is files on the edge: one verdaccio, the mirror."""
    _, plan = planned()
    order = [placement.spec for placement in plan.start_order()]
    assert sorted(spec.name for spec in order) == sorted(p.spec.name for p in plan.placements)  # each once
    slow = [spec.image for spec in order if images.starts_slowly(spec.image)]
    assert sorted(slow) == ["devpi", "devpi", "verdaccio"]  # the simulated and the mirror PyPI, the mirror npm
    assert [images.starts_slowly(spec.image) for spec in order] == [True] * len(slow) + [False] * (len(order) - len(slow))
