"""pip reads back the pip.conf the preamble wrote: the mirror index only, with credentials of any characters."""

import base64
import hashlib
import io
import sys
import zipfile

import pytest

from loopback_mirror import assert_fetched_with_credentials, HOSTILE_PASSWORD, HOSTILE_USER, RecordingServer, Route, apply_preamble, basic_header, run_client, write_config

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
