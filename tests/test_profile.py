"""The platform profile (profiles/choreo.yaml): the default images, hand-off and destinations of the platform's
build flows as issue 10 lists them, held against the simulated internet, merged into the catalog, and picked with
--profile / $AIRGAP_PROFILE (the reference preamble then gets the defaults through PREAMBLE_PROFILE)."""

import json
import os
import re
from pathlib import Path

import pytest
import yaml

import helpers
from harness.contract import profile as profile_module, reference
from harness.contract.catalog import load_catalog
from harness.contract.config import read_config
from harness.contract.plan import plan
from harness.contract.profile import MAX_BYTES, default_path, load_profile
from harness.infra import paths
from harness.infra.errors import UserError
from harness.preamble import interface
from harness.preamble.catalog_gen import preamble_profile, profile_records
from harness.preamble.check import preamble_check
from harness.preamble.runner import run_preamble
from harness.stack import content
from harness.stack.content import oci
from harness.stack.pki import RunCA
from harness.stack.servers import all_specs, internet

CATALOG = load_catalog()
PROFILE = load_profile()

# Issue 10, "Default images (as the platform's flows name them)", transcribed: strategy -> logical image ->
# (the reference as the flows write it, as podman and skopeo resolve it, the registry whose mirror key redirects it).
PLATFORM_IMAGES = {
    "webapp": {
        "node": ("node:18-alpine", "docker.io/library/node:18-alpine", "dockerhub"),
        "nginx": ("choreoanonymouspullable.azurecr.io/nginxinc/nginx-unprivileged:stable-alpine-slim",
                  "choreoanonymouspullable.azurecr.io/nginxinc/nginx-unprivileged:stable-alpine-slim", "choreo"),
    },
    "test-runner": {"node": ("node:18-alpine", "docker.io/library/node:18-alpine", "dockerhub")},
    "buildpack": {
        "buildpacks-builder": ("choreoprivateacr.azurecr.io/buildpacks/builder:google-22",
                               "choreoprivateacr.azurecr.io/buildpacks/builder:google-22", "buildpacks"),
        "buildpacks-run": ("choreoprivateacr.azurecr.io/buildpacks/google-22/run:2941124e39ef19f49aabac4257daf5f652805e81",
                           "choreoprivateacr.azurecr.io/buildpacks/google-22/run:2941124e39ef19f49aabac4257daf5f652805e81",
                           "buildpacks"),
        "buildpacks-lifecycle": ("buildpacksio/lifecycle:0.20.2", "docker.io/buildpacksio/lifecycle:0.20.2", "buildpacks"),
    },
    "mi": {
        "buildpacks-lifecycle": ("choreoprivateacr.azurecr.io/buildpacksio/lifecycle:0.19.6",
                                 "choreoprivateacr.azurecr.io/buildpacksio/lifecycle:0.19.6", "buildpacks"),
        "buildpacks-builder": ("choreoprivateacr.azurecr.io/choreoipaas/choreo-buildpacks/builder:0.2.78",
                               "choreoprivateacr.azurecr.io/choreoipaas/choreo-buildpacks/builder:0.2.78", "buildpacks"),
    },
    "ballerina": {
        "buildpacks-lifecycle": ("choreoprivateacr.azurecr.io/buildpacksio/lifecycle:0.20.2",
                                 "choreoprivateacr.azurecr.io/buildpacksio/lifecycle:0.20.2", "buildpacks"),
        "buildpacks-builder": ("choreoprivateacr.azurecr.io/choreoipaas/choreo-buildpacks/builder:0.2.83",
                               "choreoprivateacr.azurecr.io/choreoipaas/choreo-buildpacks/builder:0.2.83", "buildpacks"),
        "buildpacks-run": ("choreoprivateacr.azurecr.io/choreoipaas/choreo-buildpacks/stacks/alpine/run:0.2.83",
                           "choreoprivateacr.azurecr.io/choreoipaas/choreo-buildpacks/stacks/alpine/run:0.2.83", "buildpacks"),
    },
    "prism": {
        "prism": ("choreoprivateacr.azurecr.io/stoplight/prism:5", "choreoprivateacr.azurecr.io/stoplight/prism:5", "choreo"),
        "golang": ("choreoprivateacr.azurecr.io/golang:1.22.4-alpine", "choreoprivateacr.azurecr.io/golang:1.22.4-alpine",
                   "choreo"),
    },
    "byoc": {},  # the platform resolves no image: the user's Dockerfile FROM lines
}
# The harness's stand-ins for fetches the flows do not name as images (origin: model), none resolved by the platform.
GAE_RUNTIMES = "us-docker.pkg.dev/gae-runtimes/runtimes-ubuntu2204/"
MODEL_IMAGES = {"buildpack": {"runtime-nodejs": GAE_RUNTIMES + "nodejs:20.20.1", "runtime-python": GAE_RUNTIMES + "python:3.10.20",
                              "runtime-openjdk": GAE_RUNTIMES + "openjdk:17.0.18_8", "runtime-ruby": GAE_RUNTIMES + "ruby:3.1.7",
                              "runtime-php": GAE_RUNTIMES + "php:8.1.34"},
                "byoc": {"dockerfile-base": "docker.io/library/alpine:3.20"}}
