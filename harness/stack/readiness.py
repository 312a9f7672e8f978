"""Waiting for a run's servers: each answers its ServiceSpec's `ready` command, all probed in parallel.

A server the engine is restarting (containers.RESTART_POLICY) is not ready yet; one that stopped for good fails
the wait with its last log lines.
"""

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import docker.errors

from harness.infra.errors import UserError
from harness.stack.containers import RESTART_POLICY
from harness.stack.spec import ServiceSpec

READY_TIMEOUT_S = 300  # devpi initialising its server directory takes minutes on a loaded 2-core machine
WORKERS = 14  # one per container: probing is mostly waiting on the engine


def is_ready(wrapped, spec: ServiceSpec) -> bool:
    """Whether the docker container `wrapped` of `spec` answers its readiness probe now."""
    wrapped.reload()
    restarts_left = wrapped.attrs.get("RestartCount", 0) < RESTART_POLICY["MaximumRetryCount"]
    if wrapped.status != "running":
        if wrapped.status == "restarting" or (wrapped.status == "exited" and restarts_left):
            return False  # the engine restarts it
        raise UserError(f"{spec.name} stopped while starting ({wrapped.status}); last log lines:\n"
                        + wrapped.logs(tail=30).decode(errors="replace"))
    try:
        return wrapped.exec_run(spec.ready).exit_code == 0
    except docker.errors.APIError:
        return False  # it stopped between the two calls; the next round sees why


def wait_ready(specs: list[ServiceSpec], container_of: Callable[[str], object],
               timeout_s: float = READY_TIMEOUT_S) -> None:
    """Wait until every spec with a readiness probe answers it; `container_of(name)` gives its docker container."""
    pending = [spec for spec in specs if spec.ready]
    deadline = time.monotonic() + timeout_s
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        while pending and time.monotonic() < deadline:
            ready = pool.map(lambda spec: is_ready(container_of(spec.name), spec), pending)
            pending = [spec for spec, done in zip(pending, ready) if not done]
            time.sleep(0.2)
    if pending:
        raise UserError(f"not ready within {timeout_s} s: {', '.join(spec.name for spec in pending)}")
