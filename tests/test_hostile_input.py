"""Hostile input to the commands (secret import|mount|render, survey, lint, run, report merge, preamble-check):
a clear error, never a traceback, a hang or a blow-up.

Each case runs the real command in its own process, with a time limit and (where memory is the risk)
an address-space limit, so a regression shows as a failure instead of taking the machine down.
"""

import json
import os
import resource
import time
from pathlib import Path

import pytest

import helpers
from harness.contract.config import display_name
from harness.secret.convert import MAX_SECRET_FILE_BYTES
from harness.infra.textsafe import printable

EMPTY_CONFIG = helpers.PROXY_CONFIGS / "none"
MEMORY_LIMIT = 1 << 30


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def airgap(*args, timeout=60, limit_memory=False):
    """`python -m harness ARGS`; stdout and stderr as bytes, so raw control characters stay visible."""
    return helpers.airgap(*args, text=False, timeout=timeout, preexec_fn=_limit_memory if limit_memory else None)


def assert_clear_error(result, *expected: str):
    err = result.stderr.decode("utf-8", "backslashreplace")
    assert result.returncode == 1, err
    assert "Traceback" not in err and err.startswith("airgap: error: ") and err.count("\n") == 1, err
    for text in expected:
        assert text in err, err


# --- secret import: the input file ---------------------------------------------------------------------