# Public destinations the steps reach besides images and package managers (issue 10): host -> key or None.
DESTINATIONS = {
    "buildpack": {"us-docker.pkg.dev": "oci-buildpacks-url", "repo.maven.apache.org": "pkg-maven-url",
                  "dl.google.com": None, "release-assets.githubusercontent.com": None},
    "ballerina": {"dev-central.ballerina.io": None, "api.central.ballerina.io": None,
                  "fileserver.central.ballerina.io": None, "dist.ballerina.io": None,
                  "release-assets.githubusercontent.com": None},
    "mi": {"release-assets.githubusercontent.com": None},
    "test-runner": {"registry.npmjs.org": "pkg-npm-url", "mirror.gcr.io": None},  # newman install, Trivy database
    "prism": {"registry.npmjs.org": None},
    "webapp": {}, "byoc": {},
}
PLATFORM_ACRS = ("choreoprivateacr.azurecr.io", "choreoanonymouspullable.azurecr.io")


def _all_defaults(catalog) -> dict[str, str]:
    return {f"{s.name}/{i.name}": i.default for s in catalog.strategies.values() for i in s.images.values()}


# --- the default profile is issue 10's list -------------------------------------------------------------------

def test_the_default_profile_is_profiles_choreo_yaml():
    assert default_path() == helpers.CHECKOUT / "profiles" / "choreo.yaml"
    assert CATALOG.profile.path == default_path() and CATALOG.profile.is_default and CATALOG.profile.name == "choreo"


@pytest.mark.parametrize("strategy", list(PLATFORM_IMAGES))
def test_default_images_are_the_platforms(strategy):
    images = CATALOG.strategies[strategy].images
    platform = {name: (i.written, i.default, i.registry) for name, i in images.items() if i.origin == "platform"}
    assert platform == PLATFORM_IMAGES[strategy]
    model = {name: i.default for name, i in images.items() if i.origin == "model"}
    assert model == MODEL_IMAGES.get(strategy, {})
    assert all(not images[name].platform_resolves for name in model)


def test_short_names_are_normalised_as_podman_resolves_them():
    for strategy, images in PLATFORM_IMAGES.items():
        for written, normalised, _ in images.values():
            assert str(reference.parse_normalized(written)) == normalised


def test_the_ballerina_run_image_comes_from_the_builders_metadata():
    assert not CATALOG.strategies["ballerina"].images["buildpacks-run"].platform_resolves
    resolved = {name for s in ("buildpack", "mi", "webapp", "prism", "test-runner")
                for name, i in CATALOG.strategies[s].images.items() if i.origin == "platform" and not i.platform_resolves}
    assert resolved == set()


