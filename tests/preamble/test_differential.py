"""Differential property test: what the reference preamble configures equals `airgap plan`, for every strategy.

Hypothesis generates proxy-config directories (global and strategy-scoped keys, credentials, image
overrides as full references, prefixes and digests, mirrors, empty values, trailing newlines, hostile
and invalid values, unreadable entries, the kubelet `..data` layout). `airgap preamble-check` runs the
preamble on each and reads back what it wrote. The invariants of the value grammar must hold
(check_agreement): lint clean => the preamble succeeds and agrees with the plan; a preamble refusal
=> a lint error on that key with the same rule id.

Examples per strategy: AIRGAP_DIFFERENTIAL_EXAMPLES (default 300).
"""

import json
import os
import re
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.contract.catalog import load_catalog
from harness.contract.config import read_config
from harness.contract.lint import lint
from harness.contract.plan import plan
from harness.commands.plan import render_text
from harness.preamble.check import preamble_check, watched_secrets
from helpers import CHECKOUT, write_proxy_config

CATALOG = load_catalog()
EXAMPLES = int(os.environ.get("AIRGAP_DIFFERENTIAL_EXAMPLES", "300"))
HOSTILE = ["$(touch /tmp/pwned)", "`touch /tmp/pwned`", "'", '"', ";", " ", "\\", "${HOME}", "\\${X}", "&<>{}%@:/#", "é", "\n", "\t"]
DIGEST = "sha256:" + "ab" * 32

hosts = st.sampled_from(["nexus.example.com", "mirror.corp:5000", "127.0.0.1:8081", "harbor.internal", "[::1]:5000",
                         "docker.io"])  # a mirror named as the public host: a customer's login there is no platform login
# Package URL hosts: letter case, default and odd ports, IPv6 forms, IDN, short IPv4 forms.
package_hosts = st.sampled_from(["nexus.example.com", "NEXUS.Example.com", "nexus.example.com:443", "nexus.example.com:8443",
                                 "mirror.corp:5000", "127.0.0.1:8081", "127.1", "[::1]:5000", "[::0001]", "[2001:db8::1]",
                                 "bücher.example", "xn--bcher-kva.example", "nexus.example.com:99999", "[::1"])
userinfo = st.one_of(st.just(""), st.just(""), st.just(""), st.just("@"),  # `https://@h/`: an empty user-info
                     st.builds(lambda u, p: f"{u}:{p}@", st.sampled_from(["builder", "u"]),
                               st.lists(st.sampled_from(list("Xy7Qz9+Secret") + ["/", "?", "#", "@", "%2F"]), min_size=8,
                                        max_size=16).map("".join)))


def mostly(valid, invalid):
    """`valid` 29 times in 30: one bad value makes the whole preamble stop, and a configuration holds many."""
    return st.integers(0, 29).flatmap(lambda n: invalid if n == 0 else valid)


mirror_values = mostly(
    st.builds(lambda h, p: h + p, hosts, st.sampled_from(["", "/dockerhub-proxy", "/a/b-c", "/x__y"])),
    st.sampled_from(["https://nexus.example.com/proxy", "nexus.example.com/", "nexus.example.com/Upper", "bad host", "$(touch /tmp/pwned)"]),
)
image_values = mostly(
    st.builds(lambda h, r, t: h + r + t, st.one_of(st.just(""), hosts.map(lambda h: h + "/")),
              st.sampled_from(["node", "base/node", "library/nginx", "a/b/c"]),
              st.sampled_from(["", ":20-alpine", "@" + DIGEST, ":1@" + DIGEST])),
    st.sampled_from(["Node:18", "node:", "a" * 64, "node@sha256:abc", "x/" + "y" * 260, "node:18;touch /tmp/pwned", "$(touch /tmp/pwned)"]),
)
url_path = st.one_of(
    st.text(alphabet=string.ascii_letters + string.digits + "/-_.~%$()`'\";&@:=+!*,éü日", max_size=20),
    st.lists(st.sampled_from(["repository", "npm", ".", "..", "%2e", "a,b", "a|b", "@scope", "\u2028", "\ufffe", "\t", ""]),
             max_size=4).map("/".join),
)
package_values = mostly(
    st.builds(lambda s, u, h, p: f"{s}://{u}{h}/{p}", st.sampled_from(["https", "http"]), userinfo, package_hosts, url_path),
    st.sampled_from(["nexus.example.com/npm", "https://nexus.example.com/a b", "https://h/\x85", "ftp://h/", "https://u:pw@h/x/",
                     "HTTPS://nexus.example.com/", "https://nexus.example.com/go,direct", "https://[nexus]/", " \t ",
                     "https://nexus.example.com/?x#y"]),
)
credential_values = st.one_of(
    mostly(st.text(st.characters(blacklist_categories=["Cc", "Cs"]), min_size=1, max_size=16), st.text(max_size=16)),
    st.lists(st.sampled_from(HOSTILE + ["a", "B", "7", "😀"]), min_size=1, max_size=6).map("".join),
)


