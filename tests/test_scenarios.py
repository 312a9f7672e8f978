"""The scenario layer without a stack: schema errors, the generated matrix, the judge and the reports."""

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from harness.scenarios import report
from harness.contract.catalog import load_catalog
from harness.infra.errors import UserError
from harness.scenarios.steps import Egress, Outcome, build_script, judge, mask, recipes
from harness.infra import paths
from harness.scenarios.model import ConfigSpec, Scenario, generated, load, load_file

CATALOG = load_catalog()
MATRIX = generated(CATALOG, recipes())


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenarios" / "case.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_every_scenario_file_is_valid():
    scenarios = load([paths.scenarios_dir()], CATALOG, recipes())
    assert len(scenarios) > len(MATRIX)


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
    for path in (paths.scenarios_dir()).glob("*.yaml"):
        assert "npm_fixtureToken" not in path.read_text() and "w0rd" not in path.read_text()


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
    assert by_name["webapp/without:pkg-npm-url"].expect["egress_required"] == ["registry.npmjs.org"]
    assert by_name["webapp/without:pkg-npm-url"].expect["failing_step"] == "project:npm"
    hub = by_name["webapp/without:oci-dockerhub-url"].expect
    assert (hub["failing_step"], hub["egress"]) == ("preamble", ["registry-1.docker.io"])
    assert by_name["webapp/full-global"].expect["build"] == "succeeds"
    assert "api.central.ballerina.io" in by_name["ballerina/full-global"].expect["egress"]


def outcome(**changes) -> Outcome:
    base = dict(scenario="s", strategy="webapp", build="succeeded", failed_steps=[], egress=[], mirror_hits=[],
                resolved_images={}, output="")
    return Outcome(**{**base, **changes})


def scenario(expect: dict) -> Scenario:
    return Scenario("s", "webapp", ConfigSpec(), expect)


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
    expect = MATRIX_BY_NAME["buildpack/without:pkg-npm-url"].expect
    assert expect["failing_steps"] == ["project:npm"]
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


def test_masking_replaces_secret_values_by_their_file_name():
    assert mask("token=abcdef123 and more", {"pkg-npm-token": "abcdef123"}) == "token=<pkg-npm-token> and more"


def test_reports(tmp_path):
    ok = outcome(scenario="webapp/full-global")
    bad = outcome(scenario="webapp/without:pkg-npm-url", build="failed", problems=["unexpected egress"],
                  egress=[Egress("registry.npmjs.org", "project:npm", "npm ci", "pkg-npm-url", "tcp", 2.0, "10.0.0.2", 443, "tls")])
    scenarios = [s for s in MATRIX if s.name in ("webapp/full-global", "webapp/without:pkg-npm-url")]
    paths = report.write(tmp_path, CATALOG, scenarios, [ok, bad])
    assert {p.name for p in paths} >= {"junit.xml", "egress.json", "support-matrix.md", "support-matrix.html"}
    suite = ElementTree.parse(tmp_path / "junit.xml").getroot()
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    egress = json.loads((tmp_path / "egress.json").read_text())
    assert egress["summary"] == [{"destination": "registry.npmjs.org", "count": 1, "covered_by": "pkg-npm-url"}]
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
