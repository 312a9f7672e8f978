"""The trap container of the build network: its DNS server (dnsmasq) and the egress trap (trapd.py).

One container does both, so the address every unknown name resolves to is the address that records the
connection. Its own default route is removed and forwarding is off: nothing that reaches it goes further.
"""

import shlex
from pathlib import Path

from harness.stack import dns
from harness.stack.spec import ServiceSpec

NAME = "trap"
IMAGE = "dns"
LISTEN_PORT = 15000  # every TCP connection, to any address and port, is redirected here
EVENTS_FILE = "/var/log/airgap/trap.jsonl"
PROGRAM = "/opt/airgap/trapd.py"
PROGRAM_SOURCE = Path(__file__).with_name("trapd.py")
READY_FILE = "/run/trapd.ready"  # trapd.py creates it once dnsmasq has started
CAP_ADD = ("NET_ADMIN",)  # iptables and routes in its own network namespace only
SYSCTLS = {"net.ipv4.ip_forward": "0"}


def startup_script(own_address: str) -> str:
    """Steer all TCP (except DNS to itself) to the trap listener, then run trapd with dnsmasq under it (trapd
    also records UDP and ICMP from a packet socket: Docker's default NET_RAW capability)."""
    command = ["python3", PROGRAM, EVENTS_FILE, str(LISTEN_PORT), own_address, "--",
               *dns.dnsmasq_command(catch_all=own_address)]
    return "\n".join([
        "set -e",
        "ip route del default 2>/dev/null || true",
        f"iptables -t nat -A PREROUTING -p tcp -d {own_address} --dport 53 -j RETURN",
        f"iptables -t nat -A PREROUTING -p tcp -j REDIRECT --to-ports {LISTEN_PORT}",
        f"mkdir -p {Path(EVENTS_FILE).parent}",
        "exec " + shlex.join(command),
    ])


def spec(own_address: str, mirror_names: dict[str, str]) -> ServiceSpec:
    """`mirror_names`: host name -> the mirror gateway's build address; everything else answers `own_address`."""
    return ServiceSpec(
        name=NAME,
        image=IMAGE,
        command=["sh", "-c", startup_script(own_address)],
        files={PROGRAM: PROGRAM_SOURCE.read_bytes(), dns.HOSTS_FILE: dns.hosts_file(mirror_names)},
        port=53,
        ready=["test", "-e", READY_FILE],
        networks=("build",),
        request_log=EVENTS_FILE,
    )

