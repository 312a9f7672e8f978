"""Shards of a scenario run (`airgap run --shard K/N`) and their merge (`airgap report merge`).

A selection of scenarios (in the order the loader gives them) is split into N shards the same way on every
machine: greedy longest-processing-time assignment, as pytest-split's "least_duration" algorithm does. Every
scenario gets its duration from a previous scenarios.json (its `seconds`; a scenario it does not know gets
the average of those it knows), or 1 each when there is none (a split by count). Taking them longest first,
stable on the selection's order, each goes to the shard with the least total so far (ties: fewer scenarios,
then the lower shard number); each shard then runs its scenarios in the selection's order.

A sharded run writes shard.json beside its reports: the shard, the whole selection and a digest of the plan.
Merging checks that the shards come from one plan, that no scenario is in two of them and none is missing,
and puts the outcome records back in the selection's order, so the merged reports are those one run writes.
"""

import hashlib
import heapq
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from harness.infra.errors import UsageError, UserError
from harness.infra.files import read_json_file
from harness.infra.textsafe import printable
from harness.scenarios.report import MAX_REPORT_BYTES, load_records

SHARD_FILE = "shard.json"
SCENARIOS_FILE = "scenarios.json"


@dataclass(frozen=True)
class Shard:
    index: int  # K, from 1
    count: int  # N

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


MAX_SHARDS = 1000  # a split keeps N shards in memory: N is a number of CI machines, not of anything larger


def parse_shard(text: str) -> Shard:
    """`K/N` with 1 <= K <= N <= MAX_SHARDS; ValueError says what is wrong (the caller names the option)."""
    match = re.fullmatch(r"\s*([0-9]{1,9})\s*/\s*([0-9]{1,9})\s*", text)
    if not match:
        raise ValueError(f"{printable(text)!r}: expected K/N, shard K of N (for example 1/3; N at most {MAX_SHARDS})")
    index, count = int(match[1]), int(match[2])
    if count < 1 or not 1 <= index <= count:
        raise ValueError(f"{text!r}: expected K/N with 1 <= K <= N (for example 1/3)")
    if count > MAX_SHARDS:
        raise ValueError(f"{text!r}: at most {MAX_SHARDS} shards")
    return Shard(index, count)


def read_durations(path: Path) -> dict[str, float]:
    """Scenario name -> seconds, from a scenarios.json (a list of outcome records, each with `scenario` and
    `seconds`) or a plain {name: seconds} mapping."""
    try:
        data = read_json_file(path, MAX_REPORT_BYTES)
    except FileNotFoundError:
        raise UsageError(f"--durations {path}: no such file") from None
    except UserError as error:
        raise UsageError(f"durations {error}") from None
    if isinstance(data, dict) and isinstance(data.get("scenarios"), list):
        data = data["scenarios"]
    try:
        pairs = ([(r["scenario"], r["seconds"]) for r in data] if isinstance(data, list) else list(data.items()))
        durations = {str(name): float(seconds) for name, seconds in pairs}
    except (TypeError, KeyError, ValueError, AttributeError):
        raise UsageError(f"durations {path}: expected a scenarios.json (records with `scenario` and `seconds`) "
                         f"or a {{name: seconds}} mapping") from None
    bad = sorted(name for name, seconds in durations.items() if not 0 <= seconds < math.inf)  # also NaN
    if bad:
        raise UsageError(f"durations {path}: negative or not a number of seconds for {', '.join(bad[:5])}")
    return durations


def durations_for(explicit: Path | None, report_dir: Path) -> tuple[dict[str, float] | None, str]:
    """The durations a split uses and where they came from: --durations FILE, else the report directory's
    scenarios.json when a whole run (or a merge) wrote it, else none (a split by count). A shard's own
    scenarios.json knows only its shard: a split from it would differ from the other shards' splits."""
    if explicit is not None:
        return read_durations(explicit), str(explicit)
    previous = report_dir / SCENARIOS_FILE
    if previous.is_file() and not (report_dir / SHARD_FILE).exists():
        try:
            return read_durations(previous), str(previous)
        except UsageError:
            return None, f"none ({previous} is unreadable)"
    if previous.is_file():
        return None, f"none ({previous} is one shard's; give --durations)"
    return None, "none"


def weights(names: list[str], durations: dict[str, float] | None) -> list[float]:
    """Each scenario's weight: its recorded seconds, the average of the known ones when it has none, 1 each
    without durations."""
    known = [durations[n] for n in names if n in durations] if durations else []
    if not known:
        return [1.0] * len(names)
    average = sum(known) / len(known)
    return [durations.get(n, average) for n in names]


