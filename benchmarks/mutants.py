"""Fault injection: does the scenario matrix catch deliberate faults in the preamble? (target: all of them)

Each fault of benchmarks/mutants.yaml, plus one `drop-key` fault per key a strategy consumes, is applied to a
copy of the reference preamble; the scenarios of the fault's strategies (scenarios/, leak cases first, then
the generated matrix) then run against the copy on one air-gap stack, stopping at the first failing
scenario. Prints each fault, the scenario that caught it (or MISSED), and the total; a key that no recipe
step fetches through (NuGet: no client) is listed as not exercised instead of being run.

A fault names the shell function it edits; the function is found by its definition (`NAME() {`) in
preamble/lib/**/*.sh, and every occurrence of `find` in its body is replaced. A fault that does not apply
(no such function, or `find` is not in its body, or the edit breaks the file's syntax) is an error: the
benchmark stops before any scenario runs and exits 2, naming the fault. `--check` does only that check,
without Docker (tests/preamble/test_mutants_apply.py runs it), so a refactor that orphans a fault fails
the test suite.

Run: python benchmarks/mutants.py [--only NAME]
     python benchmarks/mutants.py --check [--preamble DIR] [--faults FILE]
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.contract.catalog import load_catalog  # noqa: E402

FAULTS_FILE = ROOT / "benchmarks" / "mutants.yaml"
# The first statement of pc_lookup: a `drop-key` fault makes the lookup of its key fail before it.
LOOKUP_FUNCTION = "pc_lookup"
LOOKUP_FIRST = 'if pc__read_file "$1" "$PC_STRATEGY.$3"; then'
FIELDS = ("name", "function", "find", "replace", "strategies")
# A here-document's start (`<<WORD`, `<<-'WORD'`), not a here-string (`<<<`).
HEREDOC = re.compile(r"(?<!<)<<(?!<)(-?)\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")


class FaultError(Exception):
    """A fault that cannot be applied; the message names it."""


def faults(catalog, faults_file: Path = FAULTS_FILE) -> list[dict]:
    """The listed faults, then one `drop-key` fault per key any strategy consumes (url, credential and image
    keys alike), run against the strategies that consume it."""
    listed = yaml.safe_load(faults_file.read_text())["faults"]
    consumed = {name: catalog.consumed_keys(name) for name in catalog.strategies}
    for key in sorted({k for keys in consumed.values() for k in keys}):
        listed.append({"name": f"drop-key:{key}", "function": LOOKUP_FUNCTION, "find": LOOKUP_FIRST, "key": key,
                       "replace": f"[[ $3 == {key} ]] && return 1\n    {LOOKUP_FIRST}",
                       "strategies": [name for name, keys in consumed.items() if key in keys]})
    return listed


def function_body(preamble: Path, function: str) -> tuple[Path, int, int]:
    """(file, start, end) of the body of shell function `function`: the text after its `NAME() {` up to
    its closing `}` (the first line that is only `}` outside a here-document, or the end of a one-line
    definition). Exactly one file under lib/ may define it."""
    definition = re.compile(rf"^{re.escape(function)}\(\)\s*\{{", re.MULTILINE)
    found = [(path, match) for path in sorted((preamble / "lib").rglob("*.sh"))
             for match in definition.finditer(path.read_text())]
    if not found:
        raise FaultError(f"no function {function}() in {preamble / 'lib'}/**/*.sh")
    if len(found) > 1:
        raise FaultError(f"{function}() is defined {len(found)} times: " + ", ".join(str(p) for p, _ in found))
    path, match = found[0]
    text = path.read_text()
    start = match.end()
    first_line_end = text.find("\n", start)
    first_line = text[start:first_line_end if first_line_end >= 0 else len(text)]
    if first_line.rstrip().endswith("}") and first_line.strip() != "}":  # NAME() { ...; }
        return path, start, start + first_line.rstrip().rfind("}")
    position, heredoc = first_line_end + 1, None
    while 0 < position <= len(text):
        line_end = text.find("\n", position)
        line_end = len(text) if line_end < 0 else line_end
        line = text[position:line_end]
        if heredoc:
            strip_tabs, word = heredoc
            if (line.lstrip("\t") if strip_tabs else line) == word:
                heredoc = None
        elif line == "}":
            return path, start, position
        else:
            opened = HEREDOC.findall(line)
            if opened:
                heredoc = (opened[-1][0] == "-", opened[-1][2])
        position = line_end + 1
    raise FaultError(f"{function}() in {path}: no closing '}}' line")


def apply(fault: dict, preamble: Path) -> Path:
    """Edit the copy `preamble` (every occurrence of `find` in the function's body); the file edited.
    Raises FaultError, naming the fault, when it does not apply."""
    name = fault.get("name", "?")
    missing = [field for field in FIELDS if field not in fault]
    if missing:
        raise FaultError(f"fault {name}: missing {', '.join(missing)}")
    try:
        path, start, end = function_body(preamble, fault["function"])
    except FaultError as error:
        raise FaultError(f"fault {name}: {error}") from None
    text = path.read_text()
    body = text[start:end]
    if fault["find"] not in body:
        raise FaultError(f"fault {name}: {fault['find']!r} is not in the body of {fault['function']}() "
                         f"({path.relative_to(preamble)})")
    if fault["find"] == fault["replace"]:
        raise FaultError(f"fault {name}: `replace` is the same as `find`")
    path.write_text(text[:start] + body.replace(fault["find"], fault["replace"]) + text[end:])
    syntax = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    if syntax.returncode != 0:
        raise FaultError(f"fault {name}: the edit breaks {path.relative_to(preamble)}: {syntax.stderr.strip()}")
    return path


def check(chosen: list[dict], catalog, preamble: Path) -> list[str]:
    """Apply every fault to its own copy of `preamble`; the errors (empty when every fault applies)."""
    errors, names = [], set()
    for fault in chosen:
        name = fault.get("name", "?")
        if name in names:
            errors.append(f"fault {name}: listed twice")
        names.add(name)
        unknown = [s for s in fault.get("strategies", []) if s not in catalog.strategies]
        if unknown or not fault.get("strategies", True):
            errors.append(f"fault {name}: strategies {fault.get('strategies')} (unknown: {unknown})")
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "preamble"
            shutil.copytree(preamble, copy)
            try:
                apply(fault, copy)
            except FaultError as error:
                errors.append(str(error))
    return errors


def exercised(catalog, key: str) -> bool:
    """Whether any recipe fetches through the key's route (a dropped key nothing uses cannot be caught)."""
    from harness.scenarios.model import routes_used
    from harness.scenarios.recipes import recipes

    owner = catalog.credential_owner.get(key, key)
    return any(owner in routes_used(catalog, recipe, strategy) or owner in catalog.strategies[strategy].image_keys
               for strategy, recipe in recipes().items())


def candidates(matrix, fault: dict) -> list:
    """The scenarios of the fault's strategies; for a dropped key, those that set it come first (an image
    override is only checked by the override scenarios). Only the order changes, never the set."""
    chosen = [s for s in matrix if s.strategy in fault["strategies"]]
    key = fault.get("key")
    return sorted(chosen, key=lambda s: not any(k.split(".", 1)[-1] == key for k, _ in s.config.keys))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", help="run one fault by name")
    parser.add_argument("--check", action="store_true",
                        help="only check that every fault applies to the preamble (no Docker); exit 1 if one does not")
    parser.add_argument("--preamble", type=Path, default=ROOT / "preamble", help="the preamble the faults edit a copy of")
    parser.add_argument("--faults", type=Path, default=FAULTS_FILE, help="the faults file")
    args = parser.parse_args()

    catalog = load_catalog()
    chosen = [f for f in faults(catalog, args.faults) if args.only in (None, f["name"])]
    if args.only and not chosen:
        print(f"no fault named {args.only!r}", file=sys.stderr)
        return 2
    errors = check(chosen, catalog, args.preamble)
    for error in errors:
        print(f"NOT APPLICABLE: {error}", file=sys.stderr, flush=True)
    if args.check:
        print(f"{len(chosen) - len(errors)}/{len(chosen)} faults apply to {args.preamble}"
              + (f"; {len(errors)} do not (above)" if errors else ""))
        return 1 if errors else 0
    if errors:
        print(f"{len(errors)} of {len(chosen)} faults do not apply to {args.preamble}: fix benchmarks/mutants.yaml "
              "(or the generated drop-key anchor in benchmarks/mutants.py) before running the benchmark", file=sys.stderr)
        return 2

    from harness.scenarios.model import load
    from harness.scenarios.steps import run_scenario
    from harness.scenarios.recipes import recipes
    from harness.stack import content
    from harness.stack.stack import AirgapStack

    matrix = load([ROOT / "scenarios"], catalog, recipes())  # scenario files (leaks first) and the generated matrix
    idle = [f for f in chosen if "key" in f and not exercised(catalog, f["key"])]
    chosen = [f for f in chosen if f not in idle]
    for fault in idle:
        print(f"{fault['name']:<40} NOT EXERCISED: no recipe step fetches through this key", flush=True)
    caught = 0
    started = time.monotonic()
    with AirgapStack() as stack, tempfile.TemporaryDirectory() as tmp:
        projects = content.build().projects
        for fault in chosen:
            preamble = Path(tmp) / fault["name"].replace(":", "_")
            shutil.copytree(args.preamble, preamble)
            apply(fault, preamble)  # checked above: raises (never skips) if it no longer applies
            catcher = None
            for scenario in candidates(matrix, fault):
                if not run_scenario(stack, scenario, catalog, preamble, projects).passed:
                    catcher = scenario.name
                    break
            caught += catcher is not None
            print(f"{fault['name']:<40} {'caught by ' + catcher if catcher else 'MISSED'}", flush=True)
    print(f"{caught}/{len(chosen)} faults caught in {time.monotonic() - started:.0f} s"
          + (f"; {len(idle)} keys no recipe exercises" if idle else ""))
    return 0 if caught == len(chosen) else 1


if __name__ == "__main__":
    raise SystemExit(main())
