"""The platform findings without a stack (issue 10, item 3): the `finding` of a scenario (schema, model, reports,
console), the mirrors' `not_proxied` paths, and the process arguments a build records (harness/scenarios/argv.py),
down to the poller itself run on this machine's /proc."""

import json
import os
import shutil
import subprocess
import shlex
import time
from pathlib import Path
from urllib.parse import quote
from xml.etree import ElementTree

import pytest

from harness.commands.run import summarize
from harness.contract.catalog import load_catalog
from harness.contract.config import read_config
from harness.infra import paths
from harness.infra.errors import UserError
from harness.scenarios import argv, report
from harness.scenarios.model import FINDING_VERDICTS, Finding, describe_finding, load_file
from harness.scenarios.steps import PREAMBLE_IN_BUILDER, Outcome, build_script, builder_files
from harness.scenarios.recipes import recipes
from harness.stack import gateway
from harness.stack.configuration import plans_for, routes_of
from helpers import PROXY_CONFIGS

CATALOG = load_catalog()
PLATFORM = sorted(p for p in paths.scenarios_dir().iterdir() if p.name.startswith("platform-"))
FINDING = "finding: {verdict: leak, fix: \"log in with --password-stdin\"}\n"
VALID = "strategy: prism\nproxy_config: {fixture: full-global}\nexpect: {build: succeeds}\n"
PASSWORD = "p&<>{}%@:/#\"' w0rd $HOME `id`;"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenarios" / "case" / "scenario.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- the finding of a scenario ----------------------------------------------------------------------------

def test_every_platform_scenario_carries_a_finding_with_a_fix():
    """Issue 10's seven findings (CR and trailing spaces are two scenarios; Go is two): each a scenario."""
    assert [p.name for p in PLATFORM] == [
        "platform-ballerina-run-image", "platform-crlf-secret", "platform-dockerhub-library", "platform-go-nosumdb",
        "platform-go-sumdb-direct", "platform-lifecycle-namespace", "platform-login-password-argv",
        "platform-npm-token-percent", "platform-trailing-space"]
    for folder in PLATFORM:
        scenario = load_file(folder)
        assert scenario.finding is not None and scenario.finding.verdict in FINDING_VERDICTS, folder
        assert scenario.finding.fix.strip(), folder


def test_the_finding_field_is_parsed_typed(tmp_path):
    scenario = load_file(write(tmp_path, VALID + FINDING))
    assert scenario.finding == Finding("leak", "log in with --password-stdin")
    assert scenario.finding.describe() == "verdict: a leak — fix: log in with --password-stdin"
    assert load_file(write(tmp_path, VALID)).finding is None


@pytest.mark.parametrize("text, place", [
    ("finding: {verdict: leaky, fix: x}\n", "at finding/verdict: 'leaky' is not one of"),
    ("finding: {verdict: leak}\n", "'fix' is a required property"),
    ("finding: {verdict: leak, fix: ''}\n", "at finding/fix"),
    ("finding: {verdict: leak, fix: x, severity: high}\n", "at finding"),
])
def test_a_bad_finding_is_an_error_naming_the_file_and_place(tmp_path, text, place):
    path = write(tmp_path, VALID + text)
    with pytest.raises(UserError) as error:
        load_file(path)
    assert str(path) in str(error.value) and place in str(error.value)


def test_the_code_refuses_what_the_schema_refuses():
    with pytest.raises(ValueError, match="contract-says-otherwise, leak, weakening"):
        Finding("leaky", "x")
    with pytest.raises(ValueError, match="fix"):
        Finding("leak", " ")
    assert describe_finding(None) is None
    assert describe_finding({"verdict": "contract-says-otherwise", "fix": "f"}) == \
        "verdict: the contract says otherwise — fix: f"


def outcome(name: str, problems: list[str], finding: Finding | None) -> Outcome:
    return Outcome(name, "prism", "failed" if problems else "succeeded", [], [], [], {}, "output", problems=problems,
                   finding=finding.to_json() if finding else None)


LEAK = Finding("leak", "log in with --password-stdin")