def value_for(key: str):
    base = key.split(".", 1)[-1]
    family = CATALOG.keys.get(base)
    if family is None:
        return credential_values
    return {"oci-mirror": mirror_values, "image-override": image_values, "package-proxy": package_values}[family.family]


key_names = st.sampled_from(CATALOG.all_key_names() + ["pkg-npm-urll", "foo.bar", "oci-dockerhub-url.bak"])
scopes = st.sampled_from(["", "", "own."] + [f"{s}." for s in CATALOG.strategies])
suffixes = st.sampled_from(["", "", "", "", "", "", "", "\n", "\n", "\n", "\n", "\n", "\n", "\n", "\n", "\n", "\n\n", "\n\n",
                            "\n\n\n", "\r\n"])


@st.composite
def file_content(draw, name: str):
    """Mostly a value of the key's kind (with a trailing newline or CRLF sometimes); sometimes empty,
    not UTF-8, binary, or a directory (None)."""
    kind = draw(st.integers(0, 19))
    if kind == 0:
        return b""
    if kind == 1:
        return draw(st.sampled_from([b"\xff\xfe", b"a\x00b", None]))
    return (draw(value_for(name)) + draw(suffixes)).encode()


@st.composite
def config_entries(draw, strategy: str):
    """{file name: bytes} for one proxy-config directory.

    Each key the strategy consumes is present with even odds, as a global key, a strategy-scoped key
    or both, with its credential keys (each placed independently) most of the time; then some noise:
    keys of other strategies, keys this strategy ignores, unknown names.
    """
    entries = {}

    def add(key: str) -> None:
        placement = draw(st.sampled_from(["global", "scoped", "both"]))
        if placement in ("global", "both"):
            entries[key] = draw(file_content(key))
        if placement in ("scoped", "both"):
            entries[f"{strategy}.{key}"] = draw(file_content(key))

    for key in CATALOG.strategies[strategy].url_keys:
        if draw(st.booleans()):
            add(key)
            for credential in CATALOG.keys[key].credential_keys:
                if draw(st.integers(0, 9)) < 8:
                    add(credential)
    for _ in range(draw(st.integers(0, 4))):
        name = draw(scopes).replace("own.", f"{strategy}.") + draw(key_names)
        entries[name] = draw(file_content(name))
    return entries


def expected_errors(expected: dict) -> list[str]:
    keys = [m["key"] for m in expected["mirrors"].values() if m["error"]]
    keys += [i["key"] for i in expected["images"].values() if i["error"]]
    keys += [p["key"] for p in expected["packages"].values() if p["error"]]
    return keys


# Text the outputs may rightly hold: a "secret" that is part of it cannot be told apart from it.
INNOCENT = "\n".join(path.read_text() for pattern in ("harness/**/*.py", "harness/**/*.yaml", "preamble/**/*.sh")
                     for path in CHECKOUT.glob(pattern))
REFUSAL = re.compile(r"^proxy-config: error: (\S+): .* \(([a-z0-9-]+)\)$", re.M)


def compared(result: dict) -> dict:
    """The fields both sides model, in plan's shape."""
    return {
        "images": {n: {f: i[f] for f in ("resolved", "source", "key", "credentials")} for n, i in result["images"].items()},
        "mirrors": {r: {f: m[f] for f in ("url", "key", "credentials")} for r, m in result["mirrors"].items()},
        "logins": result["logins"],
        "dockerhub_login": result["dockerhub_login"],
        "packages": {n: {f: p[f] for f in ("url", "auth", "key", "credentials")} for n, p in result["packages"].items()},
        "ignored_keys": result["ignored_keys"],
    }


