"""Evidence records from the gateway's and the trap's JSON lines, filtered by time window and client."""

import json

import pytest

from harness.stack.evidence import parse

pytestmark = pytest.mark.offline  # parses log lines: no engine


def lines(*records: dict) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


HIT = {"ts": 10.5, "time": "t", "client": "10.0.1.128", "host": "nexus.example.com", "port": 443, "method": "GET",
       "path": "/repository/npm-proxy/x", "status": 200, "auth": "bearer", "user": "", "route": "pkg-npm-url",
       "backend": "mirror-npm", "bytes": 10}
DNS = {"ts": 11.0, "time": "t", "kind": "dns", "qtype": "A", "name": "registry.npmjs.org", "client": "10.0.1.128"}
TLS = {"ts": 11.1, "time": "t", "kind": "tcp", "client": "10.0.1.128", "dst_ip": "10.0.1.2", "dst_port": 443,
       "protocol": "tls", "sni": "registry.npmjs.org", "bytes": 517}
HTTP = {"ts": 12.0, "time": "t", "kind": "tcp", "client": "10.0.1.129", "dst_ip": "10.0.1.2", "dst_port": 80,
        "protocol": "http", "http_host": "pypi.org:80", "http_method": "GET", "http_path": "/simple/", "bytes": 80}


def test_records_are_typed_and_named_hosts_come_from_dns_sni_or_http():
    evidence = parse(lines(HIT), lines(DNS, TLS, HTTP))
    assert evidence.hits_for("pkg-npm-url")[0].status == 200
    assert evidence.dns_queries() == {"registry.npmjs.org"}
    assert evidence.trapped_hosts() == {"registry.npmjs.org", "pypi.org"}
    assert evidence.unmirrored_queries(["registry.npmjs.org"]) == set()


def test_window_and_client_select_one_command():
    evidence = parse(lines(HIT), lines(DNS, TLS, HTTP), since=11.0, until=11.5, client="10.0.1.128")
    assert evidence.mirror_hits == ()
    assert [event.kind for event in evidence.trap_events] == ["dns", "tcp"]


def test_unknown_fields_are_ignored_and_blank_lines_skipped():
    evidence = parse(lines(dict(HIT, upstream_status="200")) + "\n", "")
    assert len(evidence.mirror_hits) == 1 and evidence.trap_events == ()


@pytest.mark.parametrize("torn", ['200,"auth":"none"}', '{"ts": 10.9, "client": "10.0', "[1, 2]", '{"ts": "late"}'])
def test_a_line_that_is_no_record_is_set_aside_not_a_traceback(torn):
    """A line torn while it was written (or any junk) is listed as unreadable; the records around it stay."""
    evidence = parse(lines(HIT) + torn + "\n" + lines(HIT), lines(DNS) + torn + "\n")
    assert len(evidence.mirror_hits) == 2 and len(evidence.trap_events) == 1
    assert evidence.unreadable == (torn, torn)