def test_a_failed_finding_shows_its_verdict_and_fix_in_the_reports(tmp_path):
    failed = outcome("platform-login-password-argv",
                     ["the process list showed the secret held in oci-choreo-password: process skopeo", "a | b"],
                     Finding("leak", "log in with --password-stdin, not -p <password>"))
    passed = outcome("platform-other", [], Finding("weakening", "never shown while it passes"))
    report.write(tmp_path, CATALOG, [], [failed, passed])
    markdown = (tmp_path / "scenarios.md").read_text()
    section = markdown.split('<a id="platform-login-password-argv"></a>', 1)[1]
    assert "## platform-login-password-argv: FAILED" in section
    assert "- verdict: a leak — fix: log in with --password-stdin, not -p &lt;password&gt;" in \
        section.split("## platform-other")[0]
    assert "never shown while it passes" not in markdown
    findings = markdown.split("## Findings", 1)[1].split("<a id=", 1)[0]
    assert ("| [platform-login-password-argv](#platform-login-password-argv) | a leak | log in with --password-stdin, "
            "not -p &lt;password&gt; | the process list showed the secret held in oci-choreo-password: process skopeo<br>a \\| b |") in findings
    failure = ElementTree.parse(tmp_path / "junit.xml").getroot().find("testcase/failure")
    assert failure.text.endswith("verdict: a leak — fix: log in with --password-stdin, not -p <password>")
    [record, _] = json.loads((tmp_path / "scenarios.json").read_text())
    assert record["finding"] == {"verdict": "leak", "fix": "log in with --password-stdin, not -p <password>"}


def test_reports_without_findings_have_no_findings_section(tmp_path):
    report.write(tmp_path, CATALOG, [], [outcome("plain", ["x"], None)])
    assert "## Findings" not in (tmp_path / "scenarios.md").read_text()


def test_the_console_prints_the_verdict_beside_a_failed_scenario(capsys, tmp_path):
    records = [outcome("platform-a", ["problem a"], LEAK), outcome("platform-b", [], LEAK).to_json(),
               {**outcome("plain", ["problem c"], None).to_json(), "finding": None}]
    assert summarize(records, tmp_path) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == ["FAILED platform-a: problem a", "       verdict: a leak — fix: log in with --password-stdin",
                         "FAILED plain: problem c"]


# --- mirrors that do not proxy a path -----------------------------------------------------------------------

def test_not_proxied_is_parsed_and_its_paths_checked(tmp_path):
    buildpack = VALID.replace("prism", "buildpack")  # a strategy that reads pkg-go-url
    scenario = load_file(write(tmp_path, buildpack + "mirrors: {not_proxied: {pkg-go-url: [sumdb/]}}\n"))
    assert scenario.not_proxied == (("pkg-go-url", ("sumdb/",)),)
    with pytest.raises(UserError, match="at mirrors/not_proxied/pkg-go-url/0"):
        load_file(write(tmp_path, buildpack + "mirrors: {not_proxied: {pkg-go-url: [../etc/]}}\n"))
    with pytest.raises(UserError, match="not_proxied 'pkg-go-ur': not a mirror key"):
        load_file(write(tmp_path, buildpack + "mirrors: {not_proxied: {pkg-go-ur: [sumdb/]}}\n"))
    assert load_file(write(tmp_path, buildpack + "mirrors: {not_proxied: {buildpack.pkg-go-url: [sumdb/]}}\n")).not_proxied
    with pytest.raises(UserError, match="the prism build does not read it"):  # no route of a prism scenario has it
        load_file(write(tmp_path, VALID + "mirrors: {not_proxied: {pkg-go-url: [sumdb/]}}\n"))


def test_a_not_proxied_path_is_answered_404_as_the_routes_request():
    config = read_config(PROXY_CONFIGS / "full-global")
    plans = plans_for(CATALOG, config)
    plain, _ = routes_of(CATALOG, config, plans)
    routes, _ = routes_of(CATALOG, config, plans, not_proxied={"pkg-go-url": ("sumdb/",)})
    go = next(r for r in routes if r.key == "pkg-go-url")
    assert go.locations[-1] == gateway.Location("/repository/go-proxy/sumdb/", gateway.NOT_PROXIED, "")
    assert [r for r in routes if r.key != "pkg-go-url"] == [r for r in plain if r.key != "pkg-go-url"]
    conf = gateway.render(routes, _cert(routes))["/etc/nginx/nginx.conf"].decode()
    block = conf.split("location ^~ /repository/go-proxy/sumdb/ {", 1)[1].split("}", 1)[0]
    assert 'set $airgap_route "pkg-go-url";' in block and "return 404;" in block and "proxy_pass" not in block


