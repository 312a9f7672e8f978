"""The value grammar, rule by rule, in Python (harness/contract/grammar.py) and in the reference preamble's bash.

Every build-stopping rule of harness/contract/grammar.yaml has `refused` examples: each must be refused by
that rule in Python and by the same rule in bash, and the rule's `accepted` example must pass both.
Then hypothesis generates values of every class the grammar has to tell apart (letter case, ports,
IDN, IPv6 literals, user-info with any characters, percent-escapes, dot segments, list separators,
Unicode line breaks and non-characters, control characters, whitespace, long values) and the two
implementations must name the same rule, mask the same way and key npm's token the same way.
"""

import ipaddress
import urllib.parse
import os
import re
import string
import subprocess

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from harness.contract import grammar, reference
from helpers import PROXY_CONFIG_LIB as LIB

EXAMPLES = int(os.environ.get("AIRGAP_GRAMMAR_EXAMPLES", "500"))

# One bash process answers many questions: NUL-separated (function, arg1, arg2) in, (status, result) out.
# Each function is called as `FUNCTION result ARG1 ARG2` (the library's convention: results go to the named variable).
BASH_BATCH = r"""
source "$1"
credential_format() {
    if pc__credential_format_ok "$2" basic the-username "$3" the-password ok 2>/dev/null; then printf -v "$1" ''; else printf -v "$1" credential-format; return 1; fi
}
image_override() { local -A ref; pc_parse_normalized ref "$2"; }
while IFS= read -r -d '' fn && IFS= read -r -d '' a && IFS= read -r -d '' b; do
    result=''
    if "$fn" result "$a" "$b"; then status=0; else status=$?; fi
    printf '%s\0%s\0' "$status" "$result"
done
"""


def bash(calls: list[tuple[str, str, str]]) -> list[tuple[int, str]]:
    """Run (function, arg1, arg2) calls in one bash that sourced the preamble library."""
    payload = b"".join(f"{fn}\0{a}\0{b}\0".encode("utf-8", "surrogatepass") for fn, a, b in calls)
    done = subprocess.run(["bash", "-c", BASH_BATCH, "bash", str(LIB)], input=payload, capture_output=True,
                          timeout=300, env={"PATH": os.environ["PATH"], "LC_ALL": "C.UTF-8"})
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    fields = done.stdout.split(b"\0")[:-1]
    assert len(fields) == 2 * len(calls), done.stderr.decode(errors="replace")
    return [(int(fields[i]), fields[i + 1].decode("utf-8", "surrogateescape")) for i in range(0, len(fields), 2)]


def bash_rule(kind: grammar.Kind, value: str) -> str | None:
    return bash_rules([(kind, value)])[0]


def bash_rules(items: list[tuple[grammar.Kind, str]]) -> list[str | None]:
    calls = []
    for kind, value in items:
        if kind.family == "package-proxy":
            calls.append(("pc_package_url_violation", value, kind.manager or ""))
        elif kind.family == "oci-mirror":
            calls.append(("pc_mirror_ok", value, ""))
        elif kind.family == "image-override":
            calls.append(("image_override", value, ""))
        else:
            calls.append(("credential_format", kind.manager or "", value))
    rules = []
    for (kind, _), (status, result) in zip(items, bash(calls)):
        if status == 0:
            rules.append(None)
        elif kind.family == "image-override":
            rules.append("image-override-invalid")
        else:
            rules.append(result)
    return rules


def python_rule(kind: grammar.Kind, value: str) -> str | None:
    violation = grammar.stop_violation(value, kind)
    return violation.rule if violation else None


KIND_OF_RULE = {
    "oci-url-scheme": grammar.Kind("oci-mirror"),
    "oci-url-invalid": grammar.Kind("oci-mirror"),
    "image-override-invalid": grammar.Kind("image-override"),
    "go-proxy-list": grammar.Kind("package-proxy", "go"),
    "userinfo-nul-escape": grammar.Kind("package-proxy", "maven"),
    "credential-format": grammar.Kind("password", "maven"),
}
EXAMPLES_OF_RULES = [(rule.id, value) for rule in grammar.RULES.values() for value in rule.refused]


