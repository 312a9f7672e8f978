"""The project's connectivity check before it installs: one ICMP echo, as `ping -c 1 -W 2 <address>` sends it
(the builder has no ping binary: an unprivileged ICMP socket sends the same echo). The documentation address
192.0.2.1 (RFC 5737) stands for the public address such scripts ping."""

import socket
import sys

ADDRESS, TIMEOUT_S = "192.0.2.1", 2.0

with socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP) as sock:
    sock.settimeout(TIMEOUT_S)
    sock.sendto(bytes([8, 0, 0, 0, 0, 0, 0, 1]) + b"airgap", (ADDRESS, 0))  # echo request; the kernel sets the id and checksum
    try:
        sock.recv(1024)
    except socket.timeout:
        sys.exit(f"no echo reply from {ADDRESS} in {TIMEOUT_S:.0f} s: no network, stopping")
print(f"echo reply from {ADDRESS}")
