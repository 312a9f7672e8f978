"""The mirror gateway: one nginx on the build network that answers every mirror name of the proxy-config.

A customer's proxy-config names hosts, ports and path prefixes (`nexus.example.com/dockerhub-proxy`,
`https://artifactory.acme.internal/artifactory/api/npm/npm-remote/`, `harbor.acme.internal:8443/hub`); the
gateway turns each endpoint into a route (host, port, prefix) -> the mirror backend of its kind, terminates
TLS with a run-CA certificate for exactly those names, enforces the configured credentials and logs every
request as one JSON line (never the secret). Which backend serves which kind is data: mirror_backends.yaml for
the OCI families, each package manager's slice (harness/stack/managers/<manager>.yaml `route:`) for its key.
"""

import base64
import functools
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Protocol


from harness.contract.endpoints import Endpoint
from harness.infra.errors import UserError
from harness.stack import slices
from harness.stack.pki import CertPair
from harness.stack.spec import ServiceSpec
from harness.infra.yamltext import load_yaml

NAME = "mirror-gateway"
IMAGE = "nginx"
CONF_DIR = "/etc/nginx/airgap"
LOG_FILE = "/var/log/airgap/gateway.jsonl"
BACKENDS_FILE = Path(__file__).with_name("mirror_backends.yaml")
PING_FILE = "registry-ping.json"
DOCKER_DNS = "127.0.0.11"  # backends are found by their container alias, at request time
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9._~!*'()@+,;=:/-]*/$|^/$")


@dataclass(frozen=True)
class Location:
    """One nginx location of a route: a gateway path and the backend URL it maps onto (NOT_PROXIED: none, the
    mirror answers 404 there)."""

    path: str
    service: str
    upstream: str  # http://service:port/base-path/, or "" for a path the mirror does not proxy


NOT_PROXIED = "-"  # Location.service of a path below a route that its mirror does not proxy (404)


@dataclass(frozen=True)
class Route:
    key: str
    scheme: str
    host: str
    port: int
    prefix: str
    protocol: str  # oci | http
    locations: tuple[Location, ...]
    rewrite_urls: bool = False
    users: tuple[tuple[str, str], ...] = ()  # (user, password) the route accepts; empty: no basic auth
    token: str | None = None  # bearer token the route requires


class BackendLike(Protocol):
    service: str
    port: int
    path: str


def _locations(entry: dict, prefix: str, backends: Mapping[str, BackendLike]) -> tuple[Location, ...]:
    def upstream(kind: str, below: str = "") -> Location:
        backend = backends[kind]
        return Location("", backend.service, f"http://{backend.service}:{backend.port}{backend.path}{below}")

    base = prefix
    suffix = entry.get("strip_suffix")
    if suffix and base.endswith("/" + suffix):
        base = base[: -len(suffix)]
    if entry["protocol"] == "oci":
        base = "/v2" + base
    main = upstream(entry["kind"], prefix.lstrip("/") if entry.get("keep_prefix") else "")
    locations = [Location(base, main.service, main.upstream)]
    for sub in entry.get("subpaths", []):
        target = upstream(sub.get("kind", entry["kind"]), sub["to"])
        locations.append(Location(base + sub["path"], target.service, target.upstream))
    return tuple(locations)


@functools.cache
def load_table(path: Path = BACKENDS_FILE) -> dict[tuple[str, str], dict]:
    """(family, target) -> how the gateway reaches its backend: mirror_backends.yaml (OCI mirrors, image
    overrides) and, for package-proxy, every package manager's slice (`route:`, its backend kind its name)."""
    table = load_yaml(path.read_text())
    if "package-proxy" in table:
        raise UserError(f"{path}: package-proxy routes belong in the managers' slices "
                        "(harness/stack/managers/<manager>.yaml `route:`)")
    entries = {(family, target): entry for family, targets in table.items() for target, entry in targets.items()}
    return entries | {("package-proxy", piece.manager): piece.gateway_entry() for piece in slices.load()}


def _value(values: Mapping[str, str], key: str | None) -> str | None:
    value = values.get(key) if key else None
    return value if value else None


