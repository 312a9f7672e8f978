"""The trap daemon, on this host's loopback: real TLS ClientHellos and HTTP requests, real dnsmasq log lines."""

import io
import json
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request

import pytest

from harness.stack import trapd

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
