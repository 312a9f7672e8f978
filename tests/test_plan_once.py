"""A scenario reads its proxy-config once and plans it once per served strategy; the stack is configured from
those plans (routes, names, golden images, the mount) and nothing below reads the directory or plans again.

Offline: an AirgapStack that is not started, its running servers and builders replaced by recorders at the
container boundary, so the whole setup path of steps.run_scenario runs as under Docker up to `docker exec`.
"""

import sys
from pathlib import Path

import pytest

from harness.contract import config as config_module
from harness.contract import plan as plan_module
from harness.contract.catalog import load_catalog
from harness.contract.config import read_config
from harness.scenarios import steps
from harness.scenarios.model import ConfigSpec, Expect, Scenario
from harness.secret import convert
from harness.stack import serving
from harness.stack.builders import Builders, RunResult
from harness.stack.configuration import MirrorConfig
from harness.stack.evidence import parse as parse_evidence
from harness.stack.servers.mirrors import BACKENDS
from harness.stack.stack import AirgapStack
from helpers import PREAMBLE

CATALOG = load_catalog()
NEXUS = "https://nexus.example.com/repository"


class Recorder:
    """A running server's docker container: what was copied into it and run in it."""

    def __init__(self) -> None:
        self.archives: list[bytes] = []
        self.commands: list = []

    def put_archive(self, path, data) -> bool:
        self.archives.append(data)
        return True

    def exec_run(self, command, **_):
        self.commands.append(command)
        return type("Exec", (), {"exit_code": 0, "output": b""})()


class RecordingBuilders(Builders):
    """Builders up to the container: the secret volume is laid out for real, the command is not run."""

    def __init__(self) -> None:
        super().__init__(None, "offline", {}, {}, None, CATALOG, None, None)
        self.mounted: list[dict[str, bytes]] = []

    def execute(self, command, network, secret_dir: Path, env, files, workdir, timeout_s, not_before=0.0) -> RunResult:
        self.mounted.append({p.name: p.read_bytes() for p in secret_dir.iterdir() if not p.name.startswith("..")})
        output = ("::airgap-image PROXY_IMAGE_NODE=nexus.example.com/dockerhub/library/node:18\n"
                  "::airgap-report\tpackage\tnpm\ttoken\tpkg-npm-url\tpkg-npm-token\t\t\n")
        return RunResult(command, network, 0, output, "", 1.0, 2.0, "10.0.0.200")


@pytest.fixture
def stack(monkeypatch):
    stack = AirgapStack(catalog=CATALOG)
    servers = {}
    empty = read_config(None)
    stack._mirrors = serving.Mirrors(stack._ca, lambda name: servers.setdefault(name, Recorder()), lambda: "10.0.0.3",
                                     MirrorConfig.derive(CATALOG, empty, stack.plan(empty)))
    stack._builders = RecordingBuilders()
    stack.servers = servers
    monkeypatch.setattr(stack, "evidence", lambda **_: parse_evidence("", ""))
    return stack


@pytest.fixture
def calls(monkeypatch):
    """Every call of plan(), effective_mirrors(), read_config() and read_for_mount(), wherever imported from."""
    recorded = {"plan": [], "effective_mirrors": [], "read_config": [], "read_for_mount": []}
    originals = {"plan": plan_module.plan, "effective_mirrors": plan_module.effective_mirrors,
                 "read_config": config_module.read_config, "read_for_mount": convert.read_for_mount}
    for name, original in originals.items():
        def counting(*args, _name=name, _original=original, **kwargs):
            recorded[_name].append(args)
            return _original(*args, **kwargs)

        for module in [m for n, m in sys.modules.items() if n.startswith("harness") and m is not None]:
            for attribute, value in list(vars(module).items()):
                if value is original:
                    monkeypatch.setattr(module, attribute, counting)
    return recorded


def scenario(strategy: str, keys: dict, accept_from: dict | None = None) -> Scenario:
    return Scenario(f"plan-once/{strategy}", strategy, ConfigSpec(keys=tuple(sorted(keys.items()))), Expect("any"),
                    accept_from=ConfigSpec(keys=tuple(sorted(accept_from.items()))) if accept_from else None)


def run(stack, case: Scenario):
    return steps.run_scenario(stack, case, CATALOG, PREAMBLE, {})


def test_one_scenario_reads_its_proxy_config_once_and_plans_it_once(stack, calls):
    run(stack, scenario("webapp", {"pkg-python-url": f"{NEXUS}/pypi/simple/"}))  # warms what is constant
    for recorded in calls.values():
        recorded.clear()
    keys = {"pkg-npm-url": f"{NEXUS}/npm/", "pkg-npm-token": "npm-token-value",
            "webapp.image-node-ref": "registry.customer.example/base/node:20"}  # an override on the customer's host
    outcome = run(stack, scenario("webapp", keys))

    assert len(calls["read_config"]) == 1, calls["read_config"]  # the materialized proxy-config, nothing else
    planned = calls["plan"]
    assert sorted(args[2] for args in planned) == sorted(CATALOG.strategies)  # once per served strategy
    assert all(args[1] is planned[0][1] for args in planned)  # all of the one ProxyConfig read
    assert len(calls["effective_mirrors"]) == len(planned)  # only inside those plans: endpoints reuse them
    assert calls["read_for_mount"] == []  # the mount is laid out from the configuration read
    assert stack._builders.mounted[-1] == {name: value.encode() for name, value in keys.items()}
    assert "pkg-npm-url" in {route.key for route in stack.routes} and "nexus.example.com" in stack.mirror_hosts
    assert stack.servers[BACKENDS["golden"].service].archives  # the override's image, from the same plans
    assert stack.served.plans["webapp"].images["node"].source == "override"
    assert outcome.preamble_report == [{"kind": "package", "name": "npm", "source": "", "auth": "token",
                                        "key": "pkg-npm-url", "username_key": "", "password_key": "",
                                        "token_key": "pkg-npm-token"}]


def test_accepting_another_configuration_reads_each_once_and_plans_only_the_served_one(stack, calls):
    run(stack, scenario("webapp", {}))
    for recorded in calls.values():
        recorded.clear()
    own = {"pkg-npm-url": f"{NEXUS}/npm/", "pkg-npm-token": "wrong-token-value"}
    accepted = {"pkg-npm-url": f"{NEXUS}/npm/", "pkg-npm-token": "right-token-value"}
    run(stack, scenario("webapp", own, accept_from=accepted))
    assert len(calls["read_config"]) == 2  # the build's own and the mirrors'
    served = stack.served.config
    assert len(calls["plan"]) == len(CATALOG.strategies) and all(args[1] is served for args in calls["plan"])
    assert served.entries["pkg-npm-token"].value == "right-token-value"
    assert stack._builders.mounted[-1] == {}  # the build reads its own from a copy, nothing is mounted


def test_the_empty_configuration_is_planned_once_per_catalog_and_strategy(stack, calls):
    run(stack, scenario("webapp", {}))
    for recorded in calls.values():
        recorded.clear()
    run(stack, scenario("webapp", {}))
    run(stack, scenario("byoc", {}))
    assert calls["plan"] == []  # neither the stack's plans nor the covering keys of an empty configuration
    assert len(calls["read_config"]) == 2


def test_configure_refuses_plans_of_other_strategies(stack):
    config = read_config(None)
    with pytest.raises(ValueError, match="stack.plan"):
        stack.configure(config, {"webapp": stack.plan(config)["webapp"]})