def _cert(routes):
    from harness.stack.pki import RunCA

    return RunCA().issue(gateway.mirror_hosts(routes))


# --- the process arguments of a build ---------------------------------------------------------------------

def record_line(when: float, pid: int, *args: str) -> str:
    return f"{argv.MARK} {when:.6f} {pid} {(chr(0).join(args) + chr(0)).encode().hex()}\n"


SECRETS = {"oci-choreo-password": PASSWORD, "pkg-npm-token": "npm_fixtureToken0123456789abcdef"}


def test_recorded_arguments_leave_the_output_and_a_secret_in_one_is_flagged_masked():
    output = ("::airgap-step preamble 10.0\nLogging into proxy mirror: nexus.example.com\n"
              + record_line(10.5, 41, "bash", "-c", "source /opt/preamble/prism.sh")
              + record_line(10.6, 42, "/usr/bin/skopeo", "login", "nexus.example.com", "-u", "build-user", "-p", PASSWORD)
              + "::airgap-step pull:prism 11.0\n"
              + record_line(11.2, 43, "curl", f"https://build-user:{quote(PASSWORD, safe='')}@nexus.example.com/")
              + "::airgap-step end 12.0\n")
    records, rest = argv.take(output)
    assert argv.MARK not in rest and rest.count("::airgap-step") == 3
    assert [r.process for r in records] == ["bash", "skopeo", "curl"]
    assert records[1].argv == ("/usr/bin/skopeo", "login", "nexus.example.com", "-u", "build-user", "-p", PASSWORD)
    found = argv.exposures(records, SECRETS, lambda ts: "preamble" if ts < 11 else "pull:prism")
    assert found == [
        {"key": "oci-choreo-password", "same_value": [], "process": "skopeo", "step": "preamble",
         "command": "/usr/bin/skopeo login nexus.example.com -u build-user -p '<oci-choreo-password>'"},
        {"key": "oci-choreo-password", "same_value": [], "process": "curl", "step": "pull:prism",
         "command": "curl 'https://build-user:<oci-choreo-password>@nexus.example.com/'"}]
    problems = argv.problems(found)
    assert problems[0] == ("the process list showed the secret held in oci-choreo-password: process skopeo in step "
                           "preamble: `/usr/bin/skopeo login nexus.example.com -u build-user -p '<oci-choreo-password>'`")
    assert not any(PASSWORD in p or quote(PASSWORD, safe="") in p for p in problems)


def test_a_value_several_keys_hold_is_one_problem_naming_them_all():
    """credentials-everywhere holds one password under ten keys: one login shows it once, not ten times."""
    secrets = {f"{k}-password": PASSWORD for k in ("oci-choreo", "oci-dockerhub", "pkg-go", "pkg-maven", "pkg-npm")}
    records, _ = argv.take(record_line(1.0, 9, "skopeo", "login", "h", "-p", PASSWORD))
    [found] = argv.exposures(records, secrets)
    assert found["key"] == "oci-choreo-password" and found["command"] == "skopeo login h -p '<oci-choreo-password>'"
    assert argv.problems([found]) == [
        "the process list showed the secret held in oci-choreo-password (the same value as oci-dockerhub-password, "
        "pkg-go-password, pkg-maven-password and 1 more): process skopeo in step ?: `skopeo login h -p "
        "'<oci-choreo-password>'`"]


def test_no_secret_in_any_argument_is_no_problem_and_junk_lines_stay():
    junk = f"{argv.MARK} not a record\n"
    records, rest = argv.take(record_line(1.0, 7, "podman", "login", "--password-stdin", "h") + junk)
    assert rest == junk
    assert argv.exposures(records, SECRETS) == []


