"""Helpers for the real-client tests: an empty network namespace, a recording HTTP server inside it, and
a way to apply the preamble.

Every client runs inside an empty network namespace with only loopback up (`IsolatedNetwork`), and
the mirror server listens inside that namespace: a client that tried any other address, even a DNS
lookup, fails there instead of leaving the machine. The server stands for a customer's mirror. It
records every request (method, path, Authorization), answers 401 with a Basic challenge until the
expected credentials arrive (clients that only send credentials when challenged are covered), and
serves the routes a test gives it.
"""

import base64
import ctypes
import os
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from helpers import PREAMBLE as PREAMBLE_DIR, write_proxy_config
from harness.preamble.interface import Environment, entry
from harness.preamble.runner import run_preamble

HOSTILE_PASSWORD = "p & < > { } % @ : / # \" ' $(touch /tmp/pwned) `id` ; end"
HOSTILE_USER = "build user@corp"


@dataclass
class Request:
    method: str
    path: str
    authorization: str | None
    host: str | None = None  # the Host header as the client sent it

    @property
    def basic(self) -> tuple[str, str] | None:
        """The decoded Basic credentials, split at the first ':' as servers do."""
        if not self.authorization or not self.authorization.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(self.authorization[6:]).decode("utf-8").partition(":")
        return user, password


@dataclass
class Route:
    body: bytes
    content_type: str = "application/octet-stream"
    status: int = 200


@dataclass
class RecordingServer:
    routes: dict[str, Route] = field(default_factory=dict)
    expected_authorization: str | None = None  # the full header value; None: no auth needed
    requests: list[Request] = field(default_factory=list)
    tls_context: ssl.SSLContext | None = None
    # Where to listen inside the namespace: ("::", port) is dual-stack (127.0.0.1, localhost and [::1]).
    bind: tuple[str, int] = ("127.0.0.1", 0)
    # Routes are looked up by path_key(request path) when given (e.g. `canonical_path`), else by the path.
    path_key: Callable[[str], str] | None = None

    def start(self, network: "IsolatedNetwork") -> "RecordingServer":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                owner.requests.append(Request(self.command, self.path, self.headers.get("Authorization"),
                                              self.headers.get("Host")))
                if owner.expected_authorization and self.headers.get("Authorization") != owner.expected_authorization:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="mirror"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                path = self.path.split("?", 1)[0]
                route = owner.routes.get(owner.path_key(path) if owner.path_key else path)
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(route.body)

            do_HEAD = do_GET

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self.httpd.socket.close()
        self.httpd.socket = network.listening_socket(*self.bind)
        self.httpd.server_address = self.httpd.socket.getsockname()
        if self.tls_context:
            self.httpd.socket = self.tls_context.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"{'https' if self.tls_context else 'http'}://127.0.0.1:{self.port}"

    def authenticated(self) -> list[Request]:
        return [r for r in self.requests if r.authorization == self.expected_authorization]


