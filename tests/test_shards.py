"""`airgap run --shard K/N` and `airgap report merge` without Docker: the split (every scenario in exactly one
shard, the same everywhere, balanced within the LPT bound) and the merge (the reports one run writes)."""

import itertools
import json
import os
import random
import shutil

import pytest

from harness.contract.catalog import load_catalog
from harness.infra import paths
from harness.infra.errors import UsageError, UserError
from harness.scenarios import report, shards
from harness.scenarios.model import load
from harness.scenarios.steps import Egress, Outcome
from harness.scenarios.recipes import recipes
from helpers import airgap

CATALOG = load_catalog()
SELECTION = load([paths.scenarios_dir()], CATALOG, recipes())  # what `airgap run` selects by default, in its order
NAMES = [s.name for s in SELECTION]


def _durations(names, seed):
    rng = random.Random(seed)
    return {n: round(rng.choice([rng.uniform(1, 8), rng.uniform(20, 40)]), 2) for n in names}


def _check_partition(names, parts, count):
    assert len(parts) == count
    flat = [n for part in parts for n in part]
    assert sorted(flat) == sorted(names) and len(flat) == len(set(flat)), "a scenario in no shard or in two"
    for part in parts:  # each shard runs in the selection's order
        assert part == [n for n in names if n in set(part)]


def _lpt_bound(weights, count):
    """Greedy list scheduling: the shard that ends last got its last scenario when it was the least loaded."""
    return sum(weights) / count + max(weights, default=0) * (1 - 1 / count) + 1e-9


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 7, len(NAMES), len(NAMES) + 3])
@pytest.mark.parametrize("with_durations", [False, True])
def test_every_scenario_is_in_exactly_one_shard(count, with_durations):
    durations = _durations(NAMES, count) if with_durations else None
    parts = shards.split(NAMES, count, durations)
    _check_partition(NAMES, parts, count)
    assert parts == shards.split(list(NAMES), count, dict(durations) if durations else None)  # deterministic
    loads = [sum(durations[n] for n in p) if durations else len(p) for p in parts]
    weights = list(durations.values()) if durations else [1.0] * len(NAMES)
    assert max(loads) <= _lpt_bound(weights, count)
    if not durations:  # by count: sizes differ by at most one
        assert max(map(len, parts)) - min(map(len, parts)) <= 1


@pytest.mark.parametrize("seed", range(40))
def test_small_splits_are_within_the_lpt_ratio_of_the_best(seed):
    """LPT's guarantee (Graham): the longest shard is at most (4/3 - 1/(3N)) of the best possible split."""
    rng = random.Random(seed)
    names = [f"s{i}" for i in range(rng.randint(1, 8))]
    count = rng.randint(1, 3)
    durations = {n: float(rng.randint(1, 30)) for n in names}
    parts = shards.split(names, count, durations)
    _check_partition(names, parts, count)
    longest = max(sum(durations[n] for n in p) for p in parts)
    best = min(max(sum(durations[n] for n, s in zip(names, assign) if s == k) for k in range(count))
               for assign in itertools.product(range(count), repeat=len(names)))
    assert longest <= (4 / 3 - 1 / (3 * count)) * best + 1e-9


def test_unknown_scenarios_weigh_the_average_and_no_durations_means_by_count():
    assert shards.weights(["a", "b", "c"], {"a": 10.0, "b": 20.0, "z": 99.0}) == [10.0, 20.0, 15.0]
    assert shards.weights(["a", "b"], None) == shards.weights(["a", "b"], {"z": 3.0}) == [1.0, 1.0]
    # longest first onto the least loaded: 30 | 20, then 10 joins 20 (ties in weight keep the selection order)
    assert shards.split(["a", "b", "c"], 2, {"a": 10.0, "b": 20.0, "c": 30.0}) == [["c"], ["a", "b"]]
    assert shards.split(["a", "b", "c", "d"], 3, {n: 0.0 for n in "abcd"}) == [["a", "d"], ["b"], ["c"]]


def test_a_name_selected_twice_cannot_be_sharded():
    with pytest.raises(UsageError, match="selected twice: a"):
        shards.split(["a", "b", "a"], 2)


