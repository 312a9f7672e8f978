"""Mirror backends in proxy mode toward the simulated internet, the way customers run Nexus/Harbor/Artifactory.

They listen plain HTTP inside the run and trust the run CA for their upstream TLS. The topology's gateway
terminates TLS for the customer's mirror names, checks credentials, logs, strips the customer's path prefix
and forwards to the backend path listed in BACKENDS (kind -> service, port, path). Gateway contract:

- OCI (`oci-*`): registry:2 with `proxy.remoteurl`. It serves the Registry API at `/v2/`: a reference
  `harbor.acme.internal:8443/hub/library/node:18` arrives as `/v2/hub/library/node/...`; the gateway strips the
  customer's prefix (`hub/`) after `/v2/` and forwards `/v2/library/node/...`. `oci-buildpacks` covers two
  upstreams, so its gateway route picks by repository: `/v2/gae-runtimes/...` goes to the us-docker.pkg.dev
  mirror, everything else to the gcr.io one.
- npm: verdaccio serves at `/` (`/<name>`, `/@scope%2fname`, `/<name>/-/<file>.tgz`). It writes tarball URLs
  from X-Forwarded-Proto and Host but knows no per-request path prefix, so the gateway rewrites
  `<scheme>://<host>/` in its JSON to the customer's URL (mirror_backends.yaml: rewrite_urls).
- pypi: devpi's mirror index `root/pypi` of https://pypi.org/simple/: `<prefix>/simple/...` goes to
  `/root/pypi/+simple/...` and every other `<prefix>/...` (file links `../../+f/...`) to `/root/pypi/...`.
- files (Maven, Gradle plugins, Go incl. its checksum database under /go/sumdb/sum.golang.org/, RubyGems,
  Composer, NuGet): one caching nginx, one path per kind (see FILE_MIRRORS). Where upstream documents carry
  absolute URLs (Composer dists and metadata-url, the NuGet service index), the mirror rewrites them to
  `X-Forwarded-Proto://X-Forwarded-Host X-Forwarded-Prefix`, so the gateway must send those three headers
  (Prefix = the customer's path prefix without its trailing slash). The NuGet service index is served at
  `/nuget/index.json` (upstream /v3/index.json), as Nexus serves `<prefix>/index.json`.
"""

from dataclasses import dataclass

from harness.stack.pki import RunCA
from harness.stack.servers.common import CA_PATH, DEVPI_FAST_SECRET, TRUST_RUN_CA, listening, nginx_command, nginx_conf
from harness.stack.spec import ServiceSpec


@dataclass(frozen=True)
class Backend:
    service: str  # ServiceSpec.name (a DNS name inside the run)
    port: int
    path: str  # where the customer's prefix maps to on the backend
    upstream: str  # what it proxies, for reports


OCI_UPSTREAMS = {  # backend kind -> upstream registry host on the simulated internet
    "oci-dockerhub": "registry-1.docker.io",
    "oci-choreo": None,  # the platform registry: its host is a setting, the catalog's (--choreo-registry)
    "oci-buildpacks-gcr": "gcr.io",
    "oci-buildpacks-gar": "us-docker.pkg.dev",
}
# kind -> (path on mirror-files, upstream host, upstream path prefix, rewrites of upstream text: (from, to)
# with $outside = the URL of this kind's mirror as the client sees it)
FILE_MIRRORS = {
    "maven": ("/maven/", "repo.maven.apache.org", "/maven2/", ()),
    "gradle": ("/gradle-plugins/", "plugins.gradle.org", "/m2/", ()),
    "go": ("/go/", "proxy.golang.org", "/", ()),
    "rubygems": ("/rubygems/", "rubygems.org", "/", ()),
    "composer": ("/composer/", "repo.packagist.org", "/",
                 (("https://repo.packagist.org", "$outside"), ('"/p2/', '"$outside/p2/'))),
    "nuget": ("/nuget/", "api.nuget.org", "/", (("https://api.nuget.org", "$outside"),)),
}
FILES = "mirror-files"
FILES_LOG = "/var/log/airgap/mirror-files.jsonl"
FILES_CONF = "/etc/airgap/mirror-files.conf"

BACKENDS: dict[str, Backend] = {
    kind: Backend(f"mirror-{kind}", 5000, "/v2/", f"https://{host}" if host else "the platform registry")
    for kind, host in OCI_UPSTREAMS.items()
} | {
    "npm": Backend("mirror-npm", 4873, "/", "https://registry.npmjs.org/"),
    "pypi": Backend("mirror-pypi", 3141, "/root/pypi/", "https://pypi.org/simple/"),
} | {
    kind: Backend(FILES, 80, path, f"https://{host}{prefix}") for kind, (path, host, prefix, _) in FILE_MIRRORS.items()
} | {
    "golden": Backend("mirror-golden", 5000, "/v2/", "the customer's own registry (image overrides)"),
}
GOLDEN_STORAGE = "/var/lib/registry"  # filled by the stack with the overriding references of each proxy-config
# nuget: the customer's URL names the service index (<prefix>/index.json); the mirror serves it there too.


def _registry_config(upstream: str | None) -> bytes:
    proxy = f'proxy: {{remoteurl: "https://{upstream}"}}\n' if upstream else ""
    return f"""version: 0.1
log: {{level: info, formatter: json}}
storage:
  filesystem: {{rootdirectory: /var/lib/registry}}
  delete: {{enabled: true}}
http: {{addr: ":5000"}}
{proxy}""".encode()


