"""harness/preamble/interface.py is the one definition of the preamble's interface: the reference preamble (bash)
must read the variables it declares and write the report columns it declares, so the two cannot drift apart."""

import re

import pytest

from harness.contract.catalog import load_catalog
from harness.preamble import interface
from harness.preamble.runner import run_preamble
from helpers import PREAMBLE, PROXY_CONFIGS

CATALOG = load_catalog()
STRATEGIES = list(CATALOG.strategies)
BASH = "\n".join(path.read_text() for path in sorted(PREAMBLE.rglob("*.sh")))


def _run(tmp_path, strategy, config, **environment):
    environment = interface.Environment(home=tmp_path / "home", proxy_config_dir=config,
                                        dockerhub_login=("platform", "platform-secret"), **environment)
    return run_preamble(interface.entry(PREAMBLE, strategy), environment, tmp_path, isolate=True)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_report_lines_have_the_declared_columns(tmp_path, strategy):
    run = _run(tmp_path, strategy, PROXY_CONFIGS / "credentials-everywhere")
    assert run.ok, run.log
    raw = (interface.state_dir(tmp_path / "home") / interface.REPORT_FILE).read_text()
    widths: dict[str, set[int]] = {}
    for line in raw.splitlines():
        kind, *columns = line.split("\t")
        assert kind in interface.REPORT_COLUMNS, f"report.tsv: {kind!r} is not a kind interface.py declares"
        assert len(columns) <= len(interface.REPORT_COLUMNS[kind]), f"more columns than interface.py declares: {line!r}"
        widths.setdefault(kind, set()).add(len(columns))
    assert run.report_problems == [] and len(run.report) == len(raw.splitlines())
    for kind, seen in widths.items():  # every configured record fills every declared column
        assert len(interface.REPORT_COLUMNS[kind]) in seen, f"{kind} lines have {seen} columns, interface.py declares " \
                                                            f"{len(interface.REPORT_COLUMNS[kind])}"
    strategy_data = CATALOG.strategies[strategy]
    for record in run.report:
        if record.kind == "image":
            assert record.name in strategy_data.images and record.source in interface.IMAGE_SOURCES
        elif record.kind == "package":
            assert record.name in strategy_data.managers and record.auth in interface.PACKAGE_AUTH
            assert record.credentials == ([record.token_key] if record.auth == "token" else
                                          [record.username_key, record.password_key] if record.auth == "basic" else [])
        elif record.kind == "mirror":
            assert record.name in CATALOG.registries and record.key
        for key in (record.key, record.username_key, record.password_key, record.token_key):
            assert not key or (PROXY_CONFIGS / "credentials-everywhere" / key).is_file(), f"{key}: not a key file"
    assert {r.name for r in run.report if r.kind == "image"} == set(strategy_data.images)
    assert {r.name for r in run.report if r.kind == "package"} == set(strategy_data.managers)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_image_is_exported_under_the_declared_variable(tmp_path, strategy):
    run = _run(tmp_path, strategy, tmp_path / "absent")
    assert run.ok, run.log
    exported = {name for name in run.env if name.startswith(interface.IMAGE_VARIABLE_PREFIX)}
    assert exported == {interface.image_variable(image) for image in CATALOG.strategies[strategy].images}


def test_the_declared_state_dir_variable_moves_the_report(tmp_path):
    run = _run(tmp_path, "webapp", PROXY_CONFIGS / "full-global", state_dir=tmp_path / "state")
    assert run.ok, run.log
    assert (tmp_path / "state" / interface.REPORT_FILE).is_file() and (tmp_path / "state" / interface.IGNORED_KEYS_FILE).is_file()
    assert not interface.state_dir(tmp_path / "home").exists()
    assert [r for r in run.report if r.kind == "package" and r.name == "npm"][0].key == "pkg-npm-url"


def test_the_bash_reads_every_declared_variable_and_file():
    for variable in interface.INPUTS:
        assert re.search(r"\$\{?" + variable + r"\b", BASH), f"the preamble never reads {variable}"
    for name in (interface.DEFAULT_PROXY_CONFIG_DIR, interface.DEFAULT_STATE_DIR, interface.REPORT_FILE,
                 interface.IGNORED_KEYS_FILE, interface.DOCKERHUB_LOGIN_FILE, interface.IMAGE_VARIABLE_PREFIX):
        assert name in BASH, f"{name} is not in the preamble's bash"


def test_a_foreign_report_is_checked_not_trusted():
    problems: list[str] = []
    records = interface.parse_report("image\tnode\tmirror\toci-dockerhub-url\t\textra\nsurprise\tx\n"
                                     "package\tnpm\ttoken\tpkg-npm-url\tpkg-npm-token\n", problems)
    assert [(r.kind, r.name, r.token_key) for r in records] == [("package", "npm", "pkg-npm-token")]
    assert len(problems) == 2 and "at most 4" in problems[0] and "unknown kind" in problems[1]
    with pytest.raises(interface.ReportError):
        interface.parse_report("surprise\tx\n")