def kind_for(rule: str) -> grammar.Kind:
    return KIND_OF_RULE.get(rule, grammar.Kind("package-proxy", "npm"))


def test_every_stopping_rule_has_refused_examples_and_a_bash_summary():
    catalog_sh = (LIB.parent / "catalog.sh").read_text()
    value_rules = {"mirror-rewrite-invalid", "url-credentials-conflict", "go-environment-limit",
                   "gradle-literal-limit"}  # need a whole configuration: tests/test_lint.py, test_differential.py
    for rule in grammar.rules_by_build("stops"):
        assert f"PC_RULE_SUMMARY[{rule}]=" in catalog_sh
        if rule not in value_rules:
            assert grammar.RULES[rule].refused, f"{rule} has no refused examples in grammar.yaml"


@pytest.mark.parametrize("rule, value", EXAMPLES_OF_RULES)
def test_refused_examples_are_refused_by_their_rule_in_python_and_bash(rule, value):
    kind = kind_for(rule)
    assert python_rule(kind, value) == rule
    assert bash_rule(kind, value) == rule


@pytest.mark.parametrize("rule", sorted({rule for rule, _ in EXAMPLES_OF_RULES}))
def test_accepted_example_is_accepted_in_python_and_bash(rule):
    kind = kind_for(rule)
    accepted = grammar.RULES[rule].accepted
    if rule == "credential-format":
        accepted = "s3cret-password"
    assert python_rule(kind, accepted) is None
    assert bash_rule(kind, accepted) is None


def test_every_suggestion_is_accepted():
    for rule, value in EXAMPLES_OF_RULES:
        violation = grammar.stop_violation(value, kind_for(rule))
        if violation.accepted:
            assert python_rule(kind_for(rule), violation.accepted) is None, (value, violation.accepted)


# --- generated values -----------------------------------------------------------------------------

LINE_BREAKS = ["\n", "\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"]
NONCHARACTERS = ["\ufffe", "\uffff", "\ufdd0", "\U0001fffe"]
CONTROLS = ["\t", "\x01", "\x1b", "\x7f", "\x9b"]
ODD = LINE_BREAKS + NONCHARACTERS + CONTROLS + [" ", "%", "%2e", "%2E", "%41", "%zz", "/", "?", "#", "@", ":", ",", "|", "[", "]",
                                                "\\", "{", "}", "`", '"', "'", "$", "${X}", "%HOME%", "%_a1%", "é", "日", "😀", "."]
hosts = st.sampled_from([
    "nexus.example.com", "NEXUS.Example.COM", "mirror.corp", "localhost", "a", "127.0.0.1", "127.1", "0x7f.0.0.1",
    "1.2.3.256", "010.0.0.1", "[::1]", "[::0001]", "[0:0:0:0:0:0:0:1]", "[2001:db8::1]", "[2001:DB8::1]",
    "[::ffff:1.2.3.4]", "[fe80::1%25eth0]", "[::1", "::1]", "[nexus]", "bücher.example", "xn--bcher-kva.example",
    "nexus_1.example.com", "-bad.example.com", "nexus.example.com.", "a..b", "",
    "dl.cloudsmith.io", "DL.Cloudsmith.IO", "npm-proxy.fury.io", "gems.gemfury.com", "conda.anaconda.org",
])
ports = st.sampled_from(["", "", "", ":443", ":80", ":8443", ":0", ":08081", ":65535", ":65536", ":99999", ":", ":x"])
userinfos = st.one_of(
    st.just(""),
    st.builds(lambda u, p: f"{u}:{p}@", st.sampled_from(["builder", "u", "b@x", ""]),
              st.lists(st.sampled_from(list("abcXYZ019+=-_.~") + ["/", "?", "#", "@", ":", "%2F", "%", " ", "%00", "%FF", "%C3%A9"]),
                       max_size=12).map("".join)),
    st.sampled_from(["token@", "u@", "to/ken+Q==@", "t?k#n@"]),
)
segments = st.one_of(st.sampled_from(["repository", "npm", "go", ".", "..", "%2e", "%2E%2e", ".%2e", "@scope", "a,b", "a|b", "n@sha256:ab",
                                      "t", "public", "Basic", "T0kenPathQQ77",
                                      "x~y", "é", "%C3%A9", "-", ""]),
                     st.lists(st.sampled_from(list("az09-._~") + ODD), max_size=6).map("".join))
