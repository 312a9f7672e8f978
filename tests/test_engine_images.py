"""The Docker engine and the locally built images, against a real engine with real builds.

Builds need the machine's extra CA certificates when outbound TLS is intercepted: pass them with
AIRGAP_EXTRA_CA_CERTS (see harness/infra/settings.py), as .ci/run does.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker.errors
import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from harness.infra import engine, images, settings
from harness.infra.errors import UserError
from helpers import CHECKOUT

# (image, command, pattern its output must match): each image's main program, each builder client.
VERSION_CHECKS = [
    ("registry", ["registry", "--version"], r"github\.com/docker/distribution v?2\.\d"),
    ("nginx", ["nginx", "-v"], r"nginx version: nginx/1\.\d+"),
    ("dns", ["dnsmasq", "--version"], r"Dnsmasq version 2\.\d+"),
    ("dns", ["python3", "--version"], r"Python 3\.\d+"),
    ("verdaccio", ["verdaccio", "--version"], r"v6\.8\.0"),
    ("devpi", ["devpi-server", "--version"], r"^6\.20\.3"),
    ("devpi", ["devpi", "--version"], r"devpi-client 7\.3\.0"),
    ("builder", ["podman", "--version"], r"podman version 4\.\d"),
    ("builder", ["buildah", "--version"], r"buildah version 1\.\d+"),
    ("builder", ["skopeo", "--version"], r"skopeo version 1\.\d+"),
    ("builder", ["node", "--version"], r"^v1[89]\.|^v2\d\."),
    ("builder", ["npm", "--version"], r"^\d+\.\d+\.\d+"),
    ("builder", ["python3", "--version"], r"Python 3\.\d+"),
    ("builder", ["pip", "--version"], r"pip \d+\.\d+.*python 3\.\d+"),
    ("builder", ["java", "-version"], r'openjdk version "17'),
    ("builder", ["mvn", "--version"], r"Apache Maven 3\.\d+"),
    ("builder", ["gradle", "--version"], r"Gradle \d+\.\d+"),
    ("builder", ["go", "version"], r"go version go1\.2[1-9]"),  # >= 1.21: GOTOOLCHAIN exists
    ("builder", ["php", "--version"], r"PHP 8\.\d+"),
    ("builder", ["composer", "--version"], r"Composer (version )?2\.\d+"),
    ("builder", ["ruby", "--version"], r"ruby 3\.\d+"),
    ("builder", ["gem", "--version"], r"^3\.\d+"),
    ("builder", ["bundle", "--version"], r"Bundler version 2\.\d+"),
]


@pytest.fixture(scope="module")
def tags(docker_client):
    """Every image built (or found) once for the module: name -> tag."""
    return images.ensure_images(client=docker_client)


def run(client, tag: str, command: list[str], timeout_s: int = 180, **kwargs) -> str:
    """Run `command` in a throwaway container of `tag`; its output. It must exit 0 within `timeout_s`."""
    container = client.containers.run(tag, command, detach=True, labels=images.LABEL, **kwargs)
    try:
        status = container.wait(timeout=timeout_s)["StatusCode"]
        output = container.logs(stdout=True, stderr=True).decode(errors="replace")
    finally:
        container.remove(force=True)
    assert status == 0, f"{command} exited {status}: {output[-2000:]}"
    return output


# --- settings -------------------------------------------------------------------------------------------


def test_settings_defaults(tmp_path):
    loaded = settings.load({"AIRGAP_STATE_DIR": str(tmp_path / "state")})
    assert loaded.state_dir == tmp_path / "state" and loaded.state_dir.is_dir()
    assert loaded.extra_ca_certs == ()
    assert loaded.debian_mirror == settings.DEFAULT_DEBIAN_MIRROR


def test_settings_extra_ca_certs_are_read_in_order(tmp_path):
    first, second = tmp_path / "a.pem", tmp_path / "b.pem"
    trustme.CA().cert_pem.write_to_path(str(first))
    trustme.CA().cert_pem.write_to_path(str(second))
    loaded = settings.load({"AIRGAP_STATE_DIR": str(tmp_path), "AIRGAP_EXTRA_CA_CERTS": f"{second}::{first}"})
    assert loaded.extra_ca_certs == (second, first)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("AIRGAP_EXTRA_CA_CERTS", "{tmp}/missing.pem", "is not a file"),
        ("AIRGAP_EXTRA_CA_CERTS", "{tmp}/not-a-cert.txt", "holds no PEM certificate"),
        ("AIRGAP_STATE_DIR", "{tmp}/not-a-cert.txt", "is not a directory"),
        ("AIRGAP_DEBIAN_MIRROR", "ftp://mirror/debian", "is not an http(s) URL"),
    ],
)
def test_settings_reject_bad_values_naming_the_variable(tmp_path, variable, value, message):
    (tmp_path / "not-a-cert.txt").write_text("hello\n")
    environ = {"AIRGAP_STATE_DIR": str(tmp_path), variable: value.format(tmp=tmp_path)}
    with pytest.raises(UserError, match=re.escape(message)) as raised:
        settings.load(environ)
    assert variable in str(raised.value)


# --- engine ---------------------------------------------------------------------------------------------


def test_ensure_engine_answers(docker_client):
    assert docker_client.ping() is True
    assert engine.engine_address() in engine.describe(docker_client)
    assert re.match(r"\d+\.\d+", docker_client.version()["ApiVersion"])


def test_ensure_engine_reports_a_dead_docker_host(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nothing-listens.sock")
    with pytest.raises(UserError, match="DOCKER_HOST"):
        engine.ensure_engine()


def test_ensure_engine_elsewhere_says_what_to_install(monkeypatch, tmp_path):
    """No engine and not a Debian/Ubuntu root shell: stop with what to install, never try apt."""
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setattr(engine, "DEFAULT_SOCKET", f"unix://{tmp_path}/docker.sock")
    monkeypatch.setattr(engine, "_is_debian_like", lambda: False)
    with pytest.raises(UserError, match="install and start Docker Engine"):
        engine.ensure_engine()


NOBODY_CHILD = """
import os, sys
from harness.infra import engine, settings
from harness.infra.errors import UserError
os.setgid(65534); os.setgroups([]); os.setuid(65534)  # a real user outside the docker group
try:
    engine.ensure_engine()