def build_routes(endpoints: list[Endpoint], values: Mapping[str, str], backends: Mapping[str, BackendLike],
                 enforce_auth: bool = True, not_proxied: Mapping[str, tuple[str, ...]] | None = None,
                 ) -> tuple[list[Route], dict[str, str]]:
    """Routes for `endpoints` (credentials from `values`), and key -> why no route of its own serves it.
    `not_proxied`: key -> paths below its route (`sumdb/`) that the mirror does not proxy: answered 404, as a
    mirror without them answers (a Nexus Go proxy and the checksum database).

    A key the stack cannot serve (no backend of its kind, an IP address, a path nginx cannot match) is
    left out rather than refused: a misconfigured customer value must reach the build, and fail there,
    as it would against a real mirror. `backends`: kind -> its mirror (servers.mirrors.BACKENDS).
    """
    table = load_table()
    routes, unrouted = [], {}
    mirrors_at: dict[tuple[str, int], list[Endpoint]] = {}
    for e in endpoints:
        if e.family == "oci-mirror":
            mirrors_at.setdefault((e.host.lower(), e.port), []).append(e)
    for endpoint in endpoints:
        entry = table.get((endpoint.family, endpoint.target)) or table.get((endpoint.family, "*"))
        if endpoint.family == "image-override":
            # On a mirror's host, an override inside the mirror's namespace is the mirror's to serve; another
            # repository there (a second Harbor project, say) is the customer's own registry.
            same_host = mirrors_at.get((endpoint.host.lower(), endpoint.port), [])
            owner = next((m for m in same_host if endpoint.path.startswith(m.path)), None)
            if owner:
                unrouted[endpoint.key] = f"served by the {owner.key} mirror"
                continue
        if endpoint.pinned:
            unrouted[endpoint.key] = "pinned by digest: only the customer's registry holds content with that digest"
            continue
        if entry is None or entry["kind"] not in backends:
            unrouted[endpoint.key] = f"no mirror backend for {endpoint.family} {endpoint.target} in this run"
            continue
        if not _SAFE_PATH.match(endpoint.path):
            unrouted[endpoint.key] = f"path {endpoint.path!r} has characters the gateway cannot match"
            continue
        if re.fullmatch(r"[0-9.]+", endpoint.host):
            unrouted[endpoint.key] = f"{endpoint.host} is an IP address; the stack routes host names only"
            continue
        users: tuple[tuple[str, str], ...] = ()
        token = None
        if enforce_auth:
            # The endpoint names credential keys only when both are in effect (ProxyConfig.credentials);
            # here only their values are checked to have been handed over.
            user, password = _value(values, endpoint.username_key), _value(values, endpoint.password_key)
            if endpoint.username_key and not (user and password):
                missing = endpoint.password_key if user else endpoint.username_key
                raise UserError(f"{endpoint.key}: the value of {missing} was not handed to the gateway")
            users = ((user, password),) if endpoint.username_key else ()
            token = _value(values, endpoint.token_key)
        locations = _locations(entry, endpoint.path, backends)
        locations += tuple(Location(locations[0].path + below, NOT_PROXIED, "")
                           for below in (not_proxied or {}).get(endpoint.key, ()))
        routes.append(Route(key=endpoint.key, scheme=endpoint.scheme, host=endpoint.host.lower(), port=endpoint.port,
                            prefix=endpoint.path, protocol=entry["protocol"],
                            locations=locations,
                            rewrite_urls=entry.get("rewrite_urls", False), users=users, token=token))
    unique, shadowed = _unique(routes)
    return unique, unrouted | shadowed


def _unique(routes: list[Route]) -> tuple[list[Route], dict[str, str]]:
    """One route per URL: a later key naming the same URL (a strategy key equal to its global key, or
    Maven and Gradle sharing one repository) is served by the first; it is returned when it would have
    needed another mirror or other credentials there. Two schemes on one port cannot both be served."""
    schemes: dict[int, tuple[str, str]] = {}
    places: dict[tuple[str, int, str], Route] = {}
    shadowed = {}
    for route in routes:
        if schemes.setdefault(route.port, (route.scheme, route.key))[0] != route.scheme:
            other = schemes[route.port][1]
            raise UserError(f"{route.key} and {other} use port {route.port} with different schemes")
        first = places.setdefault((route.host, route.port, route.locations[0].path), route)
        if (first.locations, first.users, first.token) != (route.locations, route.users, route.token):
            shadowed[route.key] = f"same URL as {first.key}, which serves it"
    return list(places.values()), shadowed


