"""One case per lint rule, plus masking; a meta-test fails when a rule has no case."""

import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.contract.catalog import load_catalog
from harness.contract.config import read_config
from harness.contract.lint import RULES, exit_code, lint
from harness.contract.plan import plan
from helpers import PROXY_CONFIGS as FIXTURES, SCENARIOS, airgap, write_proxy_config

CATALOG = load_catalog()
GOOD_DOCKERHUB = {"oci-dockerhub-url": "nexus.example.com/dockerhub-proxy"}

# rule -> (files, strategy or None, key the finding names)
CASES = {
    "invalid-key-name": ({"pkg npm url": "x"}, None, "pkg npm url"),
    "not-utf8": ({"pkg-npm-url": b"https://\xff/"}, None, "pkg-npm-url"),
    "binary-value": ({"pkg-npm-url": b"https://a\0b/"}, None, "pkg-npm-url"),
    "value-too-large": ({"pkg-npm-url": "h" * 70000}, None, "pkg-npm-url"),
    "unknown-key": ({"pkg-npm-urll": "https://a/"}, None, "pkg-npm-urll"),
    "unknown-strategy": ({"buildpak.pkg-npm-url": "https://a/"}, None, "buildpak.pkg-npm-url"),
    "npm-basic-auth": ({"pkg-npm-username": "u"}, None, "pkg-npm-username"),
    "empty-value": ({"pkg-npm-url": ""}, None, "pkg-npm-url"),
    "carriage-return": ({"pkg-npm-url": "https://a/\r\n"}, None, "pkg-npm-url"),
    "newline-in-value": ({"pkg-npm-url": "https://a/\nhttps://b/"}, None, "pkg-npm-url"),
    "surrounding-whitespace": ({"pkg-npm-url": " https://a/"}, None, "pkg-npm-url"),
    "quoted-value": ({"pkg-npm-token": "'tok'"}, None, "pkg-npm-token"),
    "oci-url-scheme": ({"oci-dockerhub-url": "https://nexus.example.com/hub"}, None, "oci-dockerhub-url"),
    "oci-url-invalid": ({"oci-choreo-url": "nexus.example.com/Choreo"}, None, "oci-choreo-url"),
    "pkg-url-scheme": ({"pkg-go-url": "nexus.example.com/go/"}, None, "pkg-go-url"),
    "pkg-url-http": ({"pkg-go-url": "http://nexus.example.com/go/"}, None, "pkg-go-url"),
    "pkg-url-invalid": ({"pkg-go-url": "https:///go/"}, None, "pkg-go-url"),
    "url-credentials": ({"pkg-go-url": "https://u:secretpw@nexus.example.com/go/"}, None, "pkg-go-url"),
    "credential-percent-encoded": ({"pkg-go-url": "https://a/", "pkg-go-username": "u", "pkg-go-password": "p%40ss"},
                                   None, "pkg-go-password"),
    "credential-invisible-character": ({"pkg-npm-url": "https://a/", "pkg-npm-token": "\ufefftok"}, None, "pkg-npm-token"),
    "credential-username-colon": ({**GOOD_DOCKERHUB, "oci-dockerhub-username": "us:er", "oci-dockerhub-password": "p"},
                                  None, "oci-dockerhub-username"),
    "credential-unpaired": ({"pkg-maven-url": "https://a/", "pkg-maven-username": "u"}, "mi", "pkg-maven-username"),
    "credential-without-url": ({"pkg-maven-username": "u", "pkg-maven-password": "p"}, "mi", "pkg-maven-username"),
    "image-override-invalid": ({"image-node-ref": "Node:18"}, None, "image-node-ref"),
    "credentials-for-another-host": ({"pkg-npm-url": "https://nexus.example.com/npm/", "pkg-npm-token": "tok",
                                      "webapp.pkg-npm-url": "https://other.example.com/npm/"}, "webapp", "pkg-npm-token"),
    "mirror-loopback": ({"oci-dockerhub-url": "localhost:5000/hub"}, None, "oci-dockerhub-url"),
    "mirror-is-public": ({"pkg-npm-url": "https://registry.npmjs.org/"}, "webapp", "pkg-npm-url"),
    "image-override-host-only": ({"image-node-ref": "registry.acme.internal:5000"}, None, "image-node-ref"),
    "image-override-is-mirror": ({**GOOD_DOCKERHUB, "image-node-ref": GOOD_DOCKERHUB["oci-dockerhub-url"]}, "webapp",
                                 "image-node-ref"),
    "mirror-rewrite-invalid": ({"oci-buildpacks-url": "nexus.example.com/" + "p/" * 120 + "p"}, "mi",
                               "oci-buildpacks-url"),
    "whitespace-only": ({"pkg-npm-token": " \t "}, None, "pkg-npm-token"),
    "pkg-url-character": ({"pkg-npm-url": "https://nexus.example.com/\u2028/"}, None, "pkg-npm-url"),
    "pkg-url-dot-segment": ({"pkg-npm-url": "https://nexus.example.com/a/../npm/"}, None, "pkg-npm-url"),
    "go-proxy-list": ({"pkg-go-url": "https://nexus.example.com/go,direct"}, None, "pkg-go-url"),
    "userinfo-nul-escape": ({"pkg-maven-url": "https://u:%00@nexus.example.com/maven/"}, None, "pkg-maven-url"),
    "client-userinfo-escape-not-utf8": ({"pkg-maven-url": "https://u:%FF@nexus.example.com/maven/"}, None, "pkg-maven-url"),
    "url-credentials-conflict": ({"pkg-python-url": "https://u:secretpw@nexus.example.com/simple/",
                                  "pkg-python-username": "u", "pkg-python-password": "p"}, "buildpack", "pkg-python-url"),
    "credential-format": ({"pkg-maven-url": "https://a/", "pkg-maven-username": "u", "pkg-maven-password": " pw"}, None,
                          "pkg-maven-password"),
    "gradle-literal-limit": ({"pkg-gradle-url": "https://a/", "pkg-gradle-username": "u", "pkg-gradle-password": "\U0001F600" * 11000},
                             "buildpack", "pkg-gradle-password"),
    "go-environment-limit": ({"pkg-go-url": "https://a/", "pkg-go-username": "u", "pkg-go-password": "%" * 44000},
                             "buildpack", "pkg-go-password"),
    "client-credential-not-ascii": ({"pkg-python-url": "https://a/", "pkg-python-username": "u",
                                     "pkg-python-password": "pässword"}, None, "pkg-python-password"),
    "client-username-slash": ({"pkg-python-url": "https://a/", "pkg-python-username": "team/builder",
                               "pkg-python-password": "p"}, None, "pkg-python-username"),
    "client-path-escape-not-utf8": ({"pkg-gradle-url": "https://nexus.example.com/%9e/"}, None, "pkg-gradle-url"),
    "client-path-parenthesis": ({"pkg-gradle-url": "https://nexus.example.com/repo(1)/"}, None, "pkg-gradle-url"),
    "client-npm-path-equals": ({"pkg-npm-url": "https://nexus.example.com/repo=x/npm/", "pkg-npm-token": "tok"}, "webapp",
                               "pkg-npm-url"),
    "client-ipv6-credentials": ({"pkg-maven-url": "https://[::1]/maven/", "pkg-maven-username": "u",
                                 "pkg-maven-password": "p"}, "mi", "pkg-maven-url"),
    "client-userinfo-escape": ({"pkg-maven-url": "https://bu%40corp:pw@nexus.example.com/maven/"}, None, "pkg-maven-url"),
    "client-userinfo-dropped": ({"pkg-gradle-url": "https://builder:pw@nexus.example.com/gradle/"}, None, "pkg-gradle-url"),
    "client-host-underscore": ({"pkg-gradle-url": "https://nexus_1.example.com/gradle/"}, None, "pkg-gradle-url"),
    "client-http-credentials": ({"pkg-go-url": "http://nexus.example.com/go/", "pkg-go-username": "u",
                                 "pkg-go-password": "p"}, "buildpack", "pkg-go-url"),
    "pkg-url-empty-segment": ({"pkg-maven-url": "https://nexus.example.com/repository//maven/"}, None, "pkg-maven-url"),
    "strategy-scoped-only": ({"buildpack.pkg-npm-url": "https://a/"}, None, "buildpack.pkg-npm-url"),
    "not-consumed": ({"prism.pkg-npm-url": "https://a/"}, None, "prism.pkg-npm-url"),
    "node-pinned": (GOOD_DOCKERHUB, "webapp", "image-node-ref"),
    "dockerhub-login": ({}, "byoc", "oci-dockerhub-url"),
}


