"""The session-scoped `airgap_stack` fixture: one AirgapStack for a whole test session.

Import it into a conftest.py (`from harness.stack.pytest_plugin import airgap_stack, pytest_terminal_summary`).
The stack's isolation self-test runs before the first test that uses it (a failing self-test fails every
such test), and its report is printed in the terminal summary. On teardown the fixture checks that the
run left no container, network or firewall rule behind.
"""

import pytest

from harness.stack import cleanup
from harness.stack.stack import AirgapStack

_REPORTS: list[str] = []


@pytest.fixture(scope="session")
def airgap_stack():
    stack = AirgapStack()
    stack.start()
    _REPORTS.append(f"run {stack.run_id}, start-up phases {stack.timings}\n{stack.isolation_report.summary()}")
    try:
        yield stack
    finally:
        stack.stop()
        leftovers = cleanup.runs(stack.client).get(stack.run_id)
        assert leftovers is None, f"run {stack.run_id} left labelled resources or firewall rules behind"


def pytest_terminal_summary(terminalreporter) -> None:
    for report in _REPORTS:
        terminalreporter.write_sep("-", "airgap stack isolation self-test")
        terminalreporter.write_line(report)