except UserError as error:
    print(error)
"""


def test_ensure_engine_tells_a_user_without_socket_access_what_to_do(docker_client, tmp_path):
    environ = {key: value for key, value in os.environ.items() if key != "DOCKER_HOST"}
    environ["AIRGAP_STATE_DIR"] = str(tmp_path)
    result = subprocess.run([sys.executable, "-c", NOBODY_CHILD], env=environ, capture_output=True, text=True,
                            cwd=CHECKOUT, check=False)
    assert "no permission to use /var/run/docker.sock" in result.stdout, result.stdout + result.stderr


TEST_BRIDGE = "airgap-t0"  # the second daemon's own bridge: `--bridge=none` would delete the host's docker0
TEST_BRIDGE_ADDRESS = "172.31.254.1/24"


@pytest.mark.docker  # no docker_client, but it starts a second dockerd (the engine's binary, root, a bridge)
def test_start_dockerd_starts_an_engine_that_answers(tmp_path):
    """The path a fresh machine takes: a second dockerd on its own socket, directories and bridge, then stopped."""
    short = Path(tempfile.mkdtemp(prefix="airgap-d", dir="/tmp"))  # unix socket paths must stay short
    pidfile = short / "dockerd.pid"
    subprocess.run(["ip", "link", "del", TEST_BRIDGE], check=False, capture_output=True)  # left by a killed run
    subprocess.run(["ip", "link", "add", "name", TEST_BRIDGE, "type", "bridge"], check=True)
    try:
        subprocess.run(["ip", "addr", "add", TEST_BRIDGE_ADDRESS, "dev", TEST_BRIDGE], check=True)
        client = engine.start_dockerd(
            tmp_path,
            host=f"unix://{short}/docker.sock",
            extra_args=("--data-root", str(short / "data"), "--exec-root", str(short / "exec"),
                        "--pidfile", str(pidfile), f"--bridge={TEST_BRIDGE}", "--iptables=false",
                        "--ip6tables=false", "--ip-masq=false"),
        )
        assert client.ping() is True
        assert client.info()["DockerRootDir"] == str(short / "data")
        assert (tmp_path / "dockerd.log").stat().st_size > 0
    finally:
        if pidfile.exists():
            pid = int(pidfile.read_text())
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.2)
        subprocess.run(["ip", "link", "del", TEST_BRIDGE], check=False)
        shutil.rmtree(short, ignore_errors=True)


# --- images ---------------------------------------------------------------------------------------------


def test_image_tag_changes_with_each_input(tmp_path, monkeypatch):
    context = tmp_path / "demo"
    context.mkdir()
    (context / "Dockerfile").write_text("ARG BASE\nFROM ${BASE}\n")
    monkeypatch.setattr(images, "images_dir", lambda: tmp_path)
    ca_file = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca_file))
    original = images.image_tag("demo", "sha256:parent")
    assert original.startswith("airgap-harness/demo:")
    assert images.image_tag("demo", "sha256:parent") == original
    assert images.image_tag("demo", "sha256:other") != original
    assert images.image_tag("demo", "sha256:parent", (ca_file,)) != original
    (context / "extra.txt").write_text("x")
    assert images.image_tag("demo", "sha256:parent") != original


@pytest.mark.parametrize(
    ("failing_step", "expected"),
    [
        ("echo 'step went wrong' && false", r"images/broken/Dockerfile\) failed(.|\n)*step went wrong"),
        ("echo '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed' && false", r"set AIRGAP_EXTRA_CA_CERTS"),
    ],
)
def test_failed_build_is_a_user_error_with_its_output(
    docker_client, tags, tmp_path, monkeypatch, failing_step, expected
):
    copy = shutil.copytree(images.images_dir(), tmp_path / "images")
    (copy / "broken").mkdir()
    (copy / "broken" / "Dockerfile").write_text(f"ARG BASE\nFROM ${{BASE}}\nRUN {failing_step}\n")
    monkeypatch.setattr(images, "images_dir", lambda: copy)
    monkeypatch.setitem(images.specs(), "broken", {"from": "ca-base"})
    with pytest.raises(UserError, match=expected):
        images.ensure_image("broken", docker_client)
    assert not docker_client.images.list(name="airgap-harness/broken")


def test_prune_removes_images_whose_inputs_changed(docker_client, tags, tmp_path, monkeypatch):
    copy = shutil.copytree(images.images_dir(), tmp_path / "images")
    (copy / "scratch").mkdir()
    dockerfile = copy / "scratch" / "Dockerfile"
    dockerfile.write_text("ARG BASE\nFROM ${BASE}\nLABEL revision=1\n")
    monkeypatch.setattr(images, "images_dir", lambda: copy)
    monkeypatch.setitem(images.specs(), "scratch", {"from": "ca-base"})
    old = images.ensure_image("scratch", docker_client)
    dockerfile.write_text("ARG BASE\nFROM ${BASE}\nLABEL revision=2\n")
    new = images.ensure_image("scratch", docker_client)
    try:
        removed = images.prune(docker_client, names=["scratch"])  # other images: not this test's
        assert old in removed and new not in removed
        assert not docker_client.images.list(name=old)
    finally:
        docker_client.images.remove(new)


def test_unknown_image_is_a_user_error(docker_client):
    with pytest.raises(UserError, match="unknown image 'nope'"):
        images.ensure_image("nope", docker_client)


@pytest.mark.parametrize("name", list(images.specs()))
def test_image_is_built_labelled_and_not_rebuilt(docker_client, tags, name):
    tag = tags[name] if name in tags else images.ensure_image(name, docker_client)  # the base is not in tags
    image = docker_client.images.get(tag)
    assert image.labels.get("airgap-harness") == "1"
    assert images.planned_tag(name, docker_client) == tag
    built_before = list(images.BUILT)
    assert images.ensure_image(name, docker_client) == tag
    assert images.BUILT == built_before, "a second ensure_image rebuilt something"
    assert docker_client.images.get(tag).id == image.id


@pytest.mark.parametrize(
    ("name", "command", "pattern"), VERSION_CHECKS, ids=[f"{name}-{command[0]}" for name, command, _ in VERSION_CHECKS]
)
def test_image_program_runs(docker_client, tags, name, command, pattern):
    output = run(docker_client, tags[name], command)
    assert re.search(pattern, output, re.MULTILINE), f"{command} printed: {output!r}"


SERVER_PORTS = {"registry": 5000, "nginx": 80, "dns": 53, "verdaccio": 4873, "devpi": 3141}


@pytest.mark.parametrize("name", SERVER_PORTS)
def test_server_image_default_command_listens(docker_client, tags, name):
    """Each server image's own CMD starts a server (the stack may override it, but it must not need to)."""
    container = docker_client.containers.run(tags[name], detach=True, network_mode="none", labels=images.LABEL)
    probe = f"exec 3<>/dev/tcp/127.0.0.1/{SERVER_PORTS[name]}"
    try:
        for _ in range(60):
            if container.exec_run(["bash", "-c", probe]).exit_code == 0:
                break
            container.reload()
            assert container.status == "running", container.logs()[-2000:].decode(errors="replace")
            time.sleep(1)
        else:
            pytest.fail(f"{name} did not listen on {SERVER_PORTS[name]} within 60 s: {container.logs()[-2000:]!r}")
    finally:
        container.remove(force=True)