@pytest.mark.parametrize("text", ["0/2", "3/2", "1/0", "2", "a/b", "-1/2", "1/2/3", "", "1/99999999999999999999",
                                  "1/1001", "\uff11/\uff13"])
def test_a_bad_shard_is_a_usage_error_naming_the_option(text):
    with pytest.raises(ValueError):
        shards.parse_shard(text)
    result = airgap("run", "--shard", text, "scenarios/ts-scheme-in-oci-url")
    assert result.returncode == 2 and result.stdout == ""
    assert "argument --shard:" in result.stderr and "K/N" in result.stderr, result.stderr


def test_durations_need_a_shard_and_an_existing_file(tmp_path):
    result = airgap("run", "--durations", tmp_path / "none.json", "scenarios/ts-scheme-in-oci-url")
    assert result.returncode == 2 and "--durations" in result.stderr and "--shard" in result.stderr
    result = airgap("run", "--shard", "1/2", "--durations", tmp_path / "none.json", "--report-dir", tmp_path,
                    "scenarios/ts-scheme-in-oci-url")
    assert result.returncode == 2 and f"--durations {tmp_path / 'none.json'}: no such file" in result.stderr
    (tmp_path / "bad.json").write_text("[{\"scenario\": 1}]")
    with pytest.raises(UsageError, match="bad.json"):
        shards.read_durations(tmp_path / "bad.json")


def test_durations_come_from_a_whole_runs_scenarios_json_in_the_report_dir(tmp_path):
    assert shards.durations_for(None, tmp_path) == (None, "none")
    (tmp_path / "scenarios.json").write_text(json.dumps([{"scenario": "a", "seconds": 3.5}]))
    assert shards.durations_for(None, tmp_path) == ({"a": 3.5}, str(tmp_path / "scenarios.json"))
    (tmp_path / "shard.json").write_text("{}")  # one shard's reports: their durations would split differently
    durations, source = shards.durations_for(None, tmp_path)
    assert durations is None and "one shard's" in source
    assert shards.durations_for(tmp_path / "scenarios.json", tmp_path)[0] == {"a": 3.5}  # --durations wins


def test_the_progress_line_says_what_the_shard_runs_and_how_it_was_split():
    assert shards.describe(shards.Shard(2, 2), ["a", "b", "c"], None, "none") == \
        "shard 2/2: 1 of 3 scenarios, split by count (shards of 1 to 2; durations: none)"
    assert shards.describe(shards.Shard(1, 2), ["a", "b", "c"], {"a": 10, "b": 20, "c": 30}, "f.json") == \
        "shard 1/2: 1 of 3 scenarios, split by the durations in f.json: ~30 s of ~60 s, the longest shard ~30 s"


# --- merge --------------------------------------------------------------------------------------------------

def _outcomes(scenarios):
    """Outcomes of every kind the writers show: passed and failed, egress covered and not, mirror hits."""
    outcomes = []
    for i, s in enumerate(scenarios):
        egress = [Egress("registry.npmjs.org", "project:npm", "npm ci", "pkg-npm-url", "tcp", 100.0 + i, "10.0.0.2",
                         443, "tls"), Egress("proxy.golang.org", "preamble", "go", None, "dns", 101.0 + i)] if i % 3 else []
        hits = [{"kind": "oci", "route": "oci-dockerhub-url", "host": "nexus.example.com", "path": "/v2/", "status": 200,
                 "auth": "basic"}] if i % 2 else []
        outcomes.append(Outcome(scenario=s.name, strategy=s.strategy, build="failed" if i % 4 == 1 else "succeeded",
                                failed_steps=["project:npm"] if i % 4 == 1 else [], egress=egress, mirror_hits=hits,
                                resolved_images={"node": "node:18"}, output=f"output of {s.name}\n",
                                problems=["unexpected egress: registry.npmjs.org"] if i % 4 == 1 else [],
                                seconds=1.5 + i % 7))
    return outcomes