def check_agreement(config_dir, strategy: str, choreo_registry: str | None = None) -> None:
    """The invariants of the value grammar for one configuration and strategy:
    (a) lint has no error => the preamble exits 0, and what it configured is what `plan` says;
    (b) the preamble stops on a value => lint has an error on that key with the rule the preamble names;
    and the preamble stops exactly when the plan marks a value the build cannot use."""
    catalog = load_catalog(choreo_registry)
    config = read_config(config_dir)
    expected = plan(catalog, config, strategy).to_json()
    findings = lint(catalog, config, strategy)
    errors = {(f.key, f.rule) for f in findings if f.severity == "error"}
    actual = preamble_check(strategy, config_dir, choreo_registry=choreo_registry)
    printed = json.dumps([expected, render_text(plan(catalog, config, strategy), str(config_dir)),
                          [f.to_json() for f in findings], actual], ensure_ascii=False)
    for name, secret in watched_secrets(catalog, config, INNOCENT + str(config_dir)).items():
        assert secret not in printed, f"the value of {name} is printed"  # (d): plan, lint, preamble-check, its log
    if actual["exit_code"] != 0:
        refusal = REFUSAL.search(actual["log"])
        assert refusal, f"the preamble stopped without naming a key and a rule:\n{actual['log']}"
        assert (refusal[1], refusal[2]) in errors, f"lint has no {refusal[2]} error on {refusal[1]}: {sorted(errors)}"
        assert expected_errors(expected), f"the plan has no error, yet the preamble stopped:\n{actual['log']}"
        return
    assert not expected_errors(expected), f"the preamble accepted unusable values of {expected_errors(expected)}"
    assert actual["problems"] == []
    assert compared(actual) == compared(expected)


@pytest.mark.parametrize("strategy", list(CATALOG.strategies))
def test_preamble_agrees_with_plan(strategy, tmp_path_factory):
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(entries=config_entries(strategy), kubelet_layout=st.booleans())
    def check(entries, kubelet_layout):
        directory = tmp_path_factory.mktemp("proxy-config")
        write_proxy_config(directory, entries, kubelet_layout=kubelet_layout)
        check_agreement(directory, strategy)
        assert not os.path.exists("/tmp/pwned")

    check()


@pytest.mark.parametrize("strategy", [s for s, v in CATALOG.strategies.items() if any(i.registry == "choreo" for i in v.images.values())])
@pytest.mark.parametrize("values", [{}, {"oci-choreo-url": "acr-mirror.example.com/choreo", "image-nginx-ref": "acr.pdp.example.com/x/nginx"}])
def test_pdp_specific_platform_registry(tmp_path, strategy, values):
    """CHOREO_REGISTRY (the harness's AIRGAP_CHOREO_REGISTRY) moves the platform images and their remap."""
    write_proxy_config(tmp_path, values)
    check_agreement(tmp_path, strategy, choreo_registry="acr.pdp.example.com:5000")


@pytest.mark.parametrize("strategy, values", [
    # an empty user-info is a user-info to the build: with credential keys, url-credentials-conflict on both sides
    ("webapp", {"pkg-npm-url": "https://@nexus.example.com/npm/", "pkg-npm-token": "Zq9Secret"}),
    ("buildpack", {"pkg-maven-url": "https://@nexus.example.com/maven/", "pkg-maven-username": "u",
                   "pkg-maven-password": "Zq9Secret"}),
    # what masking reads as the user-info's password ("db8::1]/0") was shown by lint's suggested https:// value
    ("webapp", {"pkg-npm-url": "http://@[2001:db8::1]/0@"}),
    # a customer's login to a mirror whose host is docker.io is not the platform's Docker Hub login
    ("byoc", {"oci-dockerhub-url": "docker.io", "oci-dockerhub-username": "u", "oci-dockerhub-password": "Zq9Secret"}),
    ("webapp", {"oci-dockerhub-url": "docker.io", "oci-dockerhub-username": "u", "oci-dockerhub-password": "Zq9Secret"}),
])
def test_values_a_sweep_found_the_two_sides_reading_differently(tmp_path, strategy, values):
    write_proxy_config(tmp_path, values)
    check_agreement(tmp_path, strategy)


