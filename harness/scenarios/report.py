"""Reports of a scenario run: JSON, JUnit XML, the egress report and the verified support matrix.

The egress report follows the two-part shape of network-policy reports: a summary (each destination, how
often it was tried and its causes) and the full event log; every event carries its cause and fix
(harness/scenarios/causes.py), as the scenario report's rows do. The support matrix is strategies x key
families, each cell verified, failed, not run or not applicable, with the keys no scenario exercised; the one
page a person reads, report.html (harness/scenarios/html_report.py), has it per key, linked to its scenarios.

Every report is written from outcome records: the JSON form of each outcome that scenarios.json holds (plus
the key families and keys the scenario decides, for the support matrices). `write_records` takes them as a run makes them
or as `load_records` reads them back, so merged shards (`airgap report merge`) get the very same writers.
"""

import functools
import json
import os
from collections import Counter
from importlib import resources
from pathlib import Path
from xml.etree import ElementTree

import jsonschema

from harness.contract.catalog import Catalog
from harness.infra.errors import UsageError, UserError
from harness.infra.files import read_json_file
from harness.infra.textsafe import has_lone_surrogate, printable, printable_lines
from harness.infra.yamltext import load_yaml
from harness.customer.project import summary_lines
from harness.scenarios import html_report
from harness.scenarios.causes import UNKNOWN, describe
from harness.scenarios.model import FINDING_VERDICTS, describe_finding

FAMILIES = {"oci-mirror": "OCI mirrors", "image-override": "Image overrides", "package-proxy": "Package proxies"}


RECORD_FIELDS = ("scenario", "strategy", "build", "failed_steps", "egress", "mirror_hits", "output", "problems", "seconds",
                 "families")  # what the writers read from each record


def to_records(catalog: Catalog, scenarios, outcomes) -> list[dict]:
    """Outcome records of a run: each outcome's JSON form, as scenarios.json holds it, plus its scenario's key
    families and keys (what the support matrices need and a record would not know otherwise)."""
    families = {s.name: families_of(catalog, s) for s in scenarios}
    keys = {s.name: html_report.decided_keys(catalog, s) for s in scenarios}
    records = [{**o.to_json(), "families": sorted(families.get(o.scenario, ())), "keys": keys.get(o.scenario, [])}
               for o in outcomes]
    return json.loads(json.dumps(records, default=str))  # exactly what load_records reads back


MAX_REPORT_BYTES = 256 << 20  # a scenarios.json read back (merge, --durations): 3.7 MB for today's 119 scenarios


def load_records(path: Path) -> list[dict]:
    """The outcome records of a scenarios.json, checked against record_schema.yaml (what the writers read)."""
    try:
        records = read_json_file(path, MAX_REPORT_BYTES)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    for record in records if isinstance(records, list) else [None]:
        lacking = [f for f in RECORD_FIELDS if f not in record] if isinstance(record, dict) else list(RECORD_FIELDS)
        if lacking:
            name = record.get("scenario", "?") if isinstance(record, dict) else "?"
            raise UserError(f"{path}: outcome record {_shown(name)} lacks {', '.join(lacking)} (written by an older "
                            "airgap?)")
        wrong = next(iter(sorted(_record_validator().iter_errors(record), key=lambda e: list(e.path))), None)
        if wrong is not None:  # described, never quoted: a record's output or command is the build's
            where = "/".join(map(str, wrong.path)) or "(the record)"
            raise UserError(f"{path}: outcome record {_shown(record['scenario'])}: {where} is not what airgap writes "
                            f"({wrong.validator}: {wrong.validator_value})")
        if _holds_surrogate(record):  # JSON's "\ud800" alone: no text, and no report could be written with it
            raise UserError(f"{path}: outcome record {_shown(record['scenario'])}: holds a lone UTF-16 surrogate "
                            "(\\uD800-\\uDFFF), which is no character")
    return records


def _holds_surrogate(data) -> bool:
    if isinstance(data, str):
        return has_lone_surrogate(data)
    if isinstance(data, dict):
        return any(_holds_surrogate(key) or _holds_surrogate(value) for key, value in data.items())
    return isinstance(data, list) and any(_holds_surrogate(item) for item in data)


def _shown(name) -> str:
    return printable(name) if isinstance(name, str) else "(a scenario name that is not a string)"


@functools.lru_cache(maxsize=1)
def _record_validator():
    schema = load_yaml(resources.files("harness.scenarios").joinpath("record_schema.yaml").read_text())
    return jsonschema.Draft202012Validator(schema)


def _passed(record: dict) -> bool:
    return not record["problems"]


def explained(records) -> list[dict]:
    """The records with each egress event's cause (causes.describe: None for an unknown cause), computed again
    from the event on every write, so reports of older or merged records explain with today's data file."""
    return [{**o, "egress": [{**e, "cause": describe(e)} for e in o["egress"]]} for o in records]