def mirror_hosts(routes: list[Route]) -> list[str]:
    return sorted({route.host for route in routes})


def _ssha(password: str) -> str:
    """RFC 2307 {SSHA}: nginx verifies it, and the plain password never sits in the file."""
    salt = os.urandom(8)
    return "{SSHA}" + base64.b64encode(hashlib.sha1(password.encode() + salt).digest() + salt).decode()


def _quote(text: str) -> str:
    """An nginx string literal; `$` cannot be escaped in nginx, so such values are refused by the caller."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _auth_lines(users_file: str | None, token_check: str | None = None) -> list[str]:
    lines = []
    if users_file:
        lines += ['auth_basic "airgap mirror";', f"auth_basic_user_file {users_file};"]
    if token_check:
        lines.append(f"if ({token_check} = 0) {{ return 401; }}")
    return lines


def _rest_map(path: str, maps: dict[str, str]) -> str:
    """A variable holding the raw (still percent-encoded) request URI after `path`: npm's `@scope%2fname`
    must reach the backend as sent, which nginx's decoded $uri and `rewrite` would not keep."""
    variable = f"$airgap_rest_{len(maps)}"
    maps.setdefault(path, f'    map $request_uri {variable} {{ "~^{re.escape(path)}(.*)$" $1; default ""; }}')
    return maps[path].split()[2]


def _location(location: Location, route: Route, auth: list[str], maps: dict[str, str]) -> str:
    if location.service == NOT_PROXIED:  # logged as the route's request, answered as a mirror without it
        return _block(f"location ^~ {location.path}",
                      [f"set $airgap_route {_quote(route.key)};", 'set $airgap_backend "-";', "return 404;"])
    backend_path = "/" + location.upstream.split("/", 3)[3]
    lines = [
        f"set $airgap_route {_quote(route.key)};",
        f"set $airgap_backend {location.service};",
        *auth,
        f"proxy_pass {location.upstream}{_rest_map(location.path, maps)};",
        "proxy_set_header Host $http_host;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_set_header X-Forwarded-Host $http_host;",
        f"proxy_set_header X-Forwarded-Prefix {_quote(route.prefix.rstrip('/'))};",
        'proxy_set_header Authorization "";',  # the mirror's credentials stop here
    ]
    if route.rewrite_urls and backend_path != location.path:
        lines += [
            'proxy_set_header Accept-Encoding "";',
            "sub_filter_types application/json application/vnd.npm.install-v1+json;",
            "sub_filter_once off;",
            f'sub_filter "://$http_host{backend_path}" "://$http_host{location.path}";',
        ]
    return _block(f"location ^~ {location.path}", lines)


def _block(head: str, lines: list[str], indent: str = "        ") -> str:
    body = "".join(f"{indent}    {line}\n" for line in lines)
    return f"{indent}{head} {{\n{body}{indent}}}"


def _registry_ping(auth: list[str]) -> str:
    """/v2/ on a host whose registries live under path prefixes: the gateway answers the version check."""
    # A file, not `return 200`: `return` answers in the rewrite phase, before auth_basic is checked.
    lines = ['set $airgap_route "oci-ping";', 'set $airgap_backend "-";', *auth,
             "add_header Docker-Distribution-Api-Version registry/2.0 always;",
             "default_type application/json;", f"root {CONF_DIR};", f"try_files /{PING_FILE} =404;"]
    return _block("location = /v2/", lines)