@pytest.mark.parametrize("length", [43000, 44000])
def test_go_credentials_at_the_environment_limit(tmp_path, length):
    """A Go password whose percent-encoded form no longer fits one environment entry: plan, lint and
    the preamble all refuse it with go-environment-limit; one just under the limit works."""
    write_proxy_config(tmp_path, {"pkg-go-url": "https://nexus.example.com/go/", "pkg-go-username": "u",
                                  "pkg-go-password": "%" * length})
    check_agreement(tmp_path, "buildpack")
    refused = any(f.rule == "go-environment-limit" for f in lint(CATALOG, read_config(tmp_path), "buildpack"))
    assert refused == (length == 44000)


@pytest.mark.parametrize("strategy", list(CATALOG.strategies))
def test_dot_files_are_entries_to_the_preamble_as_to_the_plan(strategy, tmp_path):
    """A Secret may hold a key named like .dockerconfigjson (an image pull secret's data): the plan lists it as
    ignored, and the preamble's bash glob skipped dot-files, so the two disagreed unseen (found by a sweep).
    Files a folder holds that are no keys (config.NOT_KEYS) and the kubelet's ..data are skipped by both."""
    for name, value in {".dockerconfigjson": "{}", ".npmrc": "x", ".gitkeep": "", ".DS_Store": "\x00",
                        "oci-dockerhub-url": "nexus.example.com/hub"}.items():
        (tmp_path / name).write_text(value)
    (tmp_path / "..data").mkdir()
    check_agreement(tmp_path, strategy)
    ignored = set(preamble_check(strategy, tmp_path)["ignored_keys"])
    assert {".dockerconfigjson", ".npmrc"} <= ignored and not {".gitkeep", ".DS_Store", "..data"} & ignored


@pytest.mark.parametrize("values, refused", [
    ({"pkg-gradle-username": "u", "pkg-gradle-password": "\U0001F600" * 11000}, "pkg-gradle-password"),  # 44 KB, 66 KB as a constant
    ({"pkg-gradle-username": "\u00e9" * 32768, "pkg-gradle-password": "p"}, "pkg-gradle-username"),  # 2 bytes each: 65,536
    ({"pkg-gradle-username": "u", "pkg-gradle-password": "\U0001F600" * 10922}, None),  # 65,532: fits
])
def test_a_gradle_value_too_long_for_a_jvm_string_constant_is_refused_by_both(tmp_path, values, refused):
    """The init script holds the URL and credentials as Groovy string constants: over 65,535 bytes of modified
    UTF-8 it does not compile and every Gradle build fails (found by a preamble sweep with Gradle 4.4.1)."""
    write_proxy_config(tmp_path, {"pkg-gradle-url": "https://nexus.example.com/gradle/", **values})
    check_agreement(tmp_path, "buildpack")
    log = preamble_check("buildpack", tmp_path)["log"]
    assert (f"error: {refused}:" in log and "(gradle-literal-limit)" in log) if refused else "gradle-literal-limit" not in log


@pytest.mark.parametrize("mirror", ["ghp_" + "Zq9x" * 9, "dl.cloudsmith.io/zq9xtokenqq77/acme/hub", "npm_" + "Zq9x" * 9 + "\r\n"])
def test_a_token_in_an_oci_mirror_value_is_never_shown(tmp_path, mirror):
    """A token pasted into oci-dockerhub-url (the files mixed up, a CRLF line ending) or the token of a hosted
    registry's path: plan shows the image it rewrites, lint the mirror, the preamble logs both; none shows it."""
    write_proxy_config(tmp_path, {"oci-dockerhub-url": mirror})
    check_agreement(tmp_path, "webapp")
    config = read_config(tmp_path)
    printed = json.dumps([plan(CATALOG, config, "webapp").to_json(), render_text(plan(CATALOG, config, "webapp"), "d"),
                          [f.to_json() for f in lint(CATALOG, config, "webapp")], preamble_check("webapp", tmp_path)])
    assert "zq9x" not in printed.lower() and "***" in printed
