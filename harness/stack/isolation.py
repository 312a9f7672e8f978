"""Closing the run's networks, and the self-test that shows they are closed before any scenario runs.

Two layers, because Docker's `internal` networks are not closed by themselves (field notes: a container
still reaches the host through the bridge gateway):
  host:    `iptables -I INPUT -i br-<id> -j DROP` per bridge of the run, commented with run id and pid so
           `airgap clean` finds the rules of dead runs; on the build bridge also an intra-bridge ACCEPT in
           DOCKER-USER, so frames for off-subnet addresses reach the trap instead of being dropped unseen;
  builder: inside each builder's network namespace (set from a helper container, the builder itself gets
           no NET_ADMIN) the default route points at the trap, so a connection to any address off the
           subnet is captured there, and the bridge gateway is a `prohibit` route.
The self-test sends nothing to any address the run did not create: a public literal is only looked up
with `ip route get`, connections go only to the bridge gateway, where the test's own decoy listens.
"""

import shlex
import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass

from harness.infra.errors import UserError

COMMENT_PREFIX = "airgap-harness:"
PUBLIC_LITERAL = "1.1.1.1"  # only ever given to `ip route get`, which sends no packet
METADATA_ADDRESS = "169.254.169.254"  # the cloud metadata service: only ever given to `ip route get`
IPV6_LITERAL = "2001:db8::1"  # a documentation address: only ever given to `ip -6 route get`
PROBE_TIMEOUT_S = 1.5  # a local bridge answers in microseconds; silence this long means dropped


def bridge_name(network_id: str) -> str:
    return f"br-{network_id[:12]}"


def _comment(run_id: str, pid: int) -> list[str]:
    return ["-m", "comment", "--comment", f"{COMMENT_PREFIX}{run_id}:{pid}"]


def _rule(bridge: str, run_id: str, pid: int) -> list[str]:
    return ["INPUT", "-i", bridge, *_comment(run_id, pid), "-j", "DROP"]


def _forward_chain() -> str:
    """DOCKER-USER, the chain Docker leaves to its users, or FORWARD where the engine made none."""
    return "DOCKER-USER" if _iptables("-S", "DOCKER-USER").returncode == 0 else "FORWARD"


def _intra_bridge_rule(chain: str, bridge: str, run_id: str, pid: int) -> list[str]:
    return [chain, "-i", bridge, "-o", bridge, *_comment(run_id, pid), "-j", "ACCEPT"]


def _iptables(*args: str) -> subprocess.CompletedProcess:
    if not shutil.which("iptables"):
        raise UserError("iptables is not installed: the run cannot close its bridges to the host "
                        "(install the iptables package; the harness needs root for this)")
    return subprocess.run(["iptables", "-w", *args], capture_output=True, text=True, check=False)


def close_bridge(network_id: str, run_id: str, pid: int) -> None:
    """Drop everything the bridge's containers send to the host itself."""
    result = _iptables("-I", *_rule(bridge_name(network_id), run_id, pid))
    if result.returncode != 0:
        raise UserError(f"cannot add the host firewall rule for {bridge_name(network_id)} "
                        f"(root needed): {result.stderr.strip()}")


def let_trap_capture(network_id: str, run_id: str, pid: int) -> None:
    """Let frames stay on the build bridge whatever their IP destination, so a connection to an address
    off the subnet reaches the trap (the builders' default route) and is recorded there. Without this,
    Docker's isolation rules for internal networks drop it silently on the host (br_netfilter)."""
    result = _iptables("-I", *_intra_bridge_rule(_forward_chain(), bridge_name(network_id), run_id, pid))
    if result.returncode != 0:
        raise UserError(f"cannot add the host forwarding rule for {bridge_name(network_id)}: {result.stderr.strip()}")


def bridge_closed(network_id: str, run_id: str, pid: int) -> bool:
    return _iptables("-C", *_rule(bridge_name(network_id), run_id, pid)).returncode == 0


@dataclass(frozen=True)
class HostRule:
    bridge: str
    run_id: str
    pid: int
    spec: list[str]  # the rule as `iptables -S` prints it, minus the leading -A


def host_rules() -> list[HostRule]:
    """Every harness rule in the host's INPUT and forwarding chains."""
    if not shutil.which("iptables"):
        return []
    rules = []
    listing = _iptables("-S", "INPUT").stdout + _iptables("-S", _forward_chain()).stdout
    for line in listing.splitlines():
        if COMMENT_PREFIX not in line:
            continue
        words = shlex.split(line)  # the comment is printed in quotes
        comment = words[words.index("--comment") + 1]
        run_id, _, pid = comment[len(COMMENT_PREFIX):].partition(":")
        rules.append(HostRule(bridge=words[words.index("-i") + 1], run_id=run_id, pid=int(pid or 0), spec=words[1:]))
    return rules


