"""Each package manager in one place: every manager of the catalog has its whole slice, the simulated internet
serves every public destination the catalog names, every key has a mirror route, and docs/adding-a-key.md
lists exactly the files a manager has.

Offline: no Docker, no network (bash only to see which writer the reference preamble defines).
"""

import re
import subprocess
from pathlib import Path

import pytest

from harness.contract.catalog import load_catalog
from harness.contract.endpoints import Endpoint
from harness.infra import paths
from harness.infra.errors import UserError
from harness.preamble import readers
from harness.stack import content, gateway, slices
from harness.stack.servers import internet, mirrors

ROOT = paths.checkout()
CATALOG = load_catalog()
MANAGERS = list(CATALOG.managers)
# The files of a manager's slice, as docs/adding-a-key.md lists them (test_the_doc_lists_the_files_of_a_slice).
SLICE_FILES = {
    "harness/stack/managers/<manager>.yaml",  # its data (harness/stack/slices.py)
    "harness/stack/content/<manager>.py",  # its content generator
    "fixtures/content/<manager>.yaml",  # its content definitions
    "harness/preamble/readers/<manager>.py",  # preamble-check's reader
    "preamble/lib/managers/<manager>.sh",  # the reference preamble's writer
    "tests/preamble/test_client_<manager>.py",  # its real client reads the configuration back
}
# A platform registry with a port (a PDP's own): its host is served too.
CATALOGS = [CATALOG, load_catalog("registry.pdp.example.com:5443")]


def destinations(catalog) -> dict[str, str]:
    """Every public destination the catalog names -> where it names it."""
    found = {}
    for registry in catalog.registries.values():
        found |= {host: f"registry {registry.id}" for host in registry.endpoints}
    for manager in catalog.managers.values():
        found |= {host: f"manager {manager.id}" for host in manager.endpoints}
        found |= {d.host: f"manager {manager.id} (unredirectable)" for d in manager.unredirectable}
    for strategy in catalog.strategies.values():
        found |= {d.host: f"strategy {strategy.name} (unredirectable)" for d in strategy.unredirectable}
    return found


# --- the simulated internet serves the catalog's public destinations --------------------------------------------

@pytest.mark.parametrize("catalog", CATALOGS, ids=["default", "pdp-registry"])
def test_every_public_destination_of_the_catalog_is_served_by_the_simulated_internet(catalog):
    served = set(internet.public_names(catalog))
    missing = {host: where for host, where in destinations(catalog).items()
               if host not in served and host not in internet.NOT_SERVED}
    assert not missing, f"not on the simulated internet (serve them, or list them in internet.NOT_SERVED): {missing}"


@pytest.mark.parametrize("catalog", CATALOGS, ids=["default", "pdp-registry"])
def test_the_simulated_internet_serves_only_catalog_destinations(catalog):
    names = internet.public_names(catalog)
    assert len(names) == len(set(names)), "a public name is served twice"
    leaks = {host for hosts in content.leak_hosts() for host in hosts}  # the leak scenarios' hosts outside the contract
    unknown = set(names) - set(destinations(catalog)) - leaks
    assert not unknown, f"served, but the catalog names no such public destination: {sorted(unknown)}"


def test_not_served_lists_only_catalog_destinations_the_internet_leaves_out():
    for host, why in internet.NOT_SERVED.items():
        assert host in destinations(CATALOG) and host not in internet.public_names(CATALOG) and why


@pytest.mark.parametrize("manager", MANAGERS)
def test_a_slice_serves_only_its_managers_destinations(manager):
    entry = CATALOG.managers[manager]
    own = set(entry.endpoints) | {d.host for d in entry.unredirectable}
    assert set(slices.get(manager).hosts) <= own, f"{manager}: hosts not in its catalog entry"


def test_every_mirror_upstream_is_on_the_simulated_internet():
    names = set(internet.public_names(CATALOG))
    upstreams = {kind: host for kind, host in mirrors.OCI_UPSTREAMS.items() if host}
    upstreams |= {piece.manager: piece.mirror.upstream_host for piece in slices.load()}
    assert {kind: host for kind, host in upstreams.items() if host not in names} == {}


# --- every key has a route to a backend ------------------------------------------------------------------------

def test_every_key_of_the_catalog_has_a_route_to_a_backend():
    table, backends = gateway.load_table(), mirrors.BACKENDS
    for key in CATALOG.keys.values():
        target = {"oci-mirror": key.registry, "package-proxy": key.manager, "image-override": "*"}[key.family]
        entry = table.get((key.family, target))
        assert entry is not None, f"{key.name}: no gateway route for {key.family} {target}"
        kinds = [entry["kind"]] + [sub["kind"] for sub in entry.get("subpaths", []) if "kind" in sub]
        assert all(kind in backends for kind in kinds), f"{key.name}: route to a backend that does not exist: {kinds}"


