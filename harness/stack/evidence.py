"""What a run leaves as proof: the mirror gateway's request log and the trap's events, as typed records.

Both logs are JSON lines written inside the run's containers (gateway.LOG_FILE, trap.EVENTS_FILE); `ts` is
the Unix time with milliseconds, from the same kernel clock as the harness, so `since` compares directly.
"""

import json
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class MirrorHit:
    """One request the mirror gateway answered."""

    ts: float
    client: str
    host: str
    port: int
    method: str
    path: str
    status: int
    auth: str  # none | basic | bearer | other
    user: str  # basic-auth user name, "" otherwise; never a password or token
    route: str  # the proxy-config key whose route served it, "-" if none matched
    backend: str  # the mirror backend it went to, "-" if none


@dataclass(frozen=True)
class TrapEvent:
    """One attempt to leave the build network: a DNS query for an unmirrored name, a TCP connection, a UDP
    datagram or an ICMP packet for an address off the run (trapd.py)."""

    ts: float
    kind: str  # dns | tcp | udp | icmp
    client: str
    name: str | None = None  # dns: the name asked for; udp to port 53: the name the query asks for
    qtype: str | None = None
    dst_ip: str | None = None  # tcp, udp, icmp: where the client meant to go
    dst_port: int | None = None
    protocol: str | None = None  # tcp: tls | http | unknown; udp: dns when it is a DNS query
    icmp_type: int | None = None
    icmp_code: int | None = None
    sni: str | None = None
    http_host: str | None = None
    http_method: str | None = None
    http_path: str | None = None

    @property
    def host(self) -> str | None:
        """The host name the attempt names: DNS name, TLS SNI or HTTP Host (without port); None for UDP and
        ICMP, whose destination is their address (a query to a hard-coded resolver leaves for that resolver)."""
        if self.kind in ("udp", "icmp"):
            return None
        if self.kind == "dns":
            return self.name
        return self.sni or (self.http_host.rsplit(":", 1)[0] if self.http_host else None)


@dataclass(frozen=True)
class Evidence:
    mirror_hits: tuple[MirrorHit, ...]
    trap_events: tuple[TrapEvent, ...]
    unreadable: tuple[str, ...] = ()  # log lines that are no record (a line torn while it was being written)

    def dns_queries(self) -> set[str]:
        return {e.name for e in self.trap_events if e.kind == "dns" and e.name}

    def unmirrored_queries(self, mirror_hosts: list[str]) -> set[str]:
        """Names asked for that are not mirror names (AirgapStack.mirror_hosts): each one resolved to the trap."""
        return self.dns_queries() - set(mirror_hosts)

    def trapped_connections(self) -> tuple[TrapEvent, ...]:
        return tuple(e for e in self.trap_events if e.kind == "tcp")

    def trapped_hosts(self) -> set[str]:
        """Host names of trapped connections (SNI or HTTP Host)."""
        return {e.host for e in self.trapped_connections() if e.host}

    def hits_for(self, route: str) -> tuple[MirrorHit, ...]:
        return tuple(h for h in self.mirror_hits if h.route == route)


def _records(text: str, kind, since: float | None, until: float | None, client: str | None,
             unreadable: list[str]) -> tuple:
    names = {f.name for f in fields(kind)}
    records = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            record = kind(**{k: v for k, v in raw.items() if k in names})
            in_window = (since is None or record.ts >= since) and (until is None or record.ts <= until)
        except (ValueError, TypeError, AttributeError):  # not JSON, not an object, a field missing or mistyped
            unreadable.append(line[:200])
            continue
        if in_window and (client is None or record.client == client):
            records.append(record)
    return tuple(records)


def parse(gateway_log: str, trap_log: str, since: float | None = None, until: float | None = None,
          client: str | None = None) -> Evidence:
    """Evidence from the two logs' text, keeping records from `since` to `until` (and from `client`)."""
    unreadable: list[str] = []
    return Evidence(mirror_hits=_records(gateway_log, MirrorHit, since, until, client, unreadable),
                    trap_events=_records(trap_log, TrapEvent, since, until, client, unreadable),
                    unreadable=tuple(unreadable))