def test_webapp_and_test_runner_pin_their_node():
    for strategy in ("webapp", "test-runner"):
        node = CATALOG.strategies[strategy].images["node"]
        assert node.pinned and node.override == "image-node-ref"


@pytest.mark.parametrize("strategy", list(DESTINATIONS))
def test_destinations_of_each_step(strategy):
    assert {d.host: d.key for d in CATALOG.strategies[strategy].destinations} == DESTINATIONS[strategy]


def test_hand_off_as_the_platform_does_it():
    webapp = CATALOG.strategies["webapp"].handoff
    assert webapp.command == "podman build"
    assert {i.target for items in webapp.images.values() for i in items} == {"NODE_IMAGE", "NGINX_IMAGE"}
    assert [(i.how, i.target) for i in webapp.managers["npm"]] == [("build_arg", "NPM_REGISTRY"), ("secret", "npmrc")]
    assert CATALOG.strategies["test-runner"].handoff.managers == webapp.managers
    buildpack = CATALOG.strategies["buildpack"].handoff
    assert buildpack.command == "pack build"
    assert set(buildpack.managers) == {"maven", "gradle", "npm", "python", "go", "rubygems", "nuget", "composer"}
    envs = {(i.target, i.value) for items in buildpack.managers.values() for i in items if i.how == "env"}
    assert {("GOOGLE_BUILD_ARGS", "--settings=/platform/bindings/maven-settings/settings.xml"),
            ("NPM_CONFIG_REGISTRY", "url"), ("GOPROXY", "url"), ("GONOSUMDB", "*")} <= envs
    assert any(i.target.startswith("PIP_INDEX_URL") for i in buildpack.managers["python"])
    volumes = {i.target for items in buildpack.managers.values() for i in items if i.how == "volume"}
    assert {"/platform/bindings/maven-settings", "/home/cnb/.npmrc", "/home/cnb/.netrc",
            "/home/cnb/.nuget/NuGet/NuGet.Config"} <= volumes
    assert [i.how for i in buildpack.managers["composer"]] == ["file"]
    assert CATALOG.strategies["ballerina"].handoff.managers == {}
    assert set(CATALOG.strategies["mi"].handoff.managers) == {"maven"}
    assert CATALOG.strategies["byoc"].handoff.images == {} and CATALOG.strategies["byoc"].handoff.managers == {}


# --- registry membership of the platform's hosts ----------------------------------------------------------------

def test_the_platform_acrs_are_the_choreo_registry_and_buildpacks_paths_are_the_buildpacks_registrys():
    for host in PLATFORM_ACRS:
        assert host in CATALOG.registries["choreo"].prefixes and host in CATALOG.platform_hosts
    of = lambda text: CATALOG.registry_of(reference.parse_normalized(text)).id  # noqa: E731
    assert of("choreoprivateacr.azurecr.io/stoplight/prism:5") == "choreo"
    assert of("choreoprivateacr.azurecr.io/buildpacks/builder:google-22") == "buildpacks"
    assert of("choreoprivateacr.azurecr.io/choreoipaas/choreo-buildpacks/builder:0.2.78") == "buildpacks"
    assert of("buildpacksio/lifecycle:0.20.2") == "buildpacks"
    assert of("node:18-alpine") == "dockerhub" and of("buildpacksio/pack:1") == "buildpacks"
    assert of("gcr.io/buildpacks/builder:google-22") == "buildpacks"  # the seed's prefixes stay


def test_catalog_sh_carries_the_default_profile():
    text = (helpers.PREAMBLE / "lib" / "catalog.sh").read_text()
    for index, default in _all_defaults(CATALOG).items():
        assert f"PC_IMAGE_DEFAULT[{index}]={default}" in text
    assert "PC_PLATFORM_HOSTS='choreocontrolplane.azurecr.io " in text


# --- the simulated internet serves the profile --------------------------------------------------------------------

