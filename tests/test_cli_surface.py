"""One command-line surface (issue 8, item 4): --format everywhere a result is printed, the subcommand's
own usage on argument errors, a missing path is a usage error, a closed pipe ends quietly, and plan's text
shows what its JSON shows. Every case runs the real `airgap` process."""

import json
import os

import pytest

from helpers import AIRGAP, CHECKOUT, PROXY_CONFIGS as FIXTURES, airgap


@pytest.mark.parametrize("usage, args", [("lint", []), ("plan", ["--strategy", "webapp"]),
                                         ("preamble-check", ["--strategy", "webapp"]), ("survey", []),
                                         ("secret render", [])])
def test_an_argument_error_prints_the_subcommands_usage(usage, args):
    result = airgap(*usage.split(), *args, FIXTURES / "none", "--bogus")
    assert result.returncode == 2
    assert result.stderr.startswith(f"usage: airgap {usage} "), result.stderr
    assert "unrecognized arguments: --bogus" in result.stderr


@pytest.mark.parametrize("command", [["lint"], ["plan", "--strategy", "webapp"], ["survey"],
                                     ["preamble-check", "--strategy", "webapp"]])
def test_a_missing_path_is_a_usage_error(command, tmp_path):
    missing = tmp_path / "no-such-config"
    result = airgap(*command, missing, "--report-dir", tmp_path / "r") if command == ["survey"] \
        else airgap(*command, missing)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert f"{missing}: no such file or directory" in result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["lint", FIXTURES / "mistakes"], ["lint", "--rules"],
                                     ["plan", "--strategy", "buildpack", FIXTURES / "full-global"],
                                     ["plan", "--strategy", "buildpack", FIXTURES / "full-global", "--format", "json"]])
