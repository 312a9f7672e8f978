"""The leak scenarios' projects with egress open: on the simulated internet, without the preamble, each step
works, because the simulated internet serves what the project fetches publicly (fixtures/content/leaks.yaml for
the hosts outside the contract). Under air-gap the same steps fail at the trap (`airgap run scenarios/leak-*`).

The hard-coded resolver and the ping of leak-dns-hard-coded-resolver and leak-icmp-connectivity-check are left
out: they go to documentation addresses nothing answers, on any network.
"""

import shlex

import pytest

from harness.infra import paths
from harness.stack import content
from harness.scenarios.model import load_file, step_name
from harness.scenarios.recipes import expand
from harness.scenarios.steps import PROJECTS_IN_BUILDER, own_project_files, scenario_steps, step_command

# scenario -> a command that succeeds only when its steps fetched what they fetch publicly
CHECKS = {
    "leak-npm-postinstall-binary": "unzip -l $HOME/.cache/Cypress/13.6.0/cypress.zip | grep -q Cypress/Cypress",
    "leak-npm-project-scoped-registry": f"test -f {PROJECTS_IN_BUILDER}/npm-scoped-registry/node_modules/"
                                        "@airgap-vendor/widget/index.js",
    "leak-pip-extra-index-url": "ls /tmp/pip-dl/airgap_fixture_torch-1.0.0-py3-none-any.whl "
                                "/tmp/pip-dl/airgap_fixture_hello-1.0.0-py3-none-any.whl",
    "leak-maven-wrapper": "test -f $HOME/.m2/wrapper/dists/apache-maven-3.9.6/apache-maven-3.9.6/bin/mvn",
    "leak-gradle-plugin-portal": "true",
    "leak-byoc-unmirrored-registry": "true",
}


@pytest.mark.parametrize("name", CHECKS)
def test_a_leak_projects_steps_work_with_egress_open(airgap_stack, name):
    scenario = load_file(paths.scenarios_dir() / name)
    steps = scenario_steps(scenario)
    files = own_project_files(scenario)
    for named in scenario.recipe:  # a shared fixture project (recipes.yaml projects): the fixture content's files
        if "project" in named and "run" not in named:
            (shared,) = expand([named])
            directory = shared.get("dir", shared["project"])
            files |= {f"{PROJECTS_IN_BUILDER}/{directory}/{path}": data
                      for path, data in content.build().projects[directory].items()}
    files |= {f"{PROJECTS_IN_BUILDER}/dockerfiles/{p.name}": p.read_bytes()
              for p in (paths.fixtures_dir() / "dockerfiles").iterdir()}
    commands = [f"echo {shlex.quote(step_name(step))} && ( {step_command(step)} )" for step in steps]
    result = airgap_stack.run(" && ".join(commands + [CHECKS[name]]), network="internet", files=files)
    assert result.ok, result.output
    assert not airgap_stack.evidence_of(result).trap_events
