"""compose/docker-compose.yml is the AirgapStack topology: regenerating it from the definition changes nothing."""

import pytest
import yaml

from harness.infra import paths
from harness.stack import compose
from harness.stack.pki import RunCA
from harness.stack.topology import NETWORKS

pytestmark = pytest.mark.offline  # renders and reads files: no engine
COMPOSE_FILE = paths.compose_dir() / "docker-compose.yml"


def test_committed_compose_file_matches_the_definition():
    topology, _ = compose.definition(RunCA())
    expected = compose.render_compose(topology)
    assert COMPOSE_FILE.read_text() == expected, (
        "compose/docker-compose.yml is out of step with harness/stack/topology.py: "
        "run `python -m harness.stack.compose` and commit the result")


def test_compose_services_are_the_topology_placements_plus_builders():
    topology, routes = compose.definition(RunCA())
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    placed = {p.spec.name: p for p in topology.placements}
    assert set(document["services"]) == set(placed) | {"builder", "confine-builder", "builder-open",
                                                         "confine-builder-open"}
    for name, placement in placed.items():
        networks = document["services"][name]["networks"]
        assert {net: cfg["ipv4_address"] for net, cfg in networks.items()} == placement.addresses
    assert set(document["networks"]) == set(NETWORKS)
    assert all(net["internal"] for net in document["networks"].values())
    assert routes, "the compose project serves the full-global fixture's mirrors"