def test_the_simulated_internet_serves_every_default_image_of_the_default_profile():
    held = {ref.reference for ref in content.build().images}
    wanted = set(_all_defaults(CATALOG).values())
    wanted |= {g for s in CATALOG.strategies.values() for i in s.images.values() if i.override
               for g in oci.golden_references(i.default)}
    assert sorted(wanted - held) == [], "list them in fixtures/content/oci-images.yaml"
    assert internet.profile_images(content.build(), CATALOG) == []
    storage = content.build().registry
    for name in wanted:
        ref = oci.parse_ref(name, {})
        assert f"{oci.V2}/repositories/{ref.repository}/_manifests/tags/{ref.tag}/current/link" in storage, name
    served = set(internet.public_names(CATALOG))
    assert set(PLATFORM_ACRS) | {"registry-1.docker.io", "us-docker.pkg.dev"} <= served


def test_one_name_on_two_hosts_is_one_image():
    """docker.io/buildpacksio/lifecycle:0.20.2 and the ACR's copy share the simulated registry's repository."""
    hub = oci.parse_ref("docker.io/buildpacksio/lifecycle:0.20.2", {})
    acr = oci.parse_ref("choreoprivateacr.azurecr.io/buildpacksio/lifecycle:0.20.2", {})
    assert oci.image_blobs(hub) == oci.image_blobs(acr)


# --- loading: size limit, errors naming the file and the entry ------------------------------------------------------

def _profile_file(tmp_path: Path, change=None, name="profile.yaml") -> Path:
    data = yaml.safe_load(default_path().read_text())
    if change:
        change(data)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _set(path: str, value):
    def change(data):
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        if value is None:
            del node[last]
        else:
            node[last] = value
    return change


@pytest.mark.parametrize("change, where, message", [
    (_set("strategies.webapp.images.node.default", "Node:18"), "strategies.webapp.images.node.default",
     "not an image reference"),
    (_set("strategies.webapp.images.node.default", "node"), "strategies.webapp.images.node.default", "no tag"),
    (_set("strategies.webapp.images.node.colour", "red"), "strategies.webapp.images.node", "unknown field(s) colour"),
    (_set("strategies.webapp.images.nginx.registry", "dockerhub"), "strategies.webapp.images.nginx",
     "not under a prefix of the dockerhub registry"),
    (_set("strategies.webapp.images.nginx.default", "myacr.example.com/nginx:1"), "strategies.webapp.images.nginx",
     "add its host or host/path to registries.choreo.prefixes"),
    (_set("strategies.webapp.images.nginx", None), "strategies.webapp.images", "image-nginx-ref"),
    (_set("registries.choreo.prefixes", ["choreoanonymouspullable.azurecr.io", "foo.example.com/"]),
     "registries.choreo.prefixes[1]", "ends with '/'"),
    (_set("strategies.prism", None), "strategies", "no entry for prism"),
    (_set("strategies.lambda", {"images": {}, "handoff": {"command": "pack build"}}), "strategies.lambda", "unknown strategy"),
    (_set("registries.no-such-registry", {"prefixes": ["quay.io"]}), "registries.no-such-registry", "unknown registry"),
    (_set("registries.choreo.prefixes", ["docker.io/buildpacksio"]), "registries.buildpacks",
     "docker.io/buildpacksio is already a prefix of the choreo registry"),
    (_set("strategies.prism.destinations", [{"host": "registry.npmjs.org", "for": "x", "key": "pkg-npm-url"}]),
     "strategies.prism.destinations[0].key", "not a URL key of prism's support row"),
    (_set("strategies.test-runner.destinations", [{"host": "mirror.gcr.io", "for": "x", "key": "pkg-npm-url"}]),
     "strategies.test-runner.destinations[0].host", "not a host pkg-npm-url redirects"),
    (_set("strategies.webapp.handoff.managers", {"npm": [{"env": "A", "build_arg": "B"}]}),
     "strategies.webapp.handoff.managers.npm[0]", "exactly one of"),
    (_set("strategies.webapp.handoff.managers", {"pip": []}), "strategies.webapp.handoff.managers.pip",
     "unknown package manager"),
    (_set("strategies.webapp.handoff.images", {"php": []}), "strategies.webapp.handoff.images.php", "no such image"),
    (_set("strategies.webapp.handoff", None), "strategies.webapp", "missing handoff"),
    (_set("strategies.webapp.handoff.note", "a\x1b[31mred"), "strategies.webapp.handoff.note", "control character"),
    (_set("strategies.webapp.handoff.note", "two\nlines"), "strategies.webapp.handoff.note", "control character"),
    (_set("strategies.webapp.handoff.note", "\x00"), "strategies.webapp.handoff.note", "control character"),
    (_set("strategies.webapp.handoff.note", "csi\x9b2J"), "strategies.webapp.handoff.note", "control character"),
    (_set("strategies.webapp.handoff.command", "podman buidl"), "strategies.webapp.handoff.command",
     "'podman buidl' is not a build command the harness models"),
    (_set("strategies.webapp.images.x y", {"default": "nginx:1"}), "strategies.webapp.images", "'x y' is not an image name"),
    (_set("strategies.webapp.images.node.pined\x1b[2J", True), "strategies.webapp.images.node",
     "unknown field(s) pined\\x1b[2J"),
    (_set("strategies.ballerina.destinations", [{"host": "api.central.ballerina.io:8443", "for": "x"}]),
     "strategies.ballerina.destinations[0].host", "without a port"),
])
def test_a_mistake_names_the_file_and_the_entry(tmp_path, change, where, message):
    path = _profile_file(tmp_path, change)
    with pytest.raises(UserError) as error:
        load_catalog(profile=path)
    assert str(error.value).startswith(f"{path}: {where}"), str(error.value)
    assert message in str(error.value)


