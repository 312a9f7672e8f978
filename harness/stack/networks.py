"""A run's networks: one internal Docker bridge per logical network (topology.NETWORKS), each on a free /24 of
SUBNET_POOL, closed to the host by a firewall rule; the build bridge also lets the trap capture what leaves.

Two runs must not pick the same subnets: the choice and creation happen under a lock file. A network that was
made before a later step failed is removed with the run (labels and firewall comments carry the run id:
harness.stack.cleanup), as AirgapStack.stop does.
"""

import fcntl
import ipaddress
import os
import shutil
import subprocess
from dataclasses import dataclass, field

import docker
from docker.types import IPAMConfig, IPAMPool
from testcontainers.core.network import Network

from harness.infra import settings
from harness.infra.errors import UserError
from harness.stack import isolation, topology
from harness.stack.identity import resource_name
from harness.stack.topology import BUILD, NETWORKS

SUBNET_POOL = ipaddress.ip_network("10.213.0.0/16")
RESERVED_SUBNETS = (ipaddress.ip_network("10.213.254.0/23"),)  # the compose project's fixed subnets


def taken_subnets(client: docker.DockerClient) -> list[ipaddress.IPv4Network]:
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


def free_subnets(client: docker.DockerClient, count: int) -> list[ipaddress.IPv4Network]:
    taken = taken_subnets(client)
    free = [net for net in SUBNET_POOL.subnets(new_prefix=24) if not any(net.overlaps(t) for t in taken)]
    if len(free) < count:
        raise UserError(f"no free /24 left in {SUBNET_POOL} for a run's networks: run `airgap clean`")
    return free[:count]


@dataclass
class RunNetworks:
    """The networks of one run, by logical name."""

    subnets: dict[str, ipaddress.IPv4Network] = field(default_factory=dict)
    networks: dict[str, Network] = field(default_factory=dict)

    def name(self, logical: str) -> str:
        """The Docker network's name (what a container is attached to)."""
        return self.networks[logical].name

    def id(self, logical: str) -> str:
        return self.networks[logical].id


def create(client: docker.DockerClient, run_id: str, labels: dict[str, str]) -> RunNetworks:
    """Create every logical network of the run on free subnets, closed to the host."""
    created = RunNetworks()
    lock_path = settings.load().state_dir / "subnets.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runs must not pick the same subnets
        created.subnets = dict(zip(NETWORKS, free_subnets(client, len(NETWORKS))))
        for name, subnet in created.subnets.items():
            pool = IPAMPool(subnet=str(subnet), iprange=str(topology.dynamic_range(subnet)),
                            gateway=topology.bridge_gateway(subnet))
            network = Network(docker_network_kw={
                "driver": "bridge", "internal": True, "labels": dict(labels),
                "ipam": IPAMConfig(pool_configs=[pool])})
            network.name = resource_name(run_id, name)
            network.create()
            created.networks[name] = network
            isolation.close_bridge(network.id, run_id, os.getpid())
            if name == BUILD:
                isolation.let_trap_capture(network.id, run_id, os.getpid())
    return created
