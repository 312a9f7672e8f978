"""`plan`: what each strategy's build does with the fixture configurations."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.contract import reference
from harness.contract.catalog import load_catalog
from harness.contract.config import read_config
from harness.contract.plan import plan
from helpers import PROXY_CONFIGS as FIXTURES, SCENARIOS, write_proxy_config

CATALOG = load_catalog()
STRATEGIES = list(CATALOG.strategies)


def plan_of(fixture: str, strategy: str) -> dict:
    return plan(CATALOG, read_config(FIXTURES / fixture), strategy).to_json()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_no_configuration_uses_public_defaults(strategy):
    result = plan_of("none", strategy)
    assert all(i["source"] == "default" and i["resolved"] == i["default"] for i in result["images"].values())
    assert all(p["key"] is None and p["auth"] == "none" for p in result["packages"].values())
    assert result["dockerhub_login"] == CATALOG.strategies[strategy].dockerhub_login
    assert result["logins"] == ([{"registry": "docker.io", "key": None}] if result["dockerhub_login"] else [])
    hosts = {d["host"] for d in result["public"]}
    for image in result["images"].values():
        assert set(CATALOG.pull_hosts(reference.parse(image["default"]))) <= hosts


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_full_global_mirror_leaves_only_unredirectable_destinations(strategy):
    result = plan_of("full-global", strategy)
    assert all(i["source"] == "mirror" for i in result["images"].values())
    assert all(p["key"] == f"pkg-{m}-url" for m, p in result["packages"].items())
    assert all(d["covered_by"] is None for d in result["public"])
    assert result["dockerhub_login"] is False
    assert sorted(result["ignored_keys"]) == sorted(k for k in read_config(FIXTURES / "full-global").entries
                                                   if k not in CATALOG.consumed_keys(strategy))


def test_mirror_rewrite_keeps_library_for_official_images():
    images = plan_of("full-global", "webapp")["images"]
    assert images["node"]["resolved"] == "nexus.example.com/dockerhub-proxy/library/node:18-alpine"
    assert images["nginx"]["resolved"] == \
        "nexus.example.com/choreo-proxy/nginxinc/nginx-unprivileged:stable-alpine-slim"
    buildpack = plan_of("full-global", "buildpack")["images"]
    assert buildpack["runtime-openjdk"]["resolved"] == \
        "nexus.example.com/gcr-proxy/gae-runtimes/runtimes-ubuntu2204/openjdk:17.0.18_8"
    # the namespace stays: buildpacksio/lifecycle, on Docker Hub, through the buildpacks mirror
    assert buildpack["buildpacks-lifecycle"]["resolved"] == "nexus.example.com/gcr-proxy/buildpacksio/lifecycle:0.20.2"


def test_an_image_inside_another_registry_goes_to_the_mirror_of_its_longest_prefix_in_effect(tmp_path):
    """docker.io/buildpacksio is the buildpacks registry's prefix inside Docker Hub's: with the buildpacks mirror
    the lifecycle is rewritten to it; without, registries.conf sends it to the Docker Hub mirror (not public), and
    with neither it is public, covered by its own key."""
    (tmp_path / "oci-dockerhub-url").write_text("hub.example.com/hub")
    (tmp_path / "oci-choreo-url").write_text("acr.example.com/choreo")
    only_hub = plan(CATALOG, read_config(tmp_path), "buildpack").to_json()
    assert only_hub["images"]["buildpacks-lifecycle"]["source"] == "default"
    hosts = {d["host"] for d in only_hub["public"]}
    assert not hosts & {"registry-1.docker.io", "choreoprivateacr.azurecr.io"}  # remapped to hub and choreo mirrors
    assert "us-docker.pkg.dev" in hosts  # the runtime: no mirror in effect takes gae-runtimes
    none = {d["host"]: d["covered_by"] for d in plan_of("none", "mi")["public"]}
    assert none["choreoprivateacr.azurecr.io"] == "oci-buildpacks-url"


def test_credentials_are_key_names_and_never_values():
    result = plan_of("credentials-everywhere", "buildpack")
    assert result["logins"] == [
        {"registry": "nexus.example.com/dockerhub-proxy", "key": "oci-dockerhub-username"},
        {"registry": "nexus.example.com/choreo-proxy", "key": "oci-choreo-username"},
        {"registry": "nexus.example.com/gcr-proxy", "key": "oci-buildpacks-username"},
    ]
    assert result["packages"]["npm"] == {"url": "https://nexus.example.com/repository/npm-proxy/", "auth": "token",
                                         "key": "pkg-npm-url", "credentials": ["pkg-npm-token"], "error": None}
    assert result["packages"]["maven"]["auth"] == "basic"
    text = json.dumps(result)
    for name, entry in read_config(FIXTURES / "credentials-everywhere").entries.items():
        if name in CATALOG.credential_owner:
            assert json.dumps(entry.value)[1:-1] not in text, name


def test_image_overrides_full_prefix_and_digest():
    webapp = plan_of("image-overrides", "webapp")["images"]
    assert webapp["node"] == {"default": "docker.io/library/node:18-alpine", "resolved": "golden.example.com:5000/base/node:20.11-alpine",
                              "source": "override", "key": "image-node-ref", "registry": "dockerhub",
                              "credentials": "oci-dockerhub-username", "error": None}
    assert webapp["nginx"]["resolved"] == "golden.example.com:5000/base/nginx:stable-alpine-slim"
    assert webapp["nginx"]["credentials"] == "oci-dockerhub-username"  # same host as the Docker Hub mirror
    prism = plan_of("image-overrides", "prism")["images"]
    assert prism["prism"]["resolved"].endswith("@sha256:" + "0123456789abcdef" * 4)
    assert prism["golang"]["resolved"] == "registry.acme.internal/base/golang:1.22.4-alpine"
    assert prism["golang"]["credentials"] is None


def test_override_credentials_appear_as_logins():
    logins = plan_of("image-overrides", "webapp")["logins"]
    assert {"registry": "golden.example.com:5000/base/node", "key": "oci-dockerhub-username"} in logins
    assert {"registry": "golden.example.com:5000/dockerhub", "key": "oci-dockerhub-username"} in logins


def test_strategy_scoped_keys():
    assert plan_of("strategy-scoped", "ballerina")["packages"]["maven"]["url"] == \
        "https://nexus.example.com/repository/ballerina-maven/"
    assert plan_of("strategy-scoped", "mi")["packages"]["maven"]["url"] == \
        "https://nexus.example.com/repository/maven-proxy/"
    webapp = plan_of("strategy-scoped", "webapp")
    assert webapp["images"]["node"]["resolved"] == "harbor.acme.internal:8443/webapp-hub/library/node:18-alpine"
    assert "oci-dockerhub-url" in webapp["shadowed_keys"]
    assert "buildpack.pkg-npm-url" in webapp["ignored_keys"]


def test_troubleshooting_cases():
    # a scenario's own proxy-config (FIXTURES / an absolute path is that path)
    scheme = plan_of(SCENARIOS / "ts-scheme-in-oci-url" / "proxy-config", "webapp")["images"]["node"]
    assert scheme["source"] == "mirror" and "without a scheme" in scheme["error"]
    restricted = plan_of(SCENARIOS / "ts-restricted-no-dockerhub-url" / "proxy-config", "webapp")
    assert restricted["dockerhub_login"] is True and {"registry": "docker.io", "key": None} in restricted["logins"]
    scoped = plan_of("ts-strategy-scoped-only", "webapp")
    assert scoped["packages"]["npm"]["key"] is None
    assert "registry.npmjs.org" in {d["host"] for d in scoped["public"]}
    assert plan_of("ts-strategy-scoped-only", "buildpack")["packages"]["npm"]["key"] == "buildpack.pkg-npm-url"
    node18 = plan_of(SCENARIOS / "ts-webapp-node18" / "proxy-config", "webapp")["images"]["node"]
    assert node18["resolved"].endswith("/library/node:18-alpine")


def test_unsupported_keys_have_no_effect():
    """prism consumes only oci-choreo-url and its two overrides: everything else in full-global is ignored."""
    result = plan_of("full-global", "prism")
    assert result["packages"] == {}
    assert "pkg-npm-url" in result["ignored_keys"] and "oci-dockerhub-url" in result["ignored_keys"]


def test_hostile_entries_count_as_unset_and_are_listed():
    result = plan_of("hostile", "buildpack")
    assert result["packages"]["npm"]["key"] is None
    assert {p["key"] for p in result["problems"]} >= {"pkg-npm-url", "pkg-maven-url", "oci-dockerhub-url"}


def test_url_passwords_are_masked(tmp_path):
    (tmp_path / "pkg-npm-url").write_text("https://user:hunter2@nexus.example.com/npm/")
    result = json.dumps(plan(CATALOG, read_config(tmp_path), "webapp").to_json())
    assert "hunter2" not in result and "https://user:***@nexus.example.com/npm/" in result


KEYS = ["oci-dockerhub-url", "oci-choreo-url", "oci-buildpacks-url", "pkg-npm-url", "pkg-maven-url", "image-node-ref"]
VALUES = {"oci": ["m1.example.com/a", "m2.example.com:5000"], "pkg": ["https://p1.example.com/r/", "https://p2.example.com/"],
          "image": ["golden.example.com/base/node", "golden.example.com/base/node:22"]}


@given(st.dictionaries(st.tuples(st.sampled_from([None] + STRATEGIES), st.sampled_from(KEYS)),
                       st.integers(min_value=0, max_value=1), max_size=8))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=150)
def test_precedence_in_the_plan(tmp_path, assignment):
    """Whatever the mix of scoped and global keys, each strategy uses its scoped value, else the global one."""
    directory = tmp_path / "cfg"
    directory.mkdir(exist_ok=True)
    for old in directory.iterdir():
        old.unlink()
    for (scope, key), index in assignment.items():
        value = VALUES[key.split("-")[0]][index]
        (directory / (f"{scope}.{key}" if scope else key)).write_text(value + "\n")
    config = read_config(directory)
    for strategy in STRATEGIES:
        result = plan(CATALOG, config, strategy)
        for key in KEYS:
            chosen = assignment.get((strategy, key), assignment.get((None, key)))
            winner = f"{strategy}.{key}" if (strategy, key) in assignment else key
            used = [i for i in result.images.values() if i.key == winner] + \
                   [p for p in result.packages.values() if p.key == winner] + \
                   [m for m in result.mirrors.values() if m["key"] == winner]
            consumed = key in CATALOG.consumed_keys(strategy)
            if chosen is None or not consumed:
                assert not used
                continue
            expected_value = VALUES[key.split("-")[0]][chosen]
            if key.startswith("pkg-"):
                assert [p.url for p in used] == [expected_value]
            elif key.startswith("oci-"):
                assert [m["url"] for m in used if isinstance(m, dict)] == [expected_value]
                assert all(i.resolved.startswith(expected_value + "/") for i in used if not isinstance(i, dict))
            else:
                assert used and all(i.resolved.startswith(expected_value) for i in used)


@pytest.mark.parametrize("family, value", [("username", "user\r"), ("password", " pw "), ("password", "p${x}w")])
def test_a_credential_the_build_stops_on_is_named_in_the_plan(tmp_path, family, value):
    """lint and the preamble name pkg-maven-username when it is at fault; plan named only the URL's key."""
    write_proxy_config(tmp_path, {"pkg-maven-url": "https://nexus.example.com/maven/", "pkg-maven-username": "user",
                                  "pkg-maven-password": "pw", f"pkg-maven-{family}": value})
    maven = plan(load_catalog(), read_config(tmp_path), "buildpack").packages["maven"]
    assert maven.error.startswith(f"pkg-maven-{family}: ") and "(credential-format)" in maven.error
