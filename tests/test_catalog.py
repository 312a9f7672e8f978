"""The seed's tables, transcribed by hand, against harness/contract/catalog.yaml: any drift fails here."""

import re

import pytest

from harness.contract import reference
from harness.contract.catalog import load_catalog
from helpers import CHECKOUT

SEED = (CHECKOUT / "docs" / "seed" / "mirror-registry.md").read_text()
CATALOG = load_catalog()

# "The build strategies recognized by the lookup are buildpack, ballerina, mi, webapp, prism, test-runner, and byoc."
STRATEGIES = ["buildpack", "ballerina", "mi", "webapp", "prism", "test-runner", "byoc"]

# OCI container image mirrors: key, credential keys, what it mirrors.
OCI_TABLE = [
    ("oci-dockerhub-url", "oci-dockerhub-username", "oci-dockerhub-password", "dockerhub"),
    ("oci-choreo-url", "oci-choreo-username", "oci-choreo-password", "choreo"),
    ("oci-buildpacks-url", "oci-buildpacks-username", "oci-buildpacks-password", "buildpacks"),
]

# Full image overrides: key -> the image it replaces (logical name) and the strategies the seed names.
OVERRIDE_TABLE = [
    ("image-node-ref", "node", ["webapp", "test-runner"]),
    ("image-nginx-ref", "nginx", ["webapp"]),
    ("image-prism-ref", "prism", ["prism"]),
    ("image-golang-ref", "golang", ["prism"]),
    ("image-buildpacks-run-ref", "buildpacks-run", None),
    ("image-buildpacks-lifecycle-ref", "buildpacks-lifecycle", None),
    ("image-buildpacks-builder-ref", "buildpacks-builder", None),
]

# Language package proxies: key, credential keys, package manager as the seed names it.
PACKAGE_TABLE = [
    ("pkg-npm-url", ["pkg-npm-token"], "npm"),
    ("pkg-maven-url", ["pkg-maven-username", "pkg-maven-password"], "Maven"),
    ("pkg-gradle-url", ["pkg-gradle-username", "pkg-gradle-password"], "Gradle"),
    ("pkg-nuget-url", ["pkg-nuget-username", "pkg-nuget-password"], "NuGet"),
    ("pkg-python-url", ["pkg-python-username", "pkg-python-password"], "PyPI"),
    ("pkg-go-url", ["pkg-go-username", "pkg-go-password"], "Go module proxy"),
    ("pkg-composer-url", ["pkg-composer-username", "pkg-composer-password"], "PHP Composer"),
    ("pkg-rubygems-url", ["pkg-rubygems-username", "pkg-rubygems-password"], "RubyGems"),
]
SEED_MANAGER_NAMES = {"npm": "npm", "Maven": "maven", "Gradle": "gradle", "NuGet": "nuget", "PyPI": "python",
                      "Go": "go", "Composer": "composer", "RubyGems": "rubygems"}

# Support matrix per build strategy, row by row as the seed prints it.
SUPPORT_MATRIX = {
    "buildpack": (["oci-dockerhub-url", "oci-choreo-url", "oci-buildpacks-url"],
                  ["image-buildpacks-run-ref", "image-buildpacks-lifecycle-ref", "image-buildpacks-builder-ref"],
                  ["npm", "Maven", "Gradle", "NuGet", "PyPI", "Go", "Composer", "RubyGems"]),
    "ballerina": (["oci-buildpacks-url"],
                  ["image-buildpacks-run-ref", "image-buildpacks-lifecycle-ref", "image-buildpacks-builder-ref"],
                  ["Maven", "Gradle", "NuGet", "PyPI", "Go", "Composer", "RubyGems"]),
    "mi": (["oci-buildpacks-url"], ["image-buildpacks-lifecycle-ref", "image-buildpacks-builder-ref"], ["Maven"]),
    "webapp": (["oci-dockerhub-url", "oci-choreo-url"], ["image-node-ref", "image-nginx-ref"], ["npm"]),
    "prism": (["oci-choreo-url"], ["image-prism-ref", "image-golang-ref"], []),
    "test-runner": (["oci-dockerhub-url"], ["image-node-ref"], ["npm"]),
    "byoc": (["oci-dockerhub-url"], [], []),
}

