"""The `airgap` command as users run it: real processes, exit codes, output shapes, no tracebacks."""

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from helpers import PROXY_CONFIGS as FIXTURES, airgap


def test_console_script_and_module_give_the_same_answer():
    script = shutil.which("airgap", path=str(Path(sys.executable).parent)) or shutil.which("airgap")
    assert script, "the airgap console script is not installed"
    a = airgap("plan", "--strategy", "webapp", FIXTURES / "full-global", "--format", "json", entry=[script])
    b = airgap("plan", "--strategy", "webapp", FIXTURES / "full-global", "--format", "json")
    assert a.returncode == b.returncode == 0 and a.stdout == b.stdout


def test_plan_json_shape():
    result = airgap("plan", "--strategy", "buildpack", FIXTURES / "credentials-everywhere", "--format", "json")
    data = json.loads(result.stdout)
    assert {"strategy", "images", "logins", "dockerhub_login", "packages", "ignored_keys", "public"} <= set(data)
    for image in data["images"].values():
        assert {"default", "resolved", "source", "key"} <= set(image)
    for package in data["packages"].values():
        assert {"url", "auth", "key"} <= set(package)
    assert "w0rd" not in result.stdout and "npm_fixtureToken" not in result.stdout


def test_plan_text_names_what_stays_public():
    result = airgap("plan", "--strategy", "ballerina", FIXTURES / "full-global")
    assert result.returncode == 0
    assert "api.central.ballerina.io" in result.stdout and "no key covers this" in result.stdout


@pytest.mark.parametrize("args, code", [
    (["lint", FIXTURES / "full-global"], 0),
    (["lint", FIXTURES / "none"], 0),
    (["lint", FIXTURES / "none", "--strict"], 1),
    (["lint", FIXTURES / "mistakes"], 1),
    (["lint", FIXTURES / "hostile"], 1),
    (["lint", FIXTURES / "full-global", "--strategy", "nope"], 2),
    (["lint"], 2),
    (["plan", FIXTURES / "none"], 2),
])
def test_lint_and_plan_exit_codes(args, code):
    assert airgap(*args).returncode == code


def test_lint_json_shape():
    data = json.loads(airgap("lint", FIXTURES / "mistakes", "--format", "json").stdout)
    assert data["findings"] and all({"key", "rule", "severity", "message"} <= set(f) for f in data["findings"])


# What `airgap plan` and `airgap lint` must not import: their time is the start-up (issue 12, item 5; the figures are
# benchmarks/cli.py's). dataclasses (with inspect, which it imports) cost more than the rest of plan's own work,
# typing about 10 ms (harness/infra/records.py), shutil as argparse imports it 8 ms (harness/cli.py); a cached YAML
# document needs no parser; the Docker, report and test libraries belong to other commands.
HEAVY_MODULES = {"dataclasses", "inspect", "typing", "shutil", "yaml", "docker", "testcontainers", "rich", "hypothesis",
                 "requests"}


@pytest.mark.parametrize("args", [["plan", "--strategy", "buildpack", FIXTURES / "credentials-everywhere"],
                                  ["lint", FIXTURES / "mistakes", "--format", "json"]])
def test_plan_and_lint_start_without_heavy_modules(args, tmp_path):
    code = ("import sys\nfrom harness.cli import main\ncode = main(sys.argv[1:])\n"
            "print(' '.join(sorted(sys.modules)), file=sys.stderr)\nraise SystemExit(code)")
    environment = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}  # its own YAML cache: the first run fills it
    runs = [airgap(*args, entry=[sys.executable, "-c", code], env=environment) for _ in range(2)]
    assert all(run.returncode in (0, 1) and "Traceback" not in run.stderr for run in runs), runs[-1].stderr
    imported = set(runs[-1].stderr.split())
    assert "harness.contract.catalog" in imported and not imported & HEAVY_MODULES, imported & HEAVY_MODULES


