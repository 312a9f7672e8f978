"""The HTML report as a person sees it: rendered by headless Chromium (Debian's package), clicked, and read back
as the text on screen (innerText leaves out what is hidden: filtered scenarios, closed details)."""

import json
import shutil
import subprocess

import pytest

from harness.contract.catalog import load_catalog
from harness.infra.errors import UserError
from harness.scenarios import html_report

pytestmark = pytest.mark.offline  # a local browser on a local file: no engine, no network

CATALOG = load_catalog()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def record(name, strategy, keys, problems=(), egress=(), output=""):
    return {"scenario": name, "strategy": strategy, "build": "failed" if problems else "succeeded",
            "failed_steps": [], "egress": list(egress), "mirror_hits": [
                {"route": "pkg-npm-url", "status": 200, "auth": "bearer", "host": "nexus.example.com", "path": "/x",
                 "kind": "verdaccio", "user": "", "step": "project:npm"}],
            "output": output, "problems": list(problems), "seconds": 1.5, "families": [], "keys": list(keys)}


LEAK = {"destination": "services.gradle.org", "step": "project:gradle", "command": "gradle build", "kind": "tcp",
        "covered_by": None, "time": 1.0, "ip": "10.0.0.2", "port": 443, "protocol": "tls", "path": None,
        "manager": "gradle"}
RECORDS = [
    record("webapp/full-global", "webapp", ["oci-dockerhub-url", "pkg-npm-url"],
           output="::airgap-step preamble 1.0\nproxy-config: npm: https://nexus.example.com/npm/\n"
                  "::airgap-step project:npm 2.0\nadded 1 package\n::airgap-step end 3.0\n"),
    record("leak-gradle-wrapper", "buildpack", ["pkg-gradle-url"], problems=["unexpected egress to services.gradle.org"],
           egress=[LEAK]),
]


def seen(tmp_path, page: str, actions: str) -> str:
    """The text Chromium shows after `actions` (JavaScript run once the page has loaded)."""
    assert CHROMIUM, "chromium is not installed: scripts/bootstrap installs it (Debian's chromium package)"
    probe = (f"<script>window.addEventListener('load',()=>{{{actions};"
             "const out=document.createElement('pre');out.id='seen-by-test';"
             "out.textContent=document.body.innerText;document.documentElement.appendChild(out);});</script>")
    path = tmp_path / "report.html"
    path.write_text(page.replace("</html>", probe + "</html>"))
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                           "--virtual-time-budget=2000", path.as_uri()], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    marker = done.stdout.split('<pre id="seen-by-test">', 1)
    assert len(marker) == 2, done.stdout[-2000:]
    return marker[1].split("</pre>", 1)[0]


def test_the_matrix_shows_each_key_per_strategy_with_its_state(tmp_path):
    text = seen(tmp_path, html_report.render(CATALOG, RECORDS), "")
    assert "Verified support matrix" in text
    assert "verified · 1" in text  # webapp's npm and dockerhub cells
    assert "failed · 1" in text  # buildpack's gradle cell
    assert "pkg-nuget-url" in text and "not exercised" in text and "n/a" in text
    # details are closed: a person sees the scenario lines, not their output
    assert "webapp/full-global" in text and "added 1 package" not in text


def test_a_click_on_a_scenario_shows_its_steps_and_a_leak_its_cause_and_fix(tmp_path):
    text = seen(tmp_path, html_report.render(CATALOG, RECORDS),
                "document.querySelectorAll('details').forEach(d=>d.open=true)")
    assert "added 1 package" in text  # the project:npm step's output
    assert "services.gradle.org" in text and "unexpected egress to services.gradle.org" in text
    gradle_fix = html_report.describe(LEAK)
    assert gradle_fix is not None, "the leak-cause data should explain the Gradle wrapper download"
    assert gradle_fix["fix"] in text


def test_a_matrix_cell_filters_the_scenarios_to_those_that_decided_it(tmp_path):
    text = seen(tmp_path, html_report.render(CATALOG, RECORDS),
                "document.querySelector('td[data-key=\"pkg-gradle-url\"] a.cell').click()")
    after = text.split("Scenarios", 1)[1]
    assert "leak-gradle-wrapper" in after and "webapp/full-global" not in after


def test_the_verdict_filter_hides_what_does_not_match(tmp_path):
    text = seen(tmp_path, html_report.render(CATALOG, RECORDS),
                "const f=document.getElementById('f-verdict');f.value='passed';f.dispatchEvent(new Event('change'))")
    after = text.split("Scenarios", 1)[1]
    assert "webapp/full-global" in after and "leak-gradle-wrapper" not in after


def test_the_page_is_self_contained_and_escapes_what_it_shows():
    hostile = record("<script>alert(1)</script>", "byoc", [], problems=["<img src=x onerror=alert(2)>"])
    page = html_report.render(CATALOG, RECORDS + [hostile])
    assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
    for external in ("http://", "https://"):
        assert all(external not in tag for tag in page.split("<")[1:] if tag.startswith(("link", "script src", "img")))
    assert 'src="http' not in page and "<link" not in page
    summary = json.loads(html_report.html.unescape(page.split('data-summary="', 1)[1].split('"', 1)[0]))
    assert summary == {"scenarios": 3, "failed": 2, "egress_events": 1}