paths = st.lists(segments, max_size=5).map(lambda parts: "/" + "/".join(parts) if parts else "")
schemes = st.sampled_from(["https://", "https://", "http://", "HTTPS://", "Https://", "ftp://", "", "https:/", " https://", "https//", "https:///", "https:", "//"])
tails = st.sampled_from(["", "", "", "/", "?x=1", "#frag", "?", "#", ",direct", "|off", ",https://other.example.net/", "\n", " "])
package_urls = st.builds(lambda s, u, h, p, path, t: s + u + h + p + path + t, schemes, userinfos, hosts, ports, paths, tails)
any_text = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\0"), max_size=40)
package_values = st.one_of(package_urls, package_urls, package_urls, any_text,
                           st.sampled_from(ODD).map(lambda c: c * 3), st.integers(1, 70).map(lambda n: "https://a.example/" + "x/" * n))
managers = st.sampled_from(["npm", "maven", "gradle", "nuget", "python", "go", "composer", "rubygems"])


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True)
@given(managers, package_values)
@example("rubygems", "gems.example.com")
@example("python", "http://u:pass@pypi.example.com/simple/")
@example("rubygems", "ftp://gems.example.com/")
@example("maven", "https:/build:PWsecret@nexus.example.com/repository/maven/")
@example("npm", "https//ci:PWsecret@nexus.example.com/npm/")
@example("npm", "npm_PWsecret")
@example("go", "https://[::0001]/,")  # mended for the IPv6 rule, the ',' still breaks Go's: the example instead
def test_package_url_hints_are_accepted_and_name_the_key_s_manager(manager, value):
    """What lint offers instead of a refused or plain-http package URL is itself accepted, holds no user-info
    and nothing masked in the value, and is either the value mended or an example for this manager (never npm's
    for pkg-rubygems-url)."""
    kind = grammar.Kind("package-proxy", manager)
    hints = [v.accepted for v in grammar.violations(value, kind) if v.rule.startswith("pkg-url")]
    secret = grammar.userinfo_password(value)
    for hint in filter(None, hints):
        assert not (secret and len(secret) >= 6 and secret in hint), (value, hint)  # a short one is in any URL
        assert "PWsecret".lower() not in hint.lower(), (value, hint)
        assert grammar.package_url_violation(hint, manager) is None, (value, hint)
        assert not grammar.has_userinfo(hint), (value, hint)
        if hint == grammar.example_package_url("npm") and manager != "npm":
            assert "repository/npm" in value, (value, hint)  # only as the value mended


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.tuples(managers, package_values), min_size=20, max_size=40))
@example([("npm", "https://NEXUS.example.com:443/a/../npm/"), ("go", "https://nexus.example.com/go,https://other.example.net/"),
          ("npm", "https://[::0001]/npm/"), ("npm", "https://bücher.example/npm/"), ("npm", "HTTPS://nexus.example.com/"),
          ("python", "https://[::1/simple/"), ("python", "https://nexus.example.com/\u2028"), ("npm", " \t ")])
def test_package_url_rules_agree_with_bash(pairs):
    pairs = [(manager, value) for manager, value in pairs if value]  # empty is unset: no rule applies
    kinds = [grammar.Kind("package-proxy", manager) for manager, _ in pairs]
    expected = [python_rule(kind, value) for kind, (_, value) in zip(kinds, pairs)]
    assert bash_rules(list(zip(kinds, [value for _, value in pairs]))) == expected


