"""The simulated internet: public sources under their real names, over TLS from the run CA.

One `sim-edge` nginx terminates TLS for every public name (its network aliases), serves the static layouts
itself (the npm registry's too: its documents and tarballs are files, as registry.npmjs.org serves them from a
CDN, with no server of its own to start) and routes by Host to two real servers: `sim-registry` (registry:2 with
every fixture image written into its storage, read-only, and the images of the run's platform profile the
fixtures lack) and `sim-pypi` (devpi with the fixture distributions uploaded at start into index root/fixtures).

Its names are derived, never listed here: the catalog's registries (their endpoints, but the token service and
NOT_SERVED), each package manager's hosts from its slice (harness/stack/managers/<manager>.yaml `internet:`,
which also says how each is served) and the strategies' single downloads that no key redirects (the catalog's
unredirectable hosts no slice owns; their files are in fixtures/content/static.yaml), and the hosts outside the
contract that the leak scenarios' projects fetch from (fixtures/content/leaks.yaml). tests/test_managers.py
checks that every public destination of the catalog is served, or listed in NOT_SERVED with the reason.
"""

import hashlib

from harness.contract.catalog import Catalog
from harness.infra.errors import UserError
from harness.stack import slices
from harness.stack.content import Content, leak_hosts, oci
from harness.stack.pki import RunCA
from harness.stack.servers.common import CA_PATH, DEVPI_FAST_SECRET, listening, nginx_command, nginx_conf, under
from harness.stack.spec import ServiceSpec

TOKEN_HOST = "auth.docker.io"  # Docker Hub's token service: the edge answers /token itself
# Public destinations of the catalog the simulated internet does not serve, and why.
NOT_SERVED = {
    "production.cloudflare.docker.com": "Docker Hub's blob CDN: the simulated registry serves every blob itself "
                                        "and never redirects a client there",
}
COMPACT_INDEX_FILES = {"versions", "info", "names"}  # Bundler's compact index: first path segment

EDGE, REGISTRY, PYPI = "sim-edge", "sim-registry", "sim-pypi"
PYPI_INDEX = "root/fixtures"
STATIC_ROOT = "/srv/sim"
EDGE_LOG = "/var/log/airgap/sim-edge.jsonl"
EDGE_CONF = "/etc/airgap/sim-edge.conf"
TLS = "ssl_certificate /etc/airgap/tls/edge.crt; ssl_certificate_key /etc/airgap/tls/edge.key;"
FORWARD = ("proxy_http_version 1.1; proxy_set_header Host $host; proxy_set_header X-Forwarded-Proto https;"
           " proxy_set_header X-Forwarded-Host $host; proxy_buffering off;")
DOCKER_CHALLENGE = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"'
DOCKER_TOKEN = ('{"token":"airgap-anonymous","access_token":"airgap-anonymous","expires_in":3600,'
                '"issued_at":"2024-01-01T00:00:00Z"}')


def _sites(server: str) -> list[slices.Site]:
    return [site for piece in slices.load() for site in piece.sites if site.server == server]


def _compact_index_etags(content: Content) -> str:
    """Bundler accepts a compact-index file only if its ETag is empty or the MD5 of the body, as rubygems.org
    sends it (nginx's own ETag is mtime-size): an nginx map from URL path to that ETag (slice: compact_index)."""
    prefixes = tuple(f"{site.host}/" for site in _sites("static") if site.compact_index)
    if not prefixes:
        return ""
    lines = "".join(f'    {path[len(path.split("/", 1)[0]):]} \'"{hashlib.md5(data).hexdigest()}"\';\n'
                    for path, data in sorted(content.static.items())
                    if path.startswith(prefixes) and path.split("/")[1] in COMPACT_INDEX_FILES)
    return f"  map $uri $compact_index_etag {{\n{lines}  }}\n"