def test_every_rule_has_a_case():
    filesystem_only = {"unreadable", "not-a-file", "broken-symlink"}  # cases below need the file system
    assert set(CASES) | filesystem_only == set(RULES)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule(tmp_path, rule):
    files, strategy, key = CASES[rule]
    findings = lint(CATALOG, read_config(write_proxy_config(tmp_path, files)), strategy)
    hits = [f for f in findings if f.rule == rule]
    assert hits, findings
    assert hits[0].key == key and hits[0].severity == RULES[rule][0]


def test_filesystem_rules(tmp_path):
    os.mkfifo(tmp_path / "pkg-npm-url")
    (tmp_path / "pkg-go-url").mkdir()
    os.symlink("..data/pkg-maven-url", tmp_path / "pkg-maven-url")
    rules = {f.key: f.rule for f in lint(CATALOG, read_config(tmp_path))}
    assert rules["pkg-npm-url"] == rules["pkg-go-url"] == "not-a-file"
    assert rules["pkg-maven-url"] == "broken-symlink"


def test_did_you_mean():
    [finding] = [f for f in lint(CATALOG, read_config(FIXTURES / "mistakes")) if f.key == "pkg-npm-urll"]
    assert "did you mean 'pkg-npm-url'?" in finding.message
    [finding] = [f for f in lint(CATALOG, read_config(FIXTURES / "mistakes")) if f.key == "buildpak.pkg-npm-url"]
    assert "did you mean 'buildpack'?" in finding.message


