"""Step reuse, proved: the matrix run both ways (`airgap run` and `airgap run --exhaustive`), timed and compared.

Both runs must give every scenario the same verdict and the same set of (step, destination, kind, covered-by)
of its egress; anything else is printed, scenario by scenario. Two more checks, printed but not required:
the mirror hits as (step, route, status, auth), and, in the exhaustive run, whether steps of different
scenarios with one key (harness/scenarios/step_keys.py) had the same evidence there (what reuse assumes).

Run: python benchmarks/reuse.py [--strategy S] [--jobs N] [--report-dir DIR]   # both runs, reports in DIR/*
     python benchmarks/reuse.py --compare REUSE_DIR EXHAUSTIVE_DIR              # two report directories
"""

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _records(source) -> list[dict]:
    """Outcome records: a report directory's scenarios.json, or records already made."""
    if isinstance(source, (str, Path)):
        return json.loads((Path(source) / "scenarios.json").read_text())
    return source


def _egress(record: dict, step: str | None = None) -> set[tuple]:
    return {(e["step"], e["destination"], e["kind"], e["covered_by"]) for e in record["egress"]
            if step is None or e["step"] == step}


def _hits(record: dict, step: str | None = None) -> set[tuple]:
    return {(h["step"], h["route"], h["status"], h["auth"]) for h in record["mirror_hits"]
            if step is None or h["step"] == step}


def compare(reused, exhaustive) -> dict:
    """Differences between two runs' outcome records: `required` (verdicts and egress sets; must be empty)
    and `hits` (mirror hits; informational), each a list of lines."""
    a = {r["scenario"]: r for r in _records(reused)}
    b = {r["scenario"]: r for r in _records(exhaustive)}
    required, hits = [], []
    for name in sorted(set(a) ^ set(b)):
        required.append(f"{name}: only in the {'reusing' if name in a else 'exhaustive'} run")
    for name in [n for n in b if n in a]:
        x, y = a[name], b[name]
        # a scenario that took no step ran as in an exhaustive run: a difference there is the runs' own variance
        note = "" if x.get("reused") else " (it took no step from another: not caused by reuse)"
        verdict = lambda r: ("passed" if not r["problems"] else "FAILED", r["build"])  # noqa: E731
        if verdict(x) != verdict(y):
            required.append(f"{name}: {'/'.join(verdict(x))} with reuse, {'/'.join(verdict(y))} exhaustive{note}")
        if x["failed_steps"] != y["failed_steps"]:
            required.append(f"{name}: failed steps {x['failed_steps']} with reuse, {y['failed_steps']} exhaustive{note}")
        if _egress(x) != _egress(y):
            required.append(f"{name}: egress only with reuse {sorted(_egress(x) - _egress(y))}, "
                            f"only exhaustive {sorted(_egress(y) - _egress(x))}{note}")
        if _hits(x) != _hits(y):
            hits.append(f"{name}: mirror hits only with reuse {sorted(_hits(x) - _hits(y))}, "
                        f"only exhaustive {sorted(_hits(y) - _hits(x))}")
    return {"required": required, "hits": hits}


def key_consistency(records) -> tuple[int, list[str]]:
    """In one run (an exhaustive one), the keys held by steps of two or more scenarios that ran them, and each
    such key whose steps' evidence (failed or not, egress, mirror hits) differs between them."""
    holders = defaultdict(list)
    for record in _records(records):
        for step, key in record.get("step_keys", {}).items():
            ran = f"::airgap-step {step} " in record["output"]  # not after a failed preamble
            if ran and step not in record.get("reused", {}):
                holders[key].append((record, step))
    shared = {key: steps for key, steps in holders.items() if len(steps) > 1}
    problems = []
    for key, steps in shared.items():
        seen = {}
        for record, step in steps:
            evidence = (step in record["failed_steps"], frozenset(_egress(record, step)), frozenset(_hits(record, step)))
            seen.setdefault(evidence, []).append(record["scenario"])
        if len(seen) > 1:
            step = steps[0][1]
            problems.append(f"key {key} ({step}): " + " vs ".join(
                f"{', '.join(names)}: failed={ev[0]} egress={sorted(ev[1])} hits={sorted(ev[2])}"
                for ev, names in seen.items()))
    return len(shared), problems