def _shard_dirs(tmp_path, records, count, durations=None):
    """What `airgap run --shard K/N` leaves in each shard's report directory."""
    names = [r["scenario"] for r in records]
    dirs = []
    for index in range(1, count + 1):
        meta = shards.shard_record(shards.Shard(index, count), names, durations, "test")
        directory = tmp_path / f"shard-{index}"
        report.write_records(directory, CATALOG, [r for r in records if r["scenario"] in meta["scenarios"]])
        shards.write_shard(directory, meta)
        dirs.append(directory)
    return dirs


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("whole")
    report.write(directory, CATALOG, SELECTION, _outcomes(SELECTION))
    return directory


@pytest.mark.parametrize("count, with_durations", [(1, False), (2, False), (3, True), (5, True)])
def test_merged_shards_are_byte_for_byte_the_whole_runs_reports(whole_run, tmp_path, count, with_durations):
    records = report.load_records(whole_run / "scenarios.json")
    assert [r["scenario"] for r in records] == NAMES and all("families" in r for r in records)
    durations = shards.read_durations(whole_run / "scenarios.json") if with_durations else None
    dirs = _shard_dirs(tmp_path, records, count, durations)
    merged, missing = shards.merge(list(reversed(dirs)))  # the order shards are given in does not matter
    assert missing == [] and merged == records
    written = report.write_records(tmp_path / "merged", CATALOG, merged)
    assert sorted(p.name for p in written) == sorted(report.REPORT_FILES)
    for name in report.REPORT_FILES:
        assert (tmp_path / "merged" / name).read_bytes() == (whole_run / name).read_bytes(), name


def test_report_merge_command_writes_the_whole_runs_reports(whole_run, tmp_path):
    records = report.load_records(whole_run / "scenarios.json")
    dirs = _shard_dirs(tmp_path, records, 3)
    result = airgap("report", "merge", *dirs, "--report-dir", tmp_path / "out")
    failed = sum(1 for r in records if r["problems"])
    assert result.returncode == 1 and f"{len(records) - failed} passed, {failed} failed" in result.stdout  # as run
    for name in report.REPORT_FILES:
        assert (tmp_path / "out" / name).read_bytes() == (whole_run / name).read_bytes(), name
    assert not (tmp_path / "out" / "shard.json").exists()
    again = airgap("report", "merge", *dirs, "--report-dir", dirs[0])
    assert again.returncode == 2 and "is one of the shards' directories" in again.stderr


def test_merge_refuses_missing_and_duplicate_scenarios_naming_them(whole_run, tmp_path):
    records = report.load_records(whole_run / "scenarios.json")
    one, two, three = _shard_dirs(tmp_path, records, 3)
    lost = json.loads((three / "shard.json").read_text())["scenarios"]
    with pytest.raises(UserError, match=r"missing from the shards \(shard\(s\) 3/3 not given\): " + lost[0]):
        shards.merge([one, two])
    merged, missing = shards.merge([one, two], allow_partial=True)
    assert missing == lost and [r["scenario"] for r in merged] == [n for n in NAMES if n not in lost]
    result = airgap("report", "merge", one, two, "--report-dir", tmp_path / "partial")
    assert result.returncode == 1 and "--allow-partial" in result.stderr
    assert not (tmp_path / "partial").exists()
    result = airgap("report", "merge", one, two, "--allow-partial", "--report-dir", tmp_path / "partial")
    assert result.returncode == 1 and f"MISSING {lost[0]}: in no shard" in result.stdout
    assert len(json.loads((tmp_path / "partial" / "scenarios.json").read_text())) == len(NAMES) - len(lost)

    with pytest.raises(UserError, match="shard 2/3 given twice"):
        shards.merge([one, two, two, three])
    stolen = json.loads((one / "scenarios.json").read_text()) + [report.load_records(two / "scenarios.json")[0]]
    (one / "scenarios.json").write_text(json.dumps(stolen))
    with pytest.raises(UserError, match=f"scenario {stolen[-1]['scenario']} is in two shards"):
        shards.merge([one, two, three])


