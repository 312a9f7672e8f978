"""Code found by name: a manager's module in a package (content generator, reader), with a clear error."""

import importlib

from harness.infra.errors import UserError


def module_with(package: str, name: str, function: str, role: str):
    """The module `<package>.<name>`, which must define `function`; a missing one is an error naming its file
    and the doc that lists a manager's files (not an ImportError or AttributeError traceback)."""
    module_name = f"{package}.{name}"
    path = module_name.replace(".", "/") + ".py"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        raise UserError(f"package manager {name}: no {role} {path} (docs/adding-a-key.md)") from None
    if not callable(getattr(module, function, None)):
        raise UserError(f"{path} has no {function}() (docs/adding-a-key.md)")
    return module
