"""Under air-gap, a build gets only what the preamble hands off (harness/scenarios/handoff.sh): the same reference
preamble with an empty hand-off writes every client file as before, yet the build's package steps no longer see
them and go to the public registries, where the trap names them. With its hand-off the same scenario passes."""

import shutil

import pytest

from harness.contract.catalog import load_catalog
from harness.scenarios.model import generated
from harness.scenarios.recipes import recipes
from harness.scenarios.steps import run_scenario
from harness.stack import content
from helpers import PREAMBLE

CATALOG = load_catalog()
SCENARIOS = {s.name: s for s in generated(CATALOG, recipes())}


@pytest.fixture(scope="module")
def projects():
    return content.build().projects


@pytest.mark.parametrize("name, step, public", [
    ("mi/full-global", "project:maven", "repo.maven.apache.org"),  # pack build: the build user's home
    ("webapp/full-global", "project:npm", "registry.npmjs.org"),  # podman build: the Dockerfile's npmrc secret
])
def test_what_the_preamble_does_not_hand_off_does_not_reach_the_build(airgap_stack, projects, tmp_path, name, step,
                                                                      public):
    forgetful = tmp_path / "preamble"
    shutil.copytree(PREAMBLE, forgetful)
    with (forgetful / "lib" / "handoff.sh").open("a") as handoff:  # the last definition wins: hand off nothing
        handoff.write('\npc_write_handoff() { : >"$PC_STATE_DIR/handoff"; }\n')
    scenario = SCENARIOS[name]

    handed = run_scenario(airgap_stack, scenario, CATALOG, PREAMBLE, projects)
    assert handed.passed and handed.egress == [], handed.problems

    forgotten = run_scenario(airgap_stack, scenario, CATALOG, forgetful, projects)
    assert step in forgotten.failed_steps, forgotten.output
    assert public in {e.destination for e in forgotten.egress if e.step == step}
    assert "airgap hand-off: " in forgotten.output and ": 0 item(s)" in forgotten.output
