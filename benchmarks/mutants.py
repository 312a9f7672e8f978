"""Fault injection: does the scenario matrix catch deliberate faults in the preamble? (target: all of them)

Each fault of benchmarks/mutants.yaml, plus one `drop-key` fault per key a strategy consumes, is applied to a
copy of the reference preamble; the scenarios of the fault's strategies (scenarios/, leak cases first, then
the generated matrix) then run against the copy on one air-gap stack, stopping at the first failing
scenario. Prints each fault, the scenario that caught it (or MISSED), and the total; a key that no recipe
step fetches through (NuGet: no client) is listed as not exercised instead of being run.

Run: python benchmarks/mutants.py [--only NAME]
"""

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.contract.catalog import load_catalog  # noqa: E402
from harness.scenarios.steps import recipes, run_scenario  # noqa: E402
from harness.scenarios.model import load, routes_used  # noqa: E402

LOOKUP = "pc_lookup() {\n    PC_KEY=''"


def faults(catalog) -> list[dict]:
    """The listed faults, then one `drop-key` fault per key any strategy consumes (url, credential and image
    keys alike), run against the strategies that consume it."""
    listed = yaml.safe_load((ROOT / "benchmarks" / "mutants.yaml").read_text())["faults"]
    consumed = {name: catalog.consumed_keys(name) for name in catalog.strategies}
    for key in sorted({k for keys in consumed.values() for k in keys}):
        listed.append({"name": f"drop-key:{key}", "file": "lib/proxy-config.sh", "find": LOOKUP, "key": key,
                       "replace": f"pc_lookup() {{\n    [[ $1 == {key} ]] && return 1\n    PC_KEY=''",
                       "strategies": [name for name, keys in consumed.items() if key in keys]})
    return listed


def exercised(catalog, key: str) -> bool:
    """Whether any recipe fetches through the key's route (a dropped key nothing uses cannot be caught)."""
    owner = catalog.credential_owner.get(key, key)
    return any(owner in routes_used(catalog, recipe, strategy) or owner in catalog.strategies[strategy].image_keys
               for strategy, recipe in recipes().items())


def candidates(matrix, fault: dict) -> list:
    """The scenarios of the fault's strategies; for a dropped key, those that set it come first (an image
    override is only checked by the override scenarios). Only the order changes, never the set."""
    chosen = [s for s in matrix if s.strategy in fault["strategies"]]
    key = fault.get("key")
    return sorted(chosen, key=lambda s: not any(k.split(".", 1)[-1] == key for k, _ in s.config.keys))


def apply(fault: dict, preamble: Path) -> bool:
    """Edit the copy; False when the preamble no longer has the text the fault changes."""
    path = preamble / fault["file"]
    text = path.read_text()
    if fault["find"] not in text:
        return False
    path.write_text(text.replace(fault["find"], fault["replace"]))
    return True


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", help="run one fault by name")
    args = parser.parse_args()
    from harness.stack import content
    from harness.stack.stack import AirgapStack

    catalog = load_catalog()
    matrix = load([ROOT / "scenarios"], catalog, recipes())  # scenario files (leaks first) and the generated matrix
    chosen = [f for f in faults(catalog) if args.only in (None, f["name"])]
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
            shutil.copytree(ROOT / "preamble", preamble)
            if not apply(fault, preamble):
                print(f"{fault['name']:<40} NOT APPLIED: {fault['find']!r} is not in {fault['file']}", flush=True)
                continue
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