credential_values = st.one_of(any_text, st.lists(st.sampled_from(ODD + ["a", "B", "7", " ", "\t"]), min_size=1, max_size=8).map("".join))


@settings(max_examples=max(EXAMPLES // 4, 50), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.tuples(st.sampled_from(["maven", "nuget", "gradle"]), credential_values), min_size=20, max_size=40))
def test_credential_format_agrees_with_bash(pairs):
    """Also NuGet's %NAME% (found by a sweep: NuGet.Config's ClearTextPassword is expanded by
    Environment.ExpandEnvironmentVariables, so Xk9%HOME%q2 was sent as Xk9/rootq2)."""
    pairs = [(manager, value) for manager, value in pairs if value]
    kinds = [grammar.Kind("password", manager) for manager, _ in pairs]
    expected = [python_rule(kind, value) for kind, (_, value) in zip(kinds, pairs)]
    assert bash_rules(list(zip(kinds, [value for _, value in pairs]))) == expected
    assert python_rule(grammar.Kind("password", "nuget"), "Xk9%HOME%q2") == "credential-format"
    assert python_rule(grammar.Kind("password", "nuget"), "50%off now%") is None  # no variable name between


mirror_values = st.one_of(
    st.builds(lambda u, h, p, path: u + h.strip("[]") + p + path, userinfos, hosts, ports, paths),
    st.builds(lambda s, h, p: s + h + p, schemes, hosts, st.sampled_from(["", "/dockerhub-proxy", "/Proxy", "/a__b", "/a/"])),
    any_text,
)


@settings(max_examples=max(EXAMPLES // 4, 50), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(mirror_values, min_size=20, max_size=40), st.lists(mirror_values, min_size=1, max_size=10))
def test_oci_and_override_rules_agree_with_bash(mirrors, overrides):
    items = [(grammar.Kind("oci-mirror"), v) for v in mirrors if v]
    items += [(grammar.Kind("image-override"), v) for v in overrides if v]
    assert bash_rules(items) == [python_rule(kind, value) for kind, value in items]


MASK_EXAMPLES = ["https://builder:Xy7/Qz9+Secret@nexus.example.com/npm/", "https://b:Xy7?Q#z@nexus.example.com/@scope/",
          "https://u:p@ss/w@rd@nexus.example.com/npm/", "user:s3cret@harbor.example.com/proxy", "https://[::1]:4873/@scope/",
          "https:/u:S3cretZZ91@nexus.example.com/npm/", "https:///u:S3cretZZ91@nexus.example.com/m/",
          "https//u:S3cretZZ91@nexus.example.com/g/", "https://T0kenQQ77@nexus.example.com/simple/",
          "localhost:5000/node@sha256:abc", "https:\\u:S3cretZZ91@nexus.example.com/",
          "//ci:S3cretZZ91@nexus.example.com/npm/", "//ci:S3cretZZ91@nexus.example.com/dockerhub",
          "https://T0k/en+QQ77==@nexus.example.com/npm/", "T0k/en+QQ77==@harbor.example.com/proxy",
          "https://T0k?enQQ77@nexus.example.com/", "T0k#enQQ77@h.example.com/x@sha256:abc", "library/node@sha256:abc",
          "a@nexus.example.com", "x/a@b@sha256:1", "LOCALHOST/x@y",
          "https://dl.cloudsmith.io/T0kenPathQQ77/acme/repo/", "https://u:S3cretZZ91@DL.cloudsmith.io/T0k/x",
          "https://dl.cloudsmith.io/public/acme/", "https://npm-proxy.fury.io/T0kenPathQQ77/acme/",
          "https://npm.fury.io/acme/", "https://conda.anaconda.org/t/T0kenPathQQ77/acme", "https://gems.gemfury.com/T0k/",
          "https://dl.cloudsmith.io/\u0130T0k/x", "https://nexus.example.com/npm/?auth=Zm9vOmJhcg",
          "https://u:S3cretZZ91@nexus.example.com/npm/?token=T0kQQ77#frag", "nexus.example.com/hub#T0kQQ77",
          "https://nexus.example.com/npm/?", "https://nexus.example.com/npm/#\nT0k", "https://h/\u00e9?T0kQQ77",
          "https://nexus.example.com/pypi/simple https://u:S3cretZZ91@other.example.com/simple",
          "https://h.example.com/a\thttps://T0kQQ77@other.example.com/", "https://u:pa ss@h.example.com/",
          "https://h.example.com/a\x0bT0kQQ77", "https://h.example.com/a\u00a0NotCutQQ77", "https://h.example.com/a ",
          "u1:S3cretZZ91@nexus.example.com/simple https://pypi.example.com/simple",
          "u1:S3cretZZ91@h.example.com/x?next=https://o.example.com/", "a/b://u:S3cretZZ91@h.example.com/",
          "https://builder:4431/Zq9xS3cret@nexus.example.com/py/", "builder:20247731/Zq9xS3cret@myreg.example.com/node:20",
          "https://b:99999/S3cret@x@sha256:1", "https://b:123456/S3cret@h", "h.example.com:443/a@b.c:d",
          "https://[::1]:4873/S3cret@nexus.example.com/", "https://h:/S3cret@nexus.example.com/",
          "https://ci:2024/S3cret@10.0.0.5:8081/", "https://ci:2024/S3cret@[::1]:8081/", "https://b:99999/S3cret@@sha256:1",
          "https://ci:2024/S3cret@nexus.example.com\n", "https://ci:2024/S3cret@nexus.example.com?a",
          "https://ci:2024/S3cret@nexus.example.com https://o/"]


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.one_of(package_values, mirror_values), min_size=20, max_size=40))
@example(MASK_EXAMPLES)
def test_masking_agrees_with_bash_and_hides_every_password(values):
    masked = bash([("pc_mask_url", value, "") for value in values])
    for value, (_, shown) in zip(values, masked):
        assert shown == grammar.mask(value)
        cut = re.search(r"[?# \t\n\v\f\r]", shown)  # a query, a fragment, a space: shown as ***, whatever follows
        assert cut is None or shown[cut.start() + 1:] in ("", "***"), (value, shown)
        password = grammar.userinfo_password(value)
        if password and value.count(password) == 1:  # a password that is also part of the host cannot be told apart
            assert password not in shown


def test_the_mask_examples_show_no_secret():
    """Independently of the mask's own idea of the user-info (userinfo_password comes from the same code): the
    secrets of MASK_EXAMPLES are written S3cret or T0k, and neither Python nor bash shows one."""
    masked = bash([("pc_mask_url", value, "") for value in MASK_EXAMPLES])
    for value, (_, shown) in zip(MASK_EXAMPLES, masked):
        assert not re.search(r"S3cret|T0k", shown) and not re.search(r"S3cret|T0k", grammar.mask(value)), (value, shown)


@settings(max_examples=max(EXAMPLES // 5, 50), deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(["npm_{36}", "ghp_{40}", "github_pat_{30}", "glpat-{24}", "eyJ{8}.eyJ{8}.{20}",
                                 "AKC{20}", "pkg-npm-url", "npm_{35}", "npm_{36}\n", "https://h.example/npm_{36}",
                                 "npm_{36}\r\n", "ghp_{40} ", "\ufeffnpm_{36}", "\tglpat-{24}\t", "\ufeff ghp_{40}",
                                 " \ufeffnpm_{36}", "npm_{36}\r\nx"]).flatmap(
    lambda form: st.text(string.ascii_letters + string.digits, min_size=60, max_size=60).map(
        lambda chars: re.sub(r"\{(\d+)\}", lambda m: chars[:int(m[1])], form))), min_size=5, max_size=20))