def test_a_closed_pipe_ends_quietly(command):
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head -1` that has already exited: every write gets EPIPE
    try:
        result = airgap(*command, stdout=write_end)
    finally:
        os.close(write_end)
    assert result.stderr == "", result.stderr
    assert result.returncode != 0


def test_lint_rules_as_json():
    result = airgap("lint", "--rules", "--format", "json")
    assert result.returncode == 0
    rules = json.loads(result.stdout)["rules"]
    assert {"rule": "unknown-key", "severity": "error", "summary": "a key the contract does not define"} in rules


def test_plan_text_shows_package_errors(tmp_path):
    (tmp_path / "pkg-npm-url").write_text("nexus.example.com/npm/")
    data = json.loads(airgap("plan", "--strategy", "webapp", tmp_path, "--format", "json").stdout)
    error = data["packages"]["npm"]["error"]
    assert error
    text = airgap("plan", "--strategy", "webapp", tmp_path).stdout
    assert error in text and "INVALID" in text


@pytest.mark.parametrize("key, value", [("oci-dockerhub-url", "https://nexus.example.com/hub"), ("oci-choreo-url", "vm"),
                                        ("oci-buildpacks-url", "nexus.example.com:0/gcr")])
def test_plan_text_shows_every_error_that_stops_the_build(tmp_path, key, value):
    """A mirror the strategy reads but none of its images resolve through (buildpack's Docker Hub mirror) was an
    error in the JSON only: the text showed default images and no reason, while the preamble stops on it."""
    (tmp_path / key).write_text(value)
    for strategy in ("buildpack", "ballerina", "mi", "webapp", "prism", "test-runner", "byoc"):
        data = json.loads(airgap("plan", "--strategy", strategy, tmp_path, "--format", "json").stdout)
        errors = [part["error"] for section in ("images", "mirrors", "packages") for part in data[section].values()
                  if part["error"]]
        text = airgap("plan", "--strategy", strategy, tmp_path).stdout
        for error in errors:
            assert f"INVALID: {error} (the build stops)" in text, (strategy, text)
        assert ("INVALID" in text) == bool(errors), strategy


@pytest.mark.parametrize("command", ["plan", "preamble-check"])
def test_an_ignored_file_name_reaches_the_terminal_escaped(tmp_path, command):
    """A key file's name is the customer's: escape sequences in it (a title, a cleared screen, a line break that
    fakes a line of the report) are shown escaped, as lint shows them."""
    (tmp_path / "\x1b]0;PWNED\x07\x1b[2J").write_text("x")
    (tmp_path / "fake\nimages:").write_text("x")
    text = airgap(command, "--strategy", "webapp", tmp_path).stdout
    assert "\x1b" not in text and "\x07" not in text and "\nimages:" not in text.split("ignored keys", 1)[1]
    assert "\\x1b]0;PWNED\\x07\\x1b[2J" in text and "fake\\nimages:" in text


def test_a_value_reaches_the_terminal_escaped(tmp_path):
    """A value is the customer's too: an override, a mirror or a package URL holding an escape sequence or a line
    break (a forged line of the report) is shown escaped in the image, login and package lines (preamble-check
    prints the same lines from the preamble's report, which the preamble, stopping at such a value, never writes)."""
    (tmp_path / "image-node-ref").write_text("evil.example.com/node:1\x1b[2K\x1b[1Afake\nimages:")
    (tmp_path / "pkg-npm-url").write_text("https://nexus.example.com/npm/\x1b]0;TITLE\x07x")
    (tmp_path / "oci-dockerhub-url").write_text("nexus.example.com/hub\x1b[31m")
    text = airgap("plan", "--strategy", "webapp", tmp_path).stdout
    assert "\x1b" not in text and "\x07" not in text and text.count("\nimages:") == 1, text
    assert "\\x1b[2K" in text and "\\x1b]0;TITLE\\x07" in text


WITHOUT_ROOTS_READ_ALL = ["setpriv", "--bounding-set=-dac_override,-dac_read_search",
                          "--inh-caps=-dac_override,-dac_read_search"]  # as a user who is not root reads files


def test_preamble_check_takes_a_key_file_it_cannot_read(tmp_path):
    """A key file unreadable to the user (mode 000, not root) was a PermissionError traceback in the check that
    the preamble changed nothing; lint and plan call it unreadable."""
    (tmp_path / "pkg-npm-url").write_text("https://n.example.com/npm/")
    (tmp_path / "pkg-npm-token").write_text("t0k3n")
    (tmp_path / "pkg-npm-token").chmod(0)
    result = airgap("preamble-check", "--strategy", "webapp", tmp_path, entry=[*(WITHOUT_ROOTS_READ_ALL if os.geteuid() == 0 else []), *AIRGAP])
    assert "Traceback" not in result.stderr and result.returncode == 0, result.stderr
    assert "npm        https://n.example.com/npm/  (pkg-npm-url, auth none)" in result.stdout


def test_preamble_check_prints_text_or_json():
    config = FIXTURES / "credentials-everywhere"
    text = airgap("preamble-check", "--strategy", "webapp", config, "--format", "text")
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("webapp preamble with ")
    for expected in ("images:", "nexus.example.com/dockerhub-proxy/library/node:18-alpine  (mirror via oci-dockerhub-url, "
                     "credentials oci-dockerhub-username)",
                     "login: nexus.example.com/choreo-proxy  (oci-choreo-username)",
                     "Docker Hub login with the platform's credentials: no",
                     "npm        https://nexus.example.com/repository/npm-proxy/  (pkg-npm-url, auth token)",
                     "ignored keys (not consumed by this strategy): oci-buildpacks-password"):
        assert expected in text.stdout, expected
    assert airgap("preamble-check", "--strategy", "webapp", config).stdout == text.stdout  # text by default, as plan
    data = json.loads(airgap("preamble-check", "--strategy", "webapp", config, "--format", "json").stdout)
    assert data["packages"]["npm"]["auth"] == "token"


def test_preamble_check_text_shows_a_failed_preamble(tmp_path):
    (tmp_path / "pkg-npm-url").write_text("nexus.example.com/npm/")
    result = airgap("preamble-check", "--strategy", "webapp", tmp_path, "--format", "text")
    assert result.returncode == 1
    assert "the preamble stopped (exit " in result.stdout and "pkg-npm-url" in result.stdout
    assert result.stdout.rstrip().endswith("problems: none besides the stop (exit 1)")  # not a bare "none"


@pytest.mark.parametrize("command", ["plan", "preamble-check"])
def test_text_headers_escape_a_directory_names_control_characters(tmp_path, command):
    """A directory name reaches the terminal as text: an escape sequence in it is shown, not obeyed."""
    directory = tmp_path / "e\x1b[31mRED"
    directory.mkdir()
    (directory / "pkg-npm-url").write_text("https://nexus.example.com/npm/")
    out = airgap(command, "--strategy", "webapp", directory).stdout
    assert "\x1b" not in out and "e\\x1b[31mRED" in out.splitlines()[0]


def test_a_broken_catalog_is_an_error_naming_it_from_every_command(tmp_path):
    """A misspelt family in catalog.yaml was a KeyError traceback from every command, --help included (the
    parser reads the catalog for --strategy's choices)."""
    import shutil
    import sys

    shutil.copytree(CHECKOUT / "harness", tmp_path / "harness", ignore=shutil.ignore_patterns("__pycache__"))
    for tree in ("profiles", "preamble"):  # the profile the catalog merges; the preamble marks a checkout
        shutil.copytree(CHECKOUT / tree, tmp_path / tree, symlinks=True)
    (tmp_path / "cfg").mkdir()
    catalog = tmp_path / "harness" / "contract" / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace("image-node-ref: {family: image-override,",
                                                   "image-node-ref: {family: image-overide,"))
    for command in (["--help"], ["lint", "cfg"]):
        result = airgap(*command, entry=[sys.executable, "-m", "harness"], cwd=tmp_path,
                        env={**os.environ, "PYTHONPATH": str(tmp_path)})
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert ("harness/contract/catalog.yaml: strategies." in result.stderr
                and "'image-node-ref' is not an image-override key" in result.stderr), result.stderr