def basic_header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def with_userinfo(url: str, user: str, password: str) -> str:
    """The URL with the credentials as percent-encoded user-info (the form lint warns about: url-credentials)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{urllib.parse.quote(user, safe='')}:{urllib.parse.quote(password, safe='')}@{rest}"


def write_config(directory: Path, values: dict[str, str]) -> Path:
    """The proxy-config as a customer writes it with `echo value > key` (a trailing newline)."""
    return write_proxy_config(directory, values, newline=True)


def apply_preamble(strategy: str, config_dir: Path, home: Path, extra_env: dict | None = None) -> dict[str, str]:
    """Source the strategy's entry in bash (harness.preamble.runner) and return the environment it leaves,
    for running clients."""
    workdir = home.parent / f"{home.name}.preamble-run"  # TMPDIR of the environment returned: it stays
    workdir.mkdir(parents=True, exist_ok=True)
    environment = Environment(home=home, proxy_config_dir=config_dir, dockerhub_login=("platform", "platform-secret"))
    run = run_preamble(entry(PREAMBLE_DIR, strategy), environment, workdir, extra_env=extra_env)
    assert run.ok, run.stderr
    assert HOSTILE_PASSWORD not in run.stderr, "the preamble log shows a password"
    return run.env


def run_client(network: "IsolatedNetwork", argv: list[str], env: dict[str, str], cwd: Path | None = None,
               timeout: int = 180) -> subprocess.CompletedProcess:
    """Run a real client inside the isolated network namespace."""
    return subprocess.run(network.enter + argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


class IsolatedNetwork:
    """An empty network namespace with only loopback up, held open by a sleeping process.

    Clients run in it through nsenter; servers get a listening socket created in it (a socket belongs
    to the namespace of the thread that creates it, so a helper thread joins the namespace first).
    """

    CLONE_NEWNET = 0x40000000

    def __init__(self):
        self.holder = subprocess.Popen(["unshare", "--net", "--", "sh", "-c", "ip link set lo up && echo up && exec sleep 86400"],
                                       stdout=subprocess.PIPE, text=True)
        assert self.holder.stdout.readline().strip() == "up", "could not create a network namespace (needs root and util-linux)"
        self.path = f"/proc/{self.holder.pid}/ns/net"
        self.enter = ["nsenter", f"--net={self.path}", "--"]

    def listening_socket(self, host: str = "127.0.0.1", port: int = 0) -> socket.socket:
        """A listening TCP socket in the namespace; host "::" listens on IPv6 and IPv4 loopback both."""
        result: dict = {}

        def create():
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(self.path, os.O_RDONLY)
            try:
                if libc.setns(fd, self.CLONE_NEWNET) != 0:
                    result["error"] = OSError(ctypes.get_errno(), "setns")
                    return
            finally:
                os.close(fd)
            sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if ":" in host:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            sock.bind((host, port))
            sock.listen(64)
            result["socket"] = sock

        thread = threading.Thread(target=create)
        thread.start()
        thread.join()
        if "error" in result:
            raise result["error"]
        return result["socket"]

    def close(self) -> None:
        self.holder.kill()
        self.holder.wait()


def tls_server(network: IsolatedNetwork, ca_file: Path, identities: tuple[str, ...] = ("127.0.0.1", "localhost"),
               **kwargs) -> RecordingServer:
    """A RecordingServer speaking HTTPS for 127.0.0.1 (or the given identities, e.g. "::1") with a throw-away CA
    (written to ca_file for the client)."""
    import trustme

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*identities).configure_cert(context)
    ca.cert_pem.write_to_path(str(ca_file))
    return RecordingServer(tls_context=context, **kwargs).start(network)


def assert_fetched_with_credentials(server: RecordingServer, path: str, output: str,
                                    user: str = HOSTILE_USER, password: str = HOSTILE_PASSWORD) -> None:
    """The client asked the mirror for `path` with exactly these credentials and never printed the password."""
    assert path in [r.path for r in server.authenticated()], [r.path for r in server.requests]
    assert server.authenticated()[0].basic == (user, password)
    assert password not in output


# --- property (c), generated: any package URL and credentials the grammar accepts reach the mirror ---------
#
# The test_client_* property tests draw a mirror URL (`mirror_urls`) and credentials (`credentials`) from the
# grammar's accepted space, start a RecordingServer where that URL points (inside the namespace: port 80/443
# for the default port, so a URL without a port or with the default one written reaches it; dual-stack so
# [::1] does too), run the real client and check, with `assert_reached_mirror`: every request came to that
# host and port, under that path prefix, and every Authorization header sent is exactly the configured one.
# The client cannot reach a public default at all (the namespace has loopback only); the files it must fetch
# are served only under the prefix, so success means it used the mirror.

import contextlib  # noqa: E402
import tempfile  # noqa: E402
import urllib.parse  # noqa: E402

from hypothesis import HealthCheck, Phase, settings, strategies as st  # noqa: E402

from harness.contract import grammar  # noqa: E402

REALCLIENT_EXAMPLES = int(os.environ.get("AIRGAP_REALCLIENT_EXAMPLES", "8"))
UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
SUB_DELIMS_AND_PCHAR = "!$&'()*+,;=:@"
# Credential characters: printable ASCII (every character some file format escapes: XML, Groovy, JSON, YAML,
# URL user-info), tab, a few C0 controls and DEL, non-ASCII of 2, 3 and 4 UTF-8 bytes, and the XML-excluded
# U+FFFE. `credentials` keeps only what the grammar accepts for the manager.
ASCII_CREDENTIAL_CHARACTERS = [chr(c) for c in range(0x20, 0x7F)] + ["\t", "\x01", "\x1b", "\x7f"]
CREDENTIAL_CHARACTERS = ASCII_CREDENTIAL_CHARACTERS + ["é", "€", "😀", "\ufffe"]
# Shrinking reruns the real client hundreds of times (minutes for pip, far longer for a JVM client): off unless
# AIRGAP_REALCLIENT_SHRINK=1, to find the minimal example of a failure that the derandomized run reproduces.
REALCLIENT_PHASES = tuple(Phase) if os.environ.get("AIRGAP_REALCLIENT_SHRINK") else (Phase.explicit, Phase.generate)


def realclient_settings(**overrides):
    """Settings every real-client property shares: AIRGAP_REALCLIENT_EXAMPLES examples (8 by default: a JVM
    client takes seconds per example), the same examples on every run, no deadline."""
    return settings(**{"max_examples": REALCLIENT_EXAMPLES, "derandomize": True, "deadline": None,
                       "phases": REALCLIENT_PHASES, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much], **overrides})


def canonical_path(path: str) -> str:
    """A request path as a mirror's server routes it: each segment percent-decoded, then re-encoded one way
    (unreserved characters plain, every other byte %XX in uppercase); an encoded '/' stays inside its segment."""
    return "/".join(urllib.parse.quote_from_bytes(urllib.parse.unquote_to_bytes(segment), safe="")
                    for segment in path.split("/"))


@dataclass(frozen=True)
class MirrorUrl:
    """A generated package URL, before the server's port is known."""

    scheme: str
    host: str  # as written: a case variant of localhost, 127.0.0.1 or [::1]
    port: str  # "implicit" (default port, not written) | "explicit-default" (":80"/":443" written) | "other"
    path: str  # as written: "", "/" or "/seg[/seg...][/]"

    @property
    def bind(self) -> tuple[str, int]:
        return "::", 0 if self.port == "other" else grammar.DEFAULT_PORTS[self.scheme]

    def url(self, server: RecordingServer) -> str:
        port = "" if self.port == "implicit" else f":{server.port}"
        return f"{self.scheme}://{self.host}{port}{self.path}"

    @property
    def base(self) -> str:
        """The canonical path prefix every request must start with: the path up to and with a final '/'
        (clients append their paths to the URL as a directory)."""
        return canonical_path(self.path.rstrip("/") + "/")

    def under(self, relative: str) -> str:
        """The canonical path of `relative` below the prefix (a route key)."""
        return canonical_path(self.base + relative)

    def host_header_matches(self, header: str | None, server: RecordingServer) -> bool:
        """Host header names the URL's host (case-insensitively) and the server's port (written or default)."""
        if not header:
            return False
        header = header.lower()
        if header.startswith("["):
            host, _, port = header[1:].partition("]")
            host, port = f"[{host}]", port[1:]
        else:
            host, _, port = header.partition(":")
        return host == self.host.lower() and int(port or grammar.DEFAULT_PORTS[self.scheme]) == server.port