def report(reuse_records, exhaustive_records, times: dict | None = None) -> bool:
    """Print the figures and the comparison; True when the required comparison is identical."""
    reuse_records, exhaustive_records = _records(reuse_records), _records(exhaustive_records)
    steps = sum(len(r.get("step_keys", {})) for r in reuse_records)
    reused = sum(len(r.get("reused", {})) for r in reuse_records)
    for mode, records in (("reuse", reuse_records), ("exhaustive", exhaustive_records)):
        failed = sum(bool(r["problems"]) for r in records)
        wall = f"{times[mode]:.0f} s wall (stacks included)" if times else "wall time not measured here"
        print(f"{mode:>10}: {len(records)} scenarios, {failed} failed, {sum(r['seconds'] for r in records):.0f} s of "
              f"builds, {wall}")
    print(f"reuse: {reused} of {steps} steps taken from a step with the same inputs")
    if times:
        print(f"speed-up: x{times['exhaustive'] / times['reuse']:.2f} wall")
    differences = compare(reuse_records, exhaustive_records)
    if differences["required"]:
        print(f"comparison: {len(differences['required'])} difference(s) in verdicts or egress:")
        for line in differences["required"]:
            print(f"  {line}")
    else:
        print(f"comparison: identical (every verdict and every (step, destination, kind, covered-by) set of "
              f"{len(exhaustive_records)} scenarios)")
    print("mirror hits (step, route, status, auth): "
          + ("identical" if not differences["hits"] else f"{len(differences['hits'])} scenario(s) differ"))
    for line in differences["hits"]:
        print(f"  {line}")
    shared, inconsistent = key_consistency(exhaustive_records)
    print(f"keys in the exhaustive run: {shared} held by steps of two or more scenarios, "
          f"{len(inconsistent)} of them with differing evidence")
    for line in inconsistent:
        print(f"  {line}")
    return not differences["required"]


def run_both(scenarios, catalog, preamble: Path, jobs: int, report_dir: Path | None = None,
             progress=None) -> tuple[bool, dict[str, float]]:
    """The scenarios run with reuse, then exhaustively; figures and comparison printed (`progress`: each run's
    progress lines, as `airgap run` prints them). Returns whether they are identical, and each run's seconds."""
    from harness.scenarios import report as reports
    from harness.scenarios.batch import run_all

    times, records = {}, {}
    for mode in ("reuse", "exhaustive"):
        started = time.monotonic()
        outcomes = run_all(catalog, scenarios, preamble, progress, jobs=jobs, exhaustive=mode == "exhaustive")
        times[mode] = time.monotonic() - started
        records[mode] = reports.to_records(catalog, scenarios, outcomes)
        if report_dir is not None:
            reports.write(report_dir / mode, catalog, scenarios, outcomes)
        print(f"{mode}: {len(scenarios)} scenarios, {jobs} stacks: {times[mode]:.0f} s", flush=True)
    return report(records["reuse"], records["exhaustive"], times), times


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("REUSE_DIR", "EXHAUSTIVE_DIR"))
    parser.add_argument("--strategy", help="only this strategy's scenarios (default: the whole matrix)")
    parser.add_argument("--jobs", type=int, default=None, help="stacks side by side (default: as airgap run)")
    parser.add_argument("--report-dir", type=Path, default=None, help="write each run's reports to DIR/reuse, DIR/exhaustive")
    parser.add_argument("--progress", action="store_true", help="print each run's progress on stderr")
    args = parser.parse_args()
    if args.compare:
        return 0 if report(*args.compare) else 1
    from harness.contract.catalog import load_catalog
    from harness.scenarios.batch import default_jobs, stderr_progress
    from harness.scenarios.model import load
    from harness.scenarios.recipes import recipes

    catalog = load_catalog()
    scenarios = [s for s in load([ROOT / "scenarios"], catalog, recipes()) if args.strategy in (None, s.strategy)]
    identical, _ = run_both(scenarios, catalog, ROOT / "preamble", args.jobs or default_jobs(), args.report_dir,
                            stderr_progress if args.progress else None)
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
