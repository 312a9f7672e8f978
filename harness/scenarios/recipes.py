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
    a scenario's own project step (with `run`, scenario_schema.yaml) carries them already."""
    projects = _recipe_data()["projects"]
    out = []
    for step in steps:
        if "project" in step and "run" not in step and step["project"] not in projects:
            raise UserError(f"recipe step {step}: no project {step['project']!r} in harness/scenarios/recipes.yaml")
        if "run" in step and step["project"] in projects:
            raise UserError(f"recipe step {step}: a scenario's own project may not take the name of the shared "
                            f"project {step['project']!r} of harness/scenarios/recipes.yaml")
        if "run" in step and "dir" in step and step["dir"] not in projects:
            raise UserError(f"recipe step {step}: dir {step['dir']!r} is not a project of harness/scenarios/recipes.yaml")
        shared = "project" in step and "run" not in step
        out.append({**step, **projects[step["project"]]} if shared else dict(step))
    return out


@functools.lru_cache(maxsize=1)
def recipes() -> dict:
    """Each strategy's steps, expanded."""
    return {strategy: expand(steps) for strategy, steps in _recipe_data()["recipes"].items()}
