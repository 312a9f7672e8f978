"""npm reads back the .npmrc the preamble wrote: registry, token, and lockfile hosts replaced."""

import base64
import hashlib
import io
import json
import shutil
import tarfile

import pytest

from harness.contract.grammar import Kind
from loopback_mirror import RecordingServer, Route, apply_preamble, assert_client_limit, basic_header, run_client, scratch_directory, with_userinfo, write_config

pytestmark = pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed (.ci/run installs it)")
TOKEN = "npm-tok en/${HOME}\\${X};`id`\"'#="
PREFIX = "/repository/npm-proxy/"


def tiny_tarball() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = json.dumps({"name": "tiny-pkg", "version": "1.0.0"}).encode()
        info = tarfile.TarInfo("package/package.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def registry(network):
    server = RecordingServer(expected_authorization=f"Bearer {TOKEN}").start(network)
    tarball = tiny_tarball()
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    packument = {"name": "tiny-pkg", "dist-tags": {"latest": "1.0.0"}, "versions": {"1.0.0": {
        "name": "tiny-pkg", "version": "1.0.0",
        "dist": {"tarball": f"{server.url}{PREFIX}tiny-pkg/-/tiny-pkg-1.0.0.tgz", "integrity": integrity}}}}
    server.routes[f"{PREFIX}tiny-pkg"] = Route(json.dumps(packument).encode(), "application/json")
    server.routes[f"{PREFIX}tiny-pkg/-/tiny-pkg-1.0.0.tgz"] = Route(tarball)
    server.integrity = integrity
    yield server
    server.stop()


def test_npm_uses_the_mirror_with_the_token(network, tmp_path, registry):
    config = write_config(tmp_path / "config", {"pkg-npm-url": registry.url + PREFIX, "pkg-npm-token": TOKEN})
    env = apply_preamble("webapp", config, tmp_path / "home")
    assert run_client(network, ["npm", "config", "get", "registry"], env).stdout.strip() == registry.url + PREFIX

    project = tmp_path / "app"
    project.mkdir()
    (project / "package.json").write_text(json.dumps({"name": "app", "version": "1.0.0", "dependencies": {"tiny-pkg": "1.0.0"}}))
    # A lockfile written against the public registry (as real lockfiles are; the namespace resolves no name)
    # must still be fetched from the mirror: replace-registry-host=npmjs.
    (project / "package-lock.json").write_text(json.dumps({
        "name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
        "packages": {"": {"name": "app", "version": "1.0.0", "dependencies": {"tiny-pkg": "1.0.0"}},
                     "node_modules/tiny-pkg": {"version": "1.0.0", "resolved": "https://registry.npmjs.org/tiny-pkg/-/tiny-pkg-1.0.0.tgz",
                                               "integrity": registry.integrity}}}))
    done = run_client(network, ["npm", "ci", "--no-audit", "--no-fund", "--no-update-notifier"], env, cwd=project)
    assert done.returncode == 0, done.stderr
    assert (project / "node_modules/tiny-pkg/package.json").exists()
    tarball = [r for r in registry.requests if r.path.endswith(".tgz")]
    assert tarball and all(r.authorization == f"Bearer {TOKEN}" for r in tarball)

    done = run_client(network, ["npm", "view", "tiny-pkg", "version", "--no-update-notifier"], env, cwd=tmp_path)
    assert done.stdout.strip() == "1.0.0", done.stderr
    assert any(r.path == f"{PREFIX}tiny-pkg" for r in registry.requests[len(tarball):])
    assert all(r.authorization == f"Bearer {TOKEN}" for r in registry.requests)


def test_npm_installs_without_a_lockfile_from_a_path_prefixed_mirror(network, tmp_path, registry):
    """npm install and npm i -g take the tarball URL of the mirror's packument as it is. (With
    replace-registry-host=always, Debian's npm 9.2 puts the mirror's path in front of it again, npm/cli#6110,
    as the builder's npm did in test-runner/full-global's newman step before it became node:18-alpine's 10.8.2;
    this machine's npm may be newer.)"""
    config = write_config(tmp_path / "config", {"pkg-npm-url": registry.url + PREFIX, "pkg-npm-token": TOKEN})
    env = apply_preamble("test-runner", config, tmp_path / "home")
    done = run_client(network, ["npm", "install", "-g", "--prefix", str(tmp_path / "global"), "--no-audit",
                                "--no-fund", "--no-update-notifier", "tiny-pkg@1.0.0"], env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "global/lib/node_modules/tiny-pkg/package.json").exists()
    assert [r.path for r in registry.requests if r.path.endswith(".tgz")] == [f"{PREFIX}tiny-pkg/-/tiny-pkg-1.0.0.tgz"]


@pytest.mark.parametrize("spelling", ["http://LOCALHOST:{port}{prefix}", "http://LocalHost:{port}/repository/npm-proxy",
                                      "http://localhost:{port}/repository/npm-proxy"])
def test_npm_finds_the_token_however_the_registry_url_is_spelled(network, tmp_path, registry, spelling):
    """npm looks a token up under its own normal form of the registry URL (lowercase host, no default
    port, the path up to its last '/'): the preamble must key it the same way, or npm sends nothing."""
    url = spelling.format(port=registry.port, prefix=PREFIX)
    config = write_config(tmp_path / "config", {"pkg-npm-url": url, "pkg-npm-token": TOKEN})
    env = apply_preamble("webapp", config, tmp_path / "home")
    done = run_client(network, ["npm", "view", "tiny-pkg", "version", "--no-update-notifier"], env, cwd=tmp_path)
    assert done.stdout.strip() == "1.0.0", done.stderr
    assert registry.requests and all(r.authorization == f"Bearer {TOKEN}" for r in registry.requests)


def check_npm_view(network, prefix: str, authorization: str, values) -> None:
    """npm view through a registry under `prefix` that answers only to `authorization`; `values(server)`: the
    proxy-config."""
    with scratch_directory() as tmp:
        server = RecordingServer(expected_authorization=authorization).start(network)
        try:
            packument = {"name": "tiny-pkg", "dist-tags": {"latest": "1.0.0"}, "versions": {"1.0.0": {
                "name": "tiny-pkg", "version": "1.0.0", "dist": {"tarball": f"{server.url}{prefix}t.tgz"}}}}
            server.routes[f"{prefix}tiny-pkg"] = Route(json.dumps(packument).encode(), "application/json")
            env = apply_preamble("webapp", write_config(tmp / "config", values(server)), tmp / "home")
            done = run_client(network, ["npm", "view", "tiny-pkg", "version", "--no-update-notifier"], env, cwd=tmp)
            assert done.stdout.strip() == "1.0.0", done.stderr[-2000:]
        finally:
            server.stop()


def check_npm_token(network, prefix: str) -> None:
    check_npm_view(network, prefix, f"Bearer {TOKEN}", lambda server: {"pkg-npm-url": server.url + prefix,
                                                                         "pkg-npm-token": TOKEN})


def test_npm_cannot_take_a_token_for_a_registry_path_with_an_equals_sign(network):
    """.npmrc keys end at the first '=': the token's key for /repo=x/npm/ breaks and npm sends none (found by a
    preamble sweep). The same check passes on a path without '='."""
    check_npm_token(network, PREFIX)
    assert_client_limit("client-npm-path-equals", Kind("package-proxy", "npm"), "http://127.0.0.1/repo=x/npm/",
                        check_npm_token, network, "/repo=x/npm/")


def check_npm_userinfo(network, user: str, password: str) -> None:
    """npm view through a registry whose URL holds the credentials as user-info."""
    check_npm_view(network, PREFIX, basic_header(user, password),
                   lambda server: {"pkg-npm-url": with_userinfo(server.url + PREFIX, user, password)})


def test_npm_sends_a_url_s_user_info_as_written(network):
    """npm sends the registry URL's user-info without decoding it: plain text authenticates, a percent-escape
    reaches the mirror still escaped (bu%40corp), so it answers 401 (found by a sweep)."""
    check_npm_userinfo(network, "builder", "pw")
    assert_client_limit("client-userinfo-escape", Kind("package-proxy", "npm"), "http://bu%40corp:pw@127.0.0.1/npm/",
                        check_npm_userinfo, network, "bu@corp", "pw")
