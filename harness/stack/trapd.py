"""The egress trap daemon: runs inside the build network's DNS container (python3 stdlib only).

Every name the build network does not mirror resolves to this container, and every builder's default
route points here, so whatever tries to leave arrives here instead. It records, as JSON lines:
  dns  - each query dnsmasq answers (name, type, client), read from dnsmasq's log;
  tcp  - each TCP connection on any port (iptables REDIRECTs them all to one listener; the original
         destination comes from SO_ORIGINAL_DST), with the TLS SNI or the HTTP Host if the client sent one.
         Then it refuses: a TLS handshake_failure alert, an HTTP 403, or a plain close.
  udp  - each UDP datagram that arrives for another address, or for this one other than DNS to dnsmasq
         (a query to a hard-coded resolver such as 8.8.8.8 included, with the name it asks for);
  icmp - each ICMP (or ICMPv6) packet for another address: echo requests, traceroute probes.
UDP and ICMP are read from a packet socket on the build interface; the kernel then drops them (forwarding
is off), so nothing answers. It never connects or sends anywhere.

Usage: trapd.py EVENTS_FILE LISTEN_PORT OWN_ADDRESS -- DNSMASQ_COMMAND...
"""

import json
import socket
import struct
import subprocess
import sys
import threading
import time

READY_FILE = "/run/trapd.ready"  # exists once dnsmasq answers and the listener accepts
SO_ORIGINAL_DST = 80
# How long a connection may take to send its first bytes (the TLS ClientHello that names the host). On a loaded
# 2-core machine Composer's queued downloads took over 3 s, and were recorded by address only.
READ_TIMEOUT_S = 10.0
MAX_PEEK = 16384
TLS_ALERT_HANDSHAKE_FAILURE = bytes([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x28])
HTTP_REFUSAL = (
    b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 38\r\n\r\n"
    b"blocked by the airgap-harness trap :)\n"
)
HTTP_METHODS = (b"GET ", b"HEAD ", b"POST ", b"PUT ", b"DELETE ", b"OPTIONS ", b"PATCH ", b"CONNECT ")

_lock = threading.Lock()


