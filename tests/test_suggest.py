"""lint's "did you mean": by meaning (aliases, parts of the name) before spelling, never a refused key.

Issue 8, "Help that misleads": spelling alone sent pkg-pypi-url to pkg-npm-url and pkg-pypi-username to a
key the contract refuses. Each case runs through the real `airgap lint`.
"""

import json
from pathlib import Path

import pytest

from harness.contract.catalog import load_catalog
from helpers import airgap, write_proxy_config

CATALOG = load_catalog()


def lint_messages(directory: Path, *names: str) -> dict[str, dict]:
    write_proxy_config(directory, dict.fromkeys(names, "https://nexus.example.com/x/"))
    done = airgap("lint", directory, "--format", "json")
    assert done.returncode == 1, done.stderr
    return {f["key"]: f for f in json.loads(done.stdout)["findings"] if f["key"] in names}


@pytest.mark.parametrize("name, suggestion", [
    ("pkg-pypi-url", "pkg-python-url"),
    ("pkg-pip-url", "pkg-python-url"),
    ("pkg-pypi-username", "pkg-python-username"),
    ("pkg-maven-user", "pkg-maven-username"),
    ("pkg-go-pass", "pkg-go-password"),
    ("oci-dockerhub-user", "oci-dockerhub-username"),
    ("pkg-gem-url", "pkg-rubygems-url"),
    ("pkg-ruby-url", "pkg-rubygems-url"),
    ("pkg-php-url", "pkg-composer-url"),
    ("pkg-packagist-url", "pkg-composer-url"),
    ("pkg-golang-url", "pkg-go-url"),
    ("pkg-mvn-url", "pkg-maven-url"),
    ("pkg-yarn-url", "pkg-npm-url"),
    ("pkg-dotnet-url", "pkg-nuget-url"),
    ("PKG-NPM-URL", "pkg-npm-url"),
    ("pkg-npm-urll", "pkg-npm-url"),
    ("pkg-pyhton-url", "pkg-python-url"),
    ("image-ngnix-ref", "image-nginx-ref"),
])
def test_suggestion_by_meaning(tmp_path, name, suggestion):
    [finding] = lint_messages(tmp_path, name).values()
    assert finding["rule"] == "unknown-key"
    assert f"did you mean {suggestion!r}?" in finding["message"], finding["message"]


@pytest.mark.parametrize("name, suggestion", [
    ("webapp.pkg-npm-url.bak", "webapp.pkg-npm-url"),
    ("webapp.pkg-npm-user", "webapp.pkg-npm-token"),
    ("buildpack.PKG_MAVEN_URL", "buildpack.pkg-maven-url"),
    ("test-runner.image-ngnix-ref", "test-runner.image-nginx-ref"),
])
def test_a_scoped_name_is_suggested_its_scoped_key(tmp_path, name, suggestion):
    """Following the hint must keep the value's scope: webapp.pkg-npm-url.bak was told 'pkg-npm-url', which
    makes a webapp-only value global (found by a sweep)."""
    [finding] = lint_messages(tmp_path, name).values()
    assert f"did you mean {suggestion!r}?" in finding["message"], finding["message"]


@pytest.mark.parametrize("name, token", [("pkg-npm-username", "pkg-npm-token"),
                                         ("webapp.pkg-npm-username", "webapp.pkg-npm-token")])
def test_npm_basic_auth_names_the_token_in_the_same_scope(tmp_path, name, token):
    """Following the hint must keep the value's scope (found by a review)."""
    write_proxy_config(tmp_path, {name: "builder"})
    [finding] = [f for f in json.loads(airgap("lint", tmp_path, "--format", "json").stdout)["findings"] if f["key"] == name]
    assert finding["rule"] == "npm-basic-auth" and f"put it in {token};" in finding["message"], finding["message"]


def test_npm_credentials_point_to_the_token_not_to_a_refused_key(tmp_path):
    [finding] = lint_messages(tmp_path, "pkg-npm-user").values()
    assert "did you mean 'pkg-npm-token'?" in finding["message"] and "pkg-npm-username" not in finding["message"]


def test_maven_has_no_token(tmp_path):
    [finding] = lint_messages(tmp_path, "pkg-maven-token").values()
    message = finding["message"]
    assert "pkg-npm-token" not in message and "did you mean" not in message
    assert "maven takes no token" in message and "pkg-maven-username" in message and "pkg-maven-password" in message


def test_an_image_without_an_override_is_named_as_such(tmp_path):
    [finding] = lint_messages(tmp_path, "image-runtime-openjdk-ref").values()
    message = finding["message"]
    assert "image-buildpacks-run-ref" not in message and "did you mean" not in message
    assert "no override" in message and "runtime-openjdk" in message and "oci-buildpacks-url" in message


@pytest.mark.parametrize("name", ["pkg-nosuchmanager-url", "foo", "image-whatever-ref"])
def test_nothing_when_nothing_is_close(tmp_path, name):
    [finding] = lint_messages(tmp_path, name).values()
    assert finding["message"] == "not a key of the contract; the build ignores it"


def test_no_suggestion_is_ever_a_refused_key(tmp_path):
    refused = {r for key in CATALOG.keys.values() for r in key.refused}
    names = ["pkg-npm-usernme", "pkg-npm-passwrd", "pkg-yarn-user", "pkg-yarn-pass", "PKG-NPM-USERNAME"]
    for name, finding in lint_messages(tmp_path, *names).items():
        assert not any(repr(r) in finding["message"] for r in refused), (name, finding["message"])
        assert "pkg-npm-token" in finding["message"], (name, finding["message"])


def test_a_file_extension_is_not_read_as_a_strategy(tmp_path):
    findings = lint_messages(tmp_path, "pkg-npm-url.txt", "PKG-PYPI-URL.bak")
    first, second = findings["pkg-npm-url.txt"], findings["PKG-PYPI-URL.bak"]
    assert first["rule"] == second["rule"] == "unknown-key"
    assert "not a build strategy" not in first["message"]
    assert "did you mean 'pkg-npm-url'?" in first["message"] and "no extension" in first["message"]
    assert "did you mean 'pkg-python-url'?" in second["message"]


def test_an_unknown_strategy_prefix_is_still_one(tmp_path):
    [finding] = lint_messages(tmp_path, "buildpak.pkg-npm-url").values()
    assert finding["rule"] == "unknown-strategy" and "did you mean 'buildpack'?" in finding["message"]


def test_aliases_name_real_managers_registries_and_fields():
    aliases = CATALOG.aliases
    assert set(aliases["managers"].values()) <= set(CATALOG.managers)
    assert set(aliases["registries"].values()) <= set(CATALOG.registries)
    assert set(aliases["fields"].values()) <= {"url", "username", "password", "token"}
