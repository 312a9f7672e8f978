"""Stack tests share one AirgapStack per session (harness.stack.pytest_plugin)."""

from harness.stack.pytest_plugin import airgap_stack, pytest_terminal_summary  # noqa: F401
