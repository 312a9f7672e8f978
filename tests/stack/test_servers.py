"""The servers against real clients: every public source of the simulated internet serves its fixture
content over TLS (run CA) to the real client in the builder image, and every mirror backend serves the same
content by proxying it, with the fetch visible in the backend's own cache or log.

Runs real containers on an internal network the test creates (labelled airgap-harness=1, removed after).
"""

import hashlib
import json

import pytest

from harness.infra.engine import ensure_engine
from harness.stack.content import build
from harness.stack.content.oci import image_blobs
from harness.stack.pki import RunCA
from harness.stack.servers import all_specs, internet, mirrors
from harness.stack.spec import ServiceSpec

import servers_clients as clients
from servers_stack import ServersRun

CONTENT = build()


@pytest.fixture(scope="module")
def run():
    client = ensure_engine()
    ca = RunCA()
    servers = ServersRun(client)
    try:
        specs = all_specs(ca, CONTENT)
        for spec in specs:
            servers.start(spec)
        for spec in specs:
            servers.wait_ready(spec)
        projects = {f"{clients.PROJECTS}/{kind}/{path}": data
                    for kind, tree in CONTENT.projects.items() for path, data in tree.items()}
        builder = ServiceSpec(name="builder", image="builder", command=["sleep", "infinity"],
                              files={"/usr/local/share/ca-certificates/airgap-run-ca.crt": ca.ca_pem} | projects)
        servers.start(builder)
        code, out = servers.exec("builder", "update-ca-certificates")
        assert code == 0, out
        yield servers
    finally:
        servers.close()


def ok(run: ServersRun, command: str, container: str = "builder") -> str:
    code, out = run.exec(container, command)
    assert code == 0, f"`{command}` failed ({code}):\n{out[-3000:]}"
    return out


def mirror_log(run: ServersRun, service: str) -> str:
    return run.containers[service].logs().decode(errors="replace")


def files_mirror_fetches(run: ServersRun, path_prefix: str) -> list[dict]:
    """mirror-files log records under `path_prefix` that went upstream (cache MISS)."""
    records = [json.loads(line) for line in ok(run, f"cat {mirrors.FILES_LOG}", mirrors.FILES).splitlines()]
    return [r for r in records if r["path"].startswith(path_prefix) and r["cache"] == "MISS" and r["upstream"]]


# --- public sources over TLS -----------------------------------------------------------------------------

@pytest.mark.parametrize("ref", CONTENT.images, ids=lambda r: r.reference)
def test_public_registry_serves_each_fixture_image(run, ref):
    manifest = image_blobs(ref)[2]
    raw = ok(run, f"skopeo inspect --raw docker://{ref.reference}")
    assert hashlib.sha256(raw.encode()).hexdigest() == hashlib.sha256(manifest).hexdigest()


def test_public_docker_hub_sends_clients_to_auth_docker_io(run):
    headers = ok(run, "curl -sS -o /dev/null -D - https://registry-1.docker.io/v2/")
    assert " 401" in headers.splitlines()[0]
    assert 'realm="https://auth.docker.io/token"' in headers
    ok(run, "skopeo inspect --raw docker://docker.io/library/alpine:3.20")
    log = [json.loads(line) for line in ok(run, f"cat {internet.EDGE_LOG}", internet.EDGE).splitlines()]
    assert any(r["host"] == "auth.docker.io" and r["path"].startswith("/token") for r in log)


def test_public_registry_skopeo_copy(run):
    out = ok(run, clients.skopeo_copy("docker.io/library/node:18-alpine"))
    assert "application/vnd.oci.image.manifest.v1+json" in out


def test_public_npm(run):
    assert "HELLO AIR" in ok(run, clients.npm("public", None))


# what the fixture project's requirements download (the other distributions serve the leak scenarios)
PROJECT_PYTHON_FILES = sorted(["airgap_fixture_hello-1.0.0-py3-none-any.whl", "airgap_fixture_sdist-0.1.0.tar.gz",
                               "airgap_fixture_util-2.1.0-py3-none-any.whl"])


def test_public_pypi(run):
    out = ok(run, clients.pip("public", None))
    assert sorted(out.split()[-3:]) == PROJECT_PYTHON_FILES


def test_public_maven(run):
    ok(run, clients.maven("public", None))


def test_public_gradle_plugin_portal(run):
    assert "FETCHED hello-gradle-plugin-1.0.0.jar" in ok(run, clients.gradle("public", None))


def test_public_go_proxy(run):
    out = ok(run, clients.go("public", "https://proxy.golang.org"))
    assert "hello!" in out


def test_public_go_checksum_database(run):
    direct = f"{CONTENT.go_sumdb_key} https://sum.golang.org"
    out = ok(run, clients.go_verified("sumdb", "https://proxy.golang.org", direct))
    assert "hello!" in out and "go.sum-verified" in out


def test_go_rejects_the_simulated_checksum_database_under_the_real_key(run):
    code, out = run.exec("builder", clients.go_verified("realkey", "https://proxy.golang.org", "sum.golang.org"))
    assert code != 0 and "verifying" in out and "go.sum-verified" not in out, out