def test_a_value_shaped_like_an_access_token_is_masked_whole_in_python_and_bash(values):
    """A token pasted into a URL key (pkg-npm-url: npm_...) is shown by plan and lint: masked whole when it has
    a well-known token's shape (grammar.yaml token_shapes), the same in Python and in the preamble's bash."""
    shown = bash([("pc_mask_url", value, "") for value in values])
    for value, (_, masked) in zip(values, shown):
        assert masked == grammar.mask(value), value
        core = value.removeprefix("\ufeff").strip(" \t\n\v\f\r")  # a pasted token's line ending, BOM or spaces
        shaped = any(re.fullmatch(shape.strip("^$"), core) for shape in grammar.TOKEN_SHAPES)
        assert (masked == "***") == shaped, value


PATH_TOKEN_FORMS = ["https://dl.cloudsmith.io/{t}/acme/repo/python/simple/", "https://u:pw@DL.CloudSmith.io/{t}/a/",
                    "dl.cloudsmith.io/{t}/acme/repo/npm/", "//gems.gemfury.com/{t}/", "u:pw@npm.fury.io/{t}/acme/",
                    "https:dl.cloudsmith.io/{t}/a/", "https:/dl.cloudsmith.io/{t}/a/", "https//dl.cloudsmith.io/{t}/a/",
                    "https:///dl.cloudsmith.io/{t}/a/", "https://dl.cloudsmith.io:443/{t}/a/", "https://dl.cloudsmith.io./{t}/a/",
                    "https://npm-proxy.fury.io:443/{t}/acme/", "https://conda.anaconda.org:443/t/{t}/x",
                    "https://npm-proxy.fury.io/{t}/acme/", "https://pypi.fury.io/{t}/acme/simple/",
                    "https://gems.gemfury.com/{t}/", "https://conda.anaconda.org/t/{t}/acme",
                    "https://repo.anaconda.com/t/{t}/main"]


