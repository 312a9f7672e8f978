"""The package's layers (harness/__init__.py): imports only go down, and no modules import each other in a circle.

Every import counts, a function's lazy import too: a circle hidden behind a lazy import is still a circle.
"""

import ast
from pathlib import Path

import harness

PACKAGE = Path(harness.__file__).parent
LAYERS = ["infra", "contract", "secret", "preamble", "stack", "customer", "scenarios", "commands"]
TOP = {"harness", "harness.cli", "harness.__main__"}  # the package docstring and the command line entry points


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name: str) -> str:
    """The harness module an imported name lives in (`from harness.contract import plan` names a module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _imports(module: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {_resolve(name) for name in names if name.startswith("harness")} - {""}
    return found - {module}


GRAPH = {module: _imports(module) for module in MODULES}


def _layer(module: str) -> int:
    if module in TOP:
        return len(LAYERS)
    return LAYERS.index(module.split(".")[1])


def test_every_module_belongs_to_a_layer():
    assert [m for m in MODULES if m not in TOP and m.split(".")[1] not in LAYERS] == []


def test_imports_only_go_down_the_layers():
    upward = [f"{module} ({LAYERS[_layer(module)] if module not in TOP else 'top'}) imports {target}"
              for module, targets in GRAPH.items() for target in sorted(targets)
              if target not in TOP and _layer(target) > _layer(module)]
    assert upward == []


def test_no_circle_of_imports():
    circles, state = [], {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(GRAPH[module]):
            if target in TOP or state.get(target) == "done":
                continue
            if state.get(target) == "open":
                circles.append(" -> ".join(trail[trail.index(target):] + [target]))
                continue
            visit(target, trail + [target])
        state[module] = "done"

    for module in MODULES:
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_the_check_sees_lazy_imports():
    """The walk must find a function-level import (else a circle could hide behind one)."""
    assert "harness.scenarios.steps" in GRAPH["harness.commands.run"]
