"""The scenario layer without a stack: the folder layout, schema errors, the typed expectations, the generated
matrix, the judge and the reports."""

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml

from harness.scenarios import report
from harness.contract.catalog import load_catalog
from harness.infra.errors import UserError
from harness.scenarios.recipes import recipes
from harness.scenarios.steps import (PROJECTS_IN_BUILDER, Egress, Outcome, build_script, judge, mask,
                                     own_project_files, scenario_steps)
from harness.infra import paths
from harness.scenarios.model import (BUILD_RESULTS, EXPECT_FIELDS, MIRROR_AUTH, ConfigSpec, Expect, MirrorHit,
                                     Scenario, _schema, generated, load, load_file, scenario_files)

CATALOG = load_catalog()
MATRIX = generated(CATALOG, recipes())
FOLDERS = paths.scenarios_dir()
# the scenario folders of scenarios/ (the matrix file stands for the generated rest)
NAMED = ["leak-byoc-unmirrored-registry", "leak-composer-dist-code-host", "leak-dns-hard-coded-resolver",
         "leak-go-direct-fallback", "leak-go-toolchain", "leak-gradle-plugin-portal", "leak-gradle-wrapper",
         "leak-icmp-connectivity-check", "leak-maven-own-repository", "leak-maven-wrapper",
         "leak-npm-lockfile-resolved", "leak-npm-postinstall-binary", "leak-npm-project-scoped-registry",
         "leak-pip-extra-index-url", "leak-pip-sdist-build-backend",
         "leak-yarn-lockfile-resolved", "override-own-registry", "platform-ballerina-run-image", "platform-crlf-secret",
         "platform-dockerhub-library", "platform-go-nosumdb", "platform-go-sumdb-direct", "platform-lifecycle-namespace",
         "platform-login-password-argv", "platform-npm-token-percent", "platform-trailing-space",
         "ts-restricted-no-dockerhub-url",
         "ts-scheme-in-oci-url", "ts-strategy-scoped-only", "ts-webapp-node-override", "ts-webapp-node18"]
# The customer-* scenarios build the customer-style projects of fixtures/projects/ (project: {path}), one or more
# per project: every project is built by a scenario, every such scenario names a project there.
CUSTOMER = sorted(p.name for p in FOLDERS.glob("customer-*") if p.is_dir())
NAMED = sorted(NAMED + CUSTOMER)
VALID = "strategy: webapp\nproxy_config: {}\nexpect: {build: fails}\n"


def write(tmp_path: Path, text: str, name: str = "case", files: dict | None = None) -> Path:
    """scenarios/<name>/scenario.yaml with `text`, and `files` (relative path -> text) beside it."""
    path = tmp_path / "scenarios" / name / "scenario.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    for relative, content in (files or {}).items():
        (path.parent / relative).parent.mkdir(parents=True, exist_ok=True)
        (path.parent / relative).write_text(content)
    return path


def test_every_scenario_file_is_valid():
    scenarios = load([paths.scenarios_dir()], CATALOG, recipes())
    assert len(scenarios) > len(MATRIX)


def test_every_customer_style_project_is_built_by_a_customer_scenario():
    projects = paths.fixtures_dir() / "projects"
    built = {}
    for scenario in load([FOLDERS / name for name in CUSTOMER], CATALOG, recipes()):
        assert scenario.customer is not None, f"{scenario.name}: a customer-* scenario builds a project: {{path}}"
        built[Path(scenario.customer.root).resolve()] = scenario.name
    assert {p.resolve() for p in projects.iterdir() if p.is_dir()} == set(built)


