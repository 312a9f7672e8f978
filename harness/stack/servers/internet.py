"""The simulated internet: public sources under their real names, over TLS from the run CA.

One `sim-edge` nginx terminates TLS for every public name (its network aliases), serves the static layouts
itself and routes by Host to three real servers: `sim-registry` (registry:2 with every fixture image written
into its storage, read-only), `sim-npm` (verdaccio with the fixture packages in its storage, no uplink) and
`sim-pypi` (devpi with the fixture distributions uploaded at start into index root/fixtures).
"""

import hashlib

from harness.stack.content import Content
from harness.stack.pki import RunCA
from harness.stack.servers.common import CA_PATH, DEVPI_FAST_SECRET, listening, nginx_command, nginx_conf, under
from harness.stack.spec import ServiceSpec

DOCKER_HUB_HOSTS = ("registry-1.docker.io", "index.docker.io")
BUILDPACKS_HOSTS = ("gcr.io", "us-docker.pkg.dev")
STATIC_HOSTS = ("repo.maven.apache.org", "plugins.gradle.org", "services.gradle.org", "proxy.golang.org",
                "sum.golang.org", "rubygems.org", "index.rubygems.org", "repo.packagist.org", "api.nuget.org",
                "api.central.ballerina.io", "fileserver.central.ballerina.io", "dist.ballerina.io",
                "release-assets.githubusercontent.com")
OTHER_NAMES = ("auth.docker.io", "registry.npmjs.org", "pypi.org", "files.pythonhosted.org")
# hosts that serve another host's files (index.rubygems.org is the compact-index name of rubygems.org)
SAME_SITE = {"index.rubygems.org": "rubygems.org"}

EDGE, REGISTRY, NPM, PYPI = "sim-edge", "sim-registry", "sim-npm", "sim-pypi"
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


def _compact_index_etags(content: Content) -> str:
    """Bundler accepts a compact-index file only if its ETag is empty or the MD5 of the body, as rubygems.org
    sends it (nginx's own ETag is mtime-size): an nginx map from URL path to that ETag."""
    prefix = "rubygems.org/"
    lines = "".join(f'    {path[len(prefix) - 1:]} \'"{hashlib.md5(data).hexdigest()}"\';\n'
                    for path, data in sorted(content.static.items())
                    if path.startswith(prefix) and path.split("/")[1] in {"versions", "info", "names"})
    return f"  map $uri $compact_index_etag {{\n{lines}  }}\n"


def oci_hosts(platform: str) -> tuple[str, ...]:
    """The registry hosts the edge serves; `platform` is the catalog's platform registry (host[:port], a setting)."""
    return DOCKER_HUB_HOSTS + (platform.partition(":")[0],) + BUILDPACKS_HOSTS


def public_names(platform: str) -> tuple[str, ...]:
    return oci_hosts(platform) + OTHER_NAMES + STATIC_HOSTS


def _edge_body(content: Content, platform: str) -> str:
    port = platform.partition(":")[2]
    extra_listen = f" listen {port} ssl;" if port and port != "443" else ""
    same_site = "".join(f"    {alias} {site};\n" for alias, site in SAME_SITE.items())
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
    listen 443 ssl;{extra_listen} server_name {' '.join(oci_hosts(platform))}; {TLS}
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
    listen 443 ssl; server_name auth.docker.io; {TLS}
    location /token {{ default_type application/json; return 200 '{DOCKER_TOKEN}'; }}
  }}
  server {{
    listen 443 ssl; server_name registry.npmjs.org; {TLS}
    location / {{ set $backend http://{NPM}:4873; proxy_pass $backend; {FORWARD} }}
  }}
  server {{
    listen 443 ssl; server_name pypi.org; {TLS}
    # devpi's simple pages link files relatively (../../+f/...); PyPI links them on files.pythonhosted.org.
    location /simple/ {{
      set $backend http://{PYPI}:3141;
      rewrite ^/simple/(.*)$ /{PYPI_INDEX}/+simple/$1 break;
      proxy_pass $backend; {FORWARD}
      proxy_set_header Accept-Encoding "";
      sub_filter_types *; sub_filter_once off;
      sub_filter '../../+f/' 'https://files.pythonhosted.org/packages/';
    }}
    location / {{ return 404; }}
  }}
  server {{
    listen 443 ssl; server_name files.pythonhosted.org; {TLS}
    location /packages/ {{
      set $backend http://{PYPI}:3141;
      rewrite ^/packages/(.*)$ /{PYPI_INDEX}/+f/$1 break;
      proxy_pass $backend; {FORWARD}
    }}
    location / {{ return 404; }}
  }}
  server {{
    listen 443 ssl; server_name {' '.join(STATIC_HOSTS)}; {TLS}
    root {STATIC_ROOT}/$site;
    location / {{ try_files $uri =404; }}
    location ~ ^/(versions|names|info/) {{ etag off; add_header ETag $compact_index_etag; try_files $uri =404; }}
  }}
"""


def edge(ca: RunCA, content: Content, platform: str) -> ServiceSpec:
    names = public_names(platform)
    pair = ca.issue(list(names))
    files = {EDGE_CONF: nginx_conf(_edge_body(content, platform), EDGE_LOG), "/etc/airgap/tls/edge.crt": pair.cert_pem,
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


def registry(content: Content) -> ServiceSpec:
    files = {"/etc/airgap/registry.yml": REGISTRY_CONFIG.encode()} | under("/var/lib/registry", content.registry)
    return ServiceSpec(name=REGISTRY, image="registry", command=["registry", "serve", "/etc/airgap/registry.yml"],
                       files=files, port=5000, ready=listening(5000))


VERDACCIO_SIM_CONFIG = """storage: /verdaccio/storage
auth:
  htpasswd: {file: /verdaccio/htpasswd, max_users: -1}
uplinks: {}
packages:
  '@*/*': {access: $all, publish: $authenticated}
  '**': {access: $all, publish: $authenticated}
web: {enable: false}
log: {type: stdout, format: json, level: http}
"""


def npm(content: Content) -> ServiceSpec:
    files = {"/verdaccio/conf/config.yaml": VERDACCIO_SIM_CONFIG.encode()} | under("/verdaccio/storage", content.verdaccio)
    return ServiceSpec(name=NPM, image="verdaccio", files=files, port=4873, ready=listening(4873))


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
[ -f $dir/.serverversion ] || devpi-init --serverdir $dir --no-root-pypi >/dev/null
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


def specs(ca: RunCA, content: Content, platform: str) -> list[ServiceSpec]:
    """Every container of the simulated internet, backends before the edge that routes to them."""
    return [registry(content), npm(content), pypi(content), edge(ca, content, platform)]