def test_public_rubygems(run):
    assert "ok" in ok(run, clients.bundler("public", None)).split()


def test_public_rubygems_gem_install(run):
    out = ok(run, clients.gem_install("public", "https://rubygems.org/"))
    assert "airgap-fixture-hello-1.0.0" in out and "airgap-fixture-util-2.1.0" in out


def test_public_rubygems_full_index_is_ruby_marshal(run):
    script = "p Marshal.load(Gem::Util.gunzip(URI.open('https://rubygems.org/specs.4.8.gz').read))"
    out = ok(run, f'ruby -rrubygems -ropen-uri -e "{script}"')
    assert '["airgap-fixture-hello", #<Gem::Version "1.0.0">, "ruby"]' in out


def test_public_composer(run):
    assert "VERSION = '1.0.0'" in ok(run, clients.composer("public", None))


def test_public_nuget_v3(run):
    out = ok(run, clients.nuget("https://api.nuget.org/v3/index.json"))
    assert "https://api.nuget.org/v3-flatcontainer/" in out and "<id>AirgapFixture.Hello</id>" in out


@pytest.mark.parametrize("path", [p for p in CONTENT.static if p.split("/", 1)[0] in {
    "services.gradle.org", "dist.ballerina.io", "api.central.ballerina.io", "fileserver.central.ballerina.io",
    "release-assets.githubusercontent.com"} and p.rsplit(".", 1)[-1] not in {"md5", "sha1"}])
def test_public_static_files(run, path):
    digest = ok(run, f"curl -fsS https://{path} | sha256sum").split()[0]
    assert digest == hashlib.sha256(CONTENT.static[path]).hexdigest()


# --- mirror backends, proxying the simulated internet --------------------------------------------------------

def registry_has_blob(run: ServersRun, service: str, digest: str) -> bool:
    path = f"/var/lib/registry/docker/registry/v2/blobs/sha256/{digest[:2]}/{digest}/data"
    return run.exec(service, f"test -s {path}")[0] == 0


@pytest.mark.parametrize("kind, reference", [
    ("oci-dockerhub", "library/node:20"),
    ("oci-choreo", "nginxinc/nginx-unprivileged:stable-alpine-slim"),
    ("oci-buildpacks-gcr", "buildpacks/builder:google-22"),
    ("oci-buildpacks-gar", "gae-runtimes/runtimes-ubuntu2204/openjdk:17.0.18_8"),
])
def test_mirror_registry_proxies(run, kind, reference):
    backend = mirrors.BACKENDS[kind]
    ref = next(r for r in CONTENT.images if f"{r.repository}:{r.tag}" == reference)
    layer_digest = hashlib.sha256(image_blobs(ref)[0]).hexdigest()
    assert not registry_has_blob(run, backend.service, layer_digest)
    ok(run, clients.skopeo_copy(f"{backend.service}:{backend.port}/{reference}", tls_verify=False))
    assert registry_has_blob(run, backend.service, layer_digest)


def test_mirror_npm_proxies(run):
    assert "HELLO AIR" in ok(run, clients.npm("mirror", "http://mirror-npm:4873/"))
    ok(run, "test -s /verdaccio/storage/airgap-fixture-hello/airgap-fixture-hello-1.0.0.tgz", "mirror-npm")
    ok(run, "test -s /verdaccio/storage/@airgap-fixture/scoped/scoped-0.3.0.tgz", "mirror-npm")


def test_mirror_pypi_proxies(run):
    out = ok(run, clients.pip("mirror", "http://mirror-pypi:3141/root/pypi/+simple/"))
    assert sorted(out.split()[-3:]) == PROJECT_PYTHON_FILES
    log = mirror_log(run, "mirror-pypi")
    for filename in PROJECT_PYTHON_FILES:
        assert "reading remote: URL('https://files.pythonhosted.org/packages/" in log and filename in log


def test_mirror_maven_proxies(run):
    ok(run, clients.maven("mirror", "http://mirror-files/maven/"))
    assert any(r["path"].endswith("util-lib-2.1.0.jar") for r in files_mirror_fetches(run, "/maven/"))


def test_mirror_go_proxies(run):
    assert "hello!" in ok(run, clients.go("mirror", "http://mirror-files/go"))
    assert any(r["path"].endswith("v1.0.0.zip") for r in files_mirror_fetches(run, "/go/"))


def test_mirror_go_proxies_the_checksum_database(run):
    out = ok(run, clients.go_verified("mirror-sumdb", "http://mirror-files/go", CONTENT.go_sumdb_key))
    assert "go.sum-verified" in out
    assert any("/sumdb/sum.golang.org/lookup/" in r["path"] for r in files_mirror_fetches(run, "/go/"))


def test_mirror_rubygems_proxies(run):
    assert "ok" in ok(run, clients.bundler("mirror", "http://mirror-files/rubygems")).split()
    assert any(r["path"].endswith(".gem") for r in files_mirror_fetches(run, "/rubygems/"))


