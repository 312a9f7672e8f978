"""Small pieces every server spec shares: where the run CA goes, readiness probes, the JSON access log."""

import json

CA_PATH = "/etc/airgap/run-ca.pem"
# Every TLS client library our servers use (Go, OpenSSL, Node, requests/httpx) reads one of these.
TRUST_RUN_CA = {"SSL_CERT_FILE": CA_PATH, "REQUESTS_CA_BUNDLE": CA_PATH, "NODE_EXTRA_CA_CERTS": CA_PATH,
                "CURL_CA_BUNDLE": CA_PATH, "PIP_CERT": CA_PATH}

# nginx access log as JSON lines: what the evidence layer reads (no Authorization value is ever logged).
NGINX_JSON_LOG_FORMAT = "log_format airgap_json escape=json '" + json.dumps({
    "time": "$time_iso8601", "client": "$remote_addr", "host": "$host", "method": "$request_method",
    "path": "$request_uri", "status": "$status", "bytes": "$body_bytes_sent", "upstream": "$upstream_addr",
    "upstream_status": "$upstream_status", "cache": "$upstream_cache_status",
}, separators=(",", ":")) + "';"


# devpi derives its token key with argon2 at 512 MiB x 16 rounds by default: ~10-40 s of start-up on two
# cores. The run's devpi servers hold no real secrets, so they use the cheapest parameters.
DEVPI_FAST_SECRET = "--argon2-memory-cost 8 --argon2-time-cost 1 --argon2-parallelism 1"


def listening(port: int) -> list[str]:
    """A readiness probe needing no client tools: the port is in LISTEN state (0A) in /proc/net/tcp{,6}."""
    return ["sh", "-c", f"grep -qE ':{port:04X} [0-9A-F]+:0000 0A' /proc/net/tcp /proc/net/tcp6"]


def under(root: str, tree: dict[str, bytes]) -> dict[str, bytes]:
    """A content tree placed at absolute path `root` inside a container (ServiceSpec.files form)."""
    return {f"{root.rstrip('/')}/{path}": data for path, data in tree.items()}


def nginx_command(conf_path: str) -> list[str]:
    return ["nginx", "-c", conf_path, "-g", "daemon off;"]


NGINX_MAIN = """worker_processes 1;
pid /run/nginx.pid;
error_log stderr warn;
events {{ worker_connections 256; }}
http {{
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  sendfile on;
  server_names_hash_bucket_size 128;
  client_max_body_size 0;
  {log_format}
  access_log {log_path} airgap_json;
  access_log /dev/stdout airgap_json;
{body}
}}
"""


def nginx_conf(body: str, log_path: str) -> bytes:
    return NGINX_MAIN.format(log_format=NGINX_JSON_LOG_FORMAT, log_path=log_path, body=body).encode()
