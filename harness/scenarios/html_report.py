"""The one report a person reads: a single self-contained HTML file (report.html) of a scenario run.

No external asset, no network: styles and the small filter script are inline, so the file works offline when a
CI run attaches it. It holds the support matrix per strategy and key, like the contract's own table but with each
cell verified, failed, not exercised or not applicable, each linking to the scenarios that decided it; the scenario
list, filtered by strategy, verdict and leak; and each scenario's problems, steps with their output, mirror hits
and egress events with their cause and fix (harness/scenarios/causes.py). Built from outcome records only
(report.write_records), so merged shards give the same page. tests/test_html_report.py opens it in Chromium.
"""

import html
import json
import re
from collections import Counter

from harness.contract.catalog import Catalog
from harness.customer.project import summary_lines
from harness.scenarios.causes import describe
from harness.scenarios.model import describe_finding
from harness.scenarios.steps import _sections

STATES = ("verified", "failed", "not exercised", "not applicable")
_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}
th.key{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal;font-size:12px}
td.verified{background:#c8f7c5}td.failed{background:#f7c5c5}td.not-exercised{background:#f7efc5}
td.not-applicable{background:#eee;color:#888}
a.cell{color:inherit;text-decoration:none;font-size:12px}a.cell:hover{text-decoration:underline}
details{border:1px solid #ccc;border-radius:4px;margin:.3em 0;padding:.2em .6em}
details.failed>summary{color:#a00}summary{cursor:pointer}
table.egress{width:100%}table.egress td{word-break:break-word}table.egress td:first-child{max-width:22em}
pre{background:#f6f6f6;padding:.5em;max-height:30em;overflow:auto;white-space:pre-wrap}
.filters label{margin-right:1em}.muted{color:#777}
"""

_SCRIPT = """
function applyFilters(only){
  const s=document.getElementById('f-strategy').value, v=document.getElementById('f-verdict').value,
        l=document.getElementById('f-leak').value; let shown=0;
  document.querySelectorAll('details.scenario').forEach(d=>{
    const ok=(!s||d.dataset.strategy===s)&&(!v||d.dataset.verdict===v)&&(!l||d.dataset.leak===l)
      &&(!only||only.includes(d.dataset.name));
    d.style.display=ok?'':'none'; if(ok)shown++;});
  document.getElementById('shown').textContent=shown;
  document.getElementById('only').textContent=only?'(only the '+only.length+' scenarios of the cell you chose; '
    +'change a filter to see all)':'';
}
document.querySelectorAll('.filters select').forEach(e=>e.addEventListener('change',()=>applyFilters()));
document.querySelectorAll('a.cell').forEach(a=>a.addEventListener('click',ev=>{
  ev.preventDefault(); applyFilters(a.dataset.scenarios.split(' '));
  document.getElementById('scenarios').scrollIntoView();}));
"""


def decided_keys(catalog: Catalog, scenario) -> list[str]:
    """The contract keys a scenario's verdict says something about: the mirror routes its steps go through, and
    the override keys of the images whose resolution it checks."""
    from harness.scenarios.model import routes_used
    from harness.scenarios.steps import scenario_steps

    keys = routes_used(catalog, scenario_steps(scenario), scenario.strategy)
    images = catalog.strategies[scenario.strategy].images
    keys |= {images[name].override for name, _ in scenario.expect.images if name in images and images[name].override}
    return sorted(keys)


def key_matrix(catalog: Catalog, records) -> dict:
    """strategy -> key -> {"state", "scenarios"}: each key of the contract for each strategy. A record without
    `keys` (an older scenarios.json) decides nothing, so its cells read "not exercised", never "verified"."""
    matrix = {}
    for name, strategy in catalog.strategies.items():
        row = {}
        for key in all_url_keys(catalog):
            deciding = [o for o in records if o["strategy"] == name and key in o.get("keys", ())]
            if key not in strategy.url_keys:
                state = "not applicable"
            elif not deciding:
                state = "not exercised"
            else:
                state = "verified" if all(not o["problems"] for o in deciding) else "failed"
            row[key] = {"state": state, "scenarios": [o["scenario"] for o in deciding]}
        matrix[name] = row
    return matrix


def all_url_keys(catalog: Catalog) -> list[str]:
    """The contract's URL and override keys in the seed's column order: OCI mirrors, image overrides, packages."""
    order = {"oci-mirror": 0, "image-override": 1, "package-proxy": 2}
    keys = [k for k in catalog.keys.values() if k.family in order]
    return [k.name for k in sorted(keys, key=lambda k: order[k.family])]


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _matrix_table(catalog: Catalog, matrix: dict) -> str:
    keys = all_url_keys(catalog)
    head = "".join(f'<th class="key">{_e(k)}</th>' for k in keys)
    rows = []
    for strategy, row in matrix.items():
        cells = []
        for key in keys:
            cell = row[key]
            css = cell["state"].replace(" ", "-")
            if cell["scenarios"]:
                label = f"{cell['state']} · {len(cell['scenarios'])}"
                names = " ".join(cell["scenarios"])
                body = (f'<a class="cell" href="#scenarios" data-scenarios="{_e(names)}" '
                        f'title="{_e(", ".join(cell["scenarios"]))}">{_e(label)}</a>')
            else:
                body = "n/a" if cell["state"] == "not applicable" else _e(cell["state"])
            cells.append(f'<td class="{css}" data-key="{_e(key)}" title="{_e(cell["state"])}">{body}</td>')
        rows.append(f'<tr data-strategy="{_e(strategy)}"><th>{_e(strategy)}</th>{"".join(cells)}</tr>')
    return f'<table id="matrix"><tr><th>strategy</th>{head}</tr>{"".join(rows)}</table>'


def _steps(output: str) -> list[tuple[str, str]]:
    """The build output per step (steps._sections cuts it), each without its marker line; the end marker dropped."""
    parts = []
    for step, text in _sections(output):
        body = text.partition("\n")[2] if step else text
        if step != "end" and body.strip():
            parts.append((step or "before the first step", body.strip("\n")))
    return parts


def _egress_table(record: dict) -> str:
    if not record["egress"]:
        return "<p class=muted>No egress: nothing tried to leave.</p>"
    rows = {}  # (step, destination, kind) -> (covered by, cause), first seen first
    for event in record["egress"]:
        cause = event["cause"] if "cause" in event else describe(event)
        rows.setdefault((event["step"], event["destination"], event["kind"]), (event.get("covered_by"), cause))
    lines = ["<table class=egress><tr><th>step</th><th>destination</th><th>kind</th><th>covered by</th>"
             "<th>cause</th><th>fix</th></tr>"]
    for (step, destination, kind), (covered_by, cause) in rows.items():
        if cause:
            why = f'<a href="{_e(cause["reference"])}">{_e(cause["id"])}</a>: {_e(cause.get("why", ""))}'
            fix = _e(cause["fix"])
        else:
            why, fix = "unknown cause", "-"
        lines.append(f"<tr><td>{_e(step)}</td><td>{_e(destination)}</td><td>{_e(kind)}</td>"
                     f"<td>{_e(covered_by or 'no key covers this')}</td><td class=cause>{why}</td>"
                     f"<td class=fix>{fix}</td></tr>")
    return "".join(lines) + "</table>"


def _hits_table(record: dict) -> str:
    routes = Counter((h["route"], h["status"], h["auth"]) for h in record["mirror_hits"])
    if not routes:
        return "<p class=muted>No mirror hits.</p>"
    rows = "".join(f"<tr><td>{_e(r)}</td><td>{_e(s)}</td><td>{_e(a)}</td><td>{n}</td></tr>"
                   for (r, s, a), n in sorted(routes.items(), key=str))
    return f"<table><tr><th>mirror route</th><th>status</th><th>auth</th><th>requests</th></tr>{rows}</table>"


def _scenario(record: dict) -> str:
    passed = not record["problems"]
    verdict = "passed" if passed else "failed"
    leak = "leak" if record["egress"] else "no-leak"
    problems = "".join(f"<li>{_e(p)}</li>" for p in record["problems"])
    if not passed and record.get("finding"):  # a platform finding: its verdict and fix (model.Finding)
        problems = f"<li class=finding><b>{_e(describe_finding(record['finding']))}</b></li>" + problems
    project = "".join(f"<li>{_e(line)}</li>" for line in summary_lines(record.get("project"), ""))
    reused = "".join(f"<li>step {_e(step)}: same inputs as {_e(src['scenario'])}, step {_e(src['step'])}</li>"
                     for step, src in record.get("reused", {}).items())
    steps = "".join(f"<details class=step><summary>{_e(name)}</summary><pre>{_e(text)}</pre></details>"
                    for name, text in _steps(record["output"]))
    failed = f"; failed steps: {', '.join(record['failed_steps'])}" if record["failed_steps"] else ""
    return (f'<details class="scenario {verdict}" id="s-{_e(anchor(record["scenario"]))}" '
            f'data-name="{_e(record["scenario"])}" data-strategy="{_e(record["strategy"])}" data-verdict="{verdict}" '
            f'data-leak="{leak}"><summary><b>{_e(record["scenario"])}</b> · {_e(record["strategy"])} · '
            f'{verdict.upper() if not passed else verdict} · {len(record["egress"])} egress events · '
            f'{record["seconds"]:.1f} s</summary>'
            f'<p>build {_e(record["build"])}{_e(failed)}</p>'
            + (f"<ul class=problems>{problems}</ul>" if problems else "")
            + (f"<ul class=project>{project}</ul>" if project else "")
            + (f"<ul class=reused>{reused}</ul>" if reused else "")
            + f"<h4>Egress</h4>{_egress_table(record)}<h4>Mirror hits</h4>{_hits_table(record)}"
            f"<h4>Steps</h4>{steps or '<p class=muted>No output.</p>'}</details>")


def anchor(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _select(ident: str, label: str, options: list[tuple[str, str]]) -> str:
    choices = "".join(f'<option value="{_e(v)}">{_e(t)}</option>' for v, t in options)
    return f'<label>{label} <select id="{ident}"><option value="">all</option>{choices}</select></label>'


def render(catalog: Catalog, records) -> str:
    """The whole page for these outcome records."""
    matrix = key_matrix(catalog, records)
    failed = sum(bool(o["problems"]) for o in records)
    strategies = sorted({o["strategy"] for o in records})
    filters = ('<p class=filters>'
               + _select("f-strategy", "strategy", [(s, s) for s in strategies])
               + _select("f-verdict", "verdict", [("passed", "passed"), ("failed", "failed")])
               + _select("f-leak", "egress", [("leak", "something tried to leave"), ("no-leak", "nothing left")])
               + ' <span class=muted><span id="shown">' + str(len(records)) + '</span> shown <span id="only">'
               + '</span></span></p>')
    summary = json.dumps({"scenarios": len(records), "failed": failed,
                          "egress_events": sum(len(o["egress"]) for o in records)})
    return ("<!doctype html><html lang=en><meta charset=utf-8><title>airgap-harness report</title>"
            f"<style>{_STYLE}</style><h1>airgap-harness report</h1>"
            f'<p id="summary" data-summary="{_e(summary)}">{len(records)} scenarios: {len(records) - failed} passed, '
            f"{failed} failed; {sum(len(o['egress']) for o in records)} egress events.</p>"
            "<h2>Verified support matrix</h2><p class=muted>Each contract key per strategy: verified (every scenario "
            "that exercised it passed), failed, not exercised (no scenario's steps use it) or not applicable (the "
            "contract's support matrix). Choose a cell to see its scenarios.</p>"
            + _matrix_table(catalog, matrix)
            + f'<h2 id="scenarios">Scenarios</h2>{filters}'
            + "".join(_scenario(o) for o in records)
            + f"<script>{_SCRIPT}</script></html>")