def emit(out, event: dict, now: float | None = None) -> None:
    """Write one event, stamped `now` (default: the present): a connection's is when it was accepted."""
    now = time.time() if now is None else now
    event["ts"] = round(now, 3)
    event["time"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"
    with _lock:
        out.write(json.dumps(event, sort_keys=True) + "\n")
        out.flush()


def parse_sni(data: bytes) -> str | None:
    """The server_name of a TLS ClientHello, or None if `data` is not (enough of) one."""
    try:
        if data[0] != 0x16 or data[5] != 0x01:
            return None
        pos = 5 + 4 + 2 + 32  # record header, handshake header, client version, random
        pos += 1 + data[pos]  # session id
        pos += 2 + struct.unpack("!H", data[pos : pos + 2])[0]  # cipher suites
        pos += 1 + data[pos]  # compression methods
        end = pos + 2 + struct.unpack("!H", data[pos : pos + 2])[0]
        pos += 2
        while pos + 4 <= end:
            ext_type, ext_len = struct.unpack("!HH", data[pos : pos + 4])
            pos += 4
            if ext_type == 0:  # server_name: list length, name type, name length, name
                name_len = struct.unpack("!H", data[pos + 3 : pos + 5])[0]
                return data[pos + 5 : pos + 5 + name_len].decode("ascii", "replace")
            pos += ext_len
    except (IndexError, struct.error):
        return None
    return None


def tls_record_complete(data: bytes) -> bool:
    return len(data) >= 5 and len(data) >= 5 + struct.unpack("!H", data[3:5])[0]


def parse_http(data: bytes) -> dict | None:
    """Method, path and Host of an HTTP/1 request head, or None."""
    if not data.startswith(HTTP_METHODS):
        return None
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    parts = lines[0].split(" ")
    host = next((line.split(":", 1)[1].strip() for line in lines[1:] if line.lower().startswith("host:")), None)
    return {"http_method": parts[0], "http_path": parts[1] if len(parts) > 1 else "", "http_host": host}


def read_first_bytes(conn: socket.socket) -> bytes:
    """What the client sends first: a whole TLS record or HTTP head, or whatever came before the timeout."""
    data = b""
    conn.settimeout(READ_TIMEOUT_S)
    deadline = time.monotonic() + READ_TIMEOUT_S
    while len(data) < MAX_PEEK and time.monotonic() < deadline:
        try:
            chunk = conn.recv(MAX_PEEK - len(data))
        except (socket.timeout, OSError):
            break
        if not chunk:
            break
        data += chunk
        if data[:1] == b"\x16" and tls_record_complete(data):
            break
        if data.startswith(HTTP_METHODS) and b"\r\n\r\n" in data:
            break
        if not (data[:1] == b"\x16" or data[:1].isupper()):
            break  # neither TLS nor HTTP: one read is all we keep
    return data


def original_destination(conn: socket.socket) -> tuple[str, int]:
    raw = conn.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    port, packed = struct.unpack("!2xH4s8x", raw)
    return socket.inet_ntoa(packed), port


def handle(conn: socket.socket, client: tuple, out) -> None:
    accepted = time.time()  # the event's time: a slow client's step may be over once its first bytes come
    with conn:
        try:
            dst_ip, dst_port = original_destination(conn)
        except OSError:
            dst_ip, dst_port = conn.getsockname()[:2]
        data = read_first_bytes(conn)
        event = {"kind": "tcp", "client": client[0], "dst_ip": dst_ip, "dst_port": dst_port, "bytes": len(data)}
        sni = parse_sni(data)
        http = parse_http(data)
        if sni is not None or data[:1] == b"\x16":
            event.update(protocol="tls", sni=sni)
            reply = TLS_ALERT_HANDSHAKE_FAILURE
        elif http is not None:
            event.update(protocol="http", **http)
            reply = HTTP_REFUSAL
        else:
            event.update(protocol="unknown")
            reply = b""
        emit(out, event, accepted)
        try:
            conn.sendall(reply)
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def listen(port: int) -> socket.socket:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", port))
    server.listen(128)
    return server


def serve_tcp(server: socket.socket, out) -> None:
    while True:
        try:
            conn, client = server.accept()
        except OSError:
            return  # the listener was closed
        threading.Thread(target=handle, args=(conn, client, out), daemon=True).start()


ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4  # the pkttype of a frame this container sent
ETHERTYPE_IPV4, ETHERTYPE_IPV6 = 0x0800, 0x86DD
UDP, ICMP, ICMPV6 = 17, 1, 58
NEIGHBOUR_DISCOVERY = range(133, 138)  # ICMPv6 router/neighbour solicitations and adverts: the link, not egress


def parse_dns_question(payload: bytes) -> str | None:
    """The first question's name of a DNS query, or None if `payload` is not one."""
    labels, pos = [], 12
    try:
        if len(payload) < 12 or payload[2] & 0x80 or struct.unpack("!H", payload[4:6])[0] < 1:
            return None  # a response, or no question
        while payload[pos]:
            length = payload[pos]
            if length > 63:
                return None  # compression in a question: not a query we read
            labels.append(payload[pos + 1 : pos + 1 + length].decode("ascii", "replace"))
            pos += 1 + length
    except IndexError:
        return None
    return ".".join(labels) or "."


def parse_frame(frame: bytes, own_address: str) -> dict | None:
    """An udp or icmp event for an Ethernet frame that tries to leave, None for anything else (TCP, which the
    listener records; DNS to dnsmasq; ARP; the link's own ICMPv6)."""
    try:
        ethertype = struct.unpack("!H", frame[12:14])[0]
        if ethertype == ETHERTYPE_IPV4:
            header = (frame[14] & 0x0F) * 4
            protocol, src, dst = frame[23], socket.inet_ntoa(frame[26:30]), socket.inet_ntoa(frame[30:34])
            body = frame[14 + header :]
        elif ethertype == ETHERTYPE_IPV6:
            protocol = frame[20]  # next header (extension headers are not followed)
            src, dst = socket.inet_ntop(socket.AF_INET6, frame[22:38]), socket.inet_ntop(socket.AF_INET6, frame[38:54])
            body = frame[54:]
        else:
            return None
        if protocol == UDP:
            dst_port = struct.unpack("!H", body[2:4])[0]
            if dst == own_address and dst_port == 53:
                return None  # a query to dnsmasq, which logs it itself
            event = {"kind": "udp", "client": src, "dst_ip": dst, "dst_port": dst_port, "bytes": len(body) - 8}
            name = parse_dns_question(body[8:]) if dst_port == 53 else None
            return {**event, "name": name, "protocol": "dns"} if name else event
        if protocol in (ICMP, ICMPV6) and dst != own_address:
            if protocol == ICMPV6 and body[0] in NEIGHBOUR_DISCOVERY:
                return None
            return {"kind": "icmp", "client": src, "dst_ip": dst, "icmp_type": body[0], "icmp_code": body[1]}
    except (IndexError, struct.error, OSError, ValueError):
        return None
    return None


def capture(sock: socket.socket, own_address: str, out) -> None:
    """Record every UDP and ICMP packet that arrives on `sock` (a packet socket) trying to leave."""
    while True:
        try:
            frame, address = sock.recvfrom(65535)
        except OSError:
            return
        if address[0] == "lo" or address[2] == PACKET_OUTGOING:
            continue
        event = parse_frame(frame, own_address)
        if event:
            emit(out, event)


def packet_socket() -> socket.socket:
    return socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))


def parse_dnsmasq_line(line: str) -> dict | None:
    """`dnsmasq[1]: query[A] registry.npmjs.org from 10.0.0.3` -> a dns event; other lines -> None."""
    _, _, message = line.partition(": ")
    if not message.startswith("query["):
        return None
    qtype, _, rest = message[len("query[") :].partition("] ")
    name, _, client = rest.partition(" from ")
    return {"kind": "dns", "qtype": qtype, "name": name.strip(), "client": client.strip()}


def follow_dnsmasq(args: list[str], out) -> int:
    process = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    for line in process.stderr:
        sys.stderr.write(line)
        if ": started, version" in line:
            open(READY_FILE, "w").close()
        event = parse_dnsmasq_line(line.rstrip("\n"))
        if event:
            emit(out, event)
    return process.wait()


def main(argv: list[str]) -> int:
    events_file, port, own_address, dashdash, *dnsmasq = argv
    if dashdash != "--" or not dnsmasq:
        sys.stderr.write(__doc__)
        return 2
    out = open(events_file, "a", encoding="utf-8")
    threading.Thread(target=serve_tcp, args=(listen(int(port)), out), daemon=True).start()
    threading.Thread(target=capture, args=(packet_socket(), own_address, out), daemon=True).start()
    return follow_dnsmasq(dnsmasq, out)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
