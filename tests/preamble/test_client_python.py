"""pip reads back the pip.conf the preamble wrote: the mirror index only, with credentials of any characters."""

import base64
import hashlib
import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import given

from loopback_mirror import assert_fetched_with_credentials, HOSTILE_PASSWORD, HOSTILE_USER, RecordingServer, Route, apply_preamble, basic_header, run_client, write_config
from harness.contract.grammar import Kind
from loopback_mirror import MirrorUrl, assert_client_limit, assert_reached_mirror, credentials, generated_mirror, mirror_urls, realclient_settings, scratch_directory

WHEEL = "tiny_pkg-1.0-py3-none-any.whl"


def tiny_wheel() -> bytes:
    files = {
        "tiny_pkg/__init__.py": b"",
        "tiny_pkg-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: tiny-pkg\nVersion: 1.0\n",
        "tiny_pkg-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(
        f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}\n"
        for name, data in files.items()) + "tiny_pkg-1.0.dist-info/RECORD,,\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in {**files, "tiny_pkg-1.0.dist-info/RECORD": record.encode()}.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def index(network):
    server = RecordingServer(expected_authorization=basic_header(HOSTILE_USER, HOSTILE_PASSWORD)).start(network)
    wheel = tiny_wheel()
    digest = hashlib.sha256(wheel).hexdigest()
    page = f'<html><body><a href="/pypi/packages/{WHEEL}#sha256={digest}">{WHEEL}</a></body></html>'
    server.routes["/pypi/simple/tiny-pkg/"] = Route(page.encode(), "text/html")
    server.routes[f"/pypi/packages/{WHEEL}"] = Route(wheel)
    yield server
    server.stop()


def test_pip_downloads_from_the_mirror_with_hostile_credentials(network, tmp_path, index):
    config = write_config(tmp_path / "config", {
        "pkg-python-url": index.url + "/pypi/simple/",
        "pkg-python-username": HOSTILE_USER,
        "pkg-python-password": HOSTILE_PASSWORD,
    })
    env = apply_preamble("buildpack", config, tmp_path / "home")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-cache-dir"]
    configured = run_client(network, pip + ["config", "get", "global.index-url"], env).stdout.strip()
    assert configured.startswith("http://") and configured.endswith(f"@127.0.0.1:{index.port}/pypi/simple/")

    done = run_client(network, pip + ["download", "--no-deps", "-d", str(tmp_path / "out"), "tiny-pkg"], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "out" / WHEEL).exists()
    assert "/pypi/simple/tiny-pkg/" in [r.path for r in index.authenticated()]
    assert_fetched_with_credentials(index, f"/pypi/packages/{WHEEL}", done.stdout + done.stderr)