def test_mirror_rubygems_gem_install(run):
    out = ok(run, clients.gem_install("mirror", "http://mirror-files/rubygems/"))
    assert "airgap-fixture-hello-1.0.0" in out and "airgap-fixture-util-2.1.0" in out
    assert any(r["path"].endswith(".gemspec.rz") for r in files_mirror_fetches(run, "/rubygems/"))


def test_mirror_composer_proxies_and_rewrites_dist_urls(run):
    assert "VERSION = '1.0.0'" in ok(run, clients.composer("mirror", "http://mirror-files/composer"))
    assert any(r["path"].endswith(".zip") for r in files_mirror_fetches(run, "/composer/"))


@pytest.mark.parametrize("path, expected", [
    ("/composer/packages.json", '"metadata-url": "https://nexus.example.com/repository/php-proxy/p2/%package%.json"'),
    ("/composer/p2/airgap-fixture/hello.json",
     '"url": "https://nexus.example.com/repository/php-proxy/dists/airgap-fixture/hello/'),
    ("/nuget/index.json", '"@id": "https://nexus.example.com/repository/php-proxy/v3-flatcontainer/"'),
])
def test_mirror_files_rewrite_absolute_urls_to_the_gateway_url(run, path, expected):
    headers = ("-H 'X-Forwarded-Proto: https' -H 'X-Forwarded-Host: nexus.example.com' "
               "-H 'X-Forwarded-Prefix: /repository/php-proxy'")
    assert expected in ok(run, f"curl -fsS {headers} http://mirror-files{path}")


def test_mirror_nuget_proxies_and_rewrites_service_index(run):
    out = ok(run, clients.nuget("http://mirror-files/nuget/index.json"))
    assert "http://mirror-files/nuget/v3-flatcontainer/" in out and "<id>AirgapFixture.Hello</id>" in out
    assert any(r["path"].endswith(".nupkg") for r in files_mirror_fetches(run, "/nuget/"))


def test_mirror_gradle_plugin_portal_proxies(run):
    assert "FETCHED hello-gradle-plugin-1.0.0.jar" in ok(run, clients.gradle("mirror", "http://mirror-files/gradle-plugins/"))
    fetched = [r["path"] for r in files_mirror_fetches(run, "/gradle-plugins/")]
    assert any(path.endswith(".gradle.plugin-1.0.0.pom") for path in fetched)
    assert any(path.endswith("hello-gradle-plugin-1.0.0.jar") for path in fetched)


# --- without containers: determinism, errors, certificates ---------------------------------------------------

def _digest(content) -> str:
    digest = hashlib.sha256()
    trees = [content.registry, content.python, content.static, *content.projects.values()]
    for tree in trees:
        for path in sorted(tree):
            digest.update(path.encode() + b"\0" + tree[path])
    return digest.hexdigest()


def test_content_is_byte_identical_for_the_same_definitions():
    from harness.stack.content import _build, fixtures_dir
    assert _digest(_build(fixtures_dir())) == _digest(_build(fixtures_dir())) == _digest(CONTENT)


def test_content_changes_when_a_definition_changes(tmp_path):
    import shutil
    from harness.stack.content import _build, fixtures_dir
    shutil.copytree(fixtures_dir(), tmp_path, dirs_exist_ok=True)
    npm_yaml = tmp_path / "npm.yaml"
    npm_yaml.write_text(npm_yaml.read_text().replace("2.1.0", "2.1.1"))
    changed = _build(tmp_path)
    assert changed.static != CONTENT.static and changed.registry == CONTENT.registry


@pytest.mark.parametrize("name, text, expected", [
    ("npm.yaml", "packages: [", "npm.yaml: not valid YAML"),
    ("go.yaml", "- just a list\n", "go.yaml: expected a mapping"),
    ("static.yaml", "files: [{host: a.example, path: /x, kind: rar}]\n", "kind must be one of"),
])
def test_bad_fixture_definitions_name_the_file(tmp_path, name, text, expected):
    import shutil
    from harness.infra.errors import UserError
    from harness.stack.content import fixtures_dir
    shutil.copytree(fixtures_dir(), tmp_path, dirs_exist_ok=True)
    (tmp_path / name).write_text(text)
    with pytest.raises(UserError, match=expected):
        build(tmp_path)


def test_run_ca_issues_certificates_for_names_and_ips():
    import ipaddress
    from cryptography import x509
    ca = RunCA()
    pair = ca.issue(["registry-1.docker.io", "*.acme.internal", "10.1.2.3"])
    leaf = x509.load_pem_x509_certificate(pair.cert_pem)
    root = x509.load_pem_x509_certificate(ca.ca_pem)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["registry-1.docker.io", "*.acme.internal"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.1.2.3")]
    leaf.verify_directly_issued_by(root)
    assert RunCA().ca_pem != ca.ca_pem  # a fresh CA per run


@pytest.mark.parametrize("bad", ["registry.example:5000", "https://x.example", "x.example/path", ""])
def test_run_ca_rejects_what_is_not_a_name(bad):
    with pytest.raises(ValueError, match="not a DNS name or IP address|at least one"):
        RunCA().issue([bad] if bad else [])
