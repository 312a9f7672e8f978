"""Run scenarios on air-gap stacks: the main job behind `airgap run`, `tox -e airgap` and `airgap repro`.

A scenario reconfigures its stack's mirrors (routes, credentials), so two scenarios never share a stack at
the same time; `jobs` stacks run side by side instead, each taking the next scenario from one queue.
"""

import os
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path

from harness.contract.catalog import Catalog
from harness.scenarios.steps import Outcome, run_scenario
from harness.scenarios.model import Scenario
from harness.stack.identity import sigterm_as_interrupt



def default_jobs() -> int:
    """Two stacks side by side, one on a single core: builds are CPU-bound (measured: benchmarks/matrix.py)."""
    return 2 if (os.cpu_count() or 1) > 1 else 1


def run_all(catalog: Catalog, scenarios: list[Scenario], preamble: Path, progress=None,
            jobs: int = 1) -> list[Outcome]:
    """Build the images that are missing, bring `jobs` stacks up, prove each one's isolation, run every
    scenario once, take them down.

    Outcomes come back in the order of `scenarios`. Ctrl-C or SIGTERM stops handing out scenarios; each
    stack finishes the one it runs and is removed. `progress` hears each image build as it starts and ends
    (on a fresh machine the longest phase) and one line on the images, then each stack and scenario.
    """
    from harness.infra import images
    from harness.stack import content
    from harness.stack.stack import AirgapStack

    projects = content.build().projects
    pending = list(enumerate(scenarios))
    outcomes: list[Outcome | None] = [None] * len(scenarios)
    lock, stopping = threading.Lock(), threading.Event()
    say = progress or (lambda line: None)

    def next_scenario():
        with lock:
            return None if stopping.is_set() or not pending else pending.pop(0)

    def worker() -> None:
        with AirgapStack(catalog=catalog) as stack:
            say(f"stack {stack.run_id} up; isolation self-test:\n{stack.isolation_report.summary()}")
            while (item := next_scenario()) is not None:
                index, scenario = item
                started = time.monotonic()
                outcome = run_scenario(stack, scenario, catalog, preamble, projects)
                with lock:
                    outcomes[index] = outcome
                    done = sum(o is not None for o in outcomes)
                verdict = "ok" if outcome.passed else "FAILED"
                lines = [f"[{done}/{len(scenarios)}] {scenario.name}: {verdict} ({time.monotonic() - started:.1f}s)"]
                say("\n".join(lines + [f"      {problem}" for problem in outcome.problems]))

    previous = sigterm_as_interrupt()
    try:
        # here, once, before the stacks: each stack would otherwise build them itself, silently
        images.ensure_images(progress=say)
        stacks = max(1, min(jobs, len(scenarios)))
        with ThreadPoolExecutor(max_workers=stacks) as pool:
            futures = [pool.submit(worker) for _ in range(stacks)]
            try:
                done, _ = wait(futures, return_when=FIRST_EXCEPTION)
                if any(future.exception() is not None for future in done):
                    stopping.set()  # one stack failing stops the others' queue too
                for future in futures:
                    future.result()
            except BaseException:
                stopping.set()
                raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return [o for o in outcomes if o is not None]


def stderr_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