def oci(kind: str, ca: RunCA, platform: str) -> ServiceSpec:
    files = {"/etc/airgap/registry.yml": _registry_config(OCI_UPSTREAMS[kind] or platform), CA_PATH: ca.ca_pem}
    return ServiceSpec(name=BACKENDS[kind].service, image="registry",
                       command=["registry", "serve", "/etc/airgap/registry.yml"], files=files, env=TRUST_RUN_CA,
                       port=5000, ready=listening(5000))


def golden() -> ServiceSpec:
    """A customer's own registry for image overrides on hosts no mirror uses: plain registry:2, no upstream."""
    files = {"/etc/airgap/registry.yml": _registry_config(None), f"{GOLDEN_STORAGE}/.keep": b""}
    return ServiceSpec(name=BACKENDS["golden"].service, image="registry",
                       command=["registry", "serve", "/etc/airgap/registry.yml"], files=files, port=5000,
                       ready=listening(5000))


VERDACCIO_MIRROR_CONFIG = """storage: /verdaccio/storage
auth:
  htpasswd: {file: /verdaccio/htpasswd, max_users: -1}
uplinks:
  npmjs: {url: "https://registry.npmjs.org/", cache: true, timeout: 30s}
packages:
  '@*/*': {access: $all, publish: $authenticated, proxy: npmjs}
  '**': {access: $all, publish: $authenticated, proxy: npmjs}
web: {enable: false}
log: {type: stdout, format: json, level: http}
"""


def npm(ca: RunCA) -> ServiceSpec:
    files = {"/verdaccio/conf/config.yaml": VERDACCIO_MIRROR_CONFIG.encode(), CA_PATH: ca.ca_pem}
    return ServiceSpec(name=BACKENDS["npm"].service, image="verdaccio", files=files, env=TRUST_RUN_CA,
                       port=4873, ready=listening(4873))


DEVPI_MIRROR_START = f"""#!/bin/sh
# devpi-init creates root/pypi, a mirror of https://pypi.org/simple/ (the simulated PyPI in a run).
set -e
dir=/devpi/server
[ -f $dir/.serverversion ] || devpi-init --serverdir $dir >/dev/null
exec devpi-server --serverdir $dir --host 0.0.0.0 --port 3141 {DEVPI_FAST_SECRET}
"""


def pypi(ca: RunCA) -> ServiceSpec:
    files = {"/etc/airgap/devpi-mirror.sh": DEVPI_MIRROR_START.encode(), CA_PATH: ca.ca_pem}
    return ServiceSpec(name=BACKENDS["pypi"].service, image="devpi", command=["sh", "/etc/airgap/devpi-mirror.sh"],
                       files=files, env=TRUST_RUN_CA, port=3141, ready=listening(3141))


def _file_location(path: str, host: str, prefix: str, rewrites: tuple[tuple[str, str], ...]) -> str:
    outside, rewrite = "", ""
    if rewrites:  # rewrite-module order matters: set $outside before the `rewrite ... break`
        outside = f"""
      set $outside "$scheme://$http_host{path.rstrip('/')}";
      if ($http_x_forwarded_prefix) {{ set $outside "$http_x_forwarded_proto://$http_x_forwarded_host$http_x_forwarded_prefix"; }}"""
        rewrite = """
      proxy_set_header Accept-Encoding "";
      sub_filter_types *; sub_filter_once off;""" + "".join(
            f"\n      sub_filter '{old}' '{new}';" for old, new in rewrites)
    index = ""
    if host == "api.nuget.org":
        index = f"\n      rewrite ^{path}index\\.json$ /v3/index.json break;"
    return f"""
    location {path} {{
      set $upstream https://{host};{outside}{index}
      rewrite ^{path}(.*)$ {prefix}$1 break;
      proxy_pass $upstream;
      proxy_set_header Host {host};
      proxy_ssl_server_name on; proxy_ssl_name {host};
      proxy_ssl_verify on; proxy_ssl_trusted_certificate {CA_PATH};
      proxy_cache files; proxy_cache_key $upstream$uri$is_args$args; proxy_cache_valid 200 1d; proxy_cache_valid any 1m;
      proxy_cache_use_stale error timeout updating;{rewrite}
    }}"""


def files_mirror(ca: RunCA) -> ServiceSpec:
    locations = "".join(_file_location(*entry) for entry in FILE_MIRRORS.values())
    body = f"""
  resolver 127.0.0.11 valid=10s ipv6=off;
  proxy_cache_path /var/cache/airgap levels=1:2 keys_zone=files:4m max_size=512m inactive=7d use_temp_path=off;
  server {{
    listen 80 default_server;
{locations}
    location / {{ return 404; }}
  }}
"""
    files = {FILES_CONF: nginx_conf(body, FILES_LOG), CA_PATH: ca.ca_pem, "/var/log/airgap/.keep": b""}
    return ServiceSpec(name=FILES, image="nginx", command=nginx_command(FILES_CONF), files=files, port=80,
                       ready=["test", "-s", "/run/nginx.pid"], request_log=FILES_LOG)


def specs(ca: RunCA, platform: str) -> list[ServiceSpec]:
    """Every mirror backend of a run; `platform`: the catalog's platform registry host[:port]."""
    return [*(oci(kind, ca, platform) for kind in OCI_UPSTREAMS), npm(ca), pypi(ca), files_mirror(ca), golden()]