# Small offline builds: a client that prints its version but cannot build would pass the checks above.
OFFLINE_BUILDS = {
    "gradle": (
        "mkdir -p src/main/java && echo 'apply plugin: \"java\"' > build.gradle"
        " && echo 'public class Hello {}' > src/main/java/Hello.java"
        " && gradle --offline --no-daemon -q build && test -f build/libs/*.jar && echo built"
    ),
    "maven": (
        "printf '<project xmlns=\"http://maven.apache.org/POM/4.0.0\"><modelVersion>4.0.0</modelVersion>"
        "<groupId>x</groupId><artifactId>y</artifactId><version>1</version></project>' > pom.xml"
        " && mvn --offline --quiet validate && echo built"
    ),
    "go": (
        "printf 'module example.com/hello\\n\\ngo 1.21\\n' > go.mod"
        " && printf 'package main\\nfunc main() { println(\"built\") }\\n' > main.go"
        " && GOTOOLCHAIN=local go run . 2>&1"
    ),
    "npm": (
        "echo '{\"name\": \"hello\", \"version\": \"1.0.0\"}' > package.json"
        " && npm pack && test -f hello-1.0.0.tgz && echo built"
    ),
    "composer": (
        "echo '{\"name\": \"x/hello\", \"description\": \"d\", \"license\": \"MIT\"}' > composer.json"
        " && composer validate --no-check-publish && echo built"
    ),
}