def billion_laughs(levels: int = 10) -> str:
    """Each alias level is nine of the one below: `kind` stands for 9**10 strings in under 500 bytes."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    names = "abcdefghijk"
    for below, name in zip(names, names[1:levels]):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{below}"] * 9) + "]")
    return "\n".join(lines + [f"kind: *{names[levels - 1]}"]) + "\n"


def test_import_refuses_nested_aliases_quickly_in_bounded_memory(tmp_path):
    source = tmp_path / "laughs.yaml"
    source.write_text(billion_laughs())
    assert source.stat().st_size < 500
    started = time.monotonic()
    result = airgap("secret", "import", source, tmp_path / "out", timeout=60, limit_memory=True)
    assert time.monotonic() - started < 10
    assert_clear_error(result, "not valid YAML at line 2", "alias")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text, expected", [
    ("kind: Secret\n? [a, b]\n: x\n", "not valid YAML at line 2, column 3: a sequence or mapping as a mapping key"),
    ("kind: Secret\nstringData:\n  ? {a: b}\n  : x\n", "as a mapping key"),
    ("kind: Secret\ndata: " + "[" * 100_000 + "\n", "nested more than 64 levels deep"),
    ('{"kind": "Secret", "data": ' + "[" * 100_000 + "\n", "not valid JSON: nested too deeply"),
    ("kind: Secret\nstringData: {a: !!int " + "9" * 5000 + "}\n", "could not determine a constructor"),
    ("kind: [" + "a," * 30_000 + "a]\n", "more than 20000 values"),
    ('{"kind": "List", "items": 5}', "a List holding 0 Secrets"),
    ('{"kind": "Secret", "stringData": {"pkg-npm-token": "\\ud800"}}', "'pkg-npm-token': the value holds an escaped"),
    ("kind: Secret\nstringData:\n  ~: x\n", "stringData has a null key"),
    ('{"kind": "Secret", "stringData": {"pkg-npm-url": ' + "9" * 5000 + "}}", "'pkg-npm-url': the value is not a string"),
], ids=["complex-key", "complex-key-in-stringData", "deep-yaml", "deep-json", "int-tag-5000-digits",
        "too-many-nodes", "json-list-items-not-a-list", "json-lone-surrogate", "null-key", "json-number-5000-digits"])
def test_import_hostile_document_is_a_clear_error(tmp_path, text, expected):
    source = tmp_path / "secret.yaml"
    source.write_text(text)
    assert_clear_error(airgap("secret", "import", source, tmp_path / "out", limit_memory=True), expected)


@pytest.mark.parametrize("value, expected", [
    ("!S3cretZZ91", "could not determine a constructor for the tag (…) (a value starting with !, * or & must be quoted)"),
    ("*S3cretZZ91", "an alias (`*name`) of no anchor (a value starting with * must be quoted)"),
    ("!S3cretZZ91!x", "found undefined tag handle (…)"),
    ("&S3cretZZ91", "'pkg-maven-password' has no value (null)"),  # an anchor on nothing: null
    ("`S3cretZZ91", "not valid YAML at line 3"),
    ("!S3c'ret%22ZZ91", "could not determine a constructor for the tag (…) (a value"),  # both quotes: an escaped '
    ("!<S3c'ret%22ZZ91>", "could not determine a constructor for the tag (…) (a value"),
], ids=["tag", "alias", "tag-handle", "anchor", "backquote", "tag-with-both-quotes", "verbatim-tag-with-both-quotes"])
def test_import_error_never_quotes_an_unquoted_password(tmp_path, value, expected):
    """An unquoted password starting with a YAML indicator is no valid YAML; the error says where, not what."""
    source = tmp_path / "secret.yaml"
    source.write_text(f"kind: Secret\nstringData:\n  pkg-maven-password: {value}\n")
    result = airgap("secret", "import", source, tmp_path / "out")
    assert_clear_error(result, expected)
    assert b"S3cretZZ91" not in result.stderr + result.stdout and b"ZZ91" not in result.stderr + result.stdout


def test_import_refuses_a_device_without_reading_it(tmp_path):
    result = airgap("secret", "import", "/dev/zero", tmp_path / "out", timeout=30, limit_memory=True)
    assert_clear_error(result, "/dev/zero: not a regular file")


def test_import_refuses_a_fifo_without_blocking(tmp_path):
    fifo = tmp_path / "secret.yaml"
    os.mkfifo(fifo)
    assert_clear_error(airgap("secret", "import", fifo, tmp_path / "out", timeout=30), f"{fifo}: not a regular file")


def test_import_refuses_a_file_over_the_limit(tmp_path):
    source = tmp_path / "big.yaml"
    with open(source, "wb") as file:  # sparse: costs no disk
        file.truncate(MAX_SECRET_FILE_BYTES + 1)
    assert_clear_error(airgap("secret", "import", source, tmp_path / "out", limit_memory=True),
                       f"{source}: too large (over {MAX_SECRET_FILE_BYTES} bytes")


# --- secret import|mount: OUT_DIR ----------------------------------------------------------------------


@pytest.fixture
def secret_and_config(tmp_path):
    manifest = tmp_path / "secret.yaml"
    manifest.write_text("kind: Secret\nstringData:\n  pkg-npm-url: https://npm.example.com/\n")
    config = tmp_path / "config"
    config.mkdir()
    (config / "pkg-npm-url").write_text("https://npm.example.com/\n")
    (tmp_path / "a-file").write_text("x")
    return {"import": manifest, "mount": config}


@pytest.mark.parametrize("command", ["import", "mount"])
@pytest.mark.parametrize("out, expected", [
    ("{tmp}/a-file/x", "cannot write OUT_DIR {tmp}/a-file/x: Not a directory"),
    ("/proc/airgap-test-out", "cannot write OUT_DIR /proc/airgap-test-out: No such file or directory"),
])
def test_out_dir_that_cannot_be_created_is_named(tmp_path, secret_and_config, command, out, expected):
    out, expected = out.format(tmp=tmp_path), expected.format(tmp=tmp_path)
    assert_clear_error(airgap("secret", command, secret_and_config[command], out), expected)


def test_import_into_proc_with_force_is_a_clear_error(secret_and_config, tmp_path):
    result = airgap("secret", "import", secret_and_config["import"], "/proc/self", "--force")
    assert_clear_error(result, "cannot write OUT_DIR /proc/self: ", "(/proc/self/pkg-npm-url)")


# --- file names reach the terminal escaped -------------------------------------------------------------


def test_mount_error_escapes_file_names(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "pkg-npm-url").write_text("https://npm.example.com/\n")
    (config / "a\x1b[2Jb\nairgap: error: forged").write_text("x")
    (config / os.fsdecode(b"\xff\x07")).write_text("x")
    result = airgap("secret", "mount", config, tmp_path / "out")
    assert_clear_error(result, f"{config}/a\\x1b[2Jb\\nairgap: error: forged: not a valid Secret key name",
                       f"{config}/\\xff\\x07: not a valid Secret key name")
    assert b"\x1b" not in result.stderr and b"\x07" not in result.stderr


def test_printable():
    assert printable("pkg-npm-url with spaces/ä") == "pkg-npm-url with spaces/ä"
    assert printable("a\nb\tc\rd\x1b[31m\x7f\x85") == "a\\nb\\tc\\rd\\x1b[31m\\x7f\\x85"
    assert printable("\u2028\u202e\ufeff\U000e0001") == "\\u2028\\u202e\\ufeff\\U000e0001"
    assert printable(b"/tmp/\xff\x1b") == printable(Path(os.fsdecode(b"/tmp/\xff\x1b"))) == "/tmp/\\xff\\x1b"
    name = os.fsdecode(b"\xfe\n")
    assert printable(display_name(name)) == printable(name) == "\\xfe\\n"
    printable(name).encode("utf-8")


# --- survey ----------------------------------------------------------------------------------------------


def test_survey_of_undecodable_and_control_character_names(tmp_path):
    folder = tmp_path / "configs"
    folder.mkdir()
    os.mkdir(os.fsencode(folder) + b"/\xff")
    os.mkdir(folder / "a\x1b[31mred\nforged|cell")
    (folder / "ok").mkdir()
    reports = tmp_path / "reports"
    result = airgap("survey", folder, "--report-dir", reports)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert b"Traceback" not in result.stderr and b"\x1b" not in result.stdout
    assert b"a\\x1b[31mred\\nforged|cell" in result.stdout and b"\\xff" in result.stdout
    markdown = (reports / "survey.md").read_text(encoding="utf-8")
    assert "| \\xff | webapp |" in markdown and "| a\\x1b[31mred\\nforged\\|cell | webapp |" in markdown
    assert "| ok | webapp |" in markdown and "\x1b" not in markdown
    configs = {cell["config"] for cell in json.loads((reports / "survey.json").read_text(encoding="utf-8"))}
    assert configs == {f"{folder}/\\xff", f"{folder}/a\x1b[31mred\nforged|cell", f"{folder}/ok"}
    assert sorted(path.name for path in reports.iterdir()) == ["survey.json", "survey.md"]  # no temporary left


def test_survey_report_dir_with_markup_characters(tmp_path):
    reports = tmp_path / "rd[/x]" / "[bold]r"
    result = airgap("survey", EMPTY_CONFIG, "--report-dir", reports)
    assert result.returncode == 0 and b"Traceback" not in result.stderr, result.stderr.decode()
    assert f"wrote {reports}/survey.md" in result.stdout.decode()
    assert (reports / "survey.md").is_file()


@pytest.mark.parametrize("where, expected", [
    ("a-file", "{dir}: exists and is not a directory (--report-dir)"),
    ("a-file/sub", "cannot write the report directory {dir}: Not a directory"),
])
def test_survey_report_dir_that_is_a_file(tmp_path, where, expected):
    (tmp_path / "a-file").write_text("x")
    report_dir = tmp_path / where
    assert_clear_error(airgap("survey", EMPTY_CONFIG, "--report-dir", report_dir), expected.format(dir=report_dir))


# --- links that loop, special files where a command reads a tree ----------------------------------------


def _loop(directory: Path, name: str) -> Path:
    """Two symbolic links naming each other; the first returned."""
    (directory / f"{name}-b").symlink_to(directory / name)
    (directory / name).symlink_to(directory / f"{name}-b")
    return directory / name


def test_profile_that_is_a_link_loop_is_named(tmp_path):
    loop = _loop(tmp_path, "profile.yaml")
    for result in (airgap("lint", "--profile", loop, EMPTY_CONFIG),
                   helpers.airgap("lint", EMPTY_CONFIG, env={**os.environ, "AIRGAP_PROFILE": str(loop)}, text=False)):
        err = result.stderr.decode()
        assert result.returncode == 2 and "Traceback" not in err, err
        assert "argument --profile: " in err and f"{loop}: cannot be resolved: a loop of symbolic links" in err, err


def test_merge_into_a_link_loop_is_a_usage_error(tmp_path):
    loop = _loop(tmp_path, "out")
    shard = tmp_path / "shard"
    shard.mkdir()
    result = airgap("report", "merge", shard, "--report-dir", loop)
    err = result.stderr.decode()
    assert result.returncode == 2 and "Traceback" not in err, err
    assert f"--report-dir {loop}: cannot be resolved" in err, err


def test_scenario_project_path_that_loops_names_the_scenario(tmp_path):
    folder = tmp_path / "loop-project"
    folder.mkdir()
    (folder / "scenario.yaml").write_text((helpers.SCENARIOS / "customer-byoc-dockerfile" / "scenario.yaml").read_text()
                                          .replace("project: {path: ../../fixtures/projects/byoc-dockerfile}",
                                                   "project: {path: la}"))
    _loop(folder, "la")
    result = airgap("run", "--report-dir", tmp_path / "reports", folder)
    assert_clear_error(result, f"{folder / 'scenario.yaml'}: ", "cannot be resolved")


@pytest.mark.parametrize("content", [b"a: \xff\n", b"x" * (2 << 20)], ids=["not-utf-8", "over-the-limit"])
def test_loose_yaml_that_cannot_be_the_matrix_file_is_not_a_scenario(tmp_path, content):
    loose = tmp_path / "loose.yaml"
    loose.write_bytes(content)
    assert_clear_error(airgap("run", "--report-dir", tmp_path / "reports", loose, limit_memory=True),
                       f"{loose}: not a scenario")


def _preamble_copy(tmp_path) -> Path:
    import shutil

    copy = tmp_path / "preamble"
    shutil.copytree(helpers.PREAMBLE, copy)
    return copy


def test_preamble_check_leaves_out_what_is_not_a_file(tmp_path):
    """A FIFO, a directory or a link loop named *.sh is no source text, as a copy of the tree leaves it out: it
    is not read (a FIFO would block until a writer comes)."""
    preamble = _preamble_copy(tmp_path)
    os.mkfifo(preamble / "fifo.sh")
    (preamble / "dir.sh").mkdir()
    _loop(preamble, "loop.sh")
    result = airgap("preamble-check", "--preamble", preamble, "--strategy", "webapp", EMPTY_CONFIG, timeout=60)
    assert result.returncode == 0, result.stderr.decode()


def test_preamble_check_says_what_the_preamble_treated_as_unset(tmp_path):
    config = helpers.write_proxy_config(tmp_path / "config", {"pkg-npm-url": b"https://npm\x00.example.com/"})
    result = airgap("preamble-check", "--strategy", "webapp", config, timeout=60)
    err = result.stderr.decode()
    assert result.returncode == 0, err
    assert "airgap: preamble-check: proxy-config: warning: pkg-npm-url: " in err and "treated as unset" in err, err


def test_secret_render_refuses_more_than_a_secret_holds(tmp_path):
    directory = tmp_path / "config"
    directory.mkdir()
    for index in range(3):
        (directory / f"pkg-npm-url-{index}").write_bytes(b"x" * (400 << 10))
    assert_clear_error(airgap("secret", "render", directory, limit_memory=True),
                       f"{directory}: its files hold over 1 MiB in all")


def test_extra_ca_file_over_the_limit_is_not_read(tmp_path):
    big = tmp_path / "ca.pem"
    with open(big, "wb") as file:
        file.truncate(64 << 20)
    from harness.infra import settings
    from harness.infra.errors import UserError

    with pytest.raises(UserError, match="AIRGAP_EXTRA_CA_CERTS: .*too large"):
        settings.load({"AIRGAP_EXTRA_CA_CERTS": str(big), "AIRGAP_STATE_DIR": str(tmp_path / "state")})