def split(names: list[str], count: int, durations: dict[str, float] | None = None) -> list[list[str]]:
    """`count` shards of `names` (each name once, in the selection's order within a shard), balanced by
    longest-processing-time: the largest weight first, each onto the shard with the least total."""
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise UsageError(f"scenario(s) selected twice: {', '.join(twice)}; a shard plan needs each scenario once")
    weight = weights(names, durations)
    order = sorted(range(len(names)), key=lambda i: weight[i], reverse=True)  # stable: ties keep the selection order
    heap = [(0.0, 0, shard) for shard in range(count)]  # (total weight, scenarios, shard): the least first
    members: list[list[int]] = [[] for _ in range(count)]
    for i in order:
        total, size, shard = heapq.heappop(heap)
        members[shard].append(i)
        heapq.heappush(heap, (total + weight[i], size + 1, shard))
    return [[names[i] for i in sorted(shard)] for shard in members]


def plan_digest(names: list[str], count: int, durations: dict[str, float] | None) -> str:
    """What decides every shard's members: the selection, N and the weights. Equal on every shard of one plan."""
    text = json.dumps({"count": count, "names": names, "weights": weights(names, durations)})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_inputs(catalog, preamble_dir: Path) -> dict[str, str | None]:
    """What every shard of one run must share besides its plan, by content (not by path: shards run on other
    machines): the catalog, the platform profile, the platform registry and the preamble. Merging shards that
    differ in them would mix two runs' verdicts in one report."""
    from harness.scenarios.step_keys import directory_digest

    return {**catalog_inputs(catalog), "preamble": directory_digest(preamble_dir)[:16]}


def catalog_inputs(catalog) -> dict[str, str | None]:
    """The run inputs that decide the reports' catalog (its strategies, keys and support matrix): the merge's own
    catalog must be the shards'."""
    from harness.contract import catalog as catalog_module

    catalog_text = Path(catalog_module.__file__).with_name("catalog.yaml").read_bytes()
    return {"catalog": hashlib.sha256(catalog_text).hexdigest()[:16],
            "profile": hashlib.sha256(catalog.profile.text.encode()).hexdigest()[:16] if catalog.profile else None,
            "choreo_registry": catalog.choreo_registry}


def shard_record(shard: Shard, names: list[str], durations: dict[str, float] | None, source: str,
                 inputs: dict | None = None) -> dict:
    """shard.json of one shard's report directory; `inputs`: run_inputs()."""
    members = split(names, shard.count, durations)[shard.index - 1]
    return {"shard": str(shard), "index": shard.index, "count": shard.count, "plan": plan_digest(names, shard.count, durations),
            "durations": source, "inputs": inputs or {}, "selection": names, "scenarios": members}


def write_shard(report_dir: Path, record: dict | None) -> Path | None:
    """shard.json beside a shard's reports; with None (a whole run's reports) remove a stale one."""
    path = report_dir / SHARD_FILE
    if record is None:
        path.unlink(missing_ok=True)
        return None
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def describe(shard: Shard, names: list[str], durations: dict[str, float] | None, source: str) -> str:
    """One line for the run's progress: what this shard runs, of how much, split how."""
    shards = split(names, shard.count, durations)
    weight = dict(zip(names, weights(names, durations)))
    mine = shards[shard.index - 1]
    head = f"shard {shard}: {len(mine)} of {len(names)} scenarios"
    if durations:
        totals = [sum(weight[n] for n in s) for s in shards]
        return (f"{head}, split by the durations in {source}: ~{totals[shard.index - 1]:.0f} s of "
                f"~{sum(totals):.0f} s, the longest shard ~{max(totals):.0f} s")
    return (f"{head}, split by count (shards of {min(map(len, shards))} to {max(map(len, shards))}; "
            f"durations: {source})")


# --- merge ---------------------------------------------------------------------------------------------------

def _read_json(path: Path, what: str):
    try:
        return read_json_file(path, MAX_REPORT_BYTES)
    except FileNotFoundError:
        raise UserError(f"{path.parent}: no {path.name}: {what}") from None


def _shard_meta(directory: Path, meta) -> dict:
    """shard.json as shard_record writes it, or an error naming the file: its fields decide the merge."""
    where = directory / SHARD_FILE
    if not isinstance(meta, dict) or not {"plan", "index", "count", "selection"} <= meta.keys():
        raise UserError(f"{where}: not a shard record (plan, index, count, selection)")
    selection = meta["selection"]
    counts = [meta["index"], meta["count"]]
    if (not isinstance(meta["plan"], str) or any(type(n) is not int for n in counts)
            or not isinstance(meta.get("inputs", {}), dict)
            or not 1 <= meta["index"] <= meta["count"] <= MAX_SHARDS
            or not isinstance(selection, list) or not all(isinstance(name, str) for name in selection)
            or len(set(selection)) != len(selection)):
        raise UserError(f"{where}: not a shard record as `airgap run --shard` writes it (plan: text, index and count: "
                        f"1 <= index <= count <= {MAX_SHARDS}, selection: scenario names, each once)")
    return meta