def test_pinned_on_an_image_without_an_override_key_is_refused_naming_it(tmp_path):
    """lint says only the override key can change a pinned image: a pinned image without one was a traceback in
    lint (found by a sweep)."""
    path = _profile_file(tmp_path, _set("strategies.buildpack.images.runtime-nodejs.pinned", True))
    with pytest.raises(UserError, match=r"with .*profile\.yaml is inconsistent:\n  strategies\.buildpack\.images\."
                                        r"runtime-nodejs\.pinned: .* no image-override key for runtime-nodejs"):
        load_catalog(profile=path)


def test_a_tab_is_text_not_a_control_character(tmp_path):
    catalog = load_catalog(profile=_profile_file(tmp_path, _set("strategies.webapp.handoff.note", "a\tb\x7f")))
    assert catalog.strategies["webapp"].handoff.note == "a\tb\x7f"


def test_a_file_that_cannot_be_a_profile_is_refused_naming_it(tmp_path):
    cases = {"missing.yaml": None, "big.yaml": "#" * (MAX_BYTES + 1), "bad.yaml": "strategies: [", "list.yaml": "- 1\n",
             "binary.yaml": b"\xff\xfe"}
    reasons = {"missing.yaml": "cannot be read", "big.yaml": "at most 256 KiB", "bad.yaml": "not valid YAML",
               "list.yaml": "expected a mapping", "binary.yaml": "not UTF-8"}
    for name, body in cases.items():
        path = tmp_path / name
        if isinstance(body, bytes):
            path.write_bytes(body)
        elif body is not None:
            path.write_text(body)
        with pytest.raises(UserError, match=reasons[name]) as error:
            load_profile(path)
        assert str(error.value).startswith(str(path))
    with pytest.raises(UserError, match="not a regular file"):
        load_profile(tmp_path)


# --- another profile: --profile, $AIRGAP_PROFILE, the preamble's PREAMBLE_PROFILE, the stack -----------------------