# Domain allowlisting: every destination the seed lists.
ALLOWLIST = [
    "index.docker.io", "registry-1.docker.io", "auth.docker.io", "production.cloudflare.docker.com",
    "us-docker.pkg.dev", "gcr.io", "choreocontrolplane.azurecr.io",
    "registry.npmjs.org", "repo.maven.apache.org", "services.gradle.org", "api.nuget.org", "pypi.org",
    "files.pythonhosted.org", "proxy.golang.org", "sum.golang.org", "rubygems.org", "repo.packagist.org",
    "api.central.ballerina.io", "fileserver.central.ballerina.io", "dist.ballerina.io",
    "release-assets.githubusercontent.com",
]
NO_KEY = ["services.gradle.org", "sum.golang.org", "api.central.ballerina.io", "fileserver.central.ballerina.io",
          "dist.ballerina.io", "release-assets.githubusercontent.com"]


def test_every_transcribed_name_is_in_the_seed():
    names = STRATEGIES + [k for row in OCI_TABLE for k in row[:3]] + [row[0] for row in OVERRIDE_TABLE]
    names += [k for row in PACKAGE_TABLE for k in [row[0], *row[1]] if k != "pkg-npm-token"] + ALLOWLIST
    missing = [name for name in names if name not in SEED]
    assert missing == []


def test_strategies():
    assert list(CATALOG.strategies) == STRATEGIES


@pytest.mark.parametrize("url_key, username, password, registry", OCI_TABLE)
def test_oci_mirror_row(url_key, username, password, registry):
    key = CATALOG.keys[url_key]
    assert (key.family, key.username, key.password, key.registry) == ("oci-mirror", username, password, registry)
    assert CATALOG.registries[registry].mirror_key == url_key


def test_dockerhub_is_index_docker_io():
    assert "index.docker.io" in CATALOG.registries["dockerhub"].prefixes
    assert CATALOG.registry_of(reference.parse_normalized("index.docker.io/library/node:18")).id == "dockerhub"


def test_platform_registry_hosts_nginx_prism_and_go_images():
    hosted = {name for s in CATALOG.strategies.values() for name, i in s.images.items() if i.registry == "choreo"}
    assert {"nginx", "prism", "golang"} <= hosted


def test_buildpacks_registry_hosts_builder_lifecycle_and_run_images():
    hosted = {name for s in CATALOG.strategies.values() for name, i in s.images.items() if i.registry == "buildpacks"}
    assert {"buildpacks-builder", "buildpacks-lifecycle", "buildpacks-run"} <= hosted
    # the seed's two prefixes first; the profile adds where the platform keeps them (tests/test_profile.py)
    assert CATALOG.registries["buildpacks"].prefixes[:2] == ("gcr.io/buildpacks", "us-docker.pkg.dev/gae-runtimes")


@pytest.mark.parametrize("key_name, image, strategies", OVERRIDE_TABLE)
def test_override_row(key_name, image, strategies):
    key = CATALOG.keys[key_name]
    assert (key.family, key.image, key.credential_keys) == ("image-override", image, ())
    for strategy in strategies or []:
        assert CATALOG.strategies[strategy].images[image].override == key_name


@pytest.mark.parametrize("url_key, credentials, manager", PACKAGE_TABLE)
def test_package_row(url_key, credentials, manager):
    key = CATALOG.keys[url_key]
    assert key.family == "package-proxy"
    assert list(key.credential_keys) == credentials
    assert CATALOG.managers[key.manager].title == manager


def test_npm_takes_a_token_only():
    assert CATALOG.keys["pkg-npm-url"].token == "pkg-npm-token"
    assert CATALOG.keys["pkg-npm-url"].username is None


