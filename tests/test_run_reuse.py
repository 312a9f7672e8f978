"""`airgap run` on real stacks, with step reuse and `--exhaustive` (issue 12, item 1): of two scenarios that
share a step, the second takes it from the first, says so, and ends with the evidence and verdict an
exhaustive run gives it."""

import json
import os

from helpers import airgap

ENV = dict(os.environ, TESTCONTAINERS_RYUK_DISABLED="true")
# Both webapp, one configuration apart: an image-node-ref. Their npm steps have one key; the pulls differ.
FIRST, SECOND = "ts-webapp-node-override", "ts-webapp-node18"


def _run(directory, *args) -> dict:
    result = airgap("run", "--jobs", "1", *args, f"scenarios/{FIRST}", f"scenarios/{SECOND}", "--report-dir", directory,
                    env=ENV, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {r["scenario"]: r for r in json.loads((directory / "scenarios.json").read_text())}


def _evidence(record: dict, step: str | None = None) -> tuple:
    in_step = lambda e: step is None or e["step"] == step  # noqa: E731
    return (sorted({(e["step"], e["destination"], e["kind"], e["covered_by"]) for e in record["egress"] if in_step(e)}, key=str),
            sorted({(h["step"], h["route"], h["status"], h["auth"]) for h in record["mirror_hits"] if in_step(h)}, key=str))


def test_the_second_scenario_takes_the_shared_step_and_ends_as_an_exhaustive_run_ends(docker_client, tmp_path):
    reused = _run(tmp_path / "reuse")
    exhaustive = _run(tmp_path / "exhaustive", "--exhaustive")

    assert reused[FIRST]["reused"] == {}
    assert reused[SECOND]["reused"] == {"project:npm": {"scenario": FIRST, "step": "project:npm"}}
    assert reused[SECOND]["step_keys"]["project:npm"] == reused[FIRST]["step_keys"]["project:npm"]
    assert reused[SECOND]["step_keys"]["pull:node"] != reused[FIRST]["step_keys"]["pull:node"]
    assert all(r["reused"] == {} for r in exhaustive.values())
    assert "same inputs as ts-webapp-node-override, step project:npm" in (tmp_path / "reuse" / "scenarios.md").read_text()
    hits = [h for h in reused[SECOND]["mirror_hits"] if h["step"] == "project:npm"]
    assert hits and all(h["reused_from"] == {"scenario": FIRST, "step": "project:npm"} for h in hits)
    assert "::airgap-reused-from ts-webapp-node-override project:npm" in reused[SECOND]["output"]

    for name in (FIRST, SECOND):
        mine, theirs = reused[name], exhaustive[name]
        assert (mine["passed"], mine["build"], mine["failed_steps"]) == (theirs["passed"], theirs["build"], theirs["failed_steps"])
        assert _evidence(mine) == _evidence(theirs), name
    assert _evidence(reused[SECOND], "project:npm") == _evidence(exhaustive[SECOND], "project:npm") != ([], [])