def egress_report(records) -> dict:
    """The summary per destination (with every cause seen for it) and the full event log, each event explained."""
    events = [{"time": e["time"], "scenario": o["scenario"], "strategy": o["strategy"], "step": e["step"],
               "command": e["command"], "destination": e["destination"], "ip": e["ip"], "port": e["port"],
               "protocol": e["protocol"] or e["kind"], "kind": e["kind"], "covered_by": e["covered_by"],
               "cause": describe(e)}
              for o in records for e in o["egress"]]
    counts = Counter(e["destination"] for e in events)
    covering = {e["destination"]: e["covered_by"] for e in events}
    causes: dict[str, list] = {}
    for e in events:
        if e["cause"] not in causes.setdefault(e["destination"], []):
            causes[e["destination"]].append(e["cause"])
    connected = {e["destination"] for e in events if e["kind"] != "dns"}  # the others were only looked up
    summary = [{"destination": d, "count": n, "covered_by": covering[d], "causes": causes[d],
                "lookup_only": d not in connected} for d, n in counts.most_common()]
    return {"summary": summary, "events": events}


def cause_cells(cause: dict | None) -> tuple[str, str]:
    """The cause and fix cells of a Markdown row: the cause linked to its reference, and its one-line fix."""
    if cause is None:
        return UNKNOWN, "-"
    return f"[{cause['id']}]({cause['reference']})", cause["fix"]


def junit_xml(records) -> bytes:
    suite = ElementTree.Element("testsuite", name="airgap-scenarios", tests=str(len(records)),
                                failures=str(sum(not _passed(o) for o in records)),
                                time=f"{sum(o['seconds'] for o in records):.3f}")
    for o in records:  # every text as printable shows it: XML 1.0 holds no control character (an ANSI colour)
        case = ElementTree.SubElement(suite, "testcase", classname=printable(f"airgap.{o['strategy']}"),
                                      name=printable(o["scenario"]), time=f"{o['seconds']:.3f}")
        if not _passed(o):
            failure = ElementTree.SubElement(case, "failure", message=printable(o["problems"][0]))
            finding = describe_finding(o.get("finding"))  # a scenario's verdict and fix (model.Finding)
            failure.text = printable_lines("\n".join(o["problems"] + ([finding] if finding else [])))
        ElementTree.SubElement(case, "system-out").text = printable_lines(o["output"][-20000:])
    return ElementTree.tostring(suite, encoding="utf-8", xml_declaration=True)


def support_matrix(catalog: Catalog, records) -> dict:
    """strategy -> family -> {"state": verified|failed|not applicable|not run, "scenarios": [...]}"""
    matrix = {}
    for name, strategy in catalog.strategies.items():
        row = {}
        supported = {"oci-mirror": strategy.oci_keys, "image-override": strategy.image_keys,
                     "package-proxy": strategy.managers}
        for family in FAMILIES:
            ran = [o for o in records if o["strategy"] == name and family in o["families"]]
            deciding = [o["scenario"] for o in ran]
            if not supported[family]:
                state = "not applicable"
            elif not ran:
                state = "not run"
            else:
                state = "verified" if all(_passed(o) for o in ran) else "failed"
            row[family] = {"state": state, "scenarios": deciding}
        matrix[name] = row
    return matrix


def families_of(catalog: Catalog, scenario) -> set[str]:
    """The key families a scenario's verdict says something about: those of the mirror routes its steps go
    through (a Go-only leak scenario says nothing about OCI mirrors), and image overrides when it checks
    resolved images."""
    from harness.scenarios.steps import scenario_steps
    from harness.scenarios.model import routes_used

    steps = scenario_steps(scenario)
    families = {catalog.keys[key].family for key in routes_used(catalog, steps, scenario.strategy)}
    if scenario.expect.images:
        families.add("image-override")
    return families


