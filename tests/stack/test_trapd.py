"""The trap daemon, on this host's loopback: real TLS ClientHellos and HTTP requests, real dnsmasq log lines."""

import io
import json
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from harness.stack import isolation, trapd

pytestmark = pytest.mark.offline  # the daemon's code on this host's loopback: no engine, no namespace


def client_hello(server_name: str) -> bytes:
    """The first flight of a real TLS client (Python's ssl) asking for `server_name`."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname=server_name)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


@pytest.fixture
def trap():
    """trapd's listener on a free loopback port; yields (port, events)."""
    out = io.StringIO()
    server = trapd.listen(0)
    threading.Thread(target=trapd.serve_tcp, args=(server, out), daemon=True).start()

    def events():
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not out.getvalue():
            time.sleep(0.05)
        return [json.loads(line) for line in out.getvalue().splitlines()]

    yield server.getsockname()[1], events
    server.close()


def test_sni_of_a_real_client_hello():
    assert trapd.parse_sni(client_hello("registry.npmjs.org")) == "registry.npmjs.org"


def test_sni_absent_or_garbled():
    hello = client_hello("pypi.org")
    assert trapd.parse_sni(hello[:40]) is None
    assert trapd.parse_sni(b"GET / HTTP/1.1\r\n\r\n") is None


def test_tls_connection_is_recorded_and_refused(trap):
    port, events = trap
    context = ssl.create_default_context()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with pytest.raises(ssl.SSLError):
            context.wrap_socket(raw, server_hostname="proxy.golang.org")
    (event,) = events()
    assert event["kind"] == "tcp" and event["protocol"] == "tls" and event["sni"] == "proxy.golang.org"
    assert event["client"] == "127.0.0.1" and event["dst_port"] == port


def test_http_request_is_recorded_and_refused(trap):
    port, events = trap
    request = urllib.request.Request(f"http://127.0.0.1:{port}/simple/six/", headers={"Host": "pypi.org"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 403
    (event,) = events()
    assert (event["protocol"], event["http_host"], event["http_method"], event["http_path"]) == (
        "http", "pypi.org", "GET", "/simple/six/")


def test_other_protocols_are_recorded_without_a_reply(trap):
    port, events = trap
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"\x00\x01binary")
        assert conn.recv(100) == b""
    (event,) = events()
    assert event["protocol"] == "unknown" and event["bytes"] == 8


@pytest.mark.parametrize("line, expected", [
    ("dnsmasq[12]: query[A] registry.npmjs.org from 10.213.1.128",
     {"kind": "dns", "qtype": "A", "name": "registry.npmjs.org", "client": "10.213.1.128"}),
    ("dnsmasq[12]: query[AAAA] pypi.org from 10.213.1.129",
     {"kind": "dns", "qtype": "AAAA", "name": "pypi.org", "client": "10.213.1.129"}),
    ("dnsmasq[12]: config registry.npmjs.org is 10.213.1.2", None),
    ("dnsmasq[12]: started, version 2.90 cachesize 150", None),
])
def test_dnsmasq_log_lines(line, expected):
    assert trapd.parse_dnsmasq_line(line) == expected


# --- UDP and ICMP: frames as the packet socket hands them over ----------------------------------------------

TRAP = "10.213.0.2"
BUILDER = "10.213.1.128"


def ipv4_frame(src: str, dst: str, protocol: int, body: bytes) -> bytes:
    ethernet = b"\x02" * 6 + b"\x04" * 6 + struct.pack("!H", trapd.ETHERTYPE_IPV4)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 1, 0, 64, protocol, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))
    return ethernet + header + body


def udp(dst_port: int, payload: bytes) -> bytes:
    return struct.pack("!4H", 40000, dst_port, 8 + len(payload), 0) + payload


def sent_by_probe(command: list[str]) -> bytes:
    """What the self-test's probe command really sends, caught by a UDP socket on this host's loopback."""
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    port = receiver.getsockname()[1]
    code = command[-1].replace(f"('{TRAP}',53)", f"('127.0.0.1',{port})")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    with receiver:
        return receiver.recv(4096)


def test_a_dns_query_to_a_hard_coded_resolver_is_recorded_with_its_name():
    query = sent_by_probe(isolation.udp_probe(TRAP, 53, "registry.npmjs.org"))
    event = trapd.parse_frame(ipv4_frame(BUILDER, "8.8.8.8", trapd.UDP, udp(53, query)), TRAP)
    assert event == {"kind": "udp", "client": BUILDER, "dst_ip": "8.8.8.8", "dst_port": 53, "bytes": len(query),
                     "name": "registry.npmjs.org", "protocol": "dns"}


def test_dns_to_the_trap_itself_is_left_to_dnsmasq_but_other_udp_to_it_is_recorded():
    query = sent_by_probe(isolation.udp_probe(TRAP, 53, "pypi.org"))
    assert trapd.parse_frame(ipv4_frame(BUILDER, TRAP, trapd.UDP, udp(53, query)), TRAP) is None
    event = trapd.parse_frame(ipv4_frame(BUILDER, TRAP, trapd.UDP, udp(123, b"\x23" + b"\0" * 47)), TRAP)
    assert event["kind"] == "udp" and event["dst_port"] == 123 and "name" not in event


def test_icmp_echo_off_the_subnet_is_recorded_and_icmp_to_the_trap_is_not():
    echo = bytes([8, 0, 0, 0, 0, 0, 0, 1]) + b"airgap"
    event = trapd.parse_frame(ipv4_frame(BUILDER, "169.254.169.254", trapd.ICMP, echo), TRAP)
    assert event == {"kind": "icmp", "client": BUILDER, "dst_ip": "169.254.169.254", "icmp_type": 8, "icmp_code": 0}
    port_unreachable = bytes([3, 3, 0, 0, 0, 0, 0, 0])
    assert trapd.parse_frame(ipv4_frame(BUILDER, TRAP, trapd.ICMP, port_unreachable), TRAP) is None


def test_tcp_arp_and_truncated_frames_are_not_udp_or_icmp_events():
    assert trapd.parse_frame(ipv4_frame(BUILDER, "1.2.3.4", 6, b"\0" * 20), TRAP) is None
    arp = b"\xff" * 6 + b"\x04" * 6 + b"\x08\x06" + b"\0" * 28
    assert trapd.parse_frame(arp, TRAP) is None
    for cut in (10, 20, 30, 36):
        assert trapd.parse_frame(ipv4_frame(BUILDER, "8.8.8.8", trapd.UDP, udp(53, b"x" * 20))[:cut], TRAP) is None


def test_a_dns_response_or_garbage_on_port_53_has_no_name():
    assert trapd.parse_dns_question(b"\x42\x42\x81\x80" + b"\0" * 8) is None
    assert trapd.parse_dns_question(b"\x01\x02") is None
    assert trapd.parse_dns_question(struct.pack("!6H", 1, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c") is None