@st.composite
def hosts(draw, ipv6: bool = True) -> str:
    """A case variant of localhost, 127.0.0.1 or (with ipv6) [::1]: the namespace's loopback has ::1 and the
    server listens dual-stack. (What a client mishandles is a grammar client limit; mirror_urls leaves it out.)"""
    kind = draw(st.sampled_from(["name", "ipv4", "ipv6"] if ipv6 else ["name", "ipv4"]))
    if kind == "ipv4":
        return "127.0.0.1"
    if kind == "ipv6":
        return "[::1]"
    return "".join(c.upper() if draw(st.booleans()) else c for c in "localhost")


def paths(max_percent_byte: int = 0xFF):
    """"", "/" or up to 3 segments of RFC 3986 path characters and %XX escapes (either hex case) of bytes up to
    max_percent_byte, with or without a trailing '/'. (What a client mangles is a grammar client limit;
    mirror_urls leaves it out.)"""
    atoms = st.one_of(
        st.sampled_from(UNRESERVED),
        st.sampled_from(SUB_DELIMS_AND_PCHAR),
        st.builds(lambda byte, upper: "%" + (f"{byte:02X}" if upper else f"{byte:02x}"),
                  st.integers(0, max_percent_byte), st.booleans()),
    )
    segments = st.lists(st.lists(atoms, min_size=1, max_size=5).map("".join), min_size=0, max_size=3)
    return st.builds(lambda parts, trailing: ("/" + "/".join(parts) + ("/" if trailing else "")) if parts
                     else ("/" if trailing else ""), segments, st.booleans())