@pytest.mark.parametrize("key", [k for k in CATALOG.keys.values() if k.family == "package-proxy"], ids=lambda k: k.name)
def test_every_package_key_is_routed_not_left_unrouted(key):
    assert re.fullmatch(r"pkg-[a-z0-9]+-url", key.name)
    endpoint = Endpoint(key.name, key.family, key.manager, "https", "nexus.example.com", 443,
                        f"/repository/{key.manager}-proxy/", None, None)
    routes, unrouted = gateway.build_routes([endpoint], {}, mirrors.BACKENDS)
    assert unrouted == {} and [route.key for route in routes] == [key.name]
    backend = mirrors.BACKENDS[key.manager]
    assert routes[0].locations[0].upstream == f"http://{backend.service}:{backend.port}{backend.path}"


# --- every manager has its whole slice -------------------------------------------------------------------------

def _path(pattern: str, manager: str) -> Path:
    return ROOT / pattern.replace("<manager>", manager)


@pytest.mark.parametrize("manager", MANAGERS)
def test_every_manager_has_the_files_of_a_slice(manager):
    missing = [pattern for pattern in sorted(SLICE_FILES) if not _path(pattern, manager).is_file()]
    assert not missing, f"{manager}: missing {', '.join(p.replace('<manager>', manager) for p in missing)}"


@pytest.mark.parametrize("manager", MANAGERS)
def test_every_manager_has_data_generator_reader_and_writer(manager):
    piece = slices.get(manager)
    assert piece.file == _path("harness/stack/managers/<manager>.yaml", manager)
    assert callable(content.generator(manager).generate)
    assert callable(readers.reader_for(manager))
    writer = _path("preamble/lib/managers/<manager>.sh", manager).read_text()
    assert re.search(rf"^pc_write_{manager}\(\) \{{", writer, re.M), f"{manager}.sh does not define pc_write_{manager}"
    # the library the entries source defines it (the writer file is sourced)
    done = subprocess.run(["bash", "-c", 'source "$1" && declare -F "pc_write_$2"', "bash",
                           str(ROOT / "preamble/lib/proxy-config.sh"), manager], capture_output=True, text=True)
    assert done.returncode == 0, f"sourcing preamble/lib/proxy-config.sh defines no pc_write_{manager}: {done.stderr}"


def test_every_generated_tree_has_a_place_and_every_project_a_manager():
    built = content.build()
    assert set(built.projects) <= set(MANAGERS)
    for piece in slices.load():
        for site in piece.sites:
            for _, url_path in site.trees:
                assert any(path.startswith(site.host + url_path) for path in built.static), (piece.manager, site.host)


def test_slices_are_exactly_the_catalogs_managers_in_its_order():
    assert [piece.manager for piece in slices.load()] == MANAGERS
    assert sorted(path.stem for path in slices.DIRECTORY.glob("*.yaml")) == sorted(MANAGERS)


def test_a_missing_slice_or_reader_is_a_clear_error(tmp_path):
    for path in slices.DIRECTORY.glob("*.yaml"):
        if path.stem != "npm":
            (tmp_path / path.name).write_text(path.read_text())
    with pytest.raises(UserError, match=r"npm of harness/contract/catalog.yaml have no slice"):
        slices.load(tmp_path)
    with pytest.raises(UserError, match=r"no reader harness/preamble/readers/cargo.py"):
        readers.reader_for("cargo")
    with pytest.raises(UserError, match=r"no content generator harness/stack/content/cargo.py"):
        content.generator("cargo")


def test_a_slice_with_a_mistake_names_its_file(tmp_path):
    for path in slices.DIRECTORY.glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text())
    maven = tmp_path / "maven.yaml"
    maven.write_text(maven.read_text().replace("server: files", "server: nexus"))
    with pytest.raises(UserError, match=r"maven.yaml: mirror: server 'nexus' is not one of"):
        slices.load(tmp_path)


# --- docs/adding-a-key.md names the files a manager has --------------------------------------------------------

def _doc_patterns() -> set[str]:
    """The doc's numbered list of a slice's files: items that start with a path holding `<manager>`."""
    text = (ROOT / "docs/adding-a-key.md").read_text()
    return set(re.findall(r"^\d+\. `([^`\s]*<manager>[^`\s]*)`", text, re.M))


def test_the_doc_lists_the_files_of_a_slice():
    assert _doc_patterns() == SLICE_FILES
    text = (ROOT / "docs/adding-a-key.md").read_text()
    counted = re.search(r"add the catalog entry \(section 1\) and these (\d+) files", text)
    assert counted and int(counted[1]) == len(SLICE_FILES)


@pytest.mark.parametrize("manager", MANAGERS)
def test_the_files_the_doc_names_exist_for_every_manager(manager):
    missing = [pattern.replace("<manager>", manager) for pattern in sorted(_doc_patterns())
               if not _path(pattern, manager).is_file()]
    assert not missing, f"docs/adding-a-key.md names files {manager} does not have: {missing}"


def test_a_manager_that_builds_customer_projects_has_its_stand_in_module_and_no_module_is_orphaned():
    from harness.customer import project

    building = {piece.manager for piece in slices.load() if piece.builds}
    for manager in building:
        assert callable(project.standins_module(manager).standins), manager
    modules = {p.stem for p in (paths.checkout() / "harness" / "customer").glob("*.py")} - {"__init__", "project", "dockerfile"}
    assert modules == building
