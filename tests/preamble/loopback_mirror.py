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
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

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

    def start(self, network: "IsolatedNetwork") -> "RecordingServer":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                owner.requests.append(Request(self.command, self.path, self.headers.get("Authorization")))
                if owner.expected_authorization and self.headers.get("Authorization") != owner.expected_authorization:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="mirror"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                route = owner.routes.get(self.path.split("?", 1)[0])
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
        self.httpd.socket = network.listening_socket()
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

    def listening_socket(self) -> socket.socket:
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
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
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


def tls_server(network: IsolatedNetwork, ca_file: Path, **kwargs) -> RecordingServer:
    """A RecordingServer speaking HTTPS for 127.0.0.1 with a throw-away CA (written to ca_file for the client)."""
    import trustme

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    ca.cert_pem.write_to_path(str(ca_file))
    return RecordingServer(tls_context=context, **kwargs).start(network)


def assert_fetched_with_credentials(server: RecordingServer, path: str, output: str,
                                    user: str = HOSTILE_USER, password: str = HOSTILE_PASSWORD) -> None:
    """The client asked the mirror for `path` with exactly these credentials and never printed the password."""
    assert path in [r.path for r in server.authenticated()], [r.path for r in server.requests]
    assert server.authenticated()[0].basic == (user, password)
    assert password not in output
