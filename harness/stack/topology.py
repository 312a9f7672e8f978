"""The definition of one run's topology: networks, addresses and containers, with no Docker calls.

harness.stack.stack starts it with Testcontainers; harness.stack.compose writes it as a compose project.
Both read this one definition, so the interactive stack is the tested stack.

Addresses are fixed per network (the DNS servers must name them before the containers exist):
  .1          the bridge gateway (the host side; closed by harness.stack.isolation)
  .2          the resolver of the network (trap on build, dns-internet on internet)
  .3          the mirror gateway (on both networks)
  .10 ...     the servers of the simulated internet and the mirror backends, in order
  .128/25     builders, allocated by Docker (IPAM ip_range)
"""

import ipaddress
from dataclasses import dataclass, field

from harness.infra import images
from harness.stack import dns, gateway, trap
from harness.stack.spec import ServiceSpec

INTERNET, BUILD = "internet", "build"
NETWORKS = (INTERNET, BUILD)
FIXED_HOSTS = {trap.NAME: {BUILD: 2}, dns.INTERNET_DNS: {INTERNET: 2}, gateway.NAME: {BUILD: 3, INTERNET: 3}}
FIRST_SERVER_HOST = 10
DYNAMIC_PREFIX = 25  # the upper half of each /24 is for builders


def bridge_gateway(subnet: ipaddress.IPv4Network) -> str:
    """The bridge's own address on a run subnet (the first host)."""
    return str(subnet.network_address + 1)


def dynamic_range(subnet: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
    """Where the engine places builders: above every fixed address (see host_numbers)."""
    return list(subnet.subnets(new_prefix=DYNAMIC_PREFIX))[-1]


@dataclass(frozen=True)
class Placement:
    """A ServiceSpec placed in the run: its fixed address on each network and its container options."""

    spec: ServiceSpec
    addresses: dict[str, str]  # logical network -> IPv4 address
    dns: str | None = None  # the resolver it is given (dns=), if any
    cap_add: tuple[str, ...] = ()
    sysctls: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Topology:
    run_id: str
    subnets: dict[str, ipaddress.IPv4Network]  # logical network -> subnet (a /24)
    placements: tuple[Placement, ...]

    def placement(self, name: str) -> Placement:
        return next(p for p in self.placements if p.spec.name == name)

    def start_order(self) -> list[Placement]:
        """Every placement, the servers whose image starts slowly (images.yaml) first: their start overlaps the
        creation of the others (warm stack start 10.4 -> 9.9 s, median of five alternating pairs on 2 cores)."""
        return sorted(self.placements, key=lambda placement: not images.starts_slowly(placement.spec.image))

    def address(self, name: str, network: str) -> str:
        return self.placement(name).addresses[network]

    def bridge_gateway(self, network: str) -> str:
        return bridge_gateway(self.subnets[network])

    def dynamic_range(self, network: str) -> ipaddress.IPv4Network:
        return dynamic_range(self.subnets[network])

    def resolver(self, network: str) -> str:
        """The DNS server a builder on `network` gets, and no other."""
        return self.address(trap.NAME, BUILD) if network == BUILD else self.address(dns.INTERNET_DNS, INTERNET)


def host_numbers(servers: list[ServiceSpec]) -> dict[str, dict[str, int]]:
    """service -> network -> host number within the network's subnet."""
    numbers = {name: dict(nets) for name, nets in FIXED_HOSTS.items()}
    for offset, server in enumerate(servers):
        if server.name in numbers:
            raise ValueError(f"server name {server.name!r} is reserved by the topology")
        host = FIRST_SERVER_HOST + offset
        if host >= 2 ** (32 - DYNAMIC_PREFIX):
            raise ValueError("too many servers for the fixed address range of a run")
        numbers[server.name] = {network: host for network in server.networks}
    return numbers


def public_names(servers: list[ServiceSpec]) -> dict[str, str]:
    """Public host name -> serving server: every alias with a dot names a host of the simulated internet."""
    return {alias: server.name for server in servers for alias in server.aliases if "." in alias}


def place(run_id: str, subnets: dict[str, ipaddress.IPv4Network], servers: list[ServiceSpec],
         gateway_spec: ServiceSpec, mirror_hosts: list[str]) -> Topology:
    """Place the trap, the internet resolver, the mirror gateway and `servers` on the run's subnets."""
    numbers = host_numbers(servers)

    def addresses(name: str) -> dict[str, str]:
        return {net: str(subnets[net].network_address + host) for net, host in numbers[name].items()}

    internet_names = {name: addresses(owner)[INTERNET] for name, owner in public_names(servers).items()}
    gateway_on_build = addresses(gateway.NAME)[BUILD]
    trap_address = addresses(trap.NAME)[BUILD]
    internet_dns = addresses(dns.INTERNET_DNS)[INTERNET]
    placements = [
        Placement(trap.spec(trap_address, {host: gateway_on_build for host in mirror_hosts}), addresses(trap.NAME),
                  cap_add=trap.CAP_ADD, sysctls=dict(trap.SYSCTLS)),
        Placement(dns.internet_spec(internet_names), addresses(dns.INTERNET_DNS)),
        Placement(gateway_spec, addresses(gateway.NAME), dns=internet_dns),
    ]
    placements += [Placement(server, addresses(server.name), dns=internet_dns) for server in servers]
    return Topology(run_id=run_id, subnets=dict(subnets), placements=tuple(placements))