def _outside(content: Content | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Hosts outside the contract: those of fixtures/content/leaks.yaml, or those `content` serves (with a
    customer project's stand-ins)."""
    return content.outside if content is not None else leak_hosts()


def oci_hosts(catalog: Catalog, content: Content | None = None) -> tuple[str, ...]:
    """The registry hosts the edge serves: every registry endpoint of the catalog (its platform registry's host
    is a setting) but the token service and NOT_SERVED."""
    hosts = [host for registry in catalog.registries.values() for host in registry.endpoints
             if host != TOKEN_HOST and host not in NOT_SERVED]
    return tuple(dict.fromkeys(hosts + list(_outside(content)[1])))  # and the leak scenarios' unmirrored registries


def download_hosts(catalog: Catalog) -> tuple[str, ...]:
    """Hosts of the strategies' single downloads no key redirects (catalog: unredirectable) that no slice owns."""
    owned = {host for piece in slices.load() for host in piece.hosts}
    hosts = [d.host for strategy in catalog.strategies.values() for d in strategy.unredirectable
             if d.host not in owned and d.host not in NOT_SERVED]
    return tuple(dict.fromkeys(hosts))


def leak_download_hosts(catalog: Catalog, content: Content | None = None) -> tuple[str, ...]:
    """Hosts outside the contract that the leak scenarios' projects fetch files from (fixtures/content/leaks.yaml),
    but those the catalog's names already serve."""
    served = set(oci_hosts(catalog, content)) | {TOKEN_HOST} | {h for piece in slices.load() for h in piece.hosts}
    return tuple(host for host in _outside(content)[0] if host not in served and host not in download_hosts(catalog))


def static_hosts(catalog: Catalog, content: Content | None = None) -> tuple[str, ...]:
    """The names whose files the edge serves itself (from /srv/sim/<host>/)."""
    return tuple(site.host for site in _sites("static")) + download_hosts(catalog) + leak_download_hosts(catalog, content)


def public_names(catalog: Catalog, content: Content | None = None) -> tuple[str, ...]:
    """Every name of the simulated internet: registries, the token service, the managers' hosts, downloads, and
    the hosts outside the contract that the leak scenarios fetch from."""
    managers = tuple(host for piece in slices.load() for host in piece.hosts)
    return (oci_hosts(catalog, content) + (TOKEN_HOST,) + managers + download_hosts(catalog)
            + leak_download_hosts(catalog, content))


def _manager_servers() -> str:
    """The edge's server blocks for the package managers' hosts that a real server answers (slice: server)."""
    blocks = ""
    for piece in slices.load():
        files_hosts = [site.host for site in piece.sites if site.server == "devpi-files"]
        for site in piece.sites:
            if site.server == "devpi":
                if len(files_hosts) != 1:
                    raise UserError(f"{piece.file}: internet: {site.host} (server devpi) needs one devpi-files host of "
                                    "the same slice for the files its pages link")
                blocks += f"""
  server {{
    listen 443 ssl; server_name {site.host}; {TLS}
    # devpi's simple pages link files relatively (../../+f/...); PyPI links them on {files_hosts[0]}.
    location /simple/ {{
      set $backend http://{PYPI}:3141;
      rewrite ^/simple/(.*)$ /{PYPI_INDEX}/+simple/$1 break;
      proxy_pass $backend; {FORWARD}
      proxy_set_header Accept-Encoding "";
      sub_filter_types *; sub_filter_once off;
      sub_filter '../../+f/' 'https://{files_hosts[0]}/packages/';
    }}
    location / {{ return 404; }}
  }}"""
            elif site.server == "devpi-files":
                blocks += f"""
  server {{
    listen 443 ssl; server_name {site.host}; {TLS}
    location /packages/ {{
      set $backend http://{PYPI}:3141;
      rewrite ^/packages/(.*)$ /{PYPI_INDEX}/+f/$1 break;
      proxy_pass $backend; {FORWARD}
    }}
    location / {{ return 404; }}
  }}"""
    return blocks


def _edge_body(content: Content, catalog: Catalog) -> str:
    port = catalog.registries["choreo"].prefixes[0].partition(":")[2]
    extra_listen = f" listen {port} ssl;" if port and port != "443" else ""
    same_site = "".join(f"    {site.host} {site.same_as};\n" for site in _sites("static") if site.same_as)
    compact_index = ("\n    location ~ ^/(versions|names|info/) { etag off; add_header ETag $compact_index_etag; "
                     "try_files $uri =404; }" if any(site.compact_index for site in _sites("static")) else "")
    return _compact_index_etags(content) + f"""
  # Docker's embedded DNS, resolved per request: the edge may start before the servers it routes to.
  resolver 127.0.0.11 valid=10s ipv6=off;
  map $host $site {{
{same_site}    default $host;
  }}
  server {{
    listen 443 ssl default_server; {TLS}
    return 404;
  }}
  server {{
    listen 443 ssl;{extra_listen} server_name {' '.join(oci_hosts(catalog, content))}; {TLS}
    location /v2/ {{
      # Docker Hub's token flow: no bearer token -> 401 naming auth.docker.io, whose /token hands one out.
      set $challenge "";
      if ($http_authorization !~ "^Bearer ") {{ set $challenge "$host"; }}
      if ($challenge ~ "^(registry-1|index)\\.docker\\.io$") {{
        add_header WWW-Authenticate '{DOCKER_CHALLENGE}' always;
        return 401 '{{"errors":[{{"code":"UNAUTHORIZED","message":"authentication required"}}]}}';
      }}
      set $backend http://{REGISTRY}:5000; proxy_pass $backend; {FORWARD}
    }}
    location / {{ return 404; }}
  }}
  server {{
    listen 443 ssl; server_name {TOKEN_HOST}; {TLS}
    location /token {{ default_type application/json; return 200 '{DOCKER_TOKEN}'; }}
  }}{_manager_servers()}
  server {{
    listen 443 ssl; server_name {' '.join(static_hosts(catalog, content))}; {TLS}
    root {STATIC_ROOT}/$site;
    # a directory's index.html answers for it (a PEP 503 project page: /whl/cpu/<project>/), or its index.json
    # (an npm registry's document of /<name>, whose tarballs are under /<name>/-/); none: 404, not 403
    location / {{ try_files $uri $uri/index.html $uri/index.json =404; }}{compact_index}
  }}
"""


def edge(ca: RunCA, content: Content, catalog: Catalog) -> ServiceSpec:
    names = public_names(catalog, content)
    pair = ca.issue(list(names))
    files = {EDGE_CONF: nginx_conf(_edge_body(content, catalog), EDGE_LOG), "/etc/airgap/tls/edge.crt": pair.cert_pem,
             "/etc/airgap/tls/edge.key": pair.key_pem, CA_PATH: ca.ca_pem, "/var/log/airgap/.keep": b""}
    files |= under(STATIC_ROOT, content.static)
    return ServiceSpec(name=EDGE, image="nginx", command=nginx_command(EDGE_CONF), files=files, port=443,
                       ready=["test", "-s", "/run/nginx.pid"], aliases=names, request_log=EDGE_LOG)


REGISTRY_CONFIG = """version: 0.1
log: {level: info, formatter: json}
storage:
  filesystem: {rootdirectory: /var/lib/registry}
  maintenance: {readonly: {enabled: true}}
http: {addr: ":5000"}
"""


def profile_images(content: Content, catalog: Catalog) -> list[oci.ImageRef]:
    """The catalog's default images (and their golden copies, for the image-override scenarios) that the fixture
    content does not hold: a --profile other than the default names its own versions, and the simulated
    internet serves them too. Empty for the default profile (tests/test_profile.py)."""
    held = {ref.reference for ref in content.images}
    refs: dict[str, oci.ImageRef] = {}
    for strategy in catalog.strategies.values():
        for image in strategy.images.values():
            names = [image.default] + (oci.golden_references(image.default) if image.override else [])
            for name in names:
                if name not in held and "@" not in name:
                    refs[name] = oci.parse_ref(name, {})
    return list(refs.values())


def registry(content: Content, catalog: Catalog | None = None) -> ServiceSpec:
    storage = content.registry | (oci.registry_storage(profile_images(content, catalog)) if catalog else {})
    files = {"/etc/airgap/registry.yml": REGISTRY_CONFIG.encode()} | under("/var/lib/registry", storage)
    return ServiceSpec(name=REGISTRY, image="registry", command=["registry", "serve", "/etc/airgap/registry.yml"],
                       files=files, port=5000, ready=listening(5000))


DEVPI_UPLOAD = r"""
# Create the index named in argv[1] and upload every file of /srv/python-dists through devpi's HTTP API:
# one short Python process instead of four devpi-client runs (each a second of imports on a busy machine).
import base64, json, os, sys, time, urllib.request, uuid

BASE, INDEX, DISTS = "http://127.0.0.1:3141", sys.argv[1], "/srv/python-dists"


def call(method, path, body=b"", headers=None):
    request = urllib.request.Request(BASE + path, data=body or None, method=method, headers=headers or {})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read() or b"null")


def part(boundary, name, value, filename=None):
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"


for _ in range(600):
    try:
        call("GET", "/+api", headers={"Accept": "application/json"})
        break
    except OSError:
        time.sleep(0.1)
login = json.dumps({"user": "root", "password": ""}).encode()
json_headers = {"Content-Type": "application/json", "Accept": "application/json"}
token = call("POST", "/+login", login, json_headers)["result"]["password"]
auth = {"X-Devpi-Auth": base64.b64encode(f"root:{token}".encode()).decode(), "Accept": "application/json"}
call("PUT", f"/{INDEX}", json.dumps({"bases": [], "volatile": False}).encode(), auth | json_headers)
for filename in sorted(os.listdir(DISTS)):
    name, version = filename.removesuffix(".tar.gz").removesuffix(".whl").split("-")[:2]
    boundary = uuid.uuid4().hex
    with open(os.path.join(DISTS, filename), "rb") as dist:
        body = b"".join([part(boundary, ":action", b"file_upload"), part(boundary, "name", name.encode()),
                         part(boundary, "version", version.encode()),
                         part(boundary, "content", dist.read(), filename), f"--{boundary}--\r\n".encode()])
    call("POST", f"/{INDEX}/", body, auth | {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    print("uploaded", filename, flush=True)
"""

DEVPI_SIM_START = f"""#!/bin/sh
# Start devpi, create {PYPI_INDEX} and upload the fixture distributions; /tmp/ready marks the end.
set -e
dir=/devpi/server
sh /opt/devpi/serverdir.sh $dir no-root-pypi
devpi-server --serverdir $dir --host 0.0.0.0 --port 3141 {DEVPI_FAST_SECRET} &
server=$!
/opt/devpi/venv/bin/python /etc/airgap/devpi-upload.py {PYPI_INDEX}
touch /tmp/ready
wait $server
"""


def pypi(content: Content) -> ServiceSpec:
    files = {"/etc/airgap/devpi-sim.sh": DEVPI_SIM_START.encode(), "/etc/airgap/devpi-upload.py": DEVPI_UPLOAD.encode()}
    files |= under("/srv/python-dists", content.python)
    return ServiceSpec(name=PYPI, image="devpi", command=["sh", "/etc/airgap/devpi-sim.sh"], files=files,
                       port=3141, ready=["test", "-f", "/tmp/ready"])


def specs(ca: RunCA, content: Content, catalog: Catalog) -> list[ServiceSpec]:
    """Every container of the simulated internet, backends before the edge that routes to them: sim-pypi
    when a slice's host is served by it (slice: server devpi)."""
    servers = [registry(content, catalog)]
    if _sites("devpi"):
        servers.append(pypi(content))
    return servers + [edge(ca, content, catalog)]