def test_a_clean_configuration_has_no_errors_or_warnings():
    for fixture in ("full-global", "credentials-everywhere", "image-overrides", "customer-artifactory-harbor"):
        findings = lint(CATALOG, read_config(FIXTURES / fixture))
        assert [f for f in findings if f.severity != "info"] == [], fixture


def test_strategy_filter_keeps_only_that_strategy():
    findings = lint(CATALOG, read_config(FIXTURES / "none"), "prism")
    assert findings == []
    findings = lint(CATALOG, read_config(FIXTURES / "none"), "webapp")
    assert {f.rule for f in findings} == {"dockerhub-login", "node-pinned"}


def test_seed_troubleshooting_fixtures():
    def rules(fixture, strategy=None):
        return {f.rule for f in lint(CATALOG, read_config(FIXTURES / fixture), strategy)}
    # FIXTURES / an absolute path is that path: a scenario's own proxy-config
    assert "oci-url-scheme" in rules(SCENARIOS / "ts-scheme-in-oci-url" / "proxy-config")
    assert "dockerhub-login" in rules(SCENARIOS / "ts-restricted-no-dockerhub-url" / "proxy-config", "webapp")
    assert "strategy-scoped-only" in rules("ts-strategy-scoped-only")
    assert "node-pinned" in rules(SCENARIOS / "ts-webapp-node18" / "proxy-config", "webapp")


def test_secrets_never_appear_in_findings():
    config = read_config(FIXTURES / "hostile")
    text = json.dumps([f.to_json() for f in lint(CATALOG, config)])
    assert "touch /tmp/pwned) \\\"quoted" not in text and "`id`" not in text
    url_findings = lint(CATALOG, read_config(make_tmp({"pkg-go-url": "https://u:secretpw@h.example.com/"})))
    assert "secretpw" not in json.dumps([f.to_json() for f in url_findings])


def make_tmp(files: dict) -> Path:
    import tempfile
    return write_proxy_config(Path(tempfile.mkdtemp()), files)


def test_exit_code():
    warning = lint(CATALOG, read_config(make_tmp({"pkg-go-url": "http://h.example.com/"})), "buildpack")
    assert exit_code(warning, strict=False) == 0 and exit_code(warning, strict=True) == 1
    error = lint(CATALOG, read_config(make_tmp({"pkg-go-url": "h.example.com/"})), "buildpack")
    assert exit_code(error, strict=False) == 1


NAMES = sorted(CATALOG.all_key_names()) + ["webapp.pkg-npm-url", "byoc.oci-dockerhub-url", "x.y", "pkg-npm-username"]


@given(st.dictionaries(st.sampled_from(NAMES), st.binary(max_size=60) | st.text(max_size=60).map(str.encode), max_size=10),
       st.sampled_from([None, *CATALOG.strategies]))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=150)
