"""Reports of a scenario run: JSON, JUnit XML, the egress report and the verified support matrix.

The egress report follows the two-part shape of network-policy reports: a summary (each destination and
how often it was tried) and the full event log. The support matrix is strategies x key families, each cell
verified, failed or not applicable, linking to the scenarios that decided it.

Every report is written from outcome records: the JSON form of each outcome that scenarios.json holds (plus
the key families the scenario decides, for the support matrix). `write_records` takes them as a run makes them
or as `load_records` reads them back, so merged shards (`airgap report merge`) get the very same writers.
"""

import html
import json
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree

from harness.contract.catalog import Catalog
from harness.infra.errors import UserError

FAMILIES = {"oci-mirror": "OCI mirrors", "image-override": "Image overrides", "package-proxy": "Package proxies"}


RECORD_FIELDS = ("scenario", "strategy", "build", "failed_steps", "egress", "mirror_hits", "output", "problems", "seconds",
                 "families")  # what the writers read from each record


def to_records(catalog: Catalog, scenarios, outcomes) -> list[dict]:
    """Outcome records of a run: each outcome's JSON form, as scenarios.json holds it, plus its scenario's key
    families (what the support matrix needs and a record would not know otherwise)."""
    families = {s.name: families_of(catalog, s) for s in scenarios}
    records = [{**o.to_json(), "families": sorted(families.get(o.scenario, ()))} for o in outcomes]
    return json.loads(json.dumps(records, default=str))  # exactly what load_records reads back


def load_records(path: Path) -> list[dict]:
    """The outcome records of a scenarios.json, checked for what the writers need."""
    try:
        records = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserError(f"{path}: cannot be read as JSON: {error}") from None
    for record in records if isinstance(records, list) else [None]:
        lacking = [f for f in RECORD_FIELDS if f not in record] if isinstance(record, dict) else list(RECORD_FIELDS)
        if lacking:
            name = record.get("scenario", "?") if isinstance(record, dict) else "?"
            raise UserError(f"{path}: outcome record {name} lacks {', '.join(lacking)} (written by an older airgap?)")
    return records


def _passed(record: dict) -> bool:
    return not record["problems"]


def egress_report(records) -> dict:
    events = [{"time": e["time"], "scenario": o["scenario"], "strategy": o["strategy"], "step": e["step"],
               "command": e["command"], "destination": e["destination"], "ip": e["ip"], "port": e["port"],
               "protocol": e["protocol"] or e["kind"], "kind": e["kind"], "covered_by": e["covered_by"]}
              for o in records for e in o["egress"]]
    counts = Counter(e["destination"] for e in events)
    covering = {e["destination"]: e["covered_by"] for e in events}
    summary = [{"destination": d, "count": n, "covered_by": covering[d]} for d, n in counts.most_common()]
    return {"summary": summary, "events": events}


def junit_xml(records) -> bytes:
    suite = ElementTree.Element("testsuite", name="airgap-scenarios", tests=str(len(records)),
                                failures=str(sum(not _passed(o) for o in records)),
                                time=f"{sum(o['seconds'] for o in records):.3f}")
    for o in records:
        case = ElementTree.SubElement(suite, "testcase", classname=f"airgap.{o['strategy']}", name=o["scenario"],
                                      time=f"{o['seconds']:.3f}")
        if not _passed(o):
            failure = ElementTree.SubElement(case, "failure", message=o["problems"][0])
            failure.text = "\n".join(o["problems"])
        ElementTree.SubElement(case, "system-out").text = o["output"][-20000:]
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


