"""`airgap run` on real stacks, with step reuse and `--exhaustive` (issue 12, item 1): of two scenarios that
share a step, the second takes it from the first, says so, and ends with the evidence and verdict an
exhaustive run gives it."""

import json
import os

from helpers import airgap

ENV = dict(os.environ, TESTCONTAINERS_RYUK_DISABLED="true")
# Two customer npm projects built as buildpack with one configuration: their pulls (of the builder, lifecycle, run
# and Node.js runtime images) have one key each; their npm steps differ (other project files). (A webapp pair one
# image-node-ref apart shares nothing since the npm step is a podman build FROM that image.)
FIRST, SECOND = "customer-npm-lockfile-v3", "customer-npm-package-json-only"
PULLS = ("pull:buildpacks-builder", "pull:buildpacks-lifecycle", "pull:buildpacks-run", "pull:runtime-nodejs")
SHARED, OWN = "pull:buildpacks-builder", "project:customer-npm"


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
    assert reused[SECOND]["reused"] == {step: {"scenario": FIRST, "step": step} for step in PULLS}
    assert reused[SECOND]["step_keys"][SHARED] == reused[FIRST]["step_keys"][SHARED]
    assert reused[SECOND]["step_keys"][OWN] != reused[FIRST]["step_keys"][OWN]
    assert all(r["reused"] == {} for r in exhaustive.values())
    assert f"same inputs as {FIRST}, step {SHARED}" in (tmp_path / "reuse" / "scenarios.md").read_text()
    hits = [h for h in reused[SECOND]["mirror_hits"] if h["step"] == SHARED]
    assert hits and all(h["reused_from"] == {"scenario": FIRST, "step": SHARED} for h in hits)
    assert f"::airgap-reused-from {FIRST} {SHARED}" in reused[SECOND]["output"]

    for name in (FIRST, SECOND):
        mine, theirs = reused[name], exhaustive[name]
        assert (mine["passed"], mine["build"], mine["failed_steps"]) == (theirs["passed"], theirs["build"], theirs["failed_steps"])
        assert _evidence(mine) == _evidence(theirs), name
    assert _evidence(reused[SECOND], SHARED) == _evidence(exhaustive[SECOND], SHARED) != ([], [])
