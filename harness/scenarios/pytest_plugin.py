"""pytest plugin: scenario folders (scenarios/<name>/scenario.yaml) and the generated matrix as test items.

`pytest scenarios/` runs them on one air-gap stack for the session; `pytest scenarios/<name>` runs one;
`-k webapp` selects as usual. A loose scenarios/*.yaml other than the matrix file fails collection with an
error naming it (a scenario is a folder: harness/scenarios/model.py, scenario_files). A failure
reads as the list of unmet expectations: unexpected destinations with the step and command that caused
each, missing mirror hits, the wrong build result.
"""

from pathlib import Path

import pytest

from harness.contract.catalog import choreo_registry_from_environment, load_catalog
from harness.contract.profile import path_from_environment
from harness.scenarios.recipes import recipes
from harness.infra.errors import UserError
from harness.scenarios.model import SCENARIO_FILE, load, refuse_one_file_twice, scenario_files
from harness.infra import paths

_SESSION = {}


def _catalog():
    """The session's catalog: AIRGAP_CHOREO_REGISTRY names a PDP's own platform registry and AIRGAP_PROFILE the
    platform profile, as for `airgap run`."""
    return load_catalog(choreo_registry_from_environment(), path_from_environment())


def _content():
    """What the session's simulated internet serves: the fixtures and the stand-ins of every collected
    scenario's customer project (one stack serves them all)."""
    if "content" not in _SESSION:
        from harness.stack import content

        _SESSION["content"] = content.with_standins(_SESSION.get("standins", ()))
    return _SESSION["content"]


def _stack():
    if "stack" not in _SESSION:
        from harness.stack.stack import AirgapStack

        _SESSION["stack"] = AirgapStack(catalog=_catalog(), served_content=_content()).start()
    return _SESSION["stack"]


def pytest_collection_modifyitems(session, config, items):
    _refuse_what_airgap_run_refuses(config, [item for item in items if isinstance(item, ScenarioItem)])
    _SESSION["standins"] = tuple(s for item in items if isinstance(item, ScenarioItem) and item.scenario.customer
                                 for s in item.scenario.customer.standins)


def _refuse_what_airgap_run_refuses(config, items: list["ScenarioItem"]) -> None:
    """pytest collects file by file, so it saw neither a folder without scenario.yaml, a loose file, nor two
    scenarios of one name (the second never judged as written): the same checks as `airgap run`'s, on the
    directories given."""
    if not items:
        return
    files = {Path(item.path).resolve() for item in items}
    # a folder of scenarios (holding a scenario folder or the matrix file) or a scenario folder: not `pytest .`
    scenario_dirs = {f.parent.parent if f.name == SCENARIO_FILE else f.parent for f in files}
    scenario_dirs |= {f.parent for f in files if f.name == SCENARIO_FILE}
    try:
        for argument in config.args:
            directory = Path(argument.split("::", 1)[0]).resolve()
            if directory in scenario_dirs:
                scenario_files(directory)
        refuse_one_file_twice(dict.fromkeys(Path(item.path) for item in items))  # a matrix file's items share one
    except UserError as error:
        raise pytest.UsageError(str(error)) from None
    where: dict[str, Path] = {}
    for item in items:
        first = where.setdefault(item.scenario.name, Path(item.path))
        if first != Path(item.path):
            raise pytest.UsageError(f"two scenarios named {item.scenario.name!r}: {first} and {item.path}")


def pytest_sessionfinish(session):
    stack = _SESSION.pop("stack", None)
    if stack is not None:
        stack.stop()


def pytest_collect_file(parent, file_path):
    if file_path.name == SCENARIO_FILE or (file_path.suffix == ".yaml" and file_path.parent.name == "scenarios"):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    """A scenario folder's scenario.yaml, or the matrix file (`generate: catalog`) standing for every
    generated scenario."""

    def collect(self):
        try:
            scenarios = load([self.path], _catalog(), recipes())
        except UserError as error:  # the message names the file and the place: no traceback
            raise self.CollectError(str(error)) from None
        for scenario in scenarios:
            yield ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)


class ScenarioFailed(Exception):
    pass


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario, **kwargs):
        super().__init__(**kwargs)
        self.add_marker("docker")  # the test layer (tests/conftest.py): it runs on an air-gap stack
        self.scenario = scenario

    def runtest(self):
        from harness.scenarios.steps import run_scenario

        preamble = Path(self.config.getoption("--preamble", None) or paths.preamble_dir())
        outcome = run_scenario(_stack(), self.scenario, _catalog(), preamble, _content().projects)
        self.user_properties.append(("outcome", outcome.to_json()))
        if not outcome.passed:
            raise ScenarioFailed(outcome)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ScenarioFailed):
            outcome = excinfo.value.args[0]
            lines = [f"scenario {outcome.scenario} ({self.scenario.source}): build {outcome.build}"]
            lines += [f"  - {problem}" for problem in outcome.problems]
            if self.scenario.finding:  # what the failure means for the preamble under test (platform-* scenarios)
                lines.append(f"  {self.scenario.finding.describe()}")
            return "\n".join(lines)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"scenario {self.scenario.name}"


def pytest_addoption(parser):
    parser.addoption("--preamble", default=None, help="the preamble directory the scenarios test")