def test_a_long_command_line_is_shortened_after_masking():
    [record] = argv.take(record_line(1.0, 7, "java", "-cp", "x" * 1000, f"-Dpassword={PASSWORD}"))[0]
    [found] = argv.exposures([record], SECRETS)
    assert found["command"].endswith(" ...") and len(found["command"]) < 300 and PASSWORD not in found["command"]


def test_the_build_script_records_arguments_until_the_end_or_the_preambles_failure():
    script = build_script("prism", recipes()["prism"])
    start = script.index("perl -e ")
    assert start < script.index("mark preamble 0")
    # its definition, the EXIT trap (a preamble that exits), the preamble's and the hand-off's failures, after
    # the last step
    assert script.count(argv.report_command()) == 5
    assert script.index(f"{argv.report_command()}; exit 90") < script.index("mark end")
    assert script.rstrip().endswith(argv.report_command())


def test_the_builder_gets_the_harness_catalog_beside_the_preamble():
    """preamble/platform/adapter.sh reads ../lib/catalog.sh, as in the checkout."""
    files = builder_files(paths.preamble_dir() / "platform", {})
    assert f"{PREAMBLE_IN_BUILDER}/adapter.sh" in files
    assert files[f"{Path(PREAMBLE_IN_BUILDER).parent}/lib/catalog.sh"] == \
        (paths.preamble_dir() / "lib" / "catalog.sh").read_bytes()


@pytest.mark.skipif(not shutil.which("perl") or not Path("/proc/self/cmdline").exists(),
                    reason="the poller needs perl (perl-base) and /proc (Linux)")
def test_the_poller_sees_a_short_process_with_a_secret_argument(tmp_path):
    """The poller as the builder runs it, on this machine: a 0.5 s process with the password in its arguments (a
    50 ms one was missed twice when two test workers and a CI's other jobs starved the poller of CPU)."""
    script = tmp_path / "build.sh"
    record_file = tmp_path / "argv"
    script.write_text("\n".join([
        argv.start_command().replace(argv.RECORD_FILE, str(record_file)),
        "sleep 0.2",
        f"bash -c 'sleep 0.5; :' skopeo login -p {shlex.quote(PASSWORD)}",
        argv.report_command().replace(argv.RECORD_FILE, str(record_file)),
    ]) + "\n")
    started = time.time()
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "LC_ALL": "C"})
    assert result.returncode == 0, result.stderr
    records, rest = argv.take(result.stdout)
    assert rest == ""
    assert all(started - 1 < r.time < time.time() + 1 for r in records)
    [found] = argv.exposures(records, {"oci-choreo-password": PASSWORD})
    assert found["key"] == "oci-choreo-password" and found["process"] == "bash"
    assert len(records) == len({(r.pid, r.argv) for r in records})  # reported once: the EXIT trap finds no file


@pytest.mark.skipif(not shutil.which("perl") or not Path("/proc/self/cmdline").exists(),
                    reason="the poller needs perl (perl-base) and /proc (Linux)")
def test_a_preamble_that_exits_the_build_still_gets_its_arguments_reported(tmp_path):
    record_file = tmp_path / "argv"
    script = "\n".join([argv.start_command().replace(argv.RECORD_FILE, str(record_file)), "sleep 0.2",
                        f"bash -c 'sleep 0.5; :' skopeo login -p {shlex.quote(PASSWORD)}", "exit 3"]) + "\n"
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 3
    records, _ = argv.take(result.stdout)
    assert [e["key"] for e in argv.exposures(records, {"oci-choreo-password": PASSWORD})] == ["oci-choreo-password"]


def test_a_not_proxied_path_is_part_of_the_steps_keys():
    """A step on a mirror that does not proxy sumdb/ never takes the evidence of one on a mirror that does."""
    import dataclasses

    from harness.scenarios.step_keys import RunInputs
    from harness.scenarios.steps import predicted_keys

    inputs = RunInputs.collect(CATALOG, paths.preamble_dir(), {}, {}, paths.fixtures_dir() / "dockerfiles")
    scenario = load_file(paths.scenarios_dir() / "platform-go-sumdb-direct")
    [with_404] = predicted_keys(CATALOG, scenario, inputs)
    [proxied] = predicted_keys(CATALOG, dataclasses.replace(scenario, not_proxied=()), inputs)
    assert with_404.key != proxied.key
