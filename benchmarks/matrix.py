"""Figures for the scenario matrix: whole-matrix time on a warm stack, and the harness's per-scenario overhead.

Overhead: each sampled scenario runs once through the harness (`run_scenario`: config materialised, mirrors
reconfigured, build, evidence parsed and judged) and once as the bare build script in the same already
configured stack (`stack.run`). `--whole` runs the whole matrix twice, with step reuse and exhaustively, and
compares them (benchmarks/reuse.py). Targets on 2 cores (issue 12): whole matrix under 90 s warm with
reuse and the same verdicts and egress as exhaustively, overhead under 1.5x.

Run: python benchmarks/matrix.py [--sample N] [--whole [--jobs N]]
"""

import argparse
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.contract.catalog import load_catalog  # noqa: E402
from harness.scenarios.batch import default_jobs  # noqa: E402
from harness.scenarios.steps import PLATFORM_LOGIN_ENV, build_script, builder_files, handoff_command, run_scenario  # noqa: E402
from harness.scenarios.recipes import recipes  # noqa: E402
from harness.scenarios.model import dockerfile_stage, load  # noqa: E402

WHOLE_MATRIX_TARGET_S = 90  # issue 12, item 2: warm, with step reuse, on 2 cores
OVERHEAD_TARGET = 1.5  # harness time / bare build time per scenario


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sample", type=int, default=6, help="scenarios timed both ways")
    parser.add_argument("--whole", action="store_true", help="also time the whole matrix")
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="stacks side by side for --whole")
    args = parser.parse_args()
    from harness.stack import content
    from harness.stack.stack import AirgapStack

    catalog = load_catalog()
    scenarios = load([ROOT / "scenarios"], catalog, recipes())
    sample = [s for s in scenarios if s.name.endswith("/full-global")][: args.sample]
    projects = content.build().projects
    preamble = ROOT / "preamble"
    started = time.monotonic()
    with AirgapStack() as stack:
        print(f"warm stack start (with isolation self-test): {time.monotonic() - started:.1f} s")
        ratios = []
        for scenario in sample:
            t0 = time.monotonic()
            run_scenario(stack, scenario, catalog, preamble, projects)
            harness_s = time.monotonic() - t0
            with tempfile.TemporaryDirectory() as tmp:
                config = scenario.config.materialize(Path(tmp) / "cfg")
                # the same steps as the build command runs them (hand-off runners, podman build), without the harness
                script = build_script(scenario.strategy, recipes()[scenario.strategy],
                                      handoff_command(catalog, scenario.strategy),
                                      dockerfile_stage(catalog, scenario.strategy))
                t0 = time.monotonic()
                stack.run(f"bash -c {shlex.quote(script)}", proxy_config=config, env=PLATFORM_LOGIN_ENV,
                          files=builder_files(preamble, projects))
                direct_s = time.monotonic() - t0
            ratios.append(harness_s / direct_s)
            print(f"{scenario.name:<28} harness {harness_s:5.1f} s   direct {direct_s:5.1f} s   x{ratios[-1]:.2f}")
        if ratios:
            worst = max(ratios)
            print(f"overhead: median x{statistics.median(ratios):.2f}, worst x{worst:.2f} "
                  f"(target < {OVERHEAD_TARGET}: {'met' if worst < OVERHEAD_TARGET else 'NOT met'})")
    if args.whole:
        # the whole job as `airgap run` does it (stacks started, images warm), with step reuse and then with
        # --exhaustive, compared: benchmarks/reuse.py
        from reuse import run_both

        identical, seconds = run_both(scenarios, catalog, preamble, args.jobs)
        met = "met" if seconds["reuse"] < WHOLE_MATRIX_TARGET_S else "NOT met"
        print(f"whole matrix ({len(scenarios)} scenarios, {args.jobs} stacks): {seconds['reuse']:.0f} s with reuse "
              f"(target < {WHOLE_MATRIX_TARGET_S} s: {met}), exhaustive comparison {'identical' if identical else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
