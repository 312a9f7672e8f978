"""The platform's own preamble (preamble/platform/: the platform's semantics in lib/, behind the harness's
interface by adapter.sh) reproduces the platform's behaviour as issue 10 describes it, flaws included, and the
harness runs and judges it like the reference preamble. Where a test also runs the reference preamble, the
difference between the two is the finding (docs/platform-preamble.md lists them with verdicts).

Offline: each run sources one strategy entry in an empty network namespace (harness.preamble.runner), the logins
dry-run."""

import base64
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from harness.contract.catalog import load_catalog
from harness.preamble import interface
from harness.preamble.check import preamble_check
from harness.preamble.runner import run_preamble
from helpers import PREAMBLE, PROXY_CONFIGS, write_proxy_config

PLATFORM = PREAMBLE / "platform"
CATALOG = load_catalog()
STRATEGIES = list(CATALOG.strategies)
PLATFORM_LOGIN = ("platform-user", "platform-hub-secret-0123")
BUILDPACK_RUN = "choreoprivateacr.azurecr.io/buildpacks/google-22/run:2941124e39ef19f49aabac4257daf5f652805e81"


def run(tmp_path, strategy, values, *, preamble=PLATFORM, name="run", sources=()):
    """Run `preamble`'s strategy entry on a proxy-config of `values` (file name -> content, written as is), with
    `sources` as the components' source directories (interface.SOURCE_DIRS)."""
    work = tmp_path / name
    config = write_proxy_config(work / "config", values)
    environment = interface.Environment(home=work / "home", proxy_config_dir=config, dockerhub_login=PLATFORM_LOGIN)
    extra = {interface.SOURCE_DIRS: ":".join(map(str, sources))} if sources else None
    return run_preamble(interface.entry(preamble, strategy), environment, work, extra_env=extra, isolate=True)


def logins(result):
    """The dry-run logins the platform preamble recorded: each one's argument vector."""
    path = interface.state_dir(result.home) / "logins"
    return [line.split("\0") for line in path.read_text().splitlines()] if path.exists() else []


def records(result, kind):
    return {record.name: record for record in result.report if record.kind == kind}


def resolve(override, original, mirror=""):
    """The platform's pf_resolve_image, called directly."""
    script = ('PF_PROXY_DIR=$1; source "$2/lib/platform.sh" || exit 1\n'
              'pf_resolve_image out s image-x-ref oci-x-url "$3"; printf %s "$out"')
    config = {}
    if override:
        config["image-x-ref"] = override
    if mirror:
        config["oci-x-url"] = mirror
    with tempfile.TemporaryDirectory() as directory:
        write_proxy_config(Path(directory), config)
        done = subprocess.run(["bash", "-c", script, "resolve", directory, str(PLATFORM), original],
                              capture_output=True, text=True, check=True)
    return done.stdout


# --- it runs behind the interface ----------------------------------------------------------------------------

@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_runs_and_exports_the_catalog_images(tmp_path, strategy):
    result = run(tmp_path, strategy, {})
    assert result.ok, result.log
    exported = {name for name in result.env if name.startswith(interface.IMAGE_VARIABLE_PREFIX)}
    assert exported == {interface.image_variable(image) for image in CATALOG.strategies[strategy].images}
    assert result.report_problems == []
    assert {r.name for r in result.report if r.kind == "image"} == set(CATALOG.strategies[strategy].images)
    assert all(r.source == "default" for r in result.report if r.kind == "image")


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_preamble_check_runs_it_without_configuration(tmp_path, strategy):
    (tmp_path / "empty").mkdir()
    result = preamble_check(strategy, tmp_path / "empty", PLATFORM)
    assert result["exit_code"] == 0, result["log"]
    assert result["dockerhub_login"] == CATALOG.strategies[strategy].dockerhub_login


@pytest.mark.parametrize("strategy", ["webapp", "prism", "ballerina"])
def test_preamble_check_runs_it_and_judges_it(tmp_path, strategy):
    result = preamble_check(strategy, PROXY_CONFIGS / "full-global", PLATFORM)
    assert result["exit_code"] == 0, result["log"]
    assert "registries.conf was not written" in result["problems"]  # the platform rewrites references only
    assert all(image["resolved"] for image in result["images"].values())


