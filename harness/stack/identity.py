"""One run's identity: an id, and the labels every container and network of the run carries.

Ryuk cannot run here, so labels are how leftovers are found: `airgap clean` removes the resources of
runs whose owning process (the pid label) is gone.
"""

import os
import secrets
import signal
import threading

LABEL = "airgap-harness"
RUN_LABEL = "airgap-harness.run"
PID_LABEL = "airgap-harness.pid"


def new_run_id() -> str:
    return secrets.token_hex(4)


def run_labels(run_id: str, pid: int | None = None) -> dict[str, str]:
    return {LABEL: "1", RUN_LABEL: run_id, PID_LABEL: str(os.getpid() if pid is None else pid)}


def resource_name(run_id: str, name: str) -> str:
    """Docker name of a run's container or network: unique per run, readable in `docker ps`."""
    return f"airgap-{run_id}-{name}"


def sigterm_as_interrupt():
    """Make SIGTERM (CI cancelling a job) unwind like Ctrl-C, so a run is removed on the way out. Returns
    the previous handler to restore, or None off the main thread (where signals cannot be handled)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def unwind(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    return signal.signal(signal.SIGTERM, unwind)