def test_merge_refuses_shards_of_different_plans_and_directories_of_no_shard(whole_run, tmp_path):
    records = report.load_records(whole_run / "scenarios.json")
    by_count = _shard_dirs(tmp_path / "count", records, 2)
    by_time = _shard_dirs(tmp_path / "time", records, 2, shards.read_durations(whole_run / "scenarios.json"))
    with pytest.raises(UserError, match="different plans"):
        shards.merge([by_count[0], by_time[1]])
    with pytest.raises(UserError, match="not a shard's reports"):
        shards.merge([whole_run])


def test_records_from_an_older_scenarios_json_are_refused(tmp_path):
    (tmp_path / "scenarios.json").write_text(json.dumps([{"scenario": "a", "strategy": "webapp"}]))
    with pytest.raises(UserError, match="outcome record a lacks build"):
        report.load_records(tmp_path / "scenarios.json")


def _break_json(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("where, change, expected", [
    ("scenarios.json", lambda d: d[0].update(seconds="12"), "seconds is not what airgap writes"),
    ("scenarios.json", lambda d: d[0].update(egress={}), "egress is not what airgap writes"),
    ("scenarios.json", lambda d: d[0].update(build=None), "build is not what airgap writes"),
    ("scenarios.json", lambda d: d[0].update(families="oci-mirror"), "families is not what airgap writes"),
    ("scenarios.json", lambda d: d[0].update(scenario=["a"]), "is not what airgap writes"),
    ("scenarios.json", lambda d: d[-1].update(egress=[{"destination": 1}]), "egress/0 is not what airgap writes"),
    ("shard.json", lambda d: d.update(plan=[1]), "not a shard record as `airgap run --shard` writes it"),
    ("shard.json", lambda d: d.update(index=[2]), "not a shard record as"),
    ("shard.json", lambda d: d.update(index=7), "not a shard record as"),
    ("shard.json", lambda d: d["selection"].append({"a": 1}), "not a shard record as"),
    ("shard.json", lambda d: d.update(inputs=["catalog"]), "not a shard record as"),
    ("scenarios.json", lambda d: d[0].update(seconds=float("nan")), "NaN is not JSON"),
    ("scenarios.json", lambda d: d[0].update(seconds=float("inf")), "Infinity is not JSON"),
], ids=["seconds-text", "egress-mapping", "build-null", "families-text", "scenario-list", "egress-event",
        "plan-list", "index-list", "index-over-count", "selection-mapping", "inputs-list", "seconds-nan",
        "seconds-infinity"])
def test_merge_refuses_a_shard_edited_out_of_shape_naming_the_file(whole_run, tmp_path, where, change, expected):
    """A record or shard.json of the wrong shape is refused naming the file and the field, never half-merged
    into reports that look whole (a text `families` was accepted and made a wrong support matrix)."""
    dirs = _shard_dirs(tmp_path, report.load_records(whole_run / "scenarios.json"), 3)
    _break_json(dirs[1] / where, change)
    result = airgap("report", "merge", *dirs, "--report-dir", tmp_path / "out")
    assert result.returncode == 1 and str(dirs[1] / where) in result.stderr and expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_merge_and_durations_refuse_a_fifo_and_a_deep_document_without_a_traceback(whole_run, tmp_path):
    dirs = _shard_dirs(tmp_path, report.load_records(whole_run / "scenarios.json"), 2)
    (dirs[1] / "shard.json").unlink()
    os.mkfifo(dirs[1] / "shard.json")  # reading it would block
    result = airgap("report", "merge", *dirs, "--report-dir", tmp_path / "out", timeout=60)
    assert result.returncode == 1 and "shard.json: not a regular file" in result.stderr, result.stderr
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    (dirs[1] / "shard.json").unlink()
    shutil.copy(deep, dirs[1] / "shard.json")
    result = airgap("report", "merge", *dirs, "--report-dir", tmp_path / "out")
    assert result.returncode == 1 and "nested too deeply" in result.stderr and "Traceback" not in result.stderr
    result = airgap("run", "--shard", "1/2", "--durations", deep, "--report-dir", tmp_path / "r",
                    "scenarios/ts-scheme-in-oci-url")
    assert result.returncode == 2 and "nested too deeply" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("report_dir, expected", [("a-file", "exists and is not a directory"),
                                                  ("a-file/sub", "cannot be made")])
def test_a_report_dir_that_cannot_be_one_is_refused_before_anything_runs(tmp_path, report_dir, expected):
    (tmp_path / "a-file").write_text("x")
    # --preamble nowhere: without the check, the run stops at the preamble (a usage error too) and starts nothing
    result = airgap("run", "--report-dir", tmp_path / report_dir, "--preamble", tmp_path / "nowhere",
                    "scenarios/ts-scheme-in-oci-url")
    assert result.returncode == 2 and expected in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_merge_refuses_shards_run_with_another_profile_registry_or_preamble(whole_run, tmp_path):
    """Shards of one plan but of two runs (one with another platform profile, platform registry or preamble) would
    mix two runs' verdicts in one report: shard.json records the run's inputs by content, and merge compares them."""
    records = report.load_records(whole_run / "scenarios.json")
    inputs = shards.run_inputs(CATALOG, paths.preamble_dir())
    assert shards.run_inputs(load_catalog(), paths.preamble_dir()) == inputs  # by content: equal on every machine
    for name, other in [("preamble", shards.run_inputs(CATALOG, paths.preamble_dir() / "platform")),
                        ("choreo_registry", shards.run_inputs(load_catalog(choreo_registry="pdp.example.com"),
                                                              paths.preamble_dir()))]:
        assert other[name] != inputs[name]
        dirs = _shard_dirs(tmp_path / name, records, 2)
        for directory, meta_inputs in zip(dirs, (inputs, other)):
            _break_json(directory / "shard.json", lambda d, i=meta_inputs: d.update(inputs=i))
        with pytest.raises(UserError, match=f"were run with different {name} "):
            shards.merge(dirs)
        _break_json(dirs[1] / "shard.json", lambda d: d.update(inputs=inputs))
        assert shards.merge(dirs)[0] == records
    _break_json(dirs[1] / "shard.json", lambda d: d.pop("inputs"))  # a shard of an older airgap beside a newer one
    with pytest.raises(UserError, match="shard.json records no run inputs"):
        shards.merge(dirs)


def test_merge_refuses_a_catalog_other_than_the_shards(whole_run, tmp_path):
    """The merge writes the support matrix with its own catalog: one of another profile or platform registry than
    the shards ran with would judge their records by other strategies and keys."""
    records = report.load_records(whole_run / "scenarios.json")
    dirs = _shard_dirs(tmp_path, records, 2)
    for directory in dirs:
        _break_json(directory / "shard.json", lambda d: d.update(inputs=shards.run_inputs(CATALOG, paths.preamble_dir())))
    assert shards.merge(dirs, catalog=CATALOG)[0] == records
    with pytest.raises(UserError, match="the shards were run with another choreo_registry than this merge's"):
        shards.merge(dirs, catalog=load_catalog(choreo_registry="pdp.example.com"))
    result = airgap("report", "merge", *dirs, "--report-dir", tmp_path / "out", "--choreo-registry", "pdp.example.com")
    assert result.returncode == 1 and "give merge the --profile and --choreo-registry the shards ran with" in result.stderr
    assert not (tmp_path / "out").exists()


def test_merge_refuses_shard_records_that_contradict_their_plan_or_their_reports(whole_run, tmp_path):
    """Two shard records of one plan with another count or selection, and a scenarios.json that holds other
    scenarios than its shard.json lists, are refused (found by a sweep: merged with exit 0)."""
    records = report.load_records(whole_run / "scenarios.json")
    one, two = _shard_dirs(tmp_path, records, 2)
    meta = json.loads((two / "shard.json").read_text())
    (two / "shard.json").write_text(json.dumps({**meta, "count": 5}))
    with pytest.raises(UserError, match="name the same plan but another shard count or selection"):
        shards.merge([one, two])
    (two / "shard.json").write_text(json.dumps(meta))
    kept = [r for r in report.load_records(two / "scenarios.json")][:-1]
    (two / "scenarios.json").write_text(json.dumps(kept))
    with pytest.raises(UserError, match=r"shard-2: scenarios\.json holds other scenarios than its shard\.json lists"):
        shards.merge([one, two], allow_partial=True)
