"""Package URLs the build cannot use are marked in the plan (the preamble stops on them), and masking never crashes."""

import pytest

from harness.contract.catalog import load_catalog
from harness.contract.config import read_config
from harness.contract.grammar import mask as mask_url
from harness.contract.plan import plan
from helpers import write_proxy_config


@pytest.mark.parametrize("value, usable", [
    ("https://nexus.example.com/repository/npm/", True),
    ("http://127.0.0.1:8081/npm", True),
    ("nexus.example.com/npm", False),
    ("ftp://nexus.example.com/npm", False),
    ("https://", False),
    ("https://nexus.example.com/a b", False),
    ("https://nexus.example.com/a\tb", False),
    ("https://nexus.example.com/\x7f", False),
    ("https://nexus.example.com/\x85", False),
    ("https://nexus.example.com/\ufffe", False),
    ("https://nexus.example.com/é/", False),
    ("https://nexus.example.com/$(touch$%7BIFS%7D/tmp/pwned);'", True),
    ("https://[x/", False),
    ("HTTPS://nexus.example.com/npm/", False),
    ("https://nexus.example.com:99999/", False),
    ("https://nexus.example.com/a/../npm/", False),
])
def test_package_url_error(tmp_path, catalog, value, usable):
    write_proxy_config(tmp_path, {"pkg-npm-url": value}, newline=True)
    package = plan(catalog, read_config(tmp_path), "webapp").packages["npm"]
    assert (package.error is None) == usable


@pytest.mark.parametrize("url, masked", [
    ("https://user:hunter2@nexus.example.com/npm/", "https://user:***@nexus.example.com/npm/"),
    ("https://u:p@[x/", "https://u:***@[x/"),
    ("https://a@b:c@host/x@y", "https://a@b:***@y"),
    ("https://user@host/", "https://***@host/"),  # no password: the user name may be a token
    ("https://T0kenQQ77@nexus.example.com/pypi/simple/", "https://***@nexus.example.com/pypi/simple/"),
    ("https://u%3AS3cretZZ91@nexus.example.com/", "https://***@nexus.example.com/"),
    # a mistyped scheme, which lint reports with the value: masked from the start to the last '@'
    ("https:/u:S3cretZZ91@nexus.example.com/npm/", "https:***@nexus.example.com/npm/"),
    ("https:///u:S3cretZZ91@nexus.example.com/maven/", "https:***@nexus.example.com/maven/"),
    ("https//u:S3cretZZ91@nexus.example.com/g/", "https//u:***@nexus.example.com/g/"),
    ("https//T0kenQQ77@nexus.example.com/g/", "***@nexus.example.com/g/"),
    # an '@' that is no user-info stays
    ("nexus.example.com:5000/node@sha256:abc", "nexus.example.com:5000/node@sha256:abc"),
    ("localhost:5000/node@sha256:abc", "localhost:5000/node@sha256:abc"),
    ("https://nexus.example.com:8443/npm/x@y", "https://nexus.example.com:***@y"),  # after a port: may be a password
    ("https://host.example/p:q@r", "https://host.example/p:q@r"),
    ("https://host/p:q@r", "https://host/p:***@r"),  # no mirror's host: a token holding '/' as the user name
    ("https://builder:Xy7/Qz9+Secret@nexus.example.com/x", "https://builder:***@nexus.example.com/x"),
    ("https://b:Xy7?Q#z@nexus.example.com/@scope/", "https://b:***@nexus.example.com/@scope/"),
    ("https://u:p@ss/w@rd@nexus.example.com/npm/", "https://u:***@nexus.example.com/npm/"),
    ("https://nexus.example.com:8443/npm/@scope/x", "https://nexus.example.com:8443/npm/@scope/x"),
    ("user:secret@harbor.example.com/proxy", "user:***@harbor.example.com/proxy"),
    # a password of digits, then '/': it reads as a port, the rest as a path; the '@' before a host name tells
    ("https://builder:4431/Zq9xS3cret@nexus.example.com/py/", "https://builder:***@nexus.example.com/py/"),
    ("https://builder:20247731/Zq9xS3cret@nexus.example.com/npm/", "https://builder:***@nexus.example.com/npm/"),
    ("builder:20247731/Zq9xS3cret@myreg.example.com/node:20", "builder:***@myreg.example.com/node:20"),
    ("ci.bot:2024/S3cret@harbor.example.com:8443/proxy", "ci.bot:***@harbor.example.com:8443/proxy"),
    ("https://[::1]:4873/S3cret@nexus.example.com/", "https://[:***@nexus.example.com/"),  # masked, if oddly
    ("nexus.example.com:5000/node:18@sha256:abc", "nexus.example.com:5000/node:18@sha256:abc"),
    ("https://nexus.example.com:8443/npm/@scope/x", "https://nexus.example.com:8443/npm/@scope/x"),
    ("https://ci:2024/S3cret@10.0.0.5:8081/", "https://ci:***@10.0.0.5:8081/"),
    ("https://ci:2024/S3cret@localhost:8081/", "https://ci:***@localhost:8081/"),
    ("https://ci:2024/S3cret@nexus:8081/", "https://ci:***@nexus:8081/"),
    ("https://ci:2024/S3cret@nexus.example.com.", "https://ci:***@nexus.example.com."),
    ("https://b:99999/S3cret@@sha256:1", "https://b:***@@sha256:1"),
])
def test_mask_url(url, masked):
    assert mask_url(url) == masked


@pytest.mark.parametrize("credentials, usable", [({}, True), ({"pkg-python-username": "u", "pkg-python-password": "p"}, False),
                                                 ({"pkg-python-username": "u"}, True)])
def test_url_credentials_and_credential_keys_together_are_an_error(tmp_path, catalog, credentials, usable):
    write_proxy_config(tmp_path, {"pkg-python-url": "https://me:secret@nexus.example.com/pypi/simple/", **credentials})
    package = plan(catalog, read_config(tmp_path), "buildpack").packages["python"]
    assert (package.error is None) == usable
    assert "secret" not in (package.error or "") and package.url == "https://me:***@nexus.example.com/pypi/simple/"


@pytest.mark.parametrize("values, strategy, host", [
    ({"pkg-npm-url": "https://registry.npmjs.org/"}, "webapp", "registry.npmjs.org"),
    ({"oci-dockerhub-url": "registry-1.docker.io"}, "webapp", "registry-1.docker.io"),
    ({"oci-dockerhub-url": "mirror.gcr.io"}, "test-runner", "mirror.gcr.io"),
    ({"pkg-maven-url": "https://REPO.maven.apache.org/maven2/"}, "mi", "repo.maven.apache.org"),
])
def test_a_mirror_key_naming_a_public_host_keeps_it_among_the_public_destinations(tmp_path, values, strategy, host):
    """A key set to the public registry itself is no mirror: the plan dropped that host from the public
    destinations because a key was set (found by a conformance sweep)."""
    for name, value in values.items():
        (tmp_path / name).write_text(value)
    planned = plan(load_catalog(), read_config(tmp_path), strategy)
    entry = next(d for d in planned.public if d["host"] == host)
    assert "names this public host, not a mirror" in entry["purpose"] and entry["covered_by"] == next(iter(values))