def _matrix_markdown(catalog: Catalog, matrix: dict, keys: dict) -> str:
    """Short cells for terminals and pull requests: the state, how many scenarios decided it, and the keys of
    the family no scenario exercised (report.html has the matrix per key, with links)."""
    lines = ["# Verified support matrix", "", "| strategy | " + " | ".join(FAMILIES.values()) + " |",
             "|---|" + "---|" * len(FAMILIES)]
    for strategy, row in matrix.items():
        cells = []
        for family in FAMILIES:
            cell = row[family]
            text = cell["state"] + (f" · {len(cell['scenarios'])}" if cell["scenarios"] else "")
            unexercised = [key for key, k in keys[strategy].items()
                           if k["state"] == "not exercised" and catalog.keys[key].family == family]
            if unexercised and cell["state"] != "not applicable":
                text += f"; not exercised: {', '.join(unexercised)}"
            cells.append(text)
        lines.append(f"| {strategy} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\nreport.html has the matrix per key, each cell linked to its scenarios.\n"


def _findings_markdown(records) -> list[str]:
    """The failed scenarios that carry a finding (model.Finding), one row each: what a platform team reads
    first. Empty when there is none."""
    failed = [o for o in records if not _passed(o) and o.get("finding")]
    if not failed:
        return []
    lines = ["## Findings", "", "| scenario | verdict | fix | problems |", "|---|---|---|---|"]
    for o in failed:
        cells = [FINDING_VERDICTS[o["finding"]["verdict"]], o["finding"]["fix"], *o["problems"]]
        cells = [_md_cell(c) for c in cells]
        lines.append(f"| [{_md_cell(o['scenario'])}](#{html_report.anchor(o['scenario'])}) | " + " | ".join(cells[:2]) + " | "
                     + "<br>".join(cells[2:]) + " |")
    return lines + [""]


def _md_text(text) -> str:
    """Text shown as it is in Markdown, on one line: `<pkg-go-url>` and masked secrets (`<oci-choreo-password>`)
    are not tags, a control character is printable's escape."""
    return printable(str(text)).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _md_cell(text) -> str:
    """A table cell: _md_text with its '|' escaped (else it would split the row)."""
    return _md_text(text).replace("|", "\\|")


def _scenarios_markdown(records) -> str:
    lines = ["# Scenarios", "", *_findings_markdown(records)]
    for o in records:
        failed_steps = o["failed_steps"]
        lines += [f'<a id="{html_report.anchor(o["scenario"])}"></a>', f"## {_md_text(o['scenario'])}: {'passed' if _passed(o) else 'FAILED'}",
                  "", f"build {_md_text(o['build'])}" + (f"; failed steps: {_md_text(', '.join(failed_steps))}"
                                                          if failed_steps else ""), ""]
        if not _passed(o) and o.get("finding"):
            lines += [f"- {_md_text(describe_finding(o['finding']))}"]
        lines += [f"- problem: {_md_text(p)}" for p in o["problems"]]
        lines += [_md_text(line) for line in summary_lines(o.get("project"), "- ")]
        lines += [f"- step {_md_text(step)}: same inputs as {_md_text(source['scenario'])}, step {_md_text(source['step'])} "
                  "(its evidence, not run again)" for step, source in o.get("reused", {}).items()]  # reuse.py
        if o["egress"]:
            lines += ["", "| step | destination | kind | covered by | cause | fix |", "|---|---|---|---|---|---|"]
            rows: dict[tuple, dict] = {}  # (step, destination) -> (covered by, cause, fix) -> kinds, first seen first
            for e in o["egress"]:
                cells = (e["covered_by"] or "no key covers this", *cause_cells(describe(e)))
                kinds = rows.setdefault((e["step"], e["destination"]), {}).setdefault(cells, [])
                if e["kind"] not in kinds:
                    kinds.append(e["kind"])
            for (step, destination), by_cause in rows.items():
                looked_up_only = all(kinds == ["dns"] for kinds in by_cause.values())  # nothing connected
                for (covered, cause, fix), kinds in by_cause.items():
                    kind = "dns (lookup only)" if looked_up_only else ", ".join(kinds)
                    lines.append(f"| {_md_cell(step)} | {_md_cell(destination)} | {_md_cell(kind)} | {_md_cell(covered)} "
                                 f"| {cause} | {_md_cell(fix)} |")
        routes = Counter((h["route"], h["status"], h["auth"]) for h in o["mirror_hits"])
        if routes:
            lines += ["", "| mirror route | status | auth | requests |", "|---|---|---|---|"]
            lines += [f"| {_md_cell(r)} | {_md_cell(s)} | {_md_cell(a)} | {n} |" for (r, s, a), n in sorted(routes.items(), key=str)]
        lines.append("")
    return "\n".join(lines)


def write(report_dir: Path, catalog: Catalog, scenarios, outcomes) -> list[Path]:
    """The reports of a run's outcomes (of `scenarios`) in `report_dir`; the paths written."""
    return write_records(report_dir, catalog, to_records(catalog, scenarios, outcomes))


REPORT_FILES = ("scenarios.json", "scenarios.md", "junit.xml", "egress.json", "support-matrix.json",
                "support-matrix.md", "report.html")


def prepare_report_dir(report_dir: Path) -> None:
    """Make the report directory before anything runs (a whole matrix would otherwise end in an error)."""
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UsageError(f"--report-dir {printable(report_dir)}: exists and is not a directory") from None
    except OSError as error:
        raise UsageError(f"--report-dir {printable(report_dir)}: cannot be made: {error.strerror}") from None
    if not os.access(report_dir, os.W_OK | os.X_OK):
        raise UsageError(f"--report-dir {printable(report_dir)}: not writable")


def write_records(report_dir: Path, catalog: Catalog, records: list[dict]) -> list[Path]:
    """Every report of these outcome records (to_records or load_records) in `report_dir`; the paths written."""
    report_dir.mkdir(parents=True, exist_ok=True)
    records = explained(records)
    matrix = support_matrix(catalog, records)
    files = {
        "scenarios.json": json.dumps(records, indent=2),
        "scenarios.md": _scenarios_markdown(records),
        "junit.xml": junit_xml(records),
        "egress.json": json.dumps(egress_report(records), indent=2),
        "support-matrix.json": json.dumps(matrix, indent=2),
        "support-matrix.md": _matrix_markdown(catalog, matrix, html_report.key_matrix(catalog, records)),
        "report.html": html_report.render(catalog, records),
    }
    paths = []
    for name, content in files.items():
        path = report_dir / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        paths.append(path)
    return paths
