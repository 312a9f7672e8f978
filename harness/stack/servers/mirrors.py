"""Mirror backends in proxy mode toward the simulated internet, the way customers run Nexus/Harbor/Artifactory.

They listen plain HTTP inside the run and trust the run CA for their upstream TLS. The topology's gateway
terminates TLS for the customer's mirror names, checks credentials, logs, strips the customer's path prefix
and forwards to the backend path listed in BACKENDS (kind -> service, port, path). A package manager's kind is
its name, and its backend comes from its slice (harness/stack/managers/<manager>.yaml `mirror:`). Gateway contract:

- OCI (`oci-*`): registry:2 with `proxy.remoteurl`. It serves the Registry API at `/v2/`: a reference
  `harbor.acme.internal:8443/hub/library/node:18` arrives as `/v2/hub/library/node/...`; the gateway strips the
  customer's prefix (`hub/`) after `/v2/` and forwards `/v2/library/node/...`. `oci-buildpacks` covers two
  upstreams, so its gateway route picks by repository: `/v2/gae-runtimes/...` goes to the us-docker.pkg.dev
  mirror, everything else to the gcr.io one. The profile's buildpacks paths on other hosts (the platform ACR's
  `buildpacks/`, `buildpacksio/`, `choreoipaas/`; Docker Hub's `buildpacksio/`) go the gcr.io way too, and the
  platform registry's mirror proxies its first host only: the simulated internet keeps every host's images in one
  registry by repository path, so either upstream answers for them (a customer's mirror is a group of proxies).
- npm (verdaccio): verdaccio serves at `/` (`/<name>`, `/@scope%2fname`, `/<name>/-/<file>.tgz`). It writes
  tarball URLs from X-Forwarded-Proto and Host but knows no per-request path prefix, so the gateway rewrites
  `<scheme>://<host>/` in its JSON to the customer's URL (mirror_backends.yaml: rewrite_urls).
- python (devpi): devpi's mirror index `root/pypi` of https://pypi.org/simple/: `<prefix>/simple/...` goes to
  `/root/pypi/+simple/...` and every other `<prefix>/...` (file links `../../+f/...`) to `/root/pypi/...`.
- files (every slice with `mirror: {server: files}`: Maven, Gradle plugins, Go incl. its checksum database under
  /go/sumdb/sum.golang.org/, RubyGems, Composer, NuGet): one caching nginx, one location per slice (its `path`).
  Where upstream documents carry absolute URLs (Composer dists and metadata-url, the NuGet service index), the
  mirror rewrites them (slice: `rewrites`) to `X-Forwarded-Proto://X-Forwarded-Host X-Forwarded-Prefix`, so the
  gateway must send those three headers (Prefix = the customer's path prefix without its trailing slash). The
  NuGet service index is served at `/nuget/index.json` (upstream /v3/index.json; slice: `aliases`), as Nexus
  serves `<prefix>/index.json`.
"""

import functools
import re
from dataclasses import dataclass

from harness.infra.errors import UserError
from harness.stack import slices
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
FILES = "mirror-files"
FILES_LOG = "/var/log/airgap/mirror-files.jsonl"
FILES_CONF = "/etc/airgap/mirror-files.conf"
# A slice's mirror server that is a container of its own: its service, port and the path its kind maps onto.
DEDICATED = {"verdaccio": ("mirror-npm", 4873, "/"), "devpi": ("mirror-pypi", 3141, "/root/pypi/")}
DEVPI_UPSTREAM = "https://pypi.org/simple/"  # what devpi-init's root/pypi mirrors: the only upstream it can have


def _mirror_slices(server: str) -> list[slices.Slice]:
    return [piece for piece in slices.load() if piece.mirror.server == server]


def _package_backend(piece: slices.Slice) -> Backend:
    if piece.mirror.server == "files":
        return Backend(FILES, 80, piece.mirror.path, piece.mirror.upstream)
    if piece.mirror.server == "devpi" and piece.mirror.upstream != DEVPI_UPSTREAM:
        raise UserError(f"{piece.file}: mirror: server devpi mirrors {DEVPI_UPSTREAM} only (devpi-init's root/pypi)")
    service, port, path = DEDICATED[piece.mirror.server]
    return Backend(service, port, path, piece.mirror.upstream)


@functools.cache
def backends() -> dict[str, Backend]:
    """kind -> its backend: the OCI upstreams, every package manager's (by name, from its slice), golden."""
    return {
        kind: Backend(f"mirror-{kind}", 5000, "/v2/", f"https://{host}" if host else "the platform registry")
        for kind, host in OCI_UPSTREAMS.items()
    } | {
        piece.manager: _package_backend(piece) for piece in slices.load()
    } | {
        "golden": Backend("mirror-golden", 5000, "/v2/", "the customer's own registry (image overrides)"),
    }