def _moved(data):
    """A platform whose versions moved: Node 20, a new nginx tag on a new ACR, a new MI builder."""
    data["registries"]["choreo"]["prefixes"].append("newacr.example.com")
    images = data["strategies"]["webapp"]["images"]
    images["node"]["default"] = "node:20-alpine"
    images["nginx"]["default"] = "newacr.example.com/nginxinc/nginx-unprivileged:1.27-alpine-slim"
    data["strategies"]["test-runner"]["images"]["node"]["default"] = "node:20-alpine"
    data["strategies"]["mi"]["images"]["buildpacks-builder"]["default"] = \
        "choreoprivateacr.azurecr.io/choreoipaas/choreo-buildpacks/builder:0.2.107"


@pytest.fixture
def moved(tmp_path) -> Path:
    return _profile_file(tmp_path, _moved, "moved.yaml")


def test_another_profile_changes_what_the_plan_expects(moved):
    catalog = load_catalog(profile=moved)
    assert not catalog.profile.is_default and catalog.profile.path == moved
    images = plan(catalog, read_config(helpers.PROXY_CONFIGS / "full-global"), "webapp").images
    assert images["node"].resolved == "nexus.example.com/dockerhub-proxy/library/node:20-alpine"
    assert images["nginx"].resolved == "nexus.example.com/choreo-proxy/nginxinc/nginx-unprivileged:1.27-alpine-slim"
    assert "newacr.example.com" in catalog.registries["choreo"].endpoints
    assert "newacr.example.com" in internet.public_names(catalog)


def test_the_simulated_internet_serves_another_profiles_images(moved):
    catalog = load_catalog(profile=moved)
    added = {ref.reference for ref in internet.profile_images(content.build(), catalog)}
    assert {"docker.io/library/node:20-alpine", "docker.io/library/golden-node:20-alpine",
            "newacr.example.com/nginxinc/nginx-unprivileged:1.27-alpine-slim",
            "choreoprivateacr.azurecr.io/choreoipaas/choreo-buildpacks/builder:0.2.107"} <= added
    [registry] = [s for s in all_specs(RunCA(), content.build(), catalog) if s.name == internet.REGISTRY]
    assert any("library/node/_manifests/tags/20-alpine/" in path for path in registry.files)


def test_the_profile_reaches_the_preamble_as_records_and_only_when_not_the_default(moved):
    assert preamble_profile(CATALOG) is None
    records = preamble_profile(load_catalog(profile=moved))
    lines = [line.split("\t") for line in records.splitlines()]
    assert {line[0] for line in lines} == set(interface.PROFILE_RECORDS)
    assert all(len(line) == 1 + len(interface.PROFILE_RECORDS[line[0]]) for line in lines)
    assert ["image", "webapp/node", "docker.io/library/node:20-alpine", "dockerhub", "image-node-ref"] in lines
    assert records == profile_records(load_catalog(profile=moved))


def test_the_default_profile_edited_in_place_reaches_the_preamble_as_records(tmp_path, monkeypatch):
    """profiles/choreo.yaml edited since preamble/lib/catalog.sh was made from it (a platform team moving a
    version): its records go to the preamble, which would otherwise keep the old defaults (found by a sweep: plan
    said node:20, the preamble node:18, and preamble-check saw no problem)."""
    edited = _profile_file(tmp_path, _moved, "choreo.yaml")
    monkeypatch.setattr(profile_module, "default_path", lambda: edited)
    catalog = load_catalog(profile=edited)
    assert catalog.profile.is_default and preamble_profile(catalog) == profile_records(catalog)
    result = preamble_check("webapp", helpers.PROXY_CONFIGS / "none", profile=edited)
    assert result["images"]["node"]["resolved"] == "docker.io/library/node:20-alpine" and result["problems"] == []


@pytest.mark.parametrize("strategy", ["webapp", "mi", "buildpack"])
def test_preamble_check_with_another_profile_agrees_with_the_plan(moved, strategy):
    config = helpers.PROXY_CONFIGS / "credentials-everywhere"
    result = preamble_check(strategy, config, profile=moved)
    assert result["problems"] == [] and result["exit_code"] == 0, result
    planned = plan(load_catalog(profile=moved), read_config(config), strategy).to_json()
    assert {n: i["resolved"] for n, i in result["images"].items()} == \
        {n: i["resolved"] for n, i in planned["images"].items()}


