"""A run killed with SIGKILL (no clean-up code runs) leaves resources; `airgap clean` removes all of them."""

import os
import subprocess
import sys
import time

import docker

from harness.stack import isolation
from harness.stack.identity import PID_LABEL, RUN_LABEL
from helpers import CHECKOUT as ROOT, airgap

START_A_RUN = "from harness.stack.stack import AirgapStack; AirgapStack().start(); import time; time.sleep(900)"
WAIT_S = 600


def _owned_by(client: docker.DockerClient, pid: int) -> tuple[list, list]:
    selector = {"label": f"{PID_LABEL}={pid}"}
    return client.containers.list(all=True, filters=selector, ignore_removed=True), client.networks.list(filters=selector)


def test_killed_run_leaves_nothing_after_airgap_clean(docker_client):
    from harness.infra.images import ensure_images

    client = docker_client
    ensure_images(client=client)  # built here, not inside the child's wait: a cold build on 2 cores takes minutes
    env = dict(os.environ, PYTHONPATH=str(ROOT), TESTCONTAINERS_RYUK_DISABLED="true")
    child = subprocess.Popen([sys.executable, "-c", START_A_RUN], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and child.poll() is None:
            containers, networks = _owned_by(client, child.pid)
            if len(containers) >= 3 and len(networks) == 2:
                break
            time.sleep(0.5)
        assert child.poll() is None, child.stderr.read().decode(errors="replace")[-3000:]
    finally:
        child.kill()
        child.wait()
    containers, networks = _owned_by(client, child.pid)
    assert len(containers) >= 3 and len(networks) == 2, "the killed run should have left resources behind"
    (run_id,) = {c.labels[RUN_LABEL] for c in containers}
    assert [rule for rule in isolation.host_rules() if rule.run_id == run_id]

    cleaned = airgap("clean", env=env, timeout=300)

    assert cleaned.returncode == 0, cleaned.stderr
    assert "removed network" in cleaned.stdout and "removed firewall rule" in cleaned.stdout
    remaining = client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run_id}"})
    remaining += client.networks.list(filters={"label": f"{RUN_LABEL}={run_id}"})
    assert remaining == []
    assert [rule for rule in isolation.host_rules() if rule.run_id == run_id] == []


def test_stack_up_and_down_leaves_nothing_labelled(docker_client):
    from harness.stack.stack import AirgapStack

    client = docker_client
    with AirgapStack() as stack:
        selector = {"label": f"{RUN_LABEL}={stack.run_id}"}
        assert len(client.containers.list(filters=selector, ignore_removed=True)) >= 5
        assert len(client.networks.list(filters=selector)) == 2
        assert [rule for rule in isolation.host_rules() if rule.run_id == stack.run_id]
    assert client.containers.list(all=True, filters=selector) == []
    assert client.networks.list(filters=selector) == []
    assert [rule for rule in isolation.host_rules() if rule.run_id == stack.run_id] == []