@settings(max_examples=max(EXAMPLES // 5, 50), deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from(PATH_TOKEN_FORMS), st.text(string.ascii_letters + string.digits + "-_.~",
                                                                    min_size=1, max_size=40)), min_size=5, max_size=20))
def test_a_hosted_registry_s_path_token_is_masked_in_python_and_bash(pairs):
    """grammar.yaml path_tokens: the segment Cloudsmith, Gemfury and anaconda.org take a token in is masked,
    the same in Python and in the preamble's bash."""
    values = [form.format(t="TK" + token) for form, token in pairs]
    shown = bash([("pc_mask_url", value, "") for value in values])
    for (form, token), value, (_, masked) in zip(pairs, values, shown):
        assert masked == grammar.mask(value)
        assert "TK" + token not in masked and "/***/" in masked + "/", (value, masked)
    for kept in ("https://dl.cloudsmith.io/public/acme/repo/", "https://npm.fury.io/acme/", "https://nexus.example.com/t/x/"):
        assert grammar.mask(kept) == kept


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(package_urls, min_size=20, max_size=40))
def test_npm_token_key_agrees_with_bash(values):
    accepted = [v for v in values if grammar.package_url_violation(v, "npm") is None]
    keys = bash([("pc__npm_token_key", value, "") for value in accepted])
    assert [key for _, key in keys] == [grammar.npm_token_key(value) for value in accepted]


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True)
@given(st.lists(st.one_of(st.ip_addresses(v=6).map(lambda a: a.exploded), st.ip_addresses(v=6).map(str),
                          st.text(st.sampled_from("0123456789abcdefABCDEF:."), max_size=45)), min_size=10, max_size=30))
def test_ipv6_normal_form_agrees_with_python_ipaddress(addresses):
    results = bash([("pc__ipv6_canonical", a, "") for a in addresses])
    for address, (status, canonical) in zip(addresses, results):
        try:
            expected = ipaddress.IPv6Address(address).compressed if "." not in address else None
        except ValueError:
            expected = None
        assert (canonical if status == 0 else None) == expected, address


