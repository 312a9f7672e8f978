"""Waiting for servers (harness.stack.readiness, through ServersRun.wait_ready) against real containers: a server
that stops for good fails the wait with its own last words, whether it has no restart policy or has used up the
stack's; one that comes up late is waited for."""

import pytest

from harness.infra.engine import ensure_engine
from harness.infra.errors import UserError
from harness.stack.containers import RESTART_POLICY
from harness.stack.spec import ServiceSpec

from servers_stack import ServersRun


@pytest.fixture()
def servers():
    run = ServersRun(ensure_engine())
    try:
        yield run
    finally:
        run.close()


def test_a_server_without_restart_policy_that_exits_fails_the_wait_with_its_log(servers):
    spec = ServiceSpec(name="quits", image="dns", command=["sh", "-c", "echo config refused; exit 3"],
                       ready=["false"])
    servers.start(spec)
    with pytest.raises(UserError, match=r"quits stopped while starting \(exited\)[\s\S]*config refused"):
        servers.wait_ready(spec)


def test_a_server_that_used_up_its_restarts_fails_the_wait_with_its_log(servers):
    spec = ServiceSpec(name="keeps-quitting", image="dns", command=["sh", "-c", "echo no upstream; exit 2"],
                       ready=["false"])
    servers.start(spec, restart_policy={"Name": "on-failure", "MaximumRetryCount": 2})
    with pytest.raises(UserError, match=r"keeps-quitting stopped while starting \(exited\)[\s\S]*no upstream"):
        servers.wait_ready(spec)
    assert servers.containers[spec.name].attrs["RestartCount"] == 2  # the engine's restarts were waited for


def test_a_server_that_comes_up_late_is_waited_for(servers):
    spec = ServiceSpec(name="slow", image="dns", command=["sh", "-c", "sleep 2; touch /tmp/up; sleep infinity"],
                       ready=["test", "-f", "/tmp/up"])
    servers.start(spec, restart_policy=RESTART_POLICY)
    servers.wait_ready(spec)
    code, _ = servers.exec("slow", "test -f /tmp/up")
    assert code == 0
