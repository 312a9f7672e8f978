"""Waiting for a run's servers: each answers its ServiceSpec's `ready` command, all waited for in parallel.

Each server's probe is repeated inside its container (one `docker exec` that loops until the probe passes, for
a round of WAIT_ROUND_S), not by one exec per try: on two cores, an exec every 0.2 s for every slow server cost
the servers the CPU they start with. A server the engine is restarting (by its container's restart policy:
containers.RESTART_POLICY for a run's servers) is not ready yet; one that stopped for good fails the wait with its
last log lines.
"""

import shlex
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import docker.errors

from harness.infra.errors import UserError
from harness.stack.spec import ServiceSpec

READY_TIMEOUT_S = 300  # servers start slowly on a loaded 2-core machine (stacks side by side, a CI job)
WAIT_ROUND_S = 15  # one exec probes for this long before the engine is asked again whether the server runs
PROBE_INTERVAL_S = 0.1
WORKERS = 14  # one per container: waiting is mostly waiting on the engine


def is_ready(wrapped, spec: ServiceSpec, within_s: int) -> bool:
    """Whether the docker container `wrapped` of `spec` answers its readiness probe within `within_s` seconds,
    probed inside the container."""
    wrapped.reload()
    if wrapped.status != "running":
        if wrapped.status == "restarting" or (wrapped.status == "exited" and _restarts_left(wrapped.attrs)):
            return False  # the engine restarts it
        raise UserError(f"{spec.name} stopped while starting ({wrapped.status}); last log lines:\n"
                        + wrapped.logs(tail=30).decode(errors="replace"))
    command = ["timeout", str(within_s), "sh", "-c",
               f"until {shlex.join(spec.ready)} >/dev/null 2>&1; do sleep {PROBE_INTERVAL_S}; done"]
    try:
        return wrapped.exec_run(command).exit_code == 0
    except docker.errors.APIError:
        return False  # it stopped between the two calls; the next round sees why


def _restarts_left(attrs: dict) -> bool:
    """Whether the engine will start this exited container again, by its own restart policy (none: never)."""
    policy = attrs.get("HostConfig", {}).get("RestartPolicy") or {}
    if policy.get("Name") in ("always", "unless-stopped"):
        return True
    most = policy.get("MaximumRetryCount", 0)
    return policy.get("Name") == "on-failure" and (most == 0 or attrs.get("RestartCount", 0) < most)


def wait_ready(specs: list[ServiceSpec], container_of: Callable[[str], object],
               timeout_s: float = READY_TIMEOUT_S) -> None:
    """Wait until every spec with a readiness probe answers it; `container_of(name)` gives its docker container."""
    deadline = time.monotonic() + timeout_s

    def wait(spec: ServiceSpec) -> bool:
        while (left := deadline - time.monotonic()) > 0:
            if is_ready(container_of(spec.name), spec, max(1, min(WAIT_ROUND_S, int(left)))):
                return True
            time.sleep(0.2)  # restarting, or a round ended: ask the engine again
        return False

    pending = [spec for spec in specs if spec.ready]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        late = [spec.name for spec, ready in zip(pending, pool.map(wait, pending)) if not ready]
    if late:
        raise UserError(f"not ready within {timeout_s} s: {', '.join(late)}")
