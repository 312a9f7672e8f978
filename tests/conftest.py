"""Suite-wide policy: a missing prerequisite fails the test that needs it; nothing is skipped.

Tests state what they need with `pytest.mark.skipif(<missing>, reason=<how to install it>)`, which reads
naturally; this hook turns a true condition into a failure carrying that reason, so a machine without a
client can never pass the suite by skipping (scripts/bootstrap installs every client).

Test layers: every test gets exactly one of the markers `offline`, `realclient` and `docker` (pyproject.toml),
so `pytest -m offline` (`tox -e fast`) is a quick run that needs neither Docker nor root. See `layer_of`.
"""

from fnmatch import fnmatch

import pytest
from hypothesis import HealthCheck, settings

from harness.contract.catalog import load_catalog
from harness.infra import engine, paths

LAYERS = ("offline", "realclient", "docker")  # lightest first
# A test that uses one of these fixtures, directly or through another fixture, is at least in that layer.
FIXTURE_LAYERS = {"docker_client": "docker", "airgap_stack": "docker", "network": "realclient"}
# Where a test has no layer marker of its own: its checkout-relative path (first match), else offline.
PATH_LAYERS = [("tests/stack/*", "docker"), ("scenarios/*", "docker"), ("tests/preamble/test_client_*", "realclient")]

# `pytest --hypothesis-profile=fast` (tox -e fast): fewer examples where a property test sets no count of its
# own; the tests that do read theirs from AIRGAP_*_EXAMPLES.
# Both profiles: no per-example deadline and no "too slow" health check. Time is measured by benchmarks/, not
# by tests; on a loaded 2-core CI machine those checks fail tests whose properties hold.
_UNTIMED = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("untimed", **_UNTIMED)
settings.register_profile("fast", max_examples=20, **_UNTIMED)
settings.load_profile("untimed")


def layer_of(item) -> str:
    """A test's layer marker (its own, its class's or its module's `pytestmark`) if it has one, else the heavier
    of its path's layer and what its fixtures need. A marker can say that a test in tests/stack needs no
    Docker; a marker lighter than the test's fixtures, or two layer markers, is an error."""
    needed = max((FIXTURE_LAYERS[name] for name in getattr(item, "fixturenames", ()) if name in FIXTURE_LAYERS),
                 key=LAYERS.index, default="offline")
    marked = sorted({mark.name for mark in item.iter_markers() if mark.name in LAYERS}, key=LAYERS.index)
    if len(marked) > 1:
        raise ValueError(f"marked {' and '.join(marked)}: a test is in exactly one layer")
    if marked:
        if LAYERS.index(marked[0]) < LAYERS.index(needed):
            raise ValueError(f"marked {marked[0]}, but its fixtures need {needed}")
        return marked[0]
    root = paths.checkout()
    relative = item.path.relative_to(root).as_posix() if item.path.is_relative_to(root) else item.path.name
    by_path = next((layer for pattern, layer in PATH_LAYERS if fnmatch(relative, pattern)), "offline")
    return max(by_path, needed, key=LAYERS.index)


@pytest.hookimpl(tryfirst=True)  # before -m selects by marker
def pytest_collection_modifyitems(items):
    problems = []
    for item in items:
        try:
            layer = layer_of(item)
        except ValueError as error:
            problems.append(f"{item.nodeid}: {error}")
            continue
        if item.get_closest_marker(layer) is None:
            item.add_marker(layer)
    if problems:
        raise pytest.UsageError("test layers (tests/conftest.py):\n  " + "\n  ".join(problems))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    for mark in item.iter_markers(name="skipif"):
        condition = mark.args[0] if mark.args else mark.kwargs.get("condition")
        if condition is True or (condition and not isinstance(condition, str)):
            pytest.fail(f"prerequisite missing: {mark.kwargs.get('reason', 'see the test')}", pytrace=False)


@pytest.fixture(scope="session")
def docker_client():
    """The engine every Docker-using test talks to; started here (`airgap engine ensure`) on a fresh machine,
    so a test never depends on running after another that happened to start it."""
    return engine.ensure_engine()


@pytest.fixture(scope="session")
def catalog():
    """The contract's key catalog (the default platform registry)."""
    return load_catalog()
