"""The strategies' recipes (recipes.yaml): what each strategy's build fetches after its preamble, as steps.

Read here, once, for the modules that build scenarios (model.py) and run them (steps.py).
"""

import functools
from importlib import resources

from harness.infra.errors import UserError
from harness.infra.yamltext import load_yaml


@functools.lru_cache(maxsize=1)
def _recipe_data() -> dict:
    return load_yaml(resources.files("harness.scenarios").joinpath("recipes.yaml").read_text())


def expand(steps: list[dict]) -> list[dict]:
    """Steps with each shared project step's manager, directory and command filled in from its project entry;
    a scenario's own project step (with `run`, scenario_schema.yaml) carries them already. A step with
    `when_building` is kept only when a project step of one of those managers is among them (for_its_projects)."""
    projects = _recipe_data()["projects"]
    managers = {project["manager"] for project in projects.values()}
    out = []
    for step in steps:
        if "project" in step and "run" not in step and step["project"] not in projects:
            raise UserError(f"recipe step {step}: no project {step['project']!r} in harness/scenarios/recipes.yaml")
        if "run" in step and step["project"] in projects:
            raise UserError(f"recipe step {step}: a scenario's own project may not take the name of the shared "
                            f"project {step['project']!r} of harness/scenarios/recipes.yaml")
        if "run" in step and "dir" in step and step["dir"] not in projects:
            raise UserError(f"recipe step {step}: dir {step['dir']!r} is not a project of harness/scenarios/recipes.yaml")
        unknown = sorted(set(step.get("when_building", ())) - managers)
        if unknown:
            raise UserError(f"recipe step {step}: when_building names {', '.join(unknown)}, not a manager of "
                            f"harness/scenarios/recipes.yaml `projects:` ({', '.join(sorted(managers))})")
        shared = "project" in step and "run" not in step
        out.append({**step, **projects[step["project"]]} if shared else dict(step))
    return for_its_projects(out)


def for_its_projects(steps: list[dict]) -> list[dict]:
    """The steps without those whose `when_building` names no manager the steps build a project of."""
    built = {step["manager"] for step in steps if "project" in step}
    return [step for step in steps if "when_building" not in step or built & set(step["when_building"])]


@functools.lru_cache(maxsize=1)
def recipes() -> dict:
    """Each strategy's steps, expanded."""
    return {strategy: expand(steps) for strategy, steps in _recipe_data()["recipes"].items()}