def test_the_reference_preamble_refuses_a_record_it_does_not_know(tmp_path):
    environment = interface.Environment(home=tmp_path / "home", proxy_config_dir=tmp_path / "none",
                                        profile="colour\tred\n", dockerhub_login=("u", "p"))
    run = run_preamble(interface.entry(helpers.PREAMBLE, "prism"), environment, tmp_path, isolate=True)
    assert not run.ok and "PREAMBLE_PROFILE: unknown record 'colour'" in run.log


def test_the_command_line_takes_profile_and_airgap_profile(moved, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("AIRGAP_PROFILE", "AIRGAP_CHOREO_REGISTRY")}
    empty = tmp_path / "empty"
    empty.mkdir()
    flag = helpers.airgap("plan", "--strategy", "webapp", "--profile", moved, "--format", "json", empty, env=env)
    assert flag.returncode == 0, flag.stderr
    assert json.loads(flag.stdout)["images"]["node"]["default"] == "docker.io/library/node:20-alpine"
    variable = helpers.airgap("plan", "--strategy", "webapp", empty, env={**env, "AIRGAP_PROFILE": str(moved)})
    assert "docker.io/library/node:20-alpine" in variable.stdout
    checked = helpers.airgap("preamble-check", "--strategy", "webapp", "--profile", moved, empty, env=env)
    assert checked.returncode == 0 and "docker.io/library/node:20-alpine" in checked.stdout, checked.stderr
    broken = _profile_file(tmp_path, _set("strategies.webapp.images.node.default", "Node:18"), "broken.yaml")
    refused = helpers.airgap("plan", "--strategy", "webapp", "--profile", broken, empty, env=env)
    assert refused.returncode == 2 and "--profile" in refused.stderr and str(broken) in refused.stderr
    assert "strategies.webapp.images.node.default" in refused.stderr and "Traceback" not in refused.stderr
    from_env = helpers.airgap("plan", "--strategy", "webapp", empty, env={**env, "AIRGAP_PROFILE": str(broken)})
    assert from_env.returncode == 2 and "AIRGAP_PROFILE" in from_env.stderr


def test_a_pdp_registry_replaces_every_platform_host_of_the_profile():
    catalog = load_catalog("acr.pdp.example.com")
    text = json.dumps(_all_defaults(catalog))
    assert not any(host in text for host in PLATFORM_ACRS)
    assert catalog.strategies["mi"].images["buildpacks-builder"].default == \
        "acr.pdp.example.com/choreoipaas/choreo-buildpacks/builder:0.2.78"
    assert catalog.strategies["mi"].images["buildpacks-builder"].registry == "buildpacks"
    assert "acr.pdp.example.com/buildpacks" in catalog.registries["buildpacks"].prefixes


def test_the_build_commands_a_profile_may_name_are_those_the_hand_off_models():
    """profile.HANDOFF_COMMANDS, the runners of harness/scenarios/steps.py and the cases of handoff.sh: one list."""
    from harness.contract.profile import HANDOFF_COMMANDS
    from harness.scenarios.steps import HANDOFF_RUNNERS

    assert set(HANDOFF_COMMANDS) == set(HANDOFF_RUNNERS)
    handoff_sh = (paths.checkout() / "harness" / "scenarios" / "handoff.sh").read_text()
    cases = set(re.findall(r'^\s*"([a-z]+ build)/[a-z-]+"\)', handoff_sh, re.M))
    assert cases == set(HANDOFF_COMMANDS)