def _names(items: list[str], limit: int = 10) -> str:
    return ", ".join(printable(item) for item in items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")


def merge(directories: list[Path], allow_partial: bool = False, catalog=None) -> tuple[list[dict], list[str]]:
    """The outcome records of shard report directories, in the selection's order, and the scenarios missing
    (only with `allow_partial`; otherwise a missing scenario is an error). Refuses shards of different plans,
    a shard given twice and a scenario in two shards, naming them; and with `catalog` (the merge's, which the
    reports are written with), shards run with another catalog, profile or platform registry."""
    shards = [(d, _read_json(d / SHARD_FILE, "not a shard's reports (written by `airgap run --shard K/N`)"))
              for d in directories]
    shards = [(directory, _shard_meta(directory, meta)) for directory, meta in shards]
    plans = {}
    for directory, meta in shards:
        plans.setdefault(meta["plan"], []).append(directory)
    if len(plans) > 1:
        groups = "; ".join(f"plan {plan}: {', '.join(map(str, dirs))}" for plan, dirs in plans.items())
        raise UserError(f"the shards come from different plans (another selection, shard count or durations): {groups}")
    first_dir, first = shards[0]
    for directory, meta in shards[1:]:
        if (meta["count"], meta["selection"]) != (first["count"], first["selection"]):  # one plan: one of each
            raise UserError(f"{directory / SHARD_FILE} and {first_dir / SHARD_FILE} name the same plan but another "
                            "shard count or selection: a shard record edited by hand?")
        differ = sorted(name for name in set(first.get("inputs") or {}) | set(meta.get("inputs") or {})
                        if (first.get("inputs") or {}).get(name) != (meta.get("inputs") or {}).get(name))
        if ("inputs" in first) != ("inputs" in meta):
            older = first_dir if "inputs" not in first else directory
            raise UserError(f"{older / SHARD_FILE} records no run inputs (written by an older airgap), the other shards "
                            "do: run every shard with one airgap")
        if differ:
            raise UserError(f"{first_dir} and {directory} were run with different {', '.join(differ)} "
                            "(catalog, platform profile, platform registry, preamble): their verdicts are of two runs")
    if catalog is not None and isinstance(first.get("inputs"), dict) and first["inputs"]:
        mine = catalog_inputs(catalog)
        differ = sorted(name for name, value in mine.items() if first["inputs"].get(name) != value)
        if differ:
            raise UserError(f"{first_dir / SHARD_FILE}: the shards were run with another {', '.join(differ)} than "
                            "this merge's (catalog, platform profile, platform registry): give merge the --profile "
                            "and --choreo-registry the shards ran with")
    by_index: dict[int, Path] = {}
    for directory, meta in shards:
        if meta["index"] in by_index:
            raise UserError(f"shard {meta['index']}/{meta['count']} given twice: {by_index[meta['index']]} and {directory}")
        by_index[meta["index"]] = directory
    selection = shards[0][1]["selection"]
    position = {name: i for i, name in enumerate(selection)}
    where: dict[str, Path] = {}
    records = []
    for directory, _meta in shards:
        if not (directory / SCENARIOS_FILE).is_file():
            raise UserError(f"{directory}: no {SCENARIOS_FILE}: not a report directory")
        for row in load_records(directory / SCENARIOS_FILE):
            name = row["scenario"]
            if name not in position:
                raise UserError(f"{directory}: scenario {printable(name)} is not in the shards' selection")
            if name in where:
                raise UserError(f"scenario {printable(name)} is in two shards: {printable(where[name])} and "
                                f"{printable(directory)}" if where[name] != directory else
                                f"{printable(directory)}: scenario {printable(name)} is in it twice")
            where[name] = directory
            records.append(row)
    for directory, meta in shards:  # after the scenarios in two shards, which say more
        listed = meta.get("scenarios")
        if isinstance(listed, list) and sorted(map(str, listed)) != sorted(n for n, d in where.items() if d == directory):
            raise UserError(f"{directory}: {SCENARIOS_FILE} holds other scenarios than its {SHARD_FILE} lists")
    missing = [name for name in selection if name not in where]
    if missing and not allow_partial:
        count = shards[0][1]["count"]
        absent = [f"{k}/{count}" for k in range(1, count + 1) if k not in by_index]
        shards_hint = f" (shard(s) {', '.join(absent)} not given)" if absent else ""
        raise UserError(f"{len(missing)} scenario(s) of the selection missing from the shards{shards_hint}: "
                        f"{_names(missing)}; --allow-partial writes the reports without them")
    records.sort(key=lambda row: position[row["scenario"]])
    return records, missing