def test_records_without_keys_decide_nothing():
    old = {k: v for k, v in RECORDS[0].items() if k != "keys"}
    matrix = html_report.key_matrix(CATALOG, [old])
    assert matrix["webapp"]["pkg-npm-url"]["state"] == "not exercised"
    assert matrix["prism"]["pkg-npm-url"]["state"] == "not applicable"


def test_a_failed_platform_finding_shows_its_verdict_and_fix(tmp_path):
    finding = record("platform-npm-token-percent", "test-runner", ["pkg-npm-url"], problems=["no authenticated hit"])
    finding["finding"] = {"verdict": "leak", "fix": "write the token with printf '%s' and never as the format"}
    text = seen(tmp_path, html_report.render(CATALOG, [finding]),
                "document.querySelectorAll('details').forEach(d=>d.open=true)")
    assert "write the token with printf '%s' and never as the format" in text


def test_junit_xml_holds_no_character_xml_cannot_carry():
    """Build output holds ANSI colours (npm, Gradle), and names and problems may hold any character: each shown
    as printable shows it, so a CI's JUnit parser reads the file (found by a sweep: not well-formed XML)."""
    from xml.dom import minidom

    from harness.scenarios import report

    records = [record("a\x1b[31m/b", "webapp", [], problems=["p\x1b]0;t\x07 \ud800"],
                      output="::airgap-step preamble 1.0\n\x1b[32mok\x1b[0m\ttab\n\x00\ufffe")]
    data = report.junit_xml(records)
    case = minidom.parseString(data).getElementsByTagName("testcase")[0]
    assert case.getAttribute("name") == "a\\x1b[31m/b"
    assert "\\x1b[32mok\\x1b[0m\ttab\n\\x00\\ufffe" in case.getElementsByTagName("system-out")[0].firstChild.data


def test_scenarios_markdown_shows_hostile_text_as_text():
    """Names, problems and egress cells in scenarios.md: no tag, no attribute break-out, no split table row, no
    terminal escape (found by a sweep: 22 places wrote them raw)."""
    from harness.scenarios import report

    hostile = '<img src=x onerror=alert(1)>"|\x1b[2J'
    leak = {**LEAK, "step": hostile, "destination": "a|b.example"}
    text = report._scenarios_markdown([record(hostile, "webapp", [], problems=[hostile, "pw <oci-choreo-password>"],
                                              egress=[leak])])
    assert "<img" not in text and "\x1b" not in text and '"|' not in text.split("## ")[0]
    assert "&lt;oci-choreo-password&gt;" in text
    row = next(line for line in text.splitlines() if "a\\|b.example" in line)
    assert row.count(" | ") == 5  # six cells, none split


def test_the_run_s_last_lines_and_shard_names_escape_terminal_control(tmp_path, capsys):
    """A scenario name or problem from shard files is printed on a terminal: its escapes shown, not acted on (found
    by a sweep: `FAILED a^[[2J`, and a forged line from a name holding a line break)."""
    from harness.commands.run import summarize
    from harness.scenarios import shards

    assert summarize([record("a\x1b[2J\nFORGED", "webapp", [], problems=["p\x1b]0;t\x07"])], tmp_path,
                         missing=["m\x1b[31m"]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "FAILED a\\x1b[2J\\nFORGED: p\\x1b]0;t\\x07" in out and "MISSING m\\x1b[31m" in out
    assert shards._names(["x\x1b[2J"]) == "x\\x1b[2J"


@pytest.mark.parametrize("change, message", [
    (lambda r: r["egress"][0].pop("ip"), "egress/0 is not what airgap writes (required"),
    (lambda r: r.update(reused={"project:npm": "oops"}), "reused/project:npm is not what airgap writes"),
    (lambda r: r.update(finding={"verdict": "nope", "fix": "x"}), "finding/verdict is not what airgap writes"),
    (lambda r: r.update(finding={"verdict": "leak"}), "finding is not what airgap writes (required"),
    (lambda r: r.update(project={"x": 1}), "project is not what airgap writes (required"),
    (lambda r: r.update(seconds=float("inf")), "seconds is not what airgap writes (maximum"),
    (lambda r: r.update(output="a\ud800b"), "holds a lone UTF-16 surrogate"),
])
def test_a_record_the_writers_could_not_read_is_refused_naming_it(tmp_path, change, message):
    """A record that passed record_schema.yaml crashed a writer in `report merge` (found by a sweep: KeyError,
    TypeError, UnicodeEncodeError after half the reports were written; inf written back as Infinity)."""
    from harness.scenarios import report
    from harness.scenarios.model import FINDING_VERDICTS

    assert set(report._record_validator().schema["properties"]["finding"]["properties"]["verdict"]["enum"]) \
        == set(FINDING_VERDICTS)
    good = record("a", "webapp", [], problems=["p"], egress=[dict(LEAK)])
    (tmp_path / "ok.json").write_text(json.dumps([good]))
    assert report.load_records(tmp_path / "ok.json")[0]["scenario"] == "a"
    change(good)
    (tmp_path / "bad.json").write_text(json.dumps([good]).replace("Infinity", "1e400"))
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        report.load_records(tmp_path / "bad.json")