def test_the_catalog_has_exactly_the_seed_keys():
    seed_keys = [row[0] for row in OCI_TABLE] + [row[0] for row in OVERRIDE_TABLE] + [row[0] for row in PACKAGE_TABLE]
    assert sorted(CATALOG.keys) == sorted(seed_keys)
    credentials = [k for row in OCI_TABLE for k in row[1:3]] + [k for row in PACKAGE_TABLE for k in row[1]]
    assert sorted(CATALOG.credential_owner) == sorted(credentials)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_support_matrix_row(strategy):
    oci, images, packages = SUPPORT_MATRIX[strategy]
    row = CATALOG.strategies[strategy]
    assert list(row.oci_keys) == oci
    assert list(row.image_keys) == images
    assert list(row.managers) == [SEED_MANAGER_NAMES[p] for p in packages]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_supported_key_has_something_to_redirect(strategy):
    """A supported OCI key mirrors a registry some image of the strategy lives under (registries.conf remaps every
    prefix of a registry in effect: the buildpack's Docker Hub lifecycle goes to the Docker Hub mirror when no
    buildpacks mirror takes it); an override replaces one of its images."""
    row = CATALOG.strategies[strategy]
    refs = [reference.parse_normalized(image.default) for image in row.images.values()]
    for key_name in row.oci_keys:
        registry = CATALOG.registries[CATALOG.keys[key_name].registry]
        assert any(reference.matches_prefix(ref, p) for ref in refs for p in registry.prefixes), key_name
    overridden = {image.override for image in row.images.values()}
    assert set(row.image_keys) <= overridden


def test_allowlist_destinations_are_all_in_the_catalog():
    known = {h for r in CATALOG.registries.values() for h in r.endpoints}
    known |= {h for m in CATALOG.managers.values() for h in m.endpoints}
    known |= {d.host for m in CATALOG.managers.values() for d in m.unredirectable}
    known |= {d.host for s in CATALOG.strategies.values() for d in s.unredirectable}
    assert set(ALLOWLIST) <= known
    unredirectable = {d.host for m in CATALOG.managers.values() for d in m.unredirectable}
    unredirectable |= {d.host for s in CATALOG.strategies.values() for d in s.unredirectable}
    assert set(NO_KEY) <= unredirectable
    # beyond the seed's allowlist, the destinations the profile's steps reach with no key of their strategy
    # (dev-central, Trivy's database, Prism's npm, the Go buildpack's Go download: tests/test_profile.py; the Maven
    # wrapper's distribution has pkg-maven-url, as MVNW_REPOURL)
    assert unredirectable - set(NO_KEY) == {"dev-central.ballerina.io", "mirror.gcr.io", "registry.npmjs.org",
                                            "dl.google.com"}


@pytest.mark.parametrize("strategy", ["webapp", "test-runner"])
def test_webapp_and_test_runner_pin_node_18(strategy):
    node = CATALOG.strategies[strategy].images["node"]
    assert node.default == "docker.io/library/node:18-alpine" and node.pinned and node.override == "image-node-ref"


def test_docker_hub_login_only_for_strategies_that_pull_from_docker_hub():
    hub = CATALOG.registries["dockerhub"].prefixes
    for strategy in CATALOG.strategies.values():
        pulls_hub = any(reference.parse_normalized(i.default).domain in hub for i in strategy.images.values())
        assert strategy.dockerhub_login == pulls_hub, strategy.name


def test_platform_registry_host_is_configurable():
    catalog = load_catalog("pdp-acr.azurecr.io")
    assert catalog.strategies["prism"].images["prism"].default.startswith("pdp-acr.azurecr.io/")
    assert catalog.registries["choreo"].endpoints == ("pdp-acr.azurecr.io",)