@pytest.mark.parametrize("client_name", OFFLINE_BUILDS)
def test_builder_client_builds_offline(docker_client, tags, client_name):
    script = f"mkdir -p /tmp/project && cd /tmp/project && {OFFLINE_BUILDS[client_name]}"
    output = run(docker_client, tags["builder"], ["sh", "-c", script], network_mode="none")
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)  # maven colours its output even without a TTY
    assert re.search(r"^built$", plain, re.MULTILINE), output[-2000:]


def test_builder_builds_and_copies_an_image_with_buildah_and_skopeo(docker_client, tags):
    """The container clients work with the builder's run options: buildah commits, skopeo copies to OCI layout."""
    script = (
        "set -e; container=$(buildah from scratch); buildah config --label made-by=test $container;"
        " buildah commit -q $container localhost/probe:1 >/dev/null;"
        " skopeo copy -q containers-storage:localhost/probe:1 oci:/tmp/layout:probe;"
        " podman image exists localhost/probe:1 && test -f /tmp/layout/index.json && echo built"
    )
    output = run(docker_client, tags["builder"], ["sh", "-c", script], network_mode="none",
                 **images.run_options("builder"))
    assert re.search(r"^built$", output, re.MULTILINE), output[-2000:]


def test_every_image_trusts_the_configured_extra_cas(docker_client, tags):
    configured = settings.load().extra_ca_certs
    if not configured:
        pytest.fail("set AIRGAP_EXTRA_CA_CERTS (as .ci/run does) so this test has a CA to look for")
    bundle = run(docker_client, tags["builder"], ["cat", "/etc/ssl/certs/ca-certificates.crt"])
    for path in configured:
        assert _pem_body(path.read_text()) in _pem_body(bundle), f"{path} is not in the builder's CA bundle"
    java = run(docker_client, tags["builder"], ["keytool", "-list", "-cacerts", "-storepass", "changeit"])
    for path in configured:
        for cert in x509.load_pem_x509_certificates(path.read_bytes()):
            fingerprint = ":".join(f"{byte:02X}" for byte in cert.fingerprint(hashes.SHA256()))
            assert fingerprint in java, f"{path} is not in Java's cacerts"


def test_changing_the_ca_setting_changes_the_tag_and_the_trust_store(docker_client, tags, tmp_path, monkeypatch):
    ca = trustme.CA()
    ca_file = tmp_path / "run-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    before = images.planned_tag("ca-base", docker_client)
    assert before == tags["ca-base"]
    monkeypatch.setenv(settings.EXTRA_CA_VAR, str(ca_file))
    after = images.planned_tag("ca-base", docker_client)
    assert after != before
    assert images.ensure_image("ca-base", docker_client) == after and after in images.BUILT
    try:
        bundle = run(docker_client, after, ["cat", "/etc/ssl/certs/ca-certificates.crt"])
        assert _pem_body(ca.cert_pem.bytes().decode()) in _pem_body(bundle)
    finally:
        try:
            docker_client.images.remove(after)
        except docker.errors.APIError:
            pass


def _pem_body(text: str) -> str:
    return "".join(line.strip() for line in text.splitlines() if line.strip() and "-----" not in line)