def test_a_64_kib_value_is_judged_quickly_and_never_quoted_whole():
    for value in ["https://" + "a" * 65000 + ".example/", "https://a.example/" + "%" * 65000, "https://" + "a:" * 32000 + "/"]:
        violation = grammar.package_url_violation(value, "npm")
        assert violation is None or len(violation.text) < 600


def test_reference_messages_never_quote_user_info():
    with pytest.raises(reference.ReferenceError) as raised:
        reference.split_mirror("user:hunter2secret@harbor.example.com/proxy")
    assert "hunter2secret" not in str(raised.value)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True)
@given(st.sampled_from(["oci-mirror", "image-override"]), mirror_values)
@example("image-override", "https://T0kenQQ77@nexus.example.com/golden/node:20")
@example("oci-mirror", "//ci:S3cretZZ91@nexus.example.com/Dockerhub")
def test_oci_messages_never_show_what_mask_hides(family, value):
    """The reference parser quotes parts of a value (a repository name) in its message: a violation's message
    shows nothing that `mask` hides."""
    secret = grammar.userinfo_password(value)
    if not secret or len(secret) < 6 or value.count(secret) > 1:
        return
    for violation in grammar.violations(value, grammar.Kind(family)):
        assert secret not in violation.text, (value, violation.text)


def _c0_escaped(text: str) -> str:
    return "".join(f"\\u{ord(c):04x}" if "\x01" <= c <= "\x1f" else c for c in text)