def test_the_adapter_and_the_platform_semantics_are_separate_files():
    assert "ADAPTER" in (PLATFORM / "adapter.sh").read_text().splitlines()[1]
    for path in sorted((PLATFORM / "lib").glob("*.sh")):
        text = path.read_text()
        assert "PLATFORM SEMANTICS" in "\n".join(text.splitlines()[:3]), path
        for harness_name in ("PREAMBLE_", "PROXY_IMAGE_", "report.tsv", "PROXY_CONFIG_DIR"):
            assert harness_name not in text, f"{path.name} knows the harness's {harness_name}"


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_shellcheck_clean():
    files = sorted(str(path) for path in PLATFORM.rglob("*.sh"))
    done = subprocess.run(["shellcheck", "-x", "-P", "SCRIPTDIR", *files], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


# --- values ------------------------------------------------------------------------------------------------

def test_a_value_keeps_cr_and_loses_every_newline(tmp_path):
    result = run(tmp_path, "prism", {"oci-choreo-url": "mirror.exa\nmple.com/choreo\r\n"})
    assert result.ok, result.log
    assert result.env["PROXY_IMAGE_PRISM"] == "mirror.example.com/choreo\r/stoplight/prism:5"
    reference = run(tmp_path, "prism", {"oci-choreo-url": "mirror.example.com/choreo\r\n"}, preamble=PREAMBLE, name="ref")
    assert not reference.ok or "\r" not in reference.env.get("PROXY_IMAGE_PRISM", "")  # finding: CR not refused


def test_a_trailing_space_splits_the_podman_build_argument(tmp_path):
    result = run(tmp_path, "webapp", {"oci-dockerhub-url": "hub.example.com/proxy \n"})
    assert result.ok, result.log
    command = (interface.state_dir(result.home) / "build-command").read_text()
    assert "--build-arg NODE_IMAGE=hub.example.com/proxy /node:18-alpine" in command
    assert result.env["PROXY_IMAGE_NODE"] == "hub.example.com/proxy"  # what the evaluated command passes


def test_an_empty_scoped_file_falls_back_to_the_global_key(tmp_path):
    result = run(tmp_path, "webapp", {"webapp.pkg-npm-url": "", "pkg-npm-url": "https://npm.example.com/repo/"})
    assert result.ok, result.log
    assert records(result, "package")["npm"].key == "pkg-npm-url"
    assert (result.home / ".npmrc").read_text() == "registry=https://npm.example.com/repo/\n"


def test_a_scoped_key_wins_and_other_strategies_keys_are_ignored(tmp_path):
    result = run(tmp_path, "webapp", {"webapp.pkg-npm-url": "https://scoped.example.com/", "pkg-npm-url": "https://global.example.com/",
                                      "buildpack.pkg-npm-url": "https://other.example.com/"})
    assert records(result, "package")["npm"].key == "webapp.pkg-npm-url"
    ignored = (interface.state_dir(result.home) / interface.IGNORED_KEYS_FILE).read_bytes().split(b"\0")
    assert b"buildpack.pkg-npm-url" in ignored and b"pkg-npm-url" not in ignored


# --- images ------------------------------------------------------------------------------------------------

def test_a_docker_hub_short_name_goes_through_the_mirror_without_library(tmp_path):
    config = {"oci-dockerhub-url": "hub.example.com/dockerhub-proxy"}
    result = run(tmp_path, "webapp", config)
    assert result.env["PROXY_IMAGE_NODE"] == "hub.example.com/dockerhub-proxy/node:18-alpine"
    assert records(result, "image")["node"].source == "mirror"
    reference = run(tmp_path, "webapp", config, preamble=PREAMBLE, name="ref")
    assert "/library/node:" in reference.env["PROXY_IMAGE_NODE"]  # the finding: library/ is missing


def test_a_namespaced_docker_hub_short_name_loses_its_namespace(tmp_path):
    result = run(tmp_path, "buildpack", {"oci-buildpacks-url": "bp.example.com/gcr"})
    assert result.env["PROXY_IMAGE_BUILDPACKS_LIFECYCLE"] == "bp.example.com/gcr/lifecycle:0.20.2"
    assert result.env["PROXY_IMAGE_BUILDPACKS_BUILDER"] == "bp.example.com/gcr/buildpacks/builder:google-22"


def test_the_platform_default_images_are_the_ones_its_flows_name(tmp_path):
    expected = {"webapp": {"PROXY_IMAGE_NODE": "node:18-alpine",
                           "PROXY_IMAGE_NGINX": "choreoanonymouspullable.azurecr.io/nginxinc/nginx-unprivileged:stable-alpine-slim"},
                "buildpack": {"PROXY_IMAGE_BUILDPACKS_LIFECYCLE": "buildpacksio/lifecycle:0.20.2", "PROXY_IMAGE_BUILDPACKS_RUN": BUILDPACK_RUN},
                "mi": {"PROXY_IMAGE_BUILDPACKS_LIFECYCLE": "choreoprivateacr.azurecr.io/buildpacksio/lifecycle:0.19.6"},
                "prism": {"PROXY_IMAGE_GOLANG": "choreoprivateacr.azurecr.io/golang:1.22.4-alpine"}}
    for strategy, variables in expected.items():
        result = run(tmp_path, strategy, {}, name=strategy)
        assert {name: result.env[name] for name in variables} == variables


def test_the_ballerina_run_image_is_not_redirected(tmp_path):
    config = {"oci-buildpacks-url": "bp.example.com/gcr", "image-buildpacks-run-ref": "own.example.com/run:1"}
    result = run(tmp_path, "ballerina", config)
    assert result.env["PROXY_IMAGE_BUILDPACKS_RUN"] == "choreoprivateacr.azurecr.io/choreoipaas/choreo-buildpacks/stacks/alpine/run:0.2.83"
    assert records(result, "image")["buildpacks-run"].source == "default"
    assert result.env["PROXY_IMAGE_BUILDPACKS_BUILDER"].startswith("bp.example.com/gcr/")
    ignored = (interface.state_dir(result.home) / interface.IGNORED_KEYS_FILE).read_bytes().split(b"\0")
    assert b"image-buildpacks-run-ref" in ignored
    reference = run(tmp_path, "ballerina", config, preamble=PREAMBLE, name="ref")
    assert reference.env["PROXY_IMAGE_BUILDPACKS_RUN"] == "own.example.com/run:1"


def test_the_override_prefix_and_replace_rule():
    assert resolve("own.example.com/team/node", "node:18-alpine") == "own.example.com/team/node:18-alpine"
    assert resolve("own.example.com/node:20", "node:18-alpine") == "own.example.com/node:20"
    assert resolve("own.example.com/app", "r.example.com/app@sha256:" + "a" * 64) == "own.example.com/app@sha256:" + "a" * 64
    assert resolve("own.example.com/app", "r.example.com/app") == "own.example.com/app"
    # the text after the original's last ":" is taken for its tag, even when it is a registry port and a path
    assert resolve("own.example.com/app", "localhost:5000/team/app") == "own.example.com/app:5000/team/app"
    assert resolve("", "buildpacksio/lifecycle:0.20.2", mirror="m.example.com") == "m.example.com/lifecycle:0.20.2"


# --- logins ------------------------------------------------------------------------------------------------

def test_the_mirror_password_is_on_the_login_command_line(tmp_path):
    config = {"oci-choreo-url": "nexus.example.com/choreo-proxy", "oci-choreo-username": "builder",
              "oci-choreo-password": "mirror-secret-0123"}
    result = run(tmp_path, "webapp", config)
    assert result.ok, result.log
    assert logins(result) == [["podman", "login", "nexus.example.com", "-u", "builder", "-p", "mirror-secret-0123"]]
    auths = json.loads((result.home / ".config/containers/auth.json").read_text())["auths"]
    assert base64.b64decode(auths["nexus.example.com"]["auth"]).decode() == "builder:mirror-secret-0123"
    assert records(result, "login")["nexus.example.com"].password_key == "oci-choreo-password"
    assert "mirror-secret-0123" not in result.log
    reference = run(tmp_path, "webapp", config, preamble=PREAMBLE, name="ref")
    assert reference.ok and not (interface.state_dir(reference.home) / "logins").exists()  # no login process at all


def test_a_login_needs_the_url_and_the_username(tmp_path):
    result = run(tmp_path, "prism", {"oci-choreo-url": "nexus.example.com/choreo", "oci-choreo-password": "only-a-password"})
    assert result.ok and logins(result) == []


def test_the_docker_hub_login_is_skipped_only_with_the_strategys_dockerhub_mirror(tmp_path):
    without = run(tmp_path, "webapp", {"buildpack.oci-dockerhub-url": "hub.example.com/proxy"}, name="without")
    recorded = (interface.state_dir(without.home) / interface.DOCKERHUB_LOGIN_FILE).read_text().rstrip("\n").split("\0")
    assert recorded == ["podman", "login", "https://index.docker.io/v1/", "-u", PLATFORM_LOGIN[0], "-p", PLATFORM_LOGIN[1]]
    assert "docker.io" in records(without, "login")
    scoped = run(tmp_path, "webapp", {"webapp.oci-dockerhub-url": "hub.example.com/proxy"}, name="scoped")
    assert not (interface.state_dir(scoped.home) / interface.DOCKERHUB_LOGIN_FILE).exists()
    assert "docker.io" not in records(scoped, "login")


# --- package managers --------------------------------------------------------------------------------------

def test_the_webapp_npmrc_carries_the_token_for_the_host_only(tmp_path):
    result = run(tmp_path, "webapp", {"pkg-npm-url": "https://npm.example.com/repository/npm-proxy/", "pkg-npm-token": "tok-0123456789"})
    assert (result.home / ".npmrc").read_text() == ("registry=https://npm.example.com/repository/npm-proxy/\n"
                                                    "//npm.example.com/:_authToken=tok-0123456789\n")
    assert records(result, "package")["npm"].auth == "token"
    command = (interface.state_dir(result.home) / "build-command").read_text()
    assert "--build-arg NPM_REGISTRY=https://npm.example.com/repository/npm-proxy/" in command and "--secret id=npmrc," in command


def test_a_percent_in_the_npm_token_is_mangled_by_the_format_string(tmp_path):
    config = {"pkg-npm-url": "https://npm.example.com/repository/npm/", "pkg-npm-token": "tok%sen-0123456789"}
    result = run(tmp_path, "buildpack", config)
    assert result.ok, result.log
    npmrc = (result.home / ".npmrc").read_text()
    assert "//npm.example.com/:_authToken=token-0123456789\n" in npmrc and "tok%sen" not in npmrc
    assert result.env["NPM_CONFIG_REGISTRY"] == "https://npm.example.com/repository/npm/"
    reference = run(tmp_path, "buildpack", config, preamble=PREAMBLE, name="ref")
    assert "tok%sen-0123456789" in (reference.home / ".npmrc").read_text()


def test_go_without_credentials_keeps_the_public_checksum_database(tmp_path):
    config = {"pkg-go-url": "https://go.example.com/repository/go/"}
    result = run(tmp_path, "buildpack", config)
    assert result.env["GOPROXY"] == "https://go.example.com/repository/go/"
    assert "GOSUMDB" not in result.env and "GONOSUMDB" not in result.env  # so sum.golang.org, directly
    reference = run(tmp_path, "buildpack", config, preamble=PREAMBLE, name="ref")
    assert reference.env["GOSUMDB"] == "sum.golang.org https://go.example.com/repository/go/sumdb/sum.golang.org"


def test_go_with_credentials_turns_checksum_verification_off(tmp_path):
    result = run(tmp_path, "buildpack", {"pkg-go-url": "https://go.example.com/go/", "pkg-go-username": "gopher",
                                         "pkg-go-password": "go-secret-0123"})
    assert result.env["GONOSUMDB"] == "*" and result.env["GOPROXY"] == "https://go.example.com/go/"
    assert (result.home / ".netrc").read_text() == "machine go.example.com\nlogin gopher\npassword go-secret-0123\n"
    assert "GONOSUMDB=*" in (result.home / ".config/go/env").read_text()


def test_pip_credentials_are_pasted_into_the_url_unencoded(tmp_path):
    result = run(tmp_path, "buildpack", {"pkg-python-url": "https://pypi.example.com/simple/", "pkg-python-username": "u",
                                         "pkg-python-password": "p@ss/word"})
    assert result.env["PIP_INDEX_URL"] == "https://u:p@ss/word@pypi.example.com/simple/"


def test_maven_and_gradle_together_keep_only_the_last_google_build_args(tmp_path):
    result = run(tmp_path, "buildpack", {"pkg-maven-url": "https://m.example.com/maven/", "pkg-gradle-url": "https://m.example.com/gradle/"})
    assert result.ok, result.log
    assert not (result.home / ".m2/settings.xml").exists()
    assert 'url "https://m.example.com/gradle/"' in (result.home / ".gradle/init.d/platform-proxy.gradle").read_text()
    command = (interface.state_dir(result.home) / "build-command").read_text()
    assert command.count("--env GOOGLE_BUILD_ARGS=") == 2


def test_the_maven_wrapper_gets_no_mirror(tmp_path):
    """The Java buildpack runs ./mvnw, which reads no settings.xml: without MVNW_REPOURL on pack build's command
    line it downloads its Maven from repo.maven.apache.org (the reference hands it off: docs/preamble.md)."""
    config = {"pkg-maven-url": "https://m.example.com/maven/"}
    result = run(tmp_path, "buildpack", config)
    assert result.ok, result.log
    command = (interface.state_dir(result.home) / "build-command").read_text()
    assert "--env GOOGLE_BUILD_ARGS=" in command and "MVNW_" not in command
    reference = run(tmp_path, "buildpack", config, preamble=PREAMBLE, name="ref")
    assert reference.env["MVNW_REPOURL"] == "https://m.example.com/maven"


def test_maven_credentials_are_pasted_into_xml_unescaped(tmp_path):
    result = run(tmp_path, "mi", {"pkg-maven-url": "https://m.example.com/maven/", "pkg-maven-username": "u",
                                  "pkg-maven-password": "a&b<c"})
    assert result.ok, result.log
    assert "<password>a&b<c</password>" in (result.home / ".m2/settings.xml").read_text()  # not well-formed XML


def test_prism_configures_npm_in_the_step(tmp_path):
    result = run(tmp_path, "prism", {"pkg-npm-url": "https://npm.example.com/r/", "pkg-npm-token": "tok-0123456789"})
    assert (result.home / ".npmrc").read_text() == "registry=https://npm.example.com/r/\n//npm.example.com/:_authToken=tok-0123456789\n"
    reference = run(tmp_path, "prism", {"pkg-npm-url": "https://npm.example.com/r/"}, preamble=PREAMBLE, name="ref")
    assert not (reference.home / ".npmrc").exists()


def test_ballerina_configures_no_package_manager(tmp_path):
    result = run(tmp_path, "ballerina", {"pkg-maven-url": "https://m.example.com/maven/"})
    assert records(result, "package") == {} and not (result.home / ".m2").exists()


GEMFILE = 'source "https://rubygems.org/"\ngem "rack"\n'
COMPOSER_JSON = '{"require": {"psr/log": "^3.0"}}'
SOURCE_KEYS = {"pkg-rubygems-url": "https://gems.example.com/gems/", "pkg-rubygems-username": "gem-user",
               "pkg-rubygems-password": "gem-secret-0123", "pkg-composer-url": "https://php.example.com/composer/",
               "pkg-composer-username": "php-user", "pkg-composer-password": "php-secret-0123"}


def _sources(tmp_path):
    ruby, php, npm = tmp_path / "src" / "rubygems", tmp_path / "src" / "composer", tmp_path / "src" / "npm"
    for directory, files in ((ruby, {"Gemfile": GEMFILE}), (php, {"composer.json": COMPOSER_JSON}), (npm, {})):
        directory.mkdir(parents=True)
        for name, text in files.items():
            (directory / name).write_text(text)
    return ruby, php, npm


def test_the_gemfile_and_composer_json_of_every_component_are_edited_as_the_flow_edits_its_own(tmp_path):
    """The platform edits the component's Gemfile (sed) and composer.json (jq) and writes Composer's auth.json into
    it; the harness's recipe builds several components, so the adapter makes those edits in each directory of
    PREAMBLE_SOURCE_DIRS, and the hand-off stays the flow's (one BUNDLE_<HOST>)."""
    ruby, php, npm = _sources(tmp_path)
    result = run(tmp_path, "buildpack", SOURCE_KEYS, sources=(ruby, php, npm))
    assert result.ok, result.log
    assert (ruby / "Gemfile").read_text() == 'source "https://gems.example.com/gems/"\ngem "rack"\n'
    edited = json.loads((php / "composer.json").read_text())
    assert edited["repositories"] == [{"type": "composer", "url": "https://php.example.com/composer/"}, {"packagist.org": False}]
    assert json.loads((php / "auth.json").read_text()) == \
        {"http-basic": {"php.example.com": {"username": "php-user", "password": "php-secret-0123"}}}
    assert not (ruby / "composer.json").exists() and sorted(p.name for p in npm.iterdir()) == ["auth.json"]
    command = (interface.state_dir(result.home) / "build-command").read_text()
    assert command.count("--env BUNDLE_GEMS__EXAMPLE__COM=gem-user:gem-secret-0123") == 1


def test_without_source_directories_or_for_a_flow_that_edits_none_nothing_is_edited(tmp_path):
    ruby, php, npm = _sources(tmp_path)
    assert run(tmp_path, "buildpack", SOURCE_KEYS, name="none").ok
    assert run(tmp_path, "ballerina", SOURCE_KEYS, name="ballerina", sources=(ruby, php, npm)).ok
    assert (ruby / "Gemfile").read_text() == GEMFILE and (php / "composer.json").read_text() == COMPOSER_JSON
    assert not (php / "auth.json").exists() and not any(npm.iterdir())
