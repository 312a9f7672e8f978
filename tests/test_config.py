"""The proxy-config reader: precedence, `$(cat)` trimming, the Secret volume layout and hostile input."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.contract.config import MAX_VALUE_BYTES, read_config
from harness.infra import paths
from harness.infra.errors import UserError
from helpers import PROXY_CONFIGS as FIXTURES


def write(directory: Path, name: str, data: bytes | str) -> None:
    (directory / name).write_bytes(data.encode() if isinstance(data, str) else data)


def shell_cat(path: Path) -> bytes:
    """What a build script's "$(cat file)" yields, computed by a real shell."""
    return subprocess.run(["bash", "-c", 'v=$(cat "$1"); printf %s "$v"', "_", str(path)],
                          capture_output=True, check=True).stdout


@given(st.binary(max_size=64).filter(lambda b: b"\0" not in b))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
def test_values_are_what_a_shell_cat_gives(tmp_path, data):
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return  # not text: the reader refuses it (tested below)
    write(tmp_path, "pkg-npm-url", data)
    entry = read_config(tmp_path).entries["pkg-npm-url"]
    assert entry.value.encode() == shell_cat(tmp_path / "pkg-npm-url")


def test_only_trailing_newlines_are_trimmed(tmp_path):
    write(tmp_path, "a", "value\n\n\n")
    write(tmp_path, "b", "value\r\n")
    write(tmp_path, "c", "  value with spaces \n")
    config = read_config(tmp_path)
    assert [config.entries[k].value for k in "abc"] == ["value", "value\r", "  value with spaces "]


def test_strategy_key_wins_over_global(tmp_path):
    write(tmp_path, "pkg-npm-url", "https://global/")
    write(tmp_path, "webapp.pkg-npm-url", "https://webapp/")
    config = read_config(tmp_path)
    assert config.lookup("pkg-npm-url", "webapp").value == "https://webapp/"
    assert config.lookup("pkg-npm-url", "webapp").key == "webapp.pkg-npm-url"
    assert config.lookup("pkg-npm-url", "test-runner").key == "pkg-npm-url"


def test_empty_values_count_as_unset(tmp_path):
    write(tmp_path, "pkg-npm-url", "https://global/")
    write(tmp_path, "webapp.pkg-npm-url", "\n")
    write(tmp_path, "pkg-maven-url", "")
    config = read_config(tmp_path)
    assert config.lookup("pkg-npm-url", "webapp").key == "pkg-npm-url"
    assert config.lookup("pkg-maven-url", "mi") is None


@given(scoped=st.one_of(st.none(), st.sampled_from(["", "\n", "s-value", "s-value\n"])),
       bare=st.one_of(st.none(), st.sampled_from(["", "\n", "g-value", "g-value\n\n"])),
       strategy=st.sampled_from(["buildpack", "webapp", "byoc"]), other=st.sampled_from(["mi", "prism"]))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=80)
def test_precedence_property(tmp_path, scoped, bare, strategy, other):
    for name in os.listdir(tmp_path):
        os.unlink(tmp_path / name)
    if scoped is not None:
        write(tmp_path, f"{strategy}.pkg-go-url", scoped)
    if bare is not None:
        write(tmp_path, "pkg-go-url", bare)
    config = read_config(tmp_path)
    found = config.lookup("pkg-go-url", strategy)
    expected = next((v.rstrip("\n") for v in (scoped, bare) if v and v.rstrip("\n")), None)
    assert (found.value if found else None) == expected
    other_found = config.lookup("pkg-go-url", other)
    assert (other_found.value if other_found else None) == (bare.rstrip("\n") if bare and bare.rstrip("\n") else None)


def test_missing_and_empty_directories_mean_no_configuration(tmp_path):
    assert read_config(tmp_path / "absent").entries == {}
    assert read_config(tmp_path).entries == {}
    assert read_config(FIXTURES / "none").entries == {}


def test_a_file_instead_of_a_directory_is_a_clear_error(tmp_path):
    write(tmp_path, "notadir", "x")
    with pytest.raises(UserError, match="notadir: not a directory"):
        read_config(tmp_path / "notadir")


