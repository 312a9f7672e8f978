"""dnsmasq for the run's two networks: what each answers, and nothing forwarded anywhere.

On `internet` the public names resolve to the simulated sources; on `build` the mirror names resolve to
the mirror gateway and every other name to the trap. Answers come from a hosts directory that dnsmasq
watches (inotify), so a new proxy-config re-points names without restarting the server.
"""

import ipaddress

from harness.stack.spec import ServiceSpec

INTERNET_DNS = "dns-internet"
HOSTS_DIR = "/etc/airgap/hosts.d"
HOSTS_FILE = f"{HOSTS_DIR}/names"


def dnsmasq_command(catch_all: str | None = None) -> list[str]:
    """dnsmasq in the foreground, logging every query to stderr, with no upstream server at all.

    `catch_all`: the address every name outside the hosts directory resolves to (the trap); without
    it such names are refused, as an unknown host on the simulated internet should be.
    """
    command = [
        "dnsmasq", "--keep-in-foreground", "--user=root", "--no-resolv", "--no-hosts", "--no-negcache",
        "--log-queries", "--log-facility=-", "--filter-AAAA", f"--hostsdir={HOSTS_DIR}",
    ]
    if catch_all:
        command.append(f"--address=/#/{ipaddress.IPv4Address(catch_all)}")
    return command


def hosts_file(names: dict[str, str]) -> bytes:
    """/etc/hosts lines for `names` (host name -> IPv4), sorted so equal input gives equal bytes."""
    lines = [f"{ipaddress.IPv4Address(address)} {name}\n" for name, address in sorted(names.items())]
    return "".join(lines).encode()


def internet_spec(public_names: dict[str, str]) -> ServiceSpec:
    """The simulated internet's resolver: public names -> their simulated source, nothing else."""
    return ServiceSpec(
        name=INTERNET_DNS,
        image="dns",
        command=dnsmasq_command(),
        files={HOSTS_FILE: hosts_file(public_names)},
        port=53,
        networks=("internet",),
    )