def test_a_profile_without_an_image_a_recipe_pulls_is_refused_before_any_stack(tmp_path):
    from harness.scenarios.model import load
    from harness.scenarios.recipes import recipes

    path = _profile_file(tmp_path, _set("strategies.buildpack.images.runtime-nodejs", None))
    catalog = load_catalog(profile=path)  # a profile may leave an image out ...
    with pytest.raises(UserError, match=f"{path}: strategies.buildpack.images: no image 'runtime-nodejs', which the "
                                        "buildpack recipe pulls"):
        load([paths.scenarios_dir()], catalog, recipes())  # ... but not one the scenarios' recipes pull


def test_a_profile_too_large_for_the_preamble_s_environment_is_an_error_naming_it(tmp_path):
    """PREAMBLE_PROFILE is one environment variable: past Linux's 128 KiB the preamble could not start (found by
    a sweep: a traceback, 'Argument list too long')."""
    def many(data):
        data["strategies"]["byoc"]["images"] |= {f"extra-{i}": {"default": f"docker.io/library/{'x' * 180}{i}:1"}
                                                 for i in range(700)}
    big = _profile_file(tmp_path, many, "big.yaml")
    with pytest.raises(UserError, match=r"big\.yaml: its defaults make \d+ bytes of PREAMBLE_PROFILE records, over"):
        preamble_profile(load_catalog(profile=big))


def test_a_profile_s_docker_hub_prefix_is_a_destination_of_its_own(tmp_path):
    """A platform pulling Docker Hub's images from mirror.gcr.io (a Docker Hub prefix the profile adds): a pull from
    it reaches that host, not Docker Hub's, and the Docker Hub login reaches Docker Hub only (found by a sweep:
    mirror.gcr.io was missing from the public destinations)."""
    def hub_mirror(data):
        data.setdefault("registries", {}).setdefault("dockerhub", {}).setdefault("prefixes", []).append("mirror.gcr.io")
        data["strategies"]["webapp"]["images"]["node"]["default"] = "mirror.gcr.io/library/node:18-alpine"
    catalog = load_catalog(profile=_profile_file(tmp_path, hub_mirror))
    public = {d["host"]: d["purpose"] for d in plan(catalog, read_config(helpers.PROXY_CONFIGS / "none"), "webapp").public}
    assert public["mirror.gcr.io"] == "image node (mirror.gcr.io/library/node:18-alpine)"
    assert "registry-1.docker.io" in public and "image node" not in public["registry-1.docker.io"]
    assert catalog.pull_hosts(reference.parse_normalized("docker.io/library/alpine:3")) == catalog.dockerhub_endpoints


def test_a_destination_on_a_platform_host_is_accepted_and_moves_with_the_pdp_s_registry(tmp_path):
    """A profile's destination on a host of its own choreo prefixes, redirected by oci-choreo-url, is accepted,
    and --choreo-registry moves it with the other platform hosts (found by a sweep: refused; then left behind)."""
    def destination(data):
        data["strategies"]["prism"]["destinations"].append(
            {"host": "choreoprivateacr.azurecr.io", "for": "the platform's charts", "key": "oci-choreo-url"})
    path = _profile_file(tmp_path, destination)
    hosts = {d.host for d in load_catalog(profile=path).strategies["prism"].destinations}
    assert "choreoprivateacr.azurecr.io" in hosts
    moved = {d.host for d in load_catalog("acr.pdp.example.com:5000", profile=path).strategies["prism"].destinations}
    assert "acr.pdp.example.com" in moved and "choreoprivateacr.azurecr.io" not in moved


def test_a_choreo_prefix_under_docker_hub_leaves_docker_hub_to_docker_hub(tmp_path):
    """registries.choreo.prefixes docker.io/myorg: docker.io is no platform registry host, so --choreo-registry
    does not rewrite Docker Hub's images (found by a sweep: 'inconsistent', naming neither cause)."""
    def on_hub(data):
        data["registries"]["choreo"]["prefixes"].append("docker.io/myorg")
    catalog = load_catalog("acr.pdp.example.com", profile=_profile_file(tmp_path, on_hub))
    assert "docker.io" not in catalog.platform_hosts
    assert catalog.strategies["webapp"].images["node"].default == "docker.io/library/node:18-alpine"