def mirror_urls(manager: str, schemes: tuple[str, ...] = ("http",), host_strategy=None, path_strategy=None):
    """MirrorUrls whose URL (with any port) the grammar accepts for this manager's pkg-*-url key, with
    credentials in effect (no client limit either: those have their own tests, which show the client fail)."""
    def accepted(mirror: MirrorUrl) -> bool:
        port = {"implicit": "", "explicit-default": f":{grammar.DEFAULT_PORTS[mirror.scheme]}", "other": ":54321"}[mirror.port]
        url = f"{mirror.scheme}://{mirror.host}{port}{mirror.path}"
        kind = grammar.Kind("package-proxy", manager)
        return grammar.package_url_violation(url, manager) is None and not grammar.client_violations(url, kind, True)

    return st.builds(MirrorUrl, st.sampled_from(schemes), host_strategy if host_strategy is not None else hosts(),
                     st.sampled_from(["implicit", "explicit-default", "other"]), path_strategy if path_strategy is not None else paths()).filter(accepted)


def credential_accepted(value: str, kind: grammar.Kind) -> bool:
    """The grammar raises no error for this credential (warnings, like a percent-encoded look, are fine)."""
    return not any(grammar.RULES[v.rule].severity == "error" for v in grammar.violations(value, kind))


def credentials(manager: str, family: str, characters=None, max_size: int = 16):
    """Credential values the grammar accepts for `manager` (`family`: username | password | token)."""
    kind = grammar.Kind(family, manager)
    return st.text(st.sampled_from(characters or CREDENTIAL_CHARACTERS), min_size=1, max_size=max_size).filter(
        lambda value: credential_accepted(value, kind))


@contextlib.contextmanager
def scratch_directory():
    """A fresh directory per generated example (function-scoped tmp_path would be shared by all examples)."""
    with tempfile.TemporaryDirectory(prefix="airgap-realclient-") as name:
        yield Path(name)


@contextlib.contextmanager
def generated_mirror(network: IsolatedNetwork, mirror: MirrorUrl, expected_authorization: str | None,
                     ca_file: Path | None = None):
    """A RecordingServer where `mirror` points, routing by canonical path (https: a CA written to ca_file)."""
    options = {"expected_authorization": expected_authorization, "bind": mirror.bind, "path_key": canonical_path}
    if mirror.scheme == "https":
        server = tls_server(network, ca_file, identities=("127.0.0.1", "localhost", "::1"), **options)
    else:
        server = RecordingServer(**options).start(network)
    try:
        yield server
    finally:
        server.stop()


def assert_reached_mirror(server: RecordingServer, mirror: MirrorUrl, expected_authorization: str,
                          fetched: list[str], output: str = "") -> None:
    """Property (c): every request reached the mirror's host and port under its path prefix; every
    Authorization header sent is exactly the configured credentials; `fetched` (paths below the prefix)
    were served with them."""
    requests = [(r.method, r.path, r.host, r.authorization is not None) for r in server.requests]
    assert server.requests, "the client never reached the mirror"
    for request in server.requests:
        assert mirror.host_header_matches(request.host, server), (request.host, requests)
        assert canonical_path(request.path.split("?", 1)[0]).startswith(mirror.base), (mirror.base, requests)
        assert request.authorization in (None, expected_authorization), ("wrong credentials sent", requests)
    served = {canonical_path(r.path.split("?", 1)[0]) for r in server.authenticated()}
    for relative in fetched:
        assert mirror.under(relative) in served, (mirror.under(relative), requests, output[-3000:])


def assert_client_limit(rule: str, kind: grammar.Kind, value: str, check, *args) -> None:
    """A grammar client limit is still needed: lint has `rule` for `value`, and the real client still fails with
    it (`check(*args)` raises). When a newer client copes, this fails: drop the limit from grammar.yaml."""
    with_credentials = grammar.RULES[rule].client.get("with") in ("credentials", "any-credentials")
    assert rule in {v.rule for v in grammar.violations(value, kind) + grammar.client_violations(value, kind, with_credentials)}
    with pytest.raises(AssertionError):
        check(*args)
