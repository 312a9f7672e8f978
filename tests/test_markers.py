"""Test layers (tests/conftest.py): every test is in exactly one of offline, realclient and docker, so
`pytest -m offline` (`tox -e fast`) needs neither Docker nor root, and the three layers together are the suite."""

import json
import subprocess
import sys

from helpers import CHECKOUT

LAYERS = {"offline", "realclient", "docker"}

# Collects in a child pytest (the checkout's own configuration) and prints each test's layers and fixtures.
RECORD = """
import json, sys, pytest

class Record:
    def pytest_collection_finish(self, session):
        items = {item.nodeid: {"layers": sorted({m.name for m in item.iter_markers()} & LAYERS),
                               "fixtures": sorted(getattr(item, "fixturenames", ()))} for item in session.items}
        print("RECORD " + json.dumps(items))

LAYERS = {"offline", "realclient", "docker"}
sys.exit(pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", *sys.argv[1:]], plugins=[Record()]))
"""
SAMPLE = ["tests/test_engine_images.py", "tests/stack/test_topology.py", "tests/stack/test_cleanup.py",
          "tests/preamble/test_safety.py", "tests/preamble/test_client_npm.py"]


def layers_of(item) -> set[str]:
    return {mark.name for mark in item.iter_markers()} & LAYERS


def test_every_test_of_this_run_is_in_exactly_one_layer(request):
    wrong = {item.nodeid: sorted(layers_of(item)) for item in request.session.items if len(layers_of(item)) != 1}
    assert wrong == {}


def test_layers_follow_fixtures_paths_and_explicit_markers():
    done = subprocess.run([sys.executable, "-c", RECORD, *SAMPLE], cwd=CHECKOUT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    record = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("RECORD "))[7:])
    layer = {nodeid: item["layers"][0] for nodeid, item in record.items()}
    assert all(len(item["layers"]) == 1 for item in record.values()), record
    for nodeid, item in record.items():
        if {"docker_client", "airgap_stack"} & set(item["fixtures"]):
            assert layer[nodeid] == "docker", nodeid
        elif "network" in item["fixtures"]:
            assert layer[nodeid] == "realclient", nodeid
    by_file = {}
    for nodeid, name in layer.items():
        by_file.setdefault(nodeid.split("::")[0], set()).add(name)
    assert by_file["tests/preamble/test_client_npm.py"] == {"realclient"}  # by path
    assert by_file["tests/stack/test_cleanup.py"] == {"docker"}  # by path (and fixture)
    assert by_file["tests/stack/test_topology.py"] == {"offline"}  # its pytestmark beats the path
    assert by_file["tests/preamble/test_safety.py"] == {"offline", "realclient"}  # one test uses `network`
    assert layer["tests/test_engine_images.py::test_start_dockerd_starts_an_engine_that_answers"] == "docker"
    assert layer["tests/test_engine_images.py::test_settings_defaults"] == "offline"