def test_lint_and_plan_never_raise(tmp_path, files, strategy):
    directory = tmp_path / "cfg"
    shutil.rmtree(directory, ignore_errors=True)
    config = read_config(write_proxy_config(directory, files))
    findings = lint(CATALOG, config, strategy)
    assert all(f.severity in ("error", "warning", "info") and f.rule in RULES for f in findings)
    for name in CATALOG.strategies:
        plan(CATALOG, config, name).to_json()


@pytest.mark.parametrize("value", ["https://[x/", "https://nexus.example.com:abc/npm/"])
def test_a_url_urlsplit_rejects_is_a_finding_not_a_crash(tmp_path, value):
    from harness.contract.endpoints import mirror_endpoints

    config = read_config(write_proxy_config(tmp_path / "cfg", {"pkg-npm-url": value}))
    invalid = [f for f in lint(CATALOG, config, "webapp") if f.rule == "pkg-url-invalid"]
    assert [f.key for f in invalid] == ["pkg-npm-url"]
    assert mirror_endpoints(config, ["webapp"], CATALOG) == []


@pytest.mark.parametrize("value, reason", [
    ("https://-nexus.example.com/npm/", "a label starting or ending with '-' in the host '-nexus.example.com'"),
    ("https://nexus-.example.com/npm/", "a label starting or ending with '-' in the host 'nexus-.example.com'"),
    ("https://nexus..example.com/npm/", "an empty label in the host 'nexus..example.com'"),
    ("https://.nexus.example.com/npm/", "an empty label in the host '.nexus.example.com'"),
    ("https://[fe80::1%25eth0]/npm/", "a zone index in the IPv6 literal [fe80::1%25eth0]"),
])
def test_a_host_clients_refuse_is_named_with_what_is_wrong_in_it(tmp_path, value, reason):
    """Not only 'is not a URL clients can use': which part of the host is wrong."""
    config = read_config(write_proxy_config(tmp_path / "cfg", {"pkg-npm-url": value}))
    [invalid] = [f for f in lint(CATALOG, config, "webapp") if f.rule == "pkg-url-invalid"]
    assert invalid.message.startswith(f"has {reason}"), invalid.message


def test_text_output_escapes_file_names(tmp_path):
    """A file name with an escape sequence or a newline must not reach the terminal raw or forge a line."""
    write_proxy_config(tmp_path, {"pkg-npm-url\nforged: error": "x", "\x1b[31mred": "x"})
    done = airgap("lint", tmp_path)
    assert "\x1b" not in done.stdout and "\\x1b[31mred" in done.stdout
    assert not any(line.startswith("forged") for line in done.stdout.splitlines())


def test_new_warnings_show_no_secret_raise_nothing_and_spare_a_tenant_s_mirror(tmp_path):
    """Found by a review: credentials-for-another-host named a token written as a scoped URL's user name as its
    host; a 65,536-byte Gradle URL without credentials raised IndexError; a Docker Hub mirror in the customer's own
    Artifact Registry project (us-docker.pkg.dev/acme/...) was called a public registry."""
    catalog = load_catalog()
    leaky = write_proxy_config(tmp_path / "leaky", {
        "oci-dockerhub-url": "nexus.example.com/hub", "oci-dockerhub-username": "u", "oci-dockerhub-password": "p",
        "webapp.oci-dockerhub-url": "s3cr3tt0ken@mirror.example.com/hub", "pkg-npm-url": "https://nexus.example.com/npm/",
        "pkg-npm-token": "t", "webapp.pkg-npm-url": "https://S3CRETTOKEN/x@other.example.com/npm/"})
    shown = " ".join(f.message for f in lint(catalog, read_config(leaky), "webapp"))
    assert "s3cr3tt0ken" not in shown.lower() and "credentials-for-another-host" not in {
        f.rule for f in lint(catalog, read_config(leaky), "webapp")}
    long_url = write_proxy_config(tmp_path / "long", {"pkg-gradle-url": "https://nexus.example.com/" + "a" * 65510})
    assert "gradle-literal-limit" in {f.rule for f in lint(catalog, read_config(long_url), "buildpack")}
    tenant = write_proxy_config(tmp_path / "tenant", {"oci-dockerhub-url": "us-docker.pkg.dev/acme-prod/dockerhub-remote",
                                                      "oci-buildpacks-url": "gcr.io/buildpacks"})
    public = {(f.key, f.rule) for f in lint(catalog, read_config(tenant), "buildpack") if f.rule == "mirror-is-public"}
    assert public == {("oci-buildpacks-url", "mirror-is-public")}