def test_each_scenario_is_one_folder_named_like_it():
    """scenarios/ holds the matrix file and one folder per scenario, in name order, each named by its folder."""
    assert sorted(p.name for p in FOLDERS.iterdir() if p.suffix == ".yaml") == ["matrix.yaml"]
    folders = sorted(p.name for p in FOLDERS.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    assert folders == NAMED
    loaded = [s for s in load([FOLDERS], CATALOG, recipes()) if s.source != "generated"]
    assert [s.name for s in loaded] == NAMED
    assert all(Path(s.source) == FOLDERS / s.name / "scenario.yaml" for s in loaded)


def test_a_folder_its_scenario_file_and_a_folder_of_folders_load_alike():
    one = FOLDERS / "leak-go-toolchain"
    assert load([one], CATALOG, recipes()) == load([one / "scenario.yaml"], CATALOG, recipes())
    assert [s.name for s in load([one], CATALOG, recipes())] == ["leak-go-toolchain"]
    assert len(load([FOLDERS / "matrix.yaml"], CATALOG, recipes())) == len(MATRIX)


def test_a_loose_scenario_file_is_an_error_naming_it(tmp_path):
    """The old layout (scenarios/x.yaml) is not read as a scenario: the error names the file and where it goes."""
    loose = tmp_path / "scenarios" / "old.yaml"
    loose.parent.mkdir()
    loose.write_text(VALID)
    for attempt in (lambda: load([loose], CATALOG, recipes()), lambda: load([loose.parent], CATALOG, recipes()),
                    lambda: load_file(loose)):
        with pytest.raises(UserError) as error:
            attempt()
        assert f"{loose}: not a scenario" in str(error.value)
        assert str(tmp_path / "scenarios" / "old" / "scenario.yaml") in str(error.value)


def test_a_folder_without_scenario_file_is_an_error_and_caches_are_skipped(tmp_path):
    write(tmp_path, VALID)
    (tmp_path / "scenarios" / "__pycache__").mkdir()
    (tmp_path / "scenarios" / ".pytest_cache").mkdir()
    (tmp_path / "scenarios" / "conftest.py").write_text("")
    assert scenario_files(tmp_path / "scenarios") == [tmp_path / "scenarios" / "case" / "scenario.yaml"]
    (tmp_path / "scenarios" / "typo").mkdir()
    (tmp_path / "scenarios" / "typo" / "scenario.yml").write_text(VALID)
    with pytest.raises(UserError, match=f"{tmp_path / 'scenarios' / 'typo'}: not a scenario folder"):
        load([tmp_path / "scenarios"], CATALOG, recipes())


@pytest.mark.parametrize("text, message", [
    ("strategy: webapp\nproxy_config: {}\nexpect: {build: works}\n", "at expect/build"),
    ("strategy: nope\nproxy_config: {}\nexpect: {build: fails}\n", "at strategy"),
    ("strategy: webapp\nproxy_config: {keys: {pkg-npm-token: {value: x}}}\nexpect: {build: fails}\n", "proxy_config"),
    ("strategy: webapp\nproxy_config: {}\n", "'expect' is a required property"),
    ("strategy: webapp\nproxy_config: {keys: {pkg-npm-token: {secret: nope}}}\nexpect: {build: fails}\n",
     "fixture secret 'nope'"),
    ("strategy: [webapp\n", "cannot be read as YAML"),
    ("strategy: webapp\nproxy_config: {}\nmirrors: {accept_from: {fixture: ../../etc}}\nexpect: {build: fails}\n",
     "mirrors/accept_from/fixture"),
    ("strategy: webapp\nproxy_config: {dir: ../x}\nexpect: {build: fails}\n", "at proxy_config/dir"),
    ("strategy: webapp\nproxy_config: {fixture: full-global, dir: proxy-config}\nexpect: {build: fails}\n",
     "at proxy_config"),
    ("strategy: webapp\nproxy_config: {dir: proxy-config}\nexpect: {build: fails}\n", "no directory"),
    ("strategy: webapp\nproxy_config: {}\nrecipe: [{project: x, manager: npm}]\nexpect: {build: fails}\n",
     "at recipe/0"),
    ("strategy: webapp\nproxy_config: {}\nrecipe: [{project: x, manager: npm, run: 'true'}]\nexpect: {build: fails}\n",
     "needs project/ (its files) or project.yaml"),
    ("strategy: webapp\nproxy_config: {}\nexpect: {build: fails, failing_stepz: x}\n", "at expect"),
])
def test_invalid_scenarios_name_the_file_and_place(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(UserError) as error:
        load_file(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_secrets_are_references_resolved_at_run_time(tmp_path):
    spec = ConfigSpec(keys=(("pkg-npm-token", {"secret": "npm-token"}), ("pkg-npm-url", "https://m.example.com/")))
    directory = spec.materialize(tmp_path / "cfg")
    assert (directory / "pkg-npm-token").read_text() == "npm_fixtureToken0123456789abcdef"
    secrets = yaml.safe_load((paths.fixtures_dir() / "secrets.yaml").read_text()).values()
    for path in (p for p in paths.scenarios_dir().rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        text = path.read_text()
        assert not any(secret in text for secret in secrets), path


def test_a_proxy_config_dir_is_the_folders_own(tmp_path):
    path = write(tmp_path, "strategy: webapp\nproxy_config: {dir: proxy-config}\nexpect: {build: fails}\n")
    (path.parent / "proxy-config").symlink_to(paths.fixtures_dir() / "proxy-config" / "full-global")
    with pytest.raises(UserError, match="is a symlink; a scenario's proxy-config is its own"):
        load_file(path)


def test_a_secret_value_in_a_scenario_folder_is_refused(tmp_path):
    path = write(tmp_path, "strategy: webapp\nproxy_config: {dir: proxy-config}\nexpect: {build: fails}\n",
                 files={"proxy-config/pkg-npm-url": "https://m.example.com/", "proxy-config/webapp.pkg-npm-token": "t0k3n"})
    with pytest.raises(UserError, match="webapp.pkg-npm-token: a secret value in a scenario folder"):
        load_file(path)


@pytest.mark.parametrize("config, where", [
    ("proxy_config: {fixture: full-global, keys: [{pkg-npm-token: S3CRETx}]}", "at proxy_config/keys: is not of type"),
    ("proxy_config: {fixture: full-global, keys: 'pkg-npm-token=S3CRETx'}", "at proxy_config/keys: is not of type"),
    ("proxy_config: {fixture: full-global, kyes: {pkg-npm-token: S3CRETx}}", "unknown field\\(s\\) 'kyes'; fields are"),
    ("proxy_config: {fixture: full-global}\nmirrors: {accept_from: {keys: [{pkg-npm-token: S3CRETx}]}}",
     "at mirrors/accept_from/keys: is not of type"),
    ("proxy_config: [{keys: {pkg-npm-token: S3CRETx}}]", "at proxy_config: is not of type 'object'"),
    ("proxy_config: {fixture: full-global, dir: x, keys: {pkg-npm-url: 'https://S3CRETx.example.com/'}}",
     "fixture and dir exclude each other"),
])
def test_a_scenario_schema_error_about_a_configuration_never_shows_it(tmp_path, config, where):
    """jsonschema quotes the instance it refuses: a configuration of the wrong shape is described instead."""
    path = write(tmp_path, f"strategy: webapp\n{config}\nexpect: {{build: fails}}\n")
    with pytest.raises(UserError, match=where) as raised:
        load_file(path)
    assert "S3CRETx" not in str(raised.value)


@pytest.mark.parametrize("keys, where", [
    ("{pkg-maven-password: 82736451902}", "proxy_config/keys/pkg-maven-password: not a key's value"),
    ("{pkg-npm-token: ['S3CRETx']}", "proxy_config/keys/pkg-npm-token: not a key's value"),
    ("{pkg-npm-token: {secret: npm-token, value: 'S3CRETx'}}", "proxy_config/keys/pkg-npm-token: not a key's value"),
    ("{'pkg-npm-token:S3CRETx': y}", "proxy_config/keys: key 'pkg-npm-token' \\(and what follows its :, not shown\\)"),
])
def test_a_scenario_schema_error_about_an_inline_key_never_shows_its_value(tmp_path, keys, where):
    """jsonschema quotes the value it refuses: under proxy_config keys that may be a password (a number, a list)."""
    path = write(tmp_path, f"strategy: webapp\nproxy_config: {{fixture: full-global, keys: {keys}}}\n"
                           "expect: {build: fails}\n")
    with pytest.raises(UserError, match=where) as raised:
        load_file(path)
    assert "S3CRETx" not in str(raised.value) and "82736451902" not in str(raised.value)


@pytest.mark.parametrize("config, files, message", [
    ("{fixture: full-global, keys: {pkg-npm-ulr: 'https://m.example.com/'}}", {},
     "proxy_config key 'pkg-npm-ulr': not a key of the contract \\(did you mean 'pkg-npm-url'\\?\\)"),
    ("{fixture: full-global, keys: {webap.pkg-npm-url: 'https://m.example.com/'}}", {},
     "proxy_config key 'webap.pkg-npm-url': 'webap' is not a build strategy"),
    ("{dir: proxy-config}", {"proxy-config/pkg-npm-ulr": "https://m.example.com/"}, "proxy_config key 'pkg-npm-ulr'"),
    ("{fixture: full-global, keys: {pkg-npm-ulr: x}, unknown_keys: [pkg-npm-ulr]}", {}, None),
    ("{dir: proxy-config, unknown_keys: [pkg-npm-ulr]}", {"proxy-config/pkg-npm-ulr": "x"}, None),
    ("{fixture: full-global, unknown_keys: [pkg-npm-url]}", {}, "unknown_keys 'pkg-npm-url': not a key this"),
    ("{fixture: full-global, keys: {pkg-npm-url: x}, unknown_keys: [pkg-npm-url]}", {},
     "unknown_keys 'pkg-npm-url': a key of the catalog"),
    ("{fixture: mistakes}", {}, None),  # a shared fixture's deliberate mistakes are its own business
    # a misspelt password key declared unknown still holds a password: by reference only
    ("{fixture: full-global, keys: {pkg-maven-pasword: S3CRETx}, unknown_keys: [pkg-maven-pasword]}", {},
     "pkg-maven-pasword: a secret value inline"),
    ("{fixture: full-global, keys: {pkg-maven-pasword: {secret: mirror-password}}, unknown_keys: [pkg-maven-pasword]}",
     {}, None),
    # a password in a URL's user-info is a secret value too: by reference only
    ("{dir: proxy-config}", {"proxy-config/pkg-npm-url": "https://ci:S3CRETx@m.example.com/\0tail"},
     "proxy_config key 'pkg-npm-url': a URL with credentials"),
    ("{fixture: full-global, keys: {pkg-npm-url: 'https://ci:S3CRETx@m.example.com/'}}", {},
     "proxy_config key 'pkg-npm-url': a URL with credentials in its user-info \\(not shown\\)"),
    ("{dir: proxy-config}", {"proxy-config/oci-dockerhub-url": "ci:S3CRETx@m.example.com/hub"},
     "proxy_config key 'oci-dockerhub-url': a URL with credentials"),
])
def test_a_key_name_the_build_ignores_is_refused_unless_declared(tmp_path, config, files, message):
    """An inline key or a file of the folder's own proxy-config that the build ignores (lint's unknown-key,
    unknown-strategy) is a typo that would test the fixture's value instead, unless named in unknown_keys."""
    path = write(tmp_path, f"strategy: webapp\nproxy_config: {config}\nexpect: {{build: fails}}\n", files=files)
    if message is None:
        load_file(path)
        return
    with pytest.raises(UserError, match=message):
        load_file(path)


@pytest.mark.parametrize("recipe, message", [
    ("[{project: mine, manager: npmm, run: 'npm ci'}]", "recipe step 'project:mine': manager 'npmm' is no package"),
    ("[]", "at recipe: \\[\\] should be non-empty"),
])
def test_a_recipe_names_only_managers_of_the_catalog_and_is_never_empty(tmp_path, recipe, message):
    """A mistyped manager keys the step's reuse on no route (another scenario's evidence for another npm
    configuration would do); an empty recipe ran the strategy's whole one."""
    path = write(tmp_path, f"strategy: webapp\nproxy_config: {{fixture: full-global}}\nrecipe: {recipe}\n"
                           "expect: {build: fails}\n", files={"project/package.json": "{}"} if "manager" in recipe else {})
    with pytest.raises(UserError, match=message):
        load_file(path)


def test_the_folders_proxy_config_is_used_when_named_and_only_then(tmp_path):
    files = {"proxy-config/pkg-npm-url": "https://m.example.com/npm/\n", "proxy-config/oci-dockerhub-url": "m.example.com/hub"}
    named = write(tmp_path, "strategy: webapp\nproxy_config: {dir: proxy-config, keys: {image-node-ref: m.example.com/n:20},"
                  " remove: [oci-dockerhub-url]}\nexpect: {build: fails}\n", files=files)
    directory = load_file(named).config.materialize(tmp_path / "cfg")
    assert {p.name: p.read_text() for p in directory.iterdir()} == {
        "pkg-npm-url": "https://m.example.com/npm/\n", "image-node-ref": "m.example.com/n:20"}
    unused = write(tmp_path, "strategy: webapp\nproxy_config: {fixture: full-global}\nexpect: {build: fails}\n",
                   name="unused", files=files)
    with pytest.raises(UserError, match=f"{unused}: .*proxy-config is not used"):
        load_file(unused)


def test_moved_troubleshooting_configs_live_beside_their_scenarios():
    for name in ("ts-restricted-no-dockerhub-url", "ts-scheme-in-oci-url", "ts-webapp-node18", "ts-webapp-node-override"):
        scenario = load_file(FOLDERS / name)
        assert scenario.config.fixture is None and scenario.config.path == FOLDERS / name / "proxy-config"
        assert not (paths.fixtures_dir() / "proxy-config" / name).exists()
    assert load_file(FOLDERS / "leak-go-toolchain").config.fixture == "full-global"  # shared fixtures stay shared


def test_a_scenarios_own_project_reaches_the_builder_under_its_step(tmp_path):
    """project/ as committed; project.yaml generated against the fixture packages (digests in go.sum)."""
    toolchain = load_file(FOLDERS / "leak-go-toolchain")
    files = own_project_files(toolchain)
    assert set(files) == {f"{PROJECTS_IN_BUILDER}/go-toolchain/{f}" for f in ("go.mod", "go.sum", "main.go")}
    assert b"\ngo 1.99.0\n" in files[f"{PROJECTS_IN_BUILDER}/go-toolchain/go.mod"]
    assert b"github.com/airgap-fixture/hello v1.0.0 h1:" in files[f"{PROJECTS_IN_BUILDER}/go-toolchain/go.sum"]
    pom = own_project_files(load_file(FOLDERS / "leak-maven-own-repository"))
    assert pom == {f"{PROJECTS_IN_BUILDER}/maven-own-repository/pom.xml":
                   (FOLDERS / "leak-maven-own-repository" / "project" / "pom.xml").read_bytes()}
    [step] = scenario_steps(toolchain)
    assert step == {"project": "go-toolchain", "manager": "go", "run": "go mod download -x"}
    # a step with `dir` runs in a shared project's files and brings none of its own
    fallback = load_file(FOLDERS / "leak-go-direct-fallback")
    assert own_project_files(fallback) == {} and scenario_steps(fallback)[0]["dir"] == "go"
    assert build_script("buildpack", scenario_steps(fallback)).count(f"cd {PROJECTS_IN_BUILDER}/go && go mod download") == 1


@pytest.mark.parametrize("files, message", [
    ({}, "needs project/ (its files) or project.yaml"),
    ({"project/a.txt": "x", "project.yaml": "generate: npm\ndefinition: {}\n"}, "either project/ or project.yaml, not both"),
    ({"project.yaml": "generate: cobol\ndefinition: {}\n"}, "project.yaml: expected `generate:`"),
    ({"project.yaml": "generate: go\ndefinition: {module: x}\n"}, "project.yaml: go project definition: KeyError"),
    ({"project.yaml": "generate: [go\n"}, "project.yaml: cannot be read as YAML"),
])
def test_own_project_errors_name_the_folder_or_file(tmp_path, files, message):
    path = write(tmp_path, "strategy: buildpack\nproxy_config: {}\nrecipe: [{project: p, manager: go, run: 'true'}]\n"
                 "expect: {build: fails}\n", files=files)
    with pytest.raises(UserError) as error:
        load_file(path)
    assert str(path.parent) in str(error.value) and message in str(error.value)


@pytest.mark.parametrize("text, message", [
    (VALID.replace("{build: fails}", "{build: fails, message: '([unclosed'}"), "expect message '([unclosed': not a regular"),
    (VALID.replace("{build: fails}", "{build: fails, message: '(a+)+$'}"), "can take exponential time"),
    (VALID.replace("{build: fails}", "{build: fails, message: '(x|y)*z{2,}'}"), None),
    # found by a review: nested groups and alternatives that start alike escaped a check of the text
    (VALID.replace("{build: fails}", "{build: fails, message: '((a+))+$'}"), "a repeated group holding a repetition"),
    (VALID.replace("{build: fails}", "{build: fails, message: '(?:a|ab)*c'}"), "alternatives that can start alike"),
    (VALID.replace("{build: fails}", "{build: fails, message: 'x(?=(a|a)*b)'}"), "alternatives that can start alike"),
    (VALID + "finding: {verdict: leak, fix: '   '}\n", "finding fix: empty"),
    (VALID + "expect: {build: succeeds}\n", "the key 'expect' is given twice"),
    (VALID + 'finding: {verdict: leak, fix: "do X\\e]0;owned\\a"}\n', "finding/fix: holds a control character"),
    (VALID + "mirrors: {accept_from: {}}\n", "mirrors accept_from: names no configuration"),
    (VALID + "mirrors: {accept_from: {fixture: full-global}, require_credentials: false}\n", "require none"),
    (VALID + "project: {path: ../../fixtures/projects/go-module}\nrecipe: [{pull: node}]\n", "cannot be combined with recipe"),
    (VALID + "mirrors: {not_proxied: {image-node-ref: [x/]}}\n", "'image-node-ref': not a mirror key"),
    (VALID + "mirrors: {not_proxied: {buildpack.pkg-npm-url: [x/]}}\n", "the webapp build does not read it"),
    (VALID + "mirrors: {not_proxied: {pkg-go-url: [sumdb/]}}\n", "the webapp build does not read it"),
    # found by a sweep: a key YAML reads as a boolean or number was a traceback; a line break passed ^...$
    (VALID.replace("proxy_config: {}", "proxy_config: {fixture: full-global, keys: {yes: x}}"),
     "proxy_config/keys: the key True is read as a bool"),
    (VALID + "mirrors: {not_proxied: {on: [a/]}}\n", "the key True is read as a bool, not text: quote it"),
    (VALID + 'name: "abc\\n"\n', "does not match"),
])
def test_a_scenario_value_that_would_fail_or_hang_after_the_build_is_refused_at_load(tmp_path, text, message):
    """What would only fail once the stack ran (a regular expression that does not compile, a blank finding fix,
    an expectation given twice) or hang on the build's output (a nested repetition) is refused at load."""
    path = write(tmp_path, text)
    if message is None:
        assert load_file(path).expect.message == "(x|y)*z{2,}"
        return
    with pytest.raises(UserError, match=re.escape(message) if "(" in message else message) as error:
        load_file(path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("expect, message", [
    ("{build: fails, failing_step: 'project:nmp'}", "failing step 'project:nmp' is no step of the scenario"),
    ("{build: fails, mirror_hits: [{route: pkg-nmp-url}]}", "mirror route 'pkg-nmp-url' is no key of the catalog"),
    ("{build: fails, no_mirror_hits: [oci-dockerhub-ur]}", "mirror route 'oci-dockerhub-ur' is no key"),
    ("{build: fails, no_mirror_hits: [webap.pkg-npm-url]}", "mirror route 'webap.pkg-npm-url': 'webap' is no strategy"),
    ("{build: fails, no_mirror_hits: [buildpack.pkg-npm-url]}", None),  # webapp must not read buildpack's key
    ("{build: fails, no_mirror_hits: [pkg-go-url]}", None),  # nor a key of a manager it does not run
    ("{build: fails, mirror_hits: [{route: buildpack.pkg-npm-url}]}",
     "mirror route 'buildpack.pkg-npm-url': webapp never fetches through it"),
    ("{build: fails, mirror_hits: [{route: pkg-go-url}]}", "mirror route 'pkg-go-url': webapp never fetches through it"),
    ("{build: fails, mirror_hits: [{route: image-golang-ref}]}", "mirror route 'image-golang-ref': webapp never fetches"),
    ("{build: fails, mirror_hits: [{route: image-node-ref}, {route: webapp.pkg-npm-url}]}", None),
    ("{build: fails, images: {nodee: 'docker.io/library/node:18'}}", "image 'nodee' is no image of webapp"),
    ("{build: succeeds, failing_step: preamble}", "build: succeeds with a failing step"),
    ("{build: fails, failing_step: 'pull:nginx', failing_steps: ['pull:node']}", "is not the first of failing_steps"),
    ("{build: fails, egress: [], egress_required: [registry-1.docker.io]}", "is not in egress"),
    ("{build: fails, mirror_hits: [{route: pkg-npm-url}], no_mirror_hits: [pkg-npm-url]}", "in both mirror_hits and"),
    ("{build: fails, failing_steps: [preamble], mirror_hits: [{route: oci-ping}]}", None),
    ("{build: fails, failing_steps: []}", "build: fails with failing_steps: [] (no step fails)"),
    ("{build: fails, egress: ['https://registry.npmjs.org/']}", "egress 'https://registry.npmjs.org/' is not a host"),
    ("{build: fails, egress: [registry.npmjs.org, 10.0.0.2, '2001:db8::1', _http._tcp.deb.debian.org, 'a.example.']}",
     None),  # the trap records SRV names (apt) and names as queried
    ("{build: fails, images: {node: 'NOT A REF::'}}", "image node: 'NOT A REF::' is not an image reference"),
])
def test_expectations_name_only_what_exists_and_never_contradict(tmp_path, expect, message):
    """A typo in an expectation makes a scenario that can never pass (a step that does not exist) or never fail
    (a route no build hits); contradictory ones fail whatever happens. All are refused at load."""
    path = write(tmp_path, f"strategy: webapp\nproxy_config: {{fixture: full-global}}\nexpect: {expect}\n")
    if message is None:
        load_file(path)
        return
    with pytest.raises(UserError, match=re.escape(message)):
        load_file(path)


def test_build_succeeds_is_refused_for_a_configuration_the_preamble_stops_on(tmp_path):
    """The seed's first troubleshooting case (a scheme in an OCI mirror) stops every build that reads it."""
    path = write(tmp_path, "strategy: buildpack\nproxy_config: {fixture: full-global, keys: {oci-dockerhub-url: "
                           "'https://nexus.example.com/hub'}}\nexpect: {build: succeeds}\n")
    with pytest.raises(UserError, match="build: succeeds, but the preamble stops on oci-dockerhub-url"):
        load_file(path)
    path.write_text(path.read_text().replace("succeeds", "fails"))
    load_file(path)


@pytest.mark.parametrize("config, files, message", [
    ("{fixture: no-such-fixture}", {}, "proxy_config: fixture 'no-such-fixture': no directory"),
    ("{fixture: full-global, remove: [pkg-nmp-url]}", {}, "proxy_config remove 'pkg-nmp-url': not in"),
    ("{fixture: full-global, keys: {pkg-npm-token: plaintext-secret}}", {}, "a secret value inline"),
    ("{keys: {'..': x}}", {}, "proxy_config keys '..'"),
    ("{dir: proxy-config}", {"proxy-config/image-node-ref/x": "x"}, "image-node-ref: a directory where a key file"),
])
def test_a_configuration_is_refused_at_load_when_it_cannot_be_made_as_written(tmp_path, config, files, message):
    path = write(tmp_path, f"strategy: webapp\nproxy_config: {config}\nexpect: {{build: fails}}\n", files=files)
    with pytest.raises(UserError, match=re.escape(message)):
        load_file(path)
    if "dir" in config:
        (path.parent / "proxy-config" / "image-node-ref" / "x").unlink()
        (path.parent / "proxy-config" / "image-node-ref").rmdir()
        (path.parent / "proxy-config" / "image-node-ref").symlink_to("/etc/hostname")
        with pytest.raises(UserError, match="image-node-ref: a symlink"):
            load_file(path)


def test_a_scenario_file_not_utf8_or_a_folder_name_with_control_characters_is_a_clear_error(tmp_path):
    path = write(tmp_path, VALID)
    path.write_bytes(VALID.encode() + "# caf\xe9\n".encode("latin-1"))
    with pytest.raises(UserError, match=r"scenario.yaml: not UTF-8 text \(byte \d+\)"):
        load_file(path)
    odd = write(tmp_path, VALID, name="ok\x1b[31mred")
    with pytest.raises(UserError, match="is no scenario name") as error:
        load_file(odd)
    assert "\x1b" not in str(error.value) and "\\x1b" in str(error.value)


def test_a_scenario_s_own_project_is_read_without_following_links(tmp_path):
    path = write(tmp_path, "strategy: buildpack\nproxy_config: {}\nrecipe: [{project: p, manager: go, run: 'true'}]\n"
                 "expect: {build: fails}\n", files={"project/go.mod": "module example.com/a\n"})
    (path.parent / "project" / "leaked").symlink_to("/etc/passwd")
    assert [name for name, _ in load_file(path).project] == ["go.mod"]


def test_two_scenarios_with_one_name_are_an_error_naming_both(tmp_path):
    first = write(tmp_path, VALID + "name: same\n", name="a")
    second = write(tmp_path, VALID.replace("webapp", "byoc") + "name: same\n", name="b")
    with pytest.raises(UserError, match="two scenarios named 'same'") as error:
        load([tmp_path / "scenarios"], CATALOG, recipes())
    assert str(first) in str(error.value) and str(second) in str(error.value)


def test_one_scenario_folder_given_twice_or_through_a_link_is_an_error_naming_both(tmp_path):
    """A symbolic link to a scenario folder would run the same scenario again under the link's name."""
    first = write(tmp_path, VALID, name="a")
    (tmp_path / "scenarios" / "alias").symlink_to("a")
    with pytest.raises(UserError, match="are one file") as error:
        load([tmp_path / "scenarios"], CATALOG, recipes())
    assert str(first) in str(error.value) and "alias" in str(error.value)
    with pytest.raises(UserError, match="are one file"):
        load([first.parent, first.parent], CATALOG, recipes())


def test_two_matrix_files_are_an_error_naming_both(tmp_path):
    for name in ("matrix.yaml", "again.yaml"):
        (tmp_path / name).write_text((FOLDERS / "matrix.yaml").read_text())
    with pytest.raises(UserError, match="two scenarios named") as error:
        load([tmp_path / "matrix.yaml", tmp_path / "again.yaml"], CATALOG, recipes())
    assert "matrix.yaml" in str(error.value) and "again.yaml" in str(error.value)


def test_a_project_no_step_runs_is_an_error(tmp_path):
    path = write(tmp_path, VALID, files={"project/requirements.txt": "x\n"})
    with pytest.raises(UserError, match="project is not used"):
        load_file(path)


def test_leak_projects_carry_their_leak():
    def tree(name):
        return {path.rsplit("/", 1)[-1]: data for path, data in own_project_files(load_file(FOLDERS / name)).items()}
    assert b"<url>https://jitpack.io</url>" in tree("leak-maven-own-repository")["pom.xml"]
    assert tree("leak-composer-dist-code-host")["composer.json"].count(b"airgap-fixture/coded") == 1
    assert tree("leak-pip-sdist-build-backend")["requirements.txt"] == b"airgap-fixture-built==0.1.0\n"
    assert b'resolved "https://registry.yarnpkg.com/' in tree("leak-yarn-lockfile-resolved")["yarn.lock"]


def test_pytest_collects_scenario_folders_and_names_a_loose_file(tmp_path):
    """`pytest scenarios/` collects each folder's scenario.yaml and the matrix; a loose file fails collection."""
    def collect(*args, cwd=paths.checkout()):
        return subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
                              cwd=cwd, capture_output=True, text=True, timeout=300)
    result = collect("scenarios/")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    ids = [line for line in result.stdout.splitlines() if "::" in line]
    assert len(ids) == len(MATRIX) + len(NAMED)
    assert "scenarios/leak-go-toolchain/scenario.yaml::leak-go-toolchain" in ids
    assert "scenarios/matrix.yaml::webapp/no-secret" in ids
    one = collect("scenarios/ts-webapp-node18")
    assert [line for line in one.stdout.splitlines() if "::" in line] == ["scenarios/ts-webapp-node18/scenario.yaml::ts-webapp-node18"]

    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "conftest.py").write_text((FOLDERS / "conftest.py").read_text())
    (tmp_path / "scenarios" / "old.yaml").write_text(VALID)
    loose = collect("scenarios/", cwd=tmp_path)
    assert loose.returncode != 0 and "old.yaml: not a scenario" in loose.stdout, loose.stdout[-3000:]

    # what `airgap run` refuses, pytest refuses too: a folder without scenario.yaml, a scenario.yml, two
    # scenarios of one name (one of them never judged as written), a broken scenario.yaml symlink
    (tmp_path / "scenarios" / "old.yaml").unlink()
    for name in ("a", "b"):
        (tmp_path / "scenarios" / name).mkdir()
        (tmp_path / "scenarios" / name / "scenario.yaml").write_text("name: same\n" + VALID)
    same = collect("scenarios/", cwd=tmp_path)
    assert same.returncode != 0 and "two scenarios named 'same'" in same.stdout + same.stderr, same.stdout[-3000:]
    (tmp_path / "scenarios" / "b" / "scenario.yaml").rename(tmp_path / "scenarios" / "b" / "scenario.yml")
    stray = collect("scenarios/", cwd=tmp_path)
    assert stray.returncode != 0 and "b: not a scenario folder" in stray.stdout + stray.stderr, stray.stdout[-3000:]
    (tmp_path / "scenarios" / "b" / "scenario.yml").unlink()
    (tmp_path / "scenarios" / "b" / "scenario.yaml").symlink_to(tmp_path / "nowhere")
    broken = collect("scenarios/", cwd=tmp_path)
    assert broken.returncode != 0 and "scenario.yaml: a broken symlink" in broken.stdout + broken.stderr
    assert "Traceback" not in broken.stdout + broken.stderr
    # a scenario folder linked under a second name: `airgap run` refuses it (it would run again under that name)
    (tmp_path / "scenarios" / "b" / "scenario.yaml").unlink()
    (tmp_path / "scenarios" / "b").rmdir()
    (tmp_path / "scenarios" / "a" / "scenario.yaml").write_text(VALID)
    (tmp_path / "scenarios" / "alias").symlink_to("a")
    linked = collect("scenarios/", cwd=tmp_path)
    assert linked.returncode != 0 and "are one file" in linked.stdout + linked.stderr, linked.stdout[-3000:]


def test_the_matrix_covers_every_strategy_and_every_key_a_recipe_uses():
    names = {s.name for s in MATRIX}
    for strategy in CATALOG.strategies:
        for suffix in ("no-secret", "full-global", "scoped-beats-global", "unsupported-keys-ignored"):
            assert f"{strategy}/{suffix}" in names
    assert "webapp/without:pkg-npm-url" in names and "mi/without:pkg-maven-url" in names
    assert "prism/without:oci-choreo-url" in names and "byoc/without:oci-dockerhub-url" in names


MATRIX_BY_NAME = {s.name: s for s in MATRIX}


def test_oracle_for_removed_keys_and_the_docker_hub_login():
    by_name = {s.name: s for s in MATRIX}
    assert by_name["webapp/without:pkg-npm-url"].expect.egress_required == ("registry.npmjs.org",)
    assert by_name["webapp/without:pkg-npm-url"].expect.failing_step == "project:npm"
    hub = by_name["webapp/without:oci-dockerhub-url"].expect
    assert (hub.failing_step, hub.egress) == ("preamble", ("registry-1.docker.io",))
    assert by_name["webapp/full-global"].expect.build == "succeeds"
    assert "api.central.ballerina.io" in by_name["ballerina/full-global"].expect.egress
    wrong = by_name["webapp/wrong-password"].expect
    assert (wrong.build, wrong.failing_step, wrong.failing_steps, wrong.egress_required) == ("fails", None, None, ())


def test_expect_fields_are_the_schemas_expect_properties():
    expect_schema = _schema()["properties"]["expect"]
    assert set(expect_schema["properties"]) == set(EXPECT_FIELDS)
    assert expect_schema["required"] == [f.name for f in dataclasses.fields(Expect) if f.default is dataclasses.MISSING]
    assert set(expect_schema["properties"]["build"]["enum"]) == set(BUILD_RESULTS)
    hit = expect_schema["properties"]["mirror_hits"]["items"]["properties"]
    assert set(hit) == {f.name for f in dataclasses.fields(MirrorHit)} and set(hit["auth"]["enum"]) == set(MIRROR_AUTH)


@pytest.mark.parametrize("build", _schema()["properties"]["expect"]["properties"]["build"]["enum"])
def test_every_build_value_of_the_schema_loads_and_judges(tmp_path, build):
    path = write(tmp_path, f"strategy: webapp\nproxy_config: {{}}\nexpect: {{build: {build}}}\n")
    expect = load_file(path).expect
    assert expect == Expect(build)
    succeeded, failed = judge(scenario(expect), outcome()), judge(scenario(expect), outcome(build="failed"))
    assert (not succeeded, not failed) == {"succeeds": (True, False), "fails": (False, True), "any": (True, True)}[build]


@pytest.mark.parametrize("auth", _schema()["properties"]["expect"]["properties"]["mirror_hits"]["items"]["properties"]["auth"]["enum"])
def test_every_auth_value_of_the_schema_is_judged(auth):
    expect = Expect.from_json({"build": "any", "mirror_hits": [{"route": "pkg-npm-url", "auth": auth}]})
    hit = {"route": "pkg-npm-url", "status": 200, "auth": auth}
    assert judge(scenario(expect), outcome(mirror_hits=[hit])) == []
    other = {**hit, "auth": next(a for a in MIRROR_AUTH if a != auth)}
    assert judge(scenario(expect), outcome(mirror_hits=[other])) == [f"no successful mirror hit on route pkg-npm-url with {auth} auth"]


def test_code_refuses_what_the_schema_refuses():
    with pytest.raises(ValueError, match="expect build 'works'"):
        Expect("works")
    with pytest.raises(ValueError, match="mirror hit auth 'digest'"):
        MirrorHit("pkg-npm-url", "digest")


def test_every_expectation_round_trips_through_its_file_form():
    """to_json writes what a scenario file would hold: it validates against the schema and reads back equal."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(_schema()["properties"]["expect"])
    for s in load([FOLDERS], CATALOG, recipes()) + [Scenario("repro/webapp", "webapp", ConfigSpec(), Expect("any"))]:
        data = s.expect.to_json()
        assert not list(validator.iter_errors(data)), s.name
        assert Expect.from_json(data) == s.expect, s.name


def outcome(**changes) -> Outcome:
    base = dict(scenario="s", strategy="webapp", build="succeeded", failed_steps=[], egress=[], mirror_hits=[],
                resolved_images={}, output="")
    return Outcome(**{**base, **changes})


def scenario(expect: dict | Expect) -> Scenario:
    return Scenario("s", "webapp", ConfigSpec(), expect if isinstance(expect, Expect) else Expect.from_json(expect))


def test_judge_reports_each_unmet_expectation():
    leak = Egress("registry.npmjs.org", "project:npm", "npm ci", "pkg-npm-url", "tcp", 1.0)
    result = outcome(build="failed", failed_steps=["project:npm"], egress=[leak],
                     mirror_hits=[{"route": "pkg-npm-url", "status": 401, "auth": "none"}])
    problems = judge(scenario({"build": "succeeds", "mirror_hits": [{"route": "pkg-npm-url"}],
                               "egress_required": ["pypi.org"]}), result)
    assert any("build failed" in p for p in problems)
    assert any("unexpected egress to registry.npmjs.org" in p and "npm ci" in p and "pkg-npm-url" in p for p in problems)
    assert any("no successful mirror hit on route pkg-npm-url" in p for p in problems)
    assert any("pypi.org" in p for p in problems)
    assert judge(scenario({"build": "failed".replace("ed", "s")}), outcome(build="failed")) == []


def test_a_step_failing_for_another_reason_fails_the_scenario():
    """The oracle names every step that must fail: an unrelated failure beside the expected one shows."""
    expect = MATRIX_BY_NAME["webapp/without:pkg-npm-url"].expect
    assert expect.failing_steps == ("project:npm",)
    extra = outcome(build="failed", failed_steps=["project:npm", "project:maven"])
    assert any("failing steps are ['project:npm', 'project:maven']" in p for p in judge(scenario(expect), extra))
    assert not any("failing steps" in p for p in judge(scenario(expect), outcome(failed_steps=["project:npm"])))


def test_any_of_required_egress():
    seen = outcome(egress=[Egress("index.rubygems.org", "x", "x", None, "dns", 1.0)])
    assert judge(scenario({"build": "succeeds", "egress": ["index.rubygems.org"],
                           "egress_required": [["rubygems.org", "index.rubygems.org"]]}), seen) == []


def test_build_script_sources_the_preamble_and_marks_each_step():
    script = build_script("webapp", recipes()["webapp"])
    assert "source /opt/preamble/webapp.sh" in script
    assert script.count("mark ") >= len(recipes()["webapp"]) + 1
    assert '"docker://${PROXY_IMAGE_NODE}"' in script


def test_a_pack_build_gives_the_preamble_its_components_and_the_build_user_the_edited_source():
    """PREAMBLE_SOURCE_DIRS names each project directory once (maven-wrapper builds the maven project); the
    sources change owner to the build user only after the preamble, whose edits pack would copy."""
    script = build_script("buildpack", recipes()["buildpack"], "pack build")
    dirs = ":".join(f"{PROJECTS_IN_BUILDER}/{name}" for name in ("npm", "python", "maven", "gradle", "go", "rubygems", "composer"))
    assert f"export PREAMBLE_SOURCE_DIRS={dirs}\n" in script
    assert script.index("source /opt/preamble/buildpack.sh") < script.index(f'chown -R "$AIRGAP_BUILD_USER:" {PROJECTS_IN_BUILDER}')
    assert "PREAMBLE_SOURCE_DIRS" not in build_script("prism", recipes()["prism"])  # no project to edit


def test_masking_replaces_secret_values_by_their_file_name():
    assert mask("token=abcdef123 and more", {"pkg-npm-token": "abcdef123"}) == "token=<pkg-npm-token> and more"


def test_reports(tmp_path):
    ok = outcome(scenario="webapp/full-global")
    bad = outcome(scenario="webapp/without:pkg-npm-url", build="failed", problems=["unexpected egress"],
                  egress=[Egress("registry.npmjs.org", "project:npm", "npm ci", "pkg-npm-url", "tcp", 2.0, "10.0.0.2", 443, "tls")])
    scenarios = [s for s in MATRIX if s.name in ("webapp/full-global", "webapp/without:pkg-npm-url")]
    paths = report.write(tmp_path, CATALOG, scenarios, [ok, bad])
    assert {p.name for p in paths} >= {"junit.xml", "egress.json", "support-matrix.md", "report.html"}
    suite = ElementTree.parse(tmp_path / "junit.xml").getroot()
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    egress = json.loads((tmp_path / "egress.json").read_text())
    [summary] = egress["summary"]
    assert {"destination": "registry.npmjs.org", "count": 1, "covered_by": "pkg-npm-url"}.items() <= summary.items()
    assert [cause["id"] for cause in summary["causes"]] == ["npm-registry"]  # tests/test_leak_causes.py: the rest
    assert egress["events"][0]["step"] == "project:npm"
    matrix = json.loads((tmp_path / "support-matrix.json").read_text())
    assert matrix["webapp"]["package-proxy"]["state"] == "failed"
    assert matrix["prism"]["package-proxy"]["state"] == "not applicable"


def test_support_matrix_cells_count_only_the_families_a_scenario_exercises():
    by_name = {s.name: s for s in load([paths.scenarios_dir()], CATALOG, recipes())}
    assert report.families_of(CATALOG, by_name["leak-go-toolchain"]) == {"package-proxy"}
    assert report.families_of(CATALOG, by_name["buildpack/full-global"]) == {"oci-mirror", "package-proxy"}
    assert report.families_of(CATALOG, by_name["prism/without:oci-choreo-url"]) == {"oci-mirror"}
    assert "image-override" in report.families_of(CATALOG, by_name["webapp/image-overrides-full"])