@settings(max_examples=max(EXAMPLES // 5, 50), deadline=None, derandomize=True)
@given(st.lists(st.one_of(any_text, credential_values, st.text(st.characters(min_codepoint=1, max_codepoint=0x7f))),
                min_size=10, max_size=30))
def test_preamble_escapers_match_their_definition(values):
    """pc_percent_encode (RFC 3986 unreserved kept) and pc__escape_c0 (\\uXXXX), made linear, still give
    exactly the escaping they define: a 64 KiB credential used to cost 13 s per manager."""
    values = [v for v in values if v]
    encoded = bash([("pc_percent_encode", v, "") for v in values])
    escaped = bash([("pc__escape_c0", v, "") for v in values])
    for value, (_, percent), (_, c0) in zip(values, encoded, escaped):
        assert percent == urllib.parse.quote(value.encode(), safe="-._~")
        assert c0 == _c0_escaped(value)


CLIENT_RULES = [rule for rule in grammar.RULES.values() if rule.client]


def test_every_client_limit_has_a_check_examples_and_lets_the_build_go_on():
    assert {rule.id for rule in CLIENT_RULES} == set(grammar.CLIENT_CHECKS)
    for rule in CLIENT_RULES:
        assert rule.examples and rule.build == "proceeds" and rule.severity == "error", rule.id


@pytest.mark.parametrize("rule, manager, value", [(rule.id, manager, value) for rule in CLIENT_RULES
                                                  for manager in rule.client["managers"] for value in rule.examples])
def test_client_limit_examples_are_caught_for_their_managers_only(rule, manager, value):
    limit = grammar.RULES[rule].client
    family = limit["families"][-1]
    credentials = limit.get("with") in ("credentials", "any-credentials")
    caught = {v.rule for v in grammar.client_violations(value, grammar.Kind(family, manager), credentials)}
    assert rule in caught
    other = next(m for m in ("npm", "maven", "python") if m not in limit["managers"])  # a manager the limit is not about
    assert rule not in {v.rule for v in grammar.client_violations(value, grammar.Kind(family, other), credentials)}
    assert grammar.stop_violation(value, grammar.Kind(family, manager)) is None  # the build goes on with it
    if credentials:  # without credentials in effect the client has nothing to lose (any-credentials: but the URL's own)
        own = limit["with"] == "any-credentials" and grammar.has_userinfo(value)
        assert (rule in {v.rule for v in grammar.client_violations(value, grammar.Kind(family, manager))}) == own


@pytest.mark.parametrize("value", ["https://a/%C3%A9/", "https://a/%41/", "https://a/", "https://a/b%2Fc/"])
def test_utf8_escapes_are_no_client_limit(value):
    assert grammar.client_violations(value, grammar.Kind("package-proxy", "python")) == []


def test_directory_base_urls_get_their_slash_in_python_and_bash():
    for manager in grammar.CLIENTS["directory-base"]:
        assert grammar.client_url(manager, "https://a/b") == "https://a/b/"
        assert grammar.client_url(manager, "https://a/b/") == "https://a/b/"
    assert grammar.client_url("npm", "https://a/b") == "https://a/b"
    catalog_sh = (LIB.parent / "catalog.sh").read_text()
    assert f"PC_DIRECTORY_BASE_MANAGERS={' '.join(grammar.CLIENTS['directory-base'])}" in catalog_sh \
        or f"PC_DIRECTORY_BASE_MANAGERS='{' '.join(grammar.CLIENTS['directory-base'])}'" in catalog_sh


@pytest.mark.parametrize("kind, value, secret", [
    (grammar.Kind("image-override"), "https://nexus.example.com/repository/npm/?_auth=T0kQQ77", "T0kQQ77"),
    (grammar.Kind("image-override"), "registry.example.com/golden/NODE?sig=T0kQQ77:20", "T0kQQ77"),
    (grammar.Kind("image-override"), "https://dl.cloudsmith.io/T0kQQ77/org/repo/node", "T0kQQ77"),
    (grammar.Kind("package-proxy", "npm"), "dl.cloudsmith.io/T0kQQ77/org/repo/npm/", "T0kQQ77"),
    (grammar.Kind("package-proxy", "python"),
     "https://nexus.example.com/pypi/simple https://u:S3cretZZ91@other.example.com/simple", "S3cretZZ91"),
    (grammar.Kind("package-proxy", "python"), "u1:S3cretZZ91@nexus.example.com/simple https://pypi.example.com/simple",
     "S3cretZZ91"),
    (grammar.Kind("image-override"), "Node?sig=T0kQQ77:20", "T0kQQ77"),  # quoted as library/Node?sig=T0kQQ77
    (grammar.Kind("image-override"), "registry.example.com/NODE?s=(T0kQQ77):1", "T0kQQ77"),
    (grammar.Kind("package-proxy", "npm"), "https:/dl.cloudsmith.io/T0kQQ77/org/repo/npm/", "T0kQQ77"),
])
def test_no_message_about_a_value_shows_what_mask_hides(kind, value, secret):
    """A parser's message quoting a piece of the value (the repository name before its tag), the mended value a
    rule suggests, a second URL after a space: none shows the token or password mask hides in the value."""
    found = grammar.violations(value, kind)
    assert found and all(secret not in v.text and secret not in repr(v) for v in found), [v.text for v in found]


@settings(max_examples=max(EXAMPLES // 5, 50), deadline=None, derandomize=True)
@given(st.lists(st.text(string.ascii_letters + string.digits + "+%:@/?#._-", max_size=30).map(
    lambda text: "https://" + text + "@h.example.com/gems/x+y/"), min_size=5, max_size=20))
def test_a_plus_of_the_user_info_is_written_as_2b_for_rubygems_in_python_and_bash(values):
    """grammar.yaml clients plus-is-space: RubyGems reads a user-info '+' as a space; client_url and the preamble
    write it as %2B, up to the authority's last '@', and nothing else changes."""
    written = bash([("pc__plus_in_userinfo", value, "") for value in values])
    for value, (_, shown) in zip(values, written):
        assert shown == grammar.client_url("rubygems", value)
        at = len("https://") + re.split(r"[/?#]", value[len("https://"):], maxsplit=1)[0].rfind("@")
        if at > len("https://"):
            assert shown == value[:at].replace("+", "%2B") + value[at:]
        else:
            assert shown == value