def _server(host: str, port: int, scheme: str, on_host: list[tuple[int, Route]], files: dict[str, bytes],
            maps: dict[str, str]) -> str:
    """One server block: a location per route path, the registry ping, and 404 for everything else."""
    blocks, oci_users = [], {}
    for index, route in on_host:
        users_file = None
        if route.users:
            users_file = f"{CONF_DIR}/users-{index}"
            files[users_file] = "".join(f"{u}:{_ssha(p)}\n" for u, p in route.users).encode()
        if route.protocol == "oci":
            oci_users.update(route.users)
        auth = _auth_lines(users_file, f"$airgap_token_{index}" if route.token else None)
        blocks += [_location(location, route, auth, maps) for location in route.locations]
    paths = {location.path for _, route in on_host for location in route.locations}
    if any(route.protocol == "oci" for _, route in on_host) and "/v2/" not in paths:
        ping_auth = []
        if oci_users:
            ping_file = f"{CONF_DIR}/users-ping-{host}-{port}"
            files[ping_file] = "".join(f"{u}:{_ssha(p)}\n" for u, p in oci_users.items()).encode()
            ping_auth = _auth_lines(ping_file)
        blocks.append(_registry_ping(ping_auth))
    if "/" not in paths:
        blocks.append(_block("location /", ["return 404;"]))
    ssl = " ssl" if scheme == "https" else ""
    head = [f"listen {port}{ssl};", f"server_name {host};", 'set $airgap_route "-";', 'set $airgap_backend "-";']
    return "    server {\n" + "".join(f"        {line}\n" for line in head) + "\n".join(blocks) + "\n    }"


LOG_FORMAT = (
    '{"ts":$msec,"time":"$time_iso8601","client":"$remote_addr","host":"$host","port":$server_port,'
    '"method":"$request_method","path":"$request_uri","status":$status,"auth":"$airgap_auth",'
    '"user":"$remote_user","route":"$airgap_route","backend":"$airgap_backend","bytes":$body_bytes_sent}'
)


def render(routes: list[Route], cert: CertPair) -> dict[str, bytes]:
    """Every file of the gateway container: nginx.conf, the TLS pair and one user file per protected route."""
    files: dict[str, bytes] = {f"{CONF_DIR}/tls.crt": cert.cert_pem, f"{CONF_DIR}/tls.key": cert.key_pem,
                               f"{CONF_DIR}/{PING_FILE}": b"{}"}
    token_maps, rest_maps, servers = [], {}, []
    for index, route in enumerate(routes):
        if route.token:
            if "$" in route.token:
                raise UserError(f"{route.key}: the token holds '$', which the mirror gateway cannot match")
            token_maps.append(f"    map $http_authorization $airgap_token_{index} {{ "
                              f"{_quote('Bearer ' + route.token)} 1; default 0; }}")
    ports = sorted({(route.port, route.scheme) for route in routes}) or [(443, "https")]
    for port, scheme in ports:
        ssl = " ssl" if scheme == "https" else ""
        servers.append(f"    server {{\n        listen {port}{ssl} default_server;\n        server_name _;\n"
                       '        set $airgap_route "-";\n        set $airgap_backend "-";\n        return 404;\n    }')
    for host, port, scheme in sorted({(route.host, route.port, route.scheme) for route in routes}):
        on_host = [(i, r) for i, r in enumerate(routes) if (r.host, r.port) == (host, port)]
        servers.append(_server(host, port, scheme, on_host, files, rest_maps))
    conf = "\n".join([
        "worker_processes 1;",
        "pid /run/nginx.pid;",
        "error_log /dev/stderr warn;",
        "events { worker_connections 512; }",
        "http {",
        f"    log_format airgap escape=json '{LOG_FORMAT}';",
        f"    access_log {LOG_FILE} airgap;",
        '    map $http_authorization $airgap_auth { default "none"; "~*^basic " "basic"; "~*^bearer " "bearer";'
        ' "~." "other"; }',
        *token_maps,
        *rest_maps.values(),
        f"    resolver {DOCKER_DNS} valid=10s ipv6=off;",
        "    client_max_body_size 0;",
        "    proxy_http_version 1.1;",
        "    proxy_read_timeout 300s;",
        f"    ssl_certificate {CONF_DIR}/tls.crt;",
        f"    ssl_certificate_key {CONF_DIR}/tls.key;",
        *servers,
        "}",
        "",
    ])
    files["/etc/nginx/nginx.conf"] = conf.encode()
    return files


def spec(routes: list[Route], cert: CertPair) -> ServiceSpec:
    files = render(routes, cert)
    files[LOG_FILE] = b""
    return ServiceSpec(
        name=NAME, image=IMAGE, command=["nginx", "-g", "daemon off;"], files=files, port=443,
        ready=["test", "-e", "/run/nginx.pid"], networks=("build", "internet"), request_log=LOG_FILE,
    )
