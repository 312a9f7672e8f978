"""Run only what can differ: a step whose inputs equal those of a step already run takes its evidence.

Within one `airgap run`, every recipe step has a key (harness/scenarios/step_keys.py: a hash of exactly what
can change its evidence). When a scenario starts, each of its steps whose key is in the run's cache is
left out of its build script, and its verdict (failed or not), output, trap events and mirror hits are
copied from the step that ran, marked `reused_from: {scenario, step}`; the scenario is judged on all of
it, as if it had run every step. `airgap run --exhaustive` runs every step (keys are still computed and
recorded, so a run can be checked against them: benchmarks/reuse.py).

Which scenario runs a step first is decided by the queue, not by timing: a key belongs to the scenarios
that hold it, in queue order (`Schedule`). A scenario starts only when, for each of its keys, the cache has
the evidence or every earlier holder has finished (so an earlier holder always runs a key first and a
later one waits for it); among the scenarios that may start, the first in the queue does. A stack idles
only when every remaining scenario waits for one still running.

Evidence enters the cache only from a build whose preamble succeeded and that ran to its end, and only for
a step whose mirror hits all went to routes its key holds. It is used only when none of the hosts the step
reached at the trap is a mirror name in the scenario that would reuse it, when the step's output holds no
secret of its source that the reusing scenario does not mask too, and when the live build's preamble
succeeds (otherwise no step runs, as in an exhaustive run). Steps that share state in the builder (a
group, step_keys._group) are taken only after the last step of their group that runs: once a step of a
group runs, every earlier step of its group runs too, so it finds what they leave.
"""

import threading
from dataclasses import dataclass, field, replace

from harness.scenarios.step_keys import RunInputs, StepKey


@dataclass(frozen=True)
class StepEvidence:
    """One step's evidence as it ran: what a later step with its key takes."""

    scenario: str
    step: str
    failed: bool
    section: str  # its part of the build output, unmasked, from its step marker up to the next
    egress: tuple  # steps.Egress attributed to it
    mirror_hits: tuple[dict, ...]
    secrets: frozenset[str]  # the secret values of its scenario (to mask or refuse its section elsewhere)

    @property
    def source(self) -> dict:
        return {"scenario": self.scenario, "step": self.step}

    def trapped_hosts(self) -> set[str]:
        return {event.destination for event in self.egress}

    def copied(self):
        """Its egress and mirror hits, each marked with where it came from."""
        return ([replace(event, reused_from=self.source) for event in self.egress],
                [{**hit, "reused_from": self.source} for hit in self.mirror_hits])


@dataclass
class StepReuse:
    """The run's step cache. `exhaustive`: keys are computed and recorded, nothing is reused or kept."""

    run_inputs: RunInputs
    exhaustive: bool = False
    _cache: dict[str, StepEvidence] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    refused: int = 0  # steps whose key was in the cache but whose evidence this scenario would see differently

    def has(self, key: str) -> bool:
        with self._lock:
            return key in self._cache

    def choose(self, keys: list[StepKey | None], mirror_hosts, secrets: dict[str, str]) -> dict[int, StepEvidence]:
        """The steps (by index) a scenario takes from the cache; every other step runs."""
        taken: dict[int, StepEvidence] = {}
        with self._lock:
            if self.exhaustive:
                return {}
            for index, key in enumerate(keys):
                found = self._cache.get(key.key) if key else None
                if found is None:
                    continue
                unmasked = {value for value in found.secrets if value in found.section} - set(secrets.values())
                if found.trapped_hosts() & set(mirror_hosts) or unmasked:
                    self.refused += 1  # the same inputs, but this scenario would see it differently
                    continue
                taken[index] = found
        for index in [i for i in range(len(keys)) if i not in taken]:  # a step that runs finds what
            # every earlier step of its group left: they run too
            group = keys[index].group if keys[index] else None
            for earlier in range(index):
                if group is not None and keys[earlier] and keys[earlier].group == group:
                    taken.pop(earlier, None)
        return taken

    def keep(self, key: StepKey, evidence: StepEvidence) -> bool:
        """Keep a step's evidence under its key (the first kept stays); False when it may not be reused."""
        if self.exhaustive:
            return False
        if key.routes is not None and any(hit["route"] not in key.routes for hit in evidence.mirror_hits):
            return False  # it reached a route its key does not hold: another scenario's routes could answer
        with self._lock:
            self._cache.setdefault(key.key, evidence)
        return True


class Schedule:
    """Which scenario a stack runs next (see the module docstring): deterministic ownership of keys."""

    def __init__(self, keys: list[list[str]], reuse: StepReuse | None):
        self.keys = keys  # per scenario in queue order: its step keys
        self.reuse = reuse
        self.holders: dict[str, list[int]] = {}
        for index, scenario_keys in enumerate(keys):
            for key in dict.fromkeys(scenario_keys):
                self.holders.setdefault(key, []).append(index)
        self.pending = list(range(len(keys)))
        self.finished: set[int] = set()
        self.condition = threading.Condition()

    def _ready(self, index: int) -> bool:
        if self.reuse is None or self.reuse.exhaustive:
            return True
        for key in self.keys[index]:
            if self.reuse.has(key):
                continue
            if any(holder < index and holder not in self.finished for holder in self.holders[key]):
                return False
        return True

    def take(self, stopping: threading.Event) -> int | None:
        """The next scenario to run (its index), waiting while every remaining one waits; None at the end."""
        with self.condition:
            while not stopping.is_set() and self.pending:
                ready = next((i for i in self.pending if self._ready(i)), None)
                if ready is not None:
                    self.pending.remove(ready)
                    return ready
                self.condition.wait(timeout=1.0)
            return None

    def done(self, index: int) -> None:
        with self.condition:
            self.finished.add(index)
            self.condition.notify_all()