def test_secret_volume_layout(tmp_path):
    config = read_config(FIXTURES / "secret-volume")
    assert sorted(config.entries) == ["image-node-ref", "oci-dockerhub-url", "pkg-npm-url"]
    assert config.lookup("image-node-ref").value == "golden.example.com:5000/base/node:20"


HOSTILE = {
    "oci-dockerhub-url": "not-utf8",
    "pkg-npm-url": "binary-value",
    "pkg-maven-url": "value-too-large",
    "pkg-gradle-url": "broken-symlink",
    "pkg-python-url": "broken-symlink",
    "pkg-python-url-loop": "broken-symlink",
    "pkg-go-url": "not-a-file",
    "pkg npm url": "invalid-key-name",
}


def test_hostile_fixture_entries_each_carry_their_problem():
    config = read_config(FIXTURES / "hostile")
    for name, rule in HOSTILE.items():
        entry = config.entries[name]
        assert (entry.rule, entry.value) == (rule, None), name
        assert config.lookup(name) is None
    assert config.lookup("pkg-composer-password").value == '$(touch /tmp/pwned) "quoted" ; `id` '


def test_fifo_does_not_block_and_is_reported(tmp_path):
    os.mkfifo(tmp_path / "pkg-npm-url")
    assert read_config(tmp_path).entries["pkg-npm-url"].rule == "not-a-file"


def test_a_file_at_the_size_limit_is_read_and_one_byte_more_is_not(tmp_path):
    write(tmp_path, "pkg-npm-url", b"a" * MAX_VALUE_BYTES)
    write(tmp_path, "pkg-maven-url", b"a" * (MAX_VALUE_BYTES + 1))
    config = read_config(tmp_path)
    assert len(config.entries["pkg-npm-url"].value) == MAX_VALUE_BYTES
    assert config.entries["pkg-maven-url"].rule == "value-too-large"


def test_an_invalid_key_name_is_quoted_so_that_a_trailing_space_shows(tmp_path):
    write(tmp_path, "pkg-npm-url ", "https://nexus.example.com/npm/")
    [entry] = read_config(tmp_path).entries.values()
    assert entry.rule == "invalid-key-name" and "('pkg-npm-url '; allowed:" in entry.problem


def test_undecodable_file_names_are_reported_printably(tmp_path):
    os.close(os.open(os.fsencode(tmp_path) + b"/pkg-\xff-url", os.O_CREAT | os.O_WRONLY))
    [entry] = read_config(tmp_path).entries.values()
    assert entry.name == "pkg-\\xff-url" and entry.rule == "invalid-key-name"


def test_unreadable_file_is_reported():
    """Root reads anything, so the reader runs as `nobody` (via setpriv) when the tests run as root."""
    directory = Path(tempfile.mkdtemp(prefix="airgap-unreadable-"))
    directory.chmod(0o755)
    write(directory, "pkg-npm-url", "https://secret-place/")
    (directory / "pkg-npm-url").chmod(0o000)
    # nobody may not be able to read this checkout or this interpreter: give it a copy and the system Python
    package = Path(tempfile.mkdtemp(prefix="airgap-pkg-"))
    shutil.copytree(paths.PACKAGE, package / "harness")
    subprocess.run(["chmod", "-R", "a+rX", str(package)], check=True)
    code = "from harness.contract.config import read_config; import sys; print(read_config(sys.argv[1]).entries['pkg-npm-url'].rule)"
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    command = [python, "-c", code, str(directory)]
    if os.geteuid() == 0:
        command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(package)}
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd="/")
    shutil.rmtree(directory)
    shutil.rmtree(package)
    assert result.stdout.strip() == "unreadable", result.stderr


@given(st.dictionaries(st.text(min_size=1, max_size=12).filter(lambda n: "/" not in n and "\0" not in n and n not in (".", "..")),
                       st.binary(max_size=40), max_size=6))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
def test_reader_never_raises_on_any_names_and_bytes(tmp_path, files):
    directory = tmp_path / "cfg"
    subprocess.run(["rm", "-rf", str(directory)], check=True)
    directory.mkdir()
    for name, data in files.items():
        try:
            (directory / name).write_bytes(data)
        except OSError:
            pass  # names the file system refuses (too long, not encodable)
    config = read_config(directory)
    for entry in config.entries.values():
        assert (entry.problem is None) == (entry.value is not None)
