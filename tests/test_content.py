"""Fixture content that the leak scenarios rely on, checked with the real clients where one runs offline."""

import json
import subprocess
import sys

import pytest

from harness.runner import _recipe_data
from harness.stack import content


@pytest.fixture(scope="module")
def built():
    return content.build()


def _pip_download(links, requirement, dest):
    return subprocess.run([sys.executable, "-m", "pip", "download", "--no-index", "--find-links", str(links),
                           "--no-cache-dir", "-d", str(dest), requirement], capture_output=True, text=True)


def test_sdist_build_backend_is_fetched_from_the_index(built, tmp_path):
    """pip fetches the backend into its isolated build environment: present on the index it builds, absent
    it fails naming it. Proves the leak scenario's sdist really makes pip fetch a build backend."""
    links = tmp_path / "links"
    links.mkdir()
    for name, data in built.python.items():
        (links / name).write_bytes(data)
    ok = _pip_download(links, "airgap-fixture-built==0.1.0", tmp_path / "ok")
    assert ok.returncode == 0, ok.stderr
    (links / "airgap_fixture_backend-1.0.0-py3-none-any.whl").unlink()
    missing = _pip_download(links, "airgap-fixture-built==0.1.0", tmp_path / "missing")
    assert missing.returncode != 0 and "airgap-fixture-backend" in missing.stdout + missing.stderr


def test_code_host_dist_url_is_published_as_given(built):
    metadata = json.loads(built.static["repo.packagist.org/p2/airgap-fixture/coded.json"])
    [version] = metadata["packages"]["airgap-fixture/coded"]
    assert version["dist"]["url"].startswith("https://api.github.com/repos/airgap-fixture/coded/zipball/")
    hello = json.loads(built.static["repo.packagist.org/p2/airgap-fixture/hello.json"])
    assert hello["packages"]["airgap-fixture/hello"][0]["dist"]["url"].startswith("https://repo.packagist.org/")


def test_leak_projects_carry_their_leak(built):
    assert b"<url>https://jitpack.io</url>" in built.projects["maven-own-repository"]["pom.xml"]
    assert b"\ngo 1.99.0\n" in built.projects["go-toolchain"]["go.mod"]
    assert built.projects["composer-code-host"]["composer.json"].count(b"airgap-fixture/coded") == 1


def test_every_recipe_project_has_its_files(built):
    for name, project in _recipe_data()["projects"].items():
        assert project.get("dir", name) in built.projects, name