def test_bad_input_is_a_message_not_a_traceback(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    for args in (["lint", not_a_dir], ["plan", "--strategy", "webapp", not_a_dir]):
        result = airgap(*args)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr and f"{not_a_dir}: not a directory" in result.stderr


def test_hostile_fixture_reports_each_file():
    result = airgap("lint", FIXTURES / "hostile")
    for name in ("oci-dockerhub-url", "pkg-npm-url", "pkg-maven-url", "pkg-gradle-url", "pkg-go-url", "pkg npm url"):
        assert f"hostile/{name}: error" in result.stdout, name
    assert "Traceback" not in result.stderr


def test_survey_writes_its_reports(tmp_path):
    result = airgap("survey", FIXTURES, "--report-dir", tmp_path)
    assert result.returncode == 0, result.stderr
    cells = json.loads((tmp_path / "survey.json").read_text())
    fixtures = [p for p in FIXTURES.iterdir() if p.is_dir()]
    assert len(cells) == len(fixtures) * 7
    assert "| full-global | webapp |" in (tmp_path / "survey.md").read_text()


def test_survey_tells_configs_with_the_same_folder_name_apart(tmp_path):
    """A scenario's proxy-config is scenarios/<name>/proxy-config: the report names it by <name> too."""
    for scenario in ("a", "b"):
        shutil.copytree(FIXTURES / "full-global", tmp_path / "scenarios" / scenario / "proxy-config")
    result = airgap("survey", tmp_path / "scenarios" / "a" / "proxy-config", tmp_path / "scenarios" / "b" / "proxy-config",
                    FIXTURES / "none", "--report-dir", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    names = {line.split(" | ")[0].lstrip("| ") for line in (tmp_path / "out" / "survey.md").read_text().splitlines()[4:]}
    assert names == {"a/proxy-config", "b/proxy-config", "none"}


def test_survey_of_a_folder_of_configs_beside_a_readme_skips_the_readme_and_says_so(tmp_path):
    """A folder of proxy-configs that also holds a README is still a folder of them (a Secret's keys are files,
    never directories); the README is named as left out. A folder with a key file and a stray directory is one
    proxy-config."""
    folder = tmp_path / "customers"
    for name in ("acme", "globex"):
        shutil.copytree(FIXTURES / "full-global", folder / name)
    (folder / "README.md").write_text("which customer is which\n")
    result = airgap("survey", folder, "--report-dir", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert f"skipped {folder / 'README.md'}: not a directory" in result.stderr
    assert {cell["config"] for cell in json.loads((tmp_path / "out" / "survey.json").read_text())} == {
        str(folder / "acme"), str(folder / "globex")}
    one = tmp_path / "one"
    shutil.copytree(FIXTURES / "full-global", one)
    (one / "notes").mkdir()
    result = airgap("survey", one, "--report-dir", tmp_path / "out2")
    assert result.returncode == 0, result.stderr
    assert "skipped" not in result.stderr
    assert {cell["config"] for cell in json.loads((tmp_path / "out2" / "survey.json").read_text())} == {str(one)}


@pytest.mark.parametrize("command", [["run", "scenarios/leak-go-toolchain"],
                                     ["repro", "--strategy", "mi", "--config", "fixtures/proxy-config/full-global"]])
def test_a_wrong_preamble_directory_stops_before_any_stack_starts(command, tmp_path):
    (tmp_path / "lib").mkdir()
    result = airgap(*command, "--preamble", str(tmp_path))
    assert result.returncode == 2 and result.stdout == ""
    assert f"--preamble {tmp_path}: not a preamble directory" in result.stderr and ".sh" in result.stderr


def test_help_is_wrapped_to_the_terminal_width_from_columns():
    narrow = airgap("plan", "--help", env={**os.environ, "COLUMNS": "50"})
    wide = airgap("plan", "--help", env={**os.environ, "COLUMNS": "200"})
    assert narrow.returncode == wide.returncode == 0
    assert len(narrow.stdout.splitlines()) > len(wide.stdout.splitlines())
    assert 80 < max(map(len, wide.stdout.splitlines())) <= 200