def test_a_package_key_of_any_manager_is_named_after_it():
    """pkg-crates-url for manager cargo loaded when no strategy supported cargo yet, and lint then called the
    key users write, pkg-cargo-url, unknown: every package key is named pkg-<manager>-url."""
    from harness.contract.catalog import _check
    from harness.infra.errors import UserError

    misnamed = CATALOG.keys["pkg-npm-url"]._replace(name="pkg-nodejs-url")
    with pytest.raises(UserError, match="pkg-nodejs-url: a package key of manager npm is named pkg-npm-url"):
        _check(CATALOG._replace(keys={**CATALOG.keys, "pkg-nodejs-url": misnamed}))


CATALOG_TEXT = (CHECKOUT / "harness/contract/catalog.yaml").read_text()


@pytest.mark.parametrize("old, new, message", [
    # a key given twice while adding one: the YAML error names the file
    ("keys:\n", "keys:\n  pkg-npm-url: {family: package-proxy, manager: npm, token: pkg-npm-token}\n",
     r"harness/contract/catalog\.yaml: not valid YAML \(the key 'pkg-npm-url' is given twice"),
    # half a credential pair: plan and lint had a StopIteration traceback
    ("oci-dockerhub-url: {family: oci-mirror, registry: dockerhub, username: oci-dockerhub-username, password: oci-dockerhub-password}",
     "oci-dockerhub-url: {family: oci-mirror, registry: dockerhub, username: oci-dockerhub-username}",
     "keys.oci-dockerhub-url: a username key needs a password key"),
    # a mirror_key no key has: plan and the preamble disagreed
    ("mirror_key: oci-dockerhub-url", "mirror_key: oci-dockerhub-urll",
     "registries.dockerhub.mirror_key: oci-dockerhub-urll is not an oci-mirror key of registry dockerhub"),
    # a registry without prefixes: lint and plan accepted it, the preamble wrote no registries.conf entry
    ("registries:\n", "registries:\n  quay: {title: Quay, mirror_key: oci-quay-url, prefixes: [], endpoints: [quay.io]}\n",
     "registries.quay.prefixes: empty"),
])
def test_a_catalog_mistake_is_named_by_file_and_entry(old, new, message):
    from harness.contract.catalog import catalog_from_text
    from harness.infra.errors import UserError

    assert old in CATALOG_TEXT, old
    text = CATALOG_TEXT.replace(old, new, 1)
    if "oci-quay-url" in new:  # a new registry, with its key
        text = text.replace("\nkeys:\n", "\nkeys:\n  oci-quay-url: {family: oci-mirror, registry: quay}\n", 1)
    with pytest.raises(UserError, match=message):
        catalog_from_text(text)


def test_an_unknown_key_in_a_support_row_is_named():
    from harness.contract.catalog import catalog_from_text
    from harness.infra.errors import UserError

    row = re.search(r"images: \[image-node-ref[^\]]*\]", CATALOG_TEXT)[0]
    with pytest.raises(UserError, match=r"strategies\.\S+\.supports\.images: 'image-nodde-ref' is not an image-override key"):
        catalog_from_text(CATALOG_TEXT.replace(row, row[:-1] + ", image-nodde-ref]", 1))


def test_lint_names_a_key_without_credentials_as_taking_none(tmp_path):
    """A new mirror key without credential keys: lint's hint for `oci-quay-username` said `None and None`."""
    from harness.contract.catalog import catalog_from_text
    from harness.contract.config import read_config
    from harness.contract.lint import lint

    text = CATALOG_TEXT.replace("registries:\n", "registries:\n  quay: {title: Quay, mirror_key: oci-quay-url, "
                                "prefixes: [quay.io], endpoints: [quay.io]}\n", 1)
    catalog = catalog_from_text(text.replace("\nkeys:\n", "\nkeys:\n  oci-quay-url: {family: oci-mirror, registry: quay}\n", 1))
    (tmp_path / "oci-quay-username").write_text("u")
    messages = [finding.message for finding in lint(catalog, read_config(tmp_path))]
    assert any("quay takes no credentials" in message for message in messages), messages
    assert not any("None" in message for message in messages), messages
