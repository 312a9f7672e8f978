"""Removing a run's resources: on normal exit, Ctrl-C or failure (AirgapStack.stop), and for runs whose
process died (`airgap clean`). Everything is found by label, never by name pattern.
"""

import os
from dataclasses import dataclass, field

import docker
import docker.errors

from harness.stack import isolation
from harness.stack.identity import PID_LABEL, RUN_LABEL


@dataclass
class Removed:
    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    host_rules: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.containers or self.networks or self.host_rules)

    def extend(self, other: "Removed") -> None:
        self.containers += other.containers
        self.networks += other.networks
        self.host_rules += other.host_rules


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _label_filter(run_id: str | None) -> dict:
    return {"label": f"{RUN_LABEL}={run_id}" if run_id else RUN_LABEL}


def remove_run(client: docker.DockerClient, run_id: str) -> Removed:
    """Containers first (they hold the networks), then networks, then the host rules of their bridges."""
    removed = Removed()
    # ignore_removed: a live run's short-lived containers (a builder removed in the background, a probe) can go
    # between docker-py's listing and its inspecting of each
    for container in client.containers.list(all=True, filters=_label_filter(run_id), ignore_removed=True):
        try:
            container.remove(force=True, v=True)
            removed.containers.append(container.name)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as error:
            if error.status_code != 409:  # 409: its removal is already in progress (the run's own stop, beside us)
                raise
    for network in client.networks.list(filters=_label_filter(run_id)):
        try:
            network.remove()
            removed.networks.append(network.name)
        except docker.errors.NotFound:
            pass
    for rule in isolation.host_rules():
        if rule.run_id == run_id:
            isolation.remove_rule(rule)
            removed.host_rules.append(" ".join(rule.spec[:3]))
    return removed


def runs(client: docker.DockerClient) -> dict[str, int]:
    """run id -> owning pid, for every labelled container, network and host rule. Resources without a
    pid label (made by other tools that share the run label) get pid 0 and are removed only on request."""
    owners: dict[str, int] = {}
    resources = client.containers.list(all=True, filters=_label_filter(None), ignore_removed=True)
    resources += client.networks.list(filters=_label_filter(None))
    for resource in resources:
        labels = resource.attrs.get("Config", {}).get("Labels") or resource.attrs.get("Labels") or {}
        if RUN_LABEL in labels:
            owners[labels[RUN_LABEL]] = int(labels.get(PID_LABEL, "0") or 0)
    for rule in isolation.host_rules():
        owners.setdefault(rule.run_id, rule.pid)
    return owners


def clean(client: docker.DockerClient, include_live: bool = False) -> tuple[Removed, list[str]]:
    """Remove the resources of every run whose process is gone (or of every run); (removed, run ids kept:
    alive, or of unknown owner)."""
    removed, kept = Removed(), []
    for run_id, pid in sorted(runs(client).items()):
        if (pid == 0 or pid_alive(pid)) and not include_live:
            kept.append(run_id)
            continue
        removed.extend(remove_run(client, run_id))
    return removed, kept