def _matrix_markdown(matrix: dict) -> str:
    lines = ["# Verified support matrix", "", "| strategy | " + " | ".join(FAMILIES.values()) + " |",
             "|---|" + "---|" * len(FAMILIES)]
    for strategy, row in matrix.items():
        cells = []
        for family in FAMILIES:
            cell = row[family]
            links = ", ".join(f"[{n.split('/', 1)[-1]}](scenarios.md#{anchor(n)})" for n in cell["scenarios"])
            cells.append(cell["state"] + (f" ({links})" if links and cell["state"] != "not applicable" else ""))
        lines.append(f"| {strategy} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _matrix_html(matrix: dict) -> str:
    colours = {"verified": "#c8f7c5", "failed": "#f7c5c5", "not applicable": "#eee", "not run": "#f7efc5"}
    rows = []
    for strategy, row in matrix.items():
        cells = "".join(
            f'<td style="background:{colours[row[f]["state"]]}">{html.escape(row[f]["state"])}<br>'
            + " ".join(f'<a href="scenarios.md#{anchor(n)}">{html.escape(n.split("/", 1)[-1])}</a>'
                       for n in row[f]["scenarios"]) + "</td>"
            for f in FAMILIES)
        rows.append(f"<tr><th>{html.escape(strategy)}</th>{cells}</tr>")
    head = "".join(f"<th>{html.escape(t)}</th>" for t in FAMILIES.values())
    return ("<!doctype html><meta charset=utf-8><title>Verified support matrix</title>"
            "<style>td,th{border:1px solid #999;padding:4px 8px;font:14px sans-serif}</style>"
            f"<h1>Verified support matrix</h1><table><tr><th>strategy</th>{head}</tr>{''.join(rows)}</table>")


def anchor(name: str) -> str:
    return name.replace("/", "-").replace(":", "-").replace(".", "-").lower()


def _scenarios_markdown(records) -> str:
    lines = ["# Scenarios", ""]
    for o in records:
        failed_steps = o["failed_steps"]
        lines += [f'<a id="{anchor(o["scenario"])}"></a>', f"## {o['scenario']}: {'passed' if _passed(o) else 'FAILED'}",
                  "", f"build {o['build']}" + (f"; failed steps: {', '.join(failed_steps)}" if failed_steps else ""), ""]
        lines += [f"- problem: {p}" for p in o["problems"]]
        if o["egress"]:
            lines += ["", "| step | destination | kind | covered by |", "|---|---|---|---|"]
            rows = dict.fromkeys((e["step"], e["destination"], e["kind"], e["covered_by"] or "no key covers this")
                                 for e in o["egress"])  # first seen first: the same text in every process
            for e in rows:
                lines.append("| " + " | ".join(map(str, e)) + " |")
        routes = Counter((h["route"], h["status"], h["auth"]) for h in o["mirror_hits"])
        if routes:
            lines += ["", "| mirror route | status | auth | requests |", "|---|---|---|---|"]
            lines += [f"| {r} | {s} | {a} | {n} |" for (r, s, a), n in sorted(routes.items(), key=str)]
        lines.append("")
    return "\n".join(lines)


def write(report_dir: Path, catalog: Catalog, scenarios, outcomes) -> list[Path]:
    """The reports of a run's outcomes (of `scenarios`) in `report_dir`; the paths written."""
    return write_records(report_dir, catalog, to_records(catalog, scenarios, outcomes))


REPORT_FILES = ("scenarios.json", "scenarios.md", "junit.xml", "egress.json", "support-matrix.json",
                "support-matrix.md", "support-matrix.html")


def write_records(report_dir: Path, catalog: Catalog, records: list[dict]) -> list[Path]:
    """Every report of these outcome records (to_records or load_records) in `report_dir`; the paths written."""
    report_dir.mkdir(parents=True, exist_ok=True)
    matrix = support_matrix(catalog, records)
    files = {
        "scenarios.json": json.dumps(records, indent=2),
        "scenarios.md": _scenarios_markdown(records),
        "junit.xml": junit_xml(records),
        "egress.json": json.dumps(egress_report(records), indent=2),
        "support-matrix.json": json.dumps(matrix, indent=2),
        "support-matrix.md": _matrix_markdown(matrix),
        "support-matrix.html": _matrix_html(matrix),
    }
    paths = []
    for name, content in files.items():
        path = report_dir / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        paths.append(path)
    return paths
