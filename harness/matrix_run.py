"""Run scenarios on one air-gap stack: the main job behind `airgap run`, `tox -e airgap` and `airgap repro`."""

import sys
import time
from pathlib import Path

from harness.catalog import Catalog
from harness.runner import Outcome, run_scenario
from harness.scenario import ROOT, Scenario

DEFAULT_PREAMBLE = ROOT / "preamble"


def run_all(catalog: Catalog, scenarios: list[Scenario], preamble: Path, progress=None) -> list[Outcome]:
    """Bring one stack up, prove its isolation, run every scenario on it, take it down."""
    from harness.stack import content
    from harness.stack.stack import AirgapStack

    outcomes = []
    projects = content.build().projects
    with AirgapStack() as stack:
        report = stack.isolation_report
        if progress:
            progress(f"stack {stack.run_id} up; isolation self-test:\n{report.summary()}")
        for index, scenario in enumerate(scenarios, 1):
            started = time.monotonic()
            outcome = run_scenario(stack, scenario, catalog, preamble, projects)
            if progress:
                verdict = "ok" if outcome.passed else "FAILED"
                progress(f"[{index}/{len(scenarios)}] {scenario.name}: {verdict} ({time.monotonic() - started:.1f}s)")
                for problem in outcome.problems:
                    progress(f"      {problem}")
            outcomes.append(outcome)
    return outcomes


def stderr_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
