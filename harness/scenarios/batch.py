"""Run scenarios on air-gap stacks: the main job behind `airgap run`, `tox -e airgap` and `airgap repro`.

A scenario reconfigures its stack's mirrors (routes, credentials), so two scenarios never share a stack at
the same time; `jobs` stacks run side by side instead, each taking the next scenario from one queue.
Unless `exhaustive`, a step whose inputs equal those of a step already run is not run again: its evidence
is taken from that step (harness/scenarios/reuse.py), and the queue hands a scenario out only once every
step it would take is in, or is its own to run (reuse.Schedule).
"""

import os
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path

from harness.contract.catalog import Catalog
from harness.scenarios.model import Scenario
from harness.scenarios.reuse import Schedule, StepReuse
from harness.scenarios.step_keys import RunInputs
from harness.scenarios.steps import Outcome, predicted_keys, run_scenario
from harness.stack.identity import sigterm_as_interrupt


# One stack's memory at its peak, with headroom: benchmarks/stacks.py sampled 476-576 MiB per stack (docker stats
# every 5 s, so a JVM's short spike can be missed) for the whole matrix with 1, 2 and 3 stacks on 2 cores.
STACK_MEMORY_MIB = 1024


def default_jobs(cores: int | None = None, available_mib: int | None = None) -> int:
    """One stack per core, no more than the available memory holds. Measured on 2 cores (benchmarks/stacks.py,
    the 103-scenario matrix, warm): 1 stack 282 s, 2 stacks 250 s, 3 stacks 254 s: builds are CPU-bound, so a
    stack beyond the cores only adds contention."""
    cores = cores or os.cpu_count() or 1
    available_mib = available_mib if available_mib is not None else _available_mib()
    by_memory = max(1, available_mib // STACK_MEMORY_MIB) if available_mib else cores
    return max(1, min(cores, by_memory))


def _available_mib() -> int | None:
    """MemAvailable of /proc/meminfo in MiB, None where there is none (not Linux)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            text = meminfo.read(65536)
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    return None


def run_all(catalog: Catalog, scenarios: list[Scenario], preamble: Path, progress=None,
            jobs: int = 1, exhaustive: bool = False) -> list[Outcome]:
    """Build the images that are missing, bring `jobs` stacks up, prove each one's isolation, run every
    scenario once (every step of it with `exhaustive`, else the steps whose evidence the run does not have
    yet), take them down.

    Outcomes come back in the order of `scenarios`. Ctrl-C or SIGTERM stops handing out scenarios; each
    stack finishes the one it runs and is removed. `progress` hears each image build as it starts and ends
    (on a fresh machine the longest phase) and one line on the images, then each stack and scenario.
    """
    from harness.infra import images, paths
    from harness.stack import content
    from harness.stack.stack import AirgapStack

    served = content.with_standins(s for scenario in scenarios if scenario.customer for s in scenario.customer.standins)
    projects = served.projects
    outcomes: list[Outcome | None] = [None] * len(scenarios)
    lock, stopping = threading.Lock(), threading.Event()
    say = progress or (lambda line: None)
    schedule: Schedule | None = None
    reuse: StepReuse | None = None

    def worker() -> None:
        with AirgapStack(catalog=catalog, served_content=served) as stack:
            say(f"stack {stack.run_id} up; isolation self-test:\n{stack.isolation_report.summary()}")
            while (index := schedule.take(stopping)) is not None:
                scenario = scenarios[index]
                started = time.monotonic()
                try:
                    outcome = run_scenario(stack, scenario, catalog, preamble, projects, reuse)
                finally:
                    schedule.done(index)
                with lock:
                    outcomes[index] = outcome
                    done = sum(o is not None for o in outcomes)
                verdict = "ok" if outcome.passed else "FAILED"
                reused = f", {len(outcome.reused)} of {len(outcome.step_keys)} steps reused" if outcome.reused else ""
                if schedule.keys[index] and [k[:16] for k in schedule.keys[index]] != list(outcome.step_keys.values()):
                    reused += "; its step keys differ from those it was scheduled by"  # a bug: reuse stays sound
                lines = [f"[{done}/{len(scenarios)}] {scenario.name}: {verdict} ({time.monotonic() - started:.1f}s{reused})"]
                say("\n".join(lines + [f"      {problem}" for problem in outcome.problems]))

    previous = sigterm_as_interrupt()
    try:
        # here, once, before the stacks: each stack would otherwise build them itself, silently
        tags = images.ensure_images(progress=say)
        inputs = RunInputs.collect(catalog, preamble, projects, tags, paths.fixtures_dir() / "dockerfiles")
        reuse = StepReuse(inputs, exhaustive=exhaustive)
        schedule = Schedule([[] if exhaustive else _keys_of(catalog, s, inputs) for s in scenarios], reuse)
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
    if reuse is not None and not exhaustive and len(scenarios) > 1:
        ran = [o for o in outcomes if o is not None]
        say(f"steps: {sum(len(o.reused) for o in ran)} of {sum(len(o.step_keys) for o in ran)} taken from a step with "
            f"the same inputs ({reuse.refused} refused; `airgap run --exhaustive` runs every step)")
    return [o for o in outcomes if o is not None]


def _keys_of(catalog: Catalog, scenario: Scenario, inputs: RunInputs) -> list[str]:
    """The scenario's predicted step keys; none when they cannot be predicted (its run reports why)."""
    try:
        return [key.key for key in predicted_keys(catalog, scenario, inputs) if key is not None]
    except Exception:  # noqa: BLE001 - the scenario's own run raises it where it can be reported
        return []


_PRINTING = threading.Lock()


def stderr_progress(line: str) -> None:
    """One progress line on stderr, whole: the stacks report from their own threads, and print() writes a line
    and its newline separately, so two stacks' lines could run together."""
    with _PRINTING:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