def uv_binary() -> str:
    """uv, as the test extra installs it beside this interpreter (or on PATH)."""
    found = shutil.which("uv", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    assert found, "uv is not installed: pip install -e '.[test]' installs it"
    return found


def test_uv_installs_a_pyproject_project_from_the_mirror_with_hostile_credentials(network, tmp_path, index):
    """uv reads no pip configuration, and Google's Python buildpack installs a pyproject.toml project with it
    (`uv sync`, from Python 3.13): the preamble's UV_DEFAULT_INDEX (and UV_INDEX_URL) send it to the mirror, with the
    credentials, the same index pip has. A project's uv.toml default index does not win over them."""
    config = write_config(tmp_path / "config", {
        "pkg-python-url": index.url + "/pypi/simple/",
        "pkg-python-username": HOSTILE_USER,
        "pkg-python-password": HOSTILE_PASSWORD,
    })
    env = apply_preamble("buildpack", config, tmp_path / "home")
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "1"\nrequires-python = ">=3.8"\n'
                                            'dependencies = ["tiny-pkg"]\n')
    (project / "uv.toml").write_text('[[index]]\nurl = "https://pypi.org/simple"\ndefault = true\n')
    env = {**env, "UV_CACHE_DIR": str(tmp_path / "uv-cache"), "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}
    done = run_client(network, [uv_binary(), "sync", "--link-mode=copy", "--python", sys.executable], env, cwd=project)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "/pypi/simple/tiny-pkg/" in [r.path for r in index.authenticated()]
    assert_fetched_with_credentials(index, f"/pypi/packages/{WHEEL}", done.stdout + done.stderr)
    assert "pypi.org" not in (project / "uv.lock").read_text()


# RFC 5737 documentation address, put on the loopback of the test's own empty network namespace: nothing leaves
NOT_LOOPBACK = "192.0.2.10"


def test_pip_uses_a_plain_http_mirror_on_a_host_that_is_not_loopback(network, tmp_path):
    """pip takes plain http only from loopback or a trusted-host: on another host it ignores the index ("not a
    trusted or secure host") and finds nothing. The loopback tests above cannot show that; this mirror is on
    another address."""
    subprocess.run(network.enter + ["ip", "addr", "add", f"{NOT_LOOPBACK}/32", "dev", "lo"], check=True)
    server = RecordingServer(expected_authorization=basic_header(HOSTILE_USER, HOSTILE_PASSWORD),
                             bind=(NOT_LOOPBACK, 0)).start(network)
    try:
        wheel = tiny_wheel()
        page = f'<html><body><a href="{WHEEL}#sha256={hashlib.sha256(wheel).hexdigest()}">{WHEEL}</a></body></html>'
        server.routes["/pypi/simple/tiny-pkg/"] = Route(page.encode(), "text/html")
        server.routes[f"/pypi/simple/tiny-pkg/{WHEEL}"] = Route(wheel)
        config = write_config(tmp_path / "config", {"pkg-python-url": f"http://{NOT_LOOPBACK}:{server.port}/pypi/simple/",
                                                     "pkg-python-username": HOSTILE_USER, "pkg-python-password": HOSTILE_PASSWORD})
        env = apply_preamble("buildpack", config, tmp_path / "home")
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-cache-dir"]
        trusted = run_client(network, pip + ["config", "get", "global.trusted-host"], env).stdout.strip()
        assert trusted == f"{NOT_LOOPBACK}:{server.port}"  # the host only: no credentials in it
        done = run_client(network, pip + ["download", "--no-deps", "-d", str(tmp_path / "out"), "tiny-pkg"], env)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert (tmp_path / "out" / WHEEL).exists()
        assert "/pypi/simple/tiny-pkg/" in [r.path for r in server.authenticated()]
    finally:
        server.stop()


@realclient_settings()
@given(mirror=mirror_urls("python"), user=credentials("python", "username"), password=credentials("python", "password"))
def test_pip_reaches_any_accepted_mirror_url_with_any_accepted_credentials(network, mirror, user, password):
    """Property (c) for pip: host case, [::1], default port written or not, any path the grammar accepts for
    python (percent-encoded characters, with or without a trailing '/'), credentials of any characters it accepts
    (percent-encoded into index-url's user-info by the preamble). What pip cannot take is a client limit of the
    grammar, each shown below with pip failing on it."""
    check_pip(network, mirror, user, password)


def test_pip_cannot_send_a_non_ascii_password(network):
    """pip (requests' HTTPBasicAuth) encodes Basic credentials as ISO-8859-1: the mirror gets 0xE9, not C3 A9."""
    assert_client_limit("client-credential-not-ascii", Kind("password", "python"), "é",
                        check_pip, network, MirrorUrl("http", "127.0.0.1", "implicit", ""), "0", "é")


def test_pip_cannot_take_a_slash_in_the_username(network):
    """The preamble writes a/b as a%2Fb, but pip decodes the user-info before it splits the URL: host 'a'."""
    assert_client_limit("client-username-slash", Kind("username", "python"), "a/b",
                        check_pip, network, MirrorUrl("http", "127.0.0.1", "other", "/"), "a/b", "r")


def test_pip_cannot_keep_an_escaped_byte_that_is_not_utf8(network):
    """pip decodes the index page's link paths as UTF-8: /%CA/tiny-pkg/x.whl is fetched as /%EF%BF%BD/..."""
    assert_client_limit("client-path-escape-not-utf8", Kind("package-proxy", "python"), "http://127.0.0.1/%CA",
                        check_pip, network, MirrorUrl("http", "127.0.0.1", "other", "/%CA"), "y", "r")


def check_pip(network, mirror, user, password):
    expected = basic_header(user, password)
    with scratch_directory() as tmp, generated_mirror(network, mirror, expected) as server:
        wheel = tiny_wheel()
        # A relative link, as devpi and Nexus write them: the wheel sits under the project page.
        page = f'<html><body><a href="{WHEEL}#sha256={hashlib.sha256(wheel).hexdigest()}">{WHEEL}</a></body></html>'
        server.routes[mirror.under("tiny-pkg/")] = Route(page.encode(), "text/html")
        server.routes[mirror.under(f"tiny-pkg/{WHEEL}")] = Route(wheel)
        config = write_config(tmp / "config", {"pkg-python-url": mirror.url(server), "pkg-python-username": user,
                                               "pkg-python-password": password})
        env = apply_preamble("buildpack", config, tmp / "home")
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-cache-dir"]
        done = run_client(network, pip + ["download", "--no-deps", "-d", str(tmp / "out"), "tiny-pkg"], env)
        assert done.returncode == 0, (mirror.url(server), done.stdout[-2000:] + done.stderr[-2000:])
        assert (tmp / "out" / WHEEL).exists()
        assert_reached_mirror(server, mirror, expected, ["tiny-pkg/", f"tiny-pkg/{WHEEL}"], done.stdout + done.stderr)


def test_an_image_s_own_pip_conf_brings_no_other_index_back(network, tmp_path, index):
    """A base image's site-wide pip.conf (here through XDG_CONFIG_DIRS, as /etc/xdg/pip/pip.conf) with a command's
    own index-url and an extra index or find-links of pypi.org: pip takes [download] over [global] and merges the
    files, so the preamble's [global] index-url alone lost to them (found by a sweep with a real /etc/pip.conf).
    pip asks the mirror only, and the decoy standing for pypi.org sees nothing."""
    decoy = RecordingServer().start(network)
    try:
        site = tmp_path / "xdg" / "pip"
        site.mkdir(parents=True)
        (site / "pip.conf").write_text(f"[global]\nextra-index-url = {decoy.url}/extra/\nfind-links = {decoy.url}/links/\n"
                                       f"[download]\nindex-url = {decoy.url}/download/\n"
                                       f"[install]\nindex-url = {decoy.url}/install/\n")
        config = write_config(tmp_path / "config", {"pkg-python-url": index.url + "/pypi/simple/",
                                                    "pkg-python-username": HOSTILE_USER,
                                                    "pkg-python-password": HOSTILE_PASSWORD})
        env = {**apply_preamble("buildpack", config, tmp_path / "home"), "XDG_CONFIG_DIRS": str(tmp_path / "xdg")}
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-cache-dir"]
        done = run_client(network, pip + ["download", "--no-deps", "-d", str(tmp_path / "out"), "tiny-pkg"], env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert (tmp_path / "out" / WHEEL).exists()
        assert decoy.requests == [], [r.path for r in decoy.requests]
        assert "/pypi/simple/tiny-pkg/" in [r.path for r in index.authenticated()]
    finally:
        decoy.stop()