def remove_rule(rule: HostRule) -> None:
    _iptables("-D", *rule.spec)


def confine_commands(network: str, resolver: str, bridge_gateway: str) -> str:
    """Shell run in a builder's namespace: on build the trap is the only way off the subnet; on the
    simulated internet there is no way off it at all; on both the bridge gateway is prohibited."""
    route = f"ip route replace default via {resolver}" if network == "build" else "ip route del default"
    return f"{route} && ip route add prohibit {bridge_gateway}/32"


# --- the self-test -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Report:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.passed for check in self.checks)

    def summary(self) -> str:
        return "\n".join(f"[{'PASS' if c.passed else 'FAIL'}] {c.name}: {c.detail}" for c in self.checks)


class IsolationError(UserError):
    """The build network is not closed: no scenario may run on it."""


class Decoy:
    """A TCP listener on the host (all addresses) that counts who reaches it: nothing from the run may."""

    def __init__(self) -> None:
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("0.0.0.0", 0))
        self._server.listen(16)
        self.port = self._server.getsockname()[1]
        self.accepted: list[str] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, peer = self._server.accept()
            except OSError:
                return
            self.accepted.append(peer[0])
            conn.close()

    def close(self) -> None:
        self._server.close()


def connect_probe(address: str, port: int) -> list[str]:
    """A command (python3 in the container) that prints `connected` or the error, without raising."""
    code = (f"import socket\ns=socket.socket()\ns.settimeout({PROBE_TIMEOUT_S})\n"
            f"try:\n    s.connect(({address!r}, {port})); print('connected')\n"
            "except OSError as e:\n    print('refused:', e)\n")
    return ["python3", "-c", code]


def resolve_probe(name: str) -> list[str]:
    return ["getent", "ahostsv4", name]


def check_resolution(name: str, output: str, trap_address: str) -> Check:
    answers = {line.split()[0] for line in output.splitlines() if line.strip()}
    return Check(f"{name} resolves only to the trap", answers == {trap_address},
                 f"answers {sorted(answers) or 'none'}, trap is {trap_address}")


def check_public_route(output: str, trap_address: str, literal: str = PUBLIC_LITERAL,
                       what: str = "public IP literal") -> Check:
    """`ip route get` of an address off the run: either no route at all, or via the trap (captured there)."""
    unreachable = "unreachable" in output.lower() or "prohibit" in output.lower() or not output.strip()
    via_trap = f"via {trap_address} " in output + " "
    return Check(f"{what} {literal} leads only to the trap (route lookup, no packet sent)",
                 unreachable or via_trap, output.strip() or "no route")


def check_no_ipv6_way_out(route_output: str, addresses_output: str) -> Check:
    """`ip -6 route get` of a global IPv6 address finds no route, and the builder has no global IPv6 address."""
    no_route = not route_output.strip() or any(word in route_output.lower() for word in
                                               ("unreachable", "prohibit", "not supported", "cannot"))
    no_address = "inet6" not in addresses_output
    return Check(f"IPv6 has no way out (route lookup of {IPV6_LITERAL}, no packet sent; no global IPv6 address)",
                 no_route and no_address, f"route: {route_output.strip() or 'none'}; global addresses: "
                 f"{addresses_output.strip() or 'none'}")


def udp_probe(address: str, port: int, name: str) -> list[str]:
    """A command (python3) that sends one DNS query for `name` over UDP to address:port and prints `sent`."""
    code = ("import socket,struct\n"
            f"q=struct.pack('!6H',0x4242,0x0100,1,0,0,0)+b''.join(bytes([len(p)])+p.encode() for p in {name!r}.split('.'))"
            "+b'\\0'+struct.pack('!2H',1,1)\n"
            f"s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.sendto(q,({address!r},{port}))\nprint('sent')\n")
    return ["python3", "-c", code]


def icmp_probe(address: str) -> list[str]:
    """A command (python3, an unprivileged ping socket) that sends one ICMP echo request and prints `sent`."""
    code = ("import socket\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM,socket.IPPROTO_ICMP)\n"
            f"s.sendto(bytes([8,0,0,0,0,0,0,1])+b'airgap',({address!r},0))\nprint('sent')\n")
    return ["python3", "-c", code]


def check_unreachable(what: str, output: str) -> Check:
    return Check(f"{what} is unreachable", "connected" not in output, output.strip())
