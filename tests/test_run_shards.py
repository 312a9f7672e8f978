"""`airgap run --shard K/N` twice and `airgap report merge`, against one unsharded run, on real stacks (issue 12,
item 3): the merged reports give every scenario the verdict and the egress the unsharded run gives it."""

import json
import os

from helpers import airgap

ENV = dict(os.environ, TESTCONTAINERS_RYUK_DISABLED="true")
# cheap ones (the preamble stops the build, or one npm step does), with and without egress, two strategies
SCENARIOS = ["scenarios/ts-restricted-no-dockerhub-url", "scenarios/ts-scheme-in-oci-url",
             "scenarios/ts-strategy-scoped-only"]


def _run(*args):
    result = airgap("run", "--jobs", "1", *args, *SCENARIOS, env=ENV, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def _verdicts(directory) -> list:
    """Per scenario, in the report's order: the verdict and the set of (step, destination, kind, covered_by)."""
    rows = json.loads((directory / "scenarios.json").read_text())
    return [(r["scenario"], r["passed"], r["build"], r["failed_steps"], r["problems"],
             sorted({(e["step"], e["destination"], e["kind"], e["covered_by"]) for e in r["egress"]}, key=str))
            for r in rows]


def test_two_shards_merged_give_the_unsharded_runs_verdicts_and_egress(docker_client, tmp_path):
    whole = _run("--report-dir", tmp_path / "whole")
    assert "images: " in whole.stderr  # the images phase always says how it went, if only "all present"
    shards = []
    for index in (1, 2):
        result = _run("--shard", f"{index}/2", "--durations", tmp_path / "whole" / "scenarios.json",
                      "--report-dir", tmp_path / f"shard-{index}")
        assert f"shard {index}/2: " in result.stderr
        shards.append(json.loads((tmp_path / f"shard-{index}" / "shard.json").read_text())["scenarios"])
    assert sorted(shards[0] + shards[1]) == sorted(r[0] for r in _verdicts(tmp_path / "whole"))
    assert shards[0] and shards[1]

    merged = airgap("report", "merge", tmp_path / "shard-2", tmp_path / "shard-1", "--report-dir", tmp_path / "merged")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert _verdicts(tmp_path / "merged") == _verdicts(tmp_path / "whole")
    for name in ("support-matrix.json", "support-matrix.md"):  # decided by verdicts alone
        assert (tmp_path / "merged" / name).read_text() == (tmp_path / "whole" / name).read_text()
    events = [{(e["scenario"], e["step"], e["destination"], e["kind"], e["covered_by"])
               for e in json.loads((tmp_path / d / "egress.json").read_text())["events"]} for d in ("merged", "whole")]
    assert events[0] == events[1] and events[1]  # equal, and not for want of egress
