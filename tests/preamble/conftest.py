import pytest

from loopback_mirror import IsolatedNetwork


@pytest.fixture(scope="session")
def network():
    """The empty network namespace every real client of these tests runs in."""
    isolated = IsolatedNetwork()
    yield isolated
    isolated.close()