def __getattr__(name: str):
    if name == "BACKENDS":  # built from the slices when first asked for
        return backends()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


GOLDEN_STORAGE = "/var/lib/registry"  # filled by the stack with the overriding references of each proxy-config


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
    return ServiceSpec(name=backends()[kind].service, image="registry",
                       command=["registry", "serve", "/etc/airgap/registry.yml"], files=files, env=TRUST_RUN_CA,
                       port=5000, ready=listening(5000))


def golden() -> ServiceSpec:
    """A customer's own registry for image overrides on hosts no mirror uses: plain registry:2, no upstream."""
    files = {"/etc/airgap/registry.yml": _registry_config(None), f"{GOLDEN_STORAGE}/.keep": b""}
    return ServiceSpec(name=backends()["golden"].service, image="registry",
                       command=["registry", "serve", "/etc/airgap/registry.yml"], files=files, port=5000,
                       ready=listening(5000))


VERDACCIO_MIRROR_CONFIG = """storage: /verdaccio/storage
auth:
  htpasswd: {{file: /verdaccio/htpasswd, max_users: -1}}
uplinks:
  npmjs: {{url: "{upstream}", cache: true, timeout: 30s}}
packages:
  '@*/*': {{access: $all, publish: $authenticated, proxy: npmjs}}
  '**': {{access: $all, publish: $authenticated, proxy: npmjs}}
web: {{enable: false}}
log: {{type: stdout, format: json, level: http}}
"""


def npm(ca: RunCA, piece: slices.Slice) -> ServiceSpec:
    """mirror-npm: verdaccio with an uplink to the slice's upstream."""
    files = {"/verdaccio/conf/config.yaml": VERDACCIO_MIRROR_CONFIG.format(upstream=piece.mirror.upstream).encode(),
             CA_PATH: ca.ca_pem}
    return ServiceSpec(name=DEDICATED["verdaccio"][0], image="verdaccio", files=files, env=TRUST_RUN_CA,
                       port=4873, ready=listening(4873))


DEVPI_MIRROR_START = f"""#!/bin/sh
# The image's devpi-init made root/pypi, a mirror of https://pypi.org/simple/ (the simulated PyPI in a run).
set -e
dir=/devpi/server
sh /opt/devpi/serverdir.sh $dir root-pypi
exec devpi-server --serverdir $dir --host 0.0.0.0 --port 3141 {DEVPI_FAST_SECRET}
"""


def pypi(ca: RunCA) -> ServiceSpec:
    """mirror-pypi: devpi's root/pypi, which mirrors https://pypi.org/simple/ (the slice's upstream)."""
    files = {"/etc/airgap/devpi-mirror.sh": DEVPI_MIRROR_START.encode(), CA_PATH: ca.ca_pem}
    return ServiceSpec(name=DEDICATED["devpi"][0], image="devpi", command=["sh", "/etc/airgap/devpi-mirror.sh"],
                       files=files, env=TRUST_RUN_CA, port=3141, ready=listening(3141))


def _file_location(mirror: slices.Mirror) -> str:
    path, host, prefix, rewrites = mirror.path, mirror.upstream_host, mirror.upstream_path, mirror.rewrites
    outside, rewrite = "", ""
    if rewrites:  # rewrite-module order matters: set $outside before the `rewrite ... break`
        outside = f"""
      set $outside "$scheme://$http_host{path.rstrip('/')}";
      if ($http_x_forwarded_prefix) {{ set $outside "$http_x_forwarded_proto://$http_x_forwarded_host$http_x_forwarded_prefix"; }}"""
        rewrite = """
      proxy_set_header Accept-Encoding "";
      sub_filter_types *; sub_filter_once off;""" + "".join(
            f"\n      sub_filter '{old}' '{new}';" for old, new in rewrites)
    index = "".join(f"\n      rewrite ^{path}{re.escape(alias)}$ {target} break;" for alias, target in mirror.aliases)
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
    locations = "".join(_file_location(piece.mirror) for piece in _mirror_slices("files"))
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
    """Every mirror backend of a run; `platform`: the catalog's platform registry host[:port]. The package
    managers' backends are their slices' (one verdaccio, one devpi, the files mirror when a slice uses it)."""
    packages = [npm(ca, piece) for piece in _mirror_slices("verdaccio")] + [pypi(ca) for _ in _mirror_slices("devpi")]
    packages += [files_mirror(ca)] if _mirror_slices("files") else []
    return [*(oci(kind, ca, platform) for kind in OCI_UPSTREAMS), *packages, golden()]
