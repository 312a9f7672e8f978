"""Image references: the distribution library's own test vectors, and properties over generated references."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.contract import reference
from harness.contract.reference import ReferenceError, apply_override, parse, parse_normalized, rewrite_to_mirror

HEX64 = "86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"

# Valid and invalid names from distribution/reference normalize_test.go (TestValidateReferenceName and
# TestValidateRemoteName).
VALID = [
    "docker/docker", "library/debian", "debian", "docker.io/docker/docker", "docker.io/library/debian",
    "docker.io/debian", "index.docker.io/docker/docker", "index.docker.io/library/debian", "index.docker.io/debian",
    "127.0.0.1:5000/docker/docker", "127.0.0.1:5000/library/debian", "127.0.0.1:5000/debian", "192.168.0.1",
    "192.168.0.1:80", "192.168.0.1:8/debian", "192.168.0.2:25000/debian",
    "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "[fc00::1]:5000/docker",
    "[fc00::1]:5000/docker/docker", "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
    "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", "Docker/docker", "DOCKER/docker",
    "docker-rules/docker", "docker---rules/docker", "doc/docker", "d/docker", "jess/t", "dock__er/docker",
]
INVALID = [
    "https://github.com/docker/docker", "docker/Docker", "-docker", "-docker/docker", "-docker.io/docker/docker",
    "docker///docker", "docker.io/docker/Docker", "docker.io/docker///docker", "[fc00::1]", "[fc00::1]:5000",
    "fc00::1:5000/debian", "[fe80::1%eth0]:5000/debian", "[2001:db8:3:4::192.0.2.33]:5000/debian",
    "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", "docker-/docker", "-docker-/docker",
    "____/____", "_docker/_docker", "dock..er/docker", "dock_.er/docker", "dock-.er/docker", "docker/",
    "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_" * 4 + "/docker",
    "", "node:18\n", "node@sha256:" + HEX64[:-1], "node@md5:" + HEX64, "node@sha256:" + HEX64.upper(),
]
# (input, normalised) from TestParseRepositoryInfo, TestParseAnyReference and TestNormalizedSplitHostname.
NORMALISED = [
    ("fooo/bar", "docker.io/fooo/bar"), ("index.docker.io/fooo/bar", "docker.io/fooo/bar"),
    ("ubuntu", "docker.io/library/ubuntu"), ("library/ubuntu", "docker.io/library/ubuntu"),
    ("127.0.0.1:8000/privatebase", "127.0.0.1:8000/privatebase"), ("example.com:8000/private/moonbase",
                                                                    "example.com:8000/private/moonbase"),
    ("ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base"), ("docker.io/foo", "docker.io/library/foo"),
    ("library/foo/bar", "docker.io/library/foo/bar"), ("Foo/bar", "Foo/bar"),
    ("redis:latest", "docker.io/library/redis:latest"), ("dmcgowan/myapp:latest", "docker.io/dmcgowan/myapp:latest"),
    ("test_com/foo", "docker.io/test_com/foo"), ("test-com:8080/foo", "test-com:8080/foo"),
    ("xn--n3h.com:18080/foo", "xn--n3h.com:18080/foo"), ("localhost/foo", "localhost/foo"),
    ("busybox:latest@sha256:" + HEX64, "docker.io/library/busybox:latest@sha256:" + HEX64),
    ("registry-1.docker.io/node:18", "registry-1.docker.io/node:18"),
]


@pytest.mark.parametrize("text", VALID)
def test_valid_names(text):
    parse_normalized(text)


@pytest.mark.parametrize("text", INVALID)
def test_invalid_names(text):
    with pytest.raises(ReferenceError):
        parse_normalized(text)


@pytest.mark.parametrize("text, expected", NORMALISED)
def test_normalisation(text, expected):
    assert str(parse_normalized(text)) == expected


@pytest.mark.parametrize("text, reason", [
    ("Node:18", "invalid reference format: repository name (library/Node) must be lowercase"),
    ("node@sha256:abc", "invalid reference format"),
    ("node@sha256:" + "a" * 63, "invalid checksum digest length"),
    ("node@sha999:" + "a" * 64, "unsupported digest algorithm"),
    ("a" * 64, "cannot specify 64-byte hexadecimal strings"),
    ("example.com/" + "a/" * 130 + "a", "must not be more than 255 characters"),
])
def test_rejections_give_the_library_reason(text, reason):
    with pytest.raises(ReferenceError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_normalized(text)


def test_the_seed_examples():
    node = parse_normalized("node:18")
    assert str(rewrite_to_mirror(node, "nexus.example.com/dockerhub-proxy")) == \
        "nexus.example.com/dockerhub-proxy/library/node:18"
    assert str(apply_override(parse_normalized("node:18-alpine"), "golden.example.com:5000/base/node")) == \
        "golden.example.com:5000/base/node:18-alpine"
    assert str(apply_override(node, "golden.example.com:5000/base/node:20")) == "golden.example.com:5000/base/node:20"


@pytest.mark.parametrize("mirror, reason", [
    ("https://nexus.example.com/proxy", "without a scheme"),
    ("nexus.example.com/proxy/", "must not end with '/'"),
    ("nexus.example.com/Proxy", "not a valid repository path"),
    ("nexus .example.com", "not a valid registry host"),
    ("", "not a valid registry host"),
])
def test_invalid_mirror_values(mirror, reason):
    with pytest.raises(ReferenceError, match=reason):
        reference.split_mirror(mirror)


# -- properties ---------------------------------------------------------------------------------------------

component = st.from_regex(r"\A[a-z0-9]{1,8}(?:(?:[._]|__|-{1,2})[a-z0-9]{1,8}){0,2}\Z")
label = st.from_regex(r"\A[a-z0-9](?:[a-z0-9-]{0,6}[a-z0-9])?\Z")
host = st.builds(lambda parts: ".".join(parts), st.lists(label, min_size=2, max_size=3))
port = st.integers(min_value=1, max_value=65535)
domain = st.one_of(host, st.builds(lambda h, p: f"{h}:{p}", host, port))
path = st.builds("/".join, st.lists(component, min_size=1, max_size=3))
tag = st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}\Z")
digest = st.builds(lambda h: "sha256:" + h, st.from_regex(r"\A[a-f0-9]{64}\Z"))


@st.composite
def references(draw):
    text = draw(domain) + "/" + draw(path)
    if draw(st.booleans()):
        text += ":" + draw(tag)
    if draw(st.booleans()):
        text += "@" + draw(digest)
    return text


@given(references())
def test_parse_format_round_trip(text):
    assert str(parse(text)) == text
    assert str(parse_normalized(text)) == text


@given(st.one_of(references(), path.map(lambda p: p), st.builds(lambda p, t: f"{p}:{t}", path, tag)))
def test_normalisation_is_idempotent(text):
    once = parse_normalized(text)
    assert parse_normalized(str(once)) == once


@given(host, port, path)
def test_a_port_is_never_a_tag(h, p, repo):
    ref = parse_normalized(f"{h}:{p}/{repo}")
    assert ref.domain == f"{h}:{p}" and ref.tag is None


@given(references(), domain, st.one_of(st.just(""), path))
def test_mirror_rewrite_keeps_path_tag_and_digest(text, mirror_host, mirror_path):
    ref = parse_normalized(text)
    mirror = mirror_host + ("/" + mirror_path if mirror_path else "")
    rewritten = rewrite_to_mirror(ref, mirror)
    assert (rewritten.tag, rewritten.digest) == (ref.tag, ref.digest)
    assert rewritten.name == f"{mirror}/{ref.path}"


@given(references(), domain, path)
def test_prefix_override_keeps_tag_and_digest(text, override_host, override_path):
    ref = parse_normalized(text)
    result = apply_override(ref, f"{override_host}/{override_path}")
    assert (result.domain, result.path, result.tag, result.digest) == (override_host, override_path, ref.tag, ref.digest)


@given(references(), references())
def test_full_override_replaces_the_image(text, override):
    replacement = parse_normalized(override)
    if replacement.tag or replacement.digest:
        assert apply_override(parse_normalized(text), override) == replacement


@given(st.text(max_size=80))
def test_arbitrary_text_never_crashes(text):
    try:
        parse_normalized(text)
    except ReferenceError:
        pass
