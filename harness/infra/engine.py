"""Find a Docker engine, or on a Debian/Ubuntu machine as root install and start one.

CI machines and fresh developer boxes have no engine running; the harness must bring its own rather than
ask the user to read a setup page. Anywhere else we stop with a message that says what to install.
"""

import fcntl
import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

import docker
import docker.errors
import requests.exceptions

from harness.infra import settings
from harness.infra.errors import UserError

log = logging.getLogger(__name__)

DEFAULT_SOCKET = "unix:///var/run/docker.sock"
CLIENT_TIMEOUT_S = 600  # image builds can stay silent for minutes while apt configures a JDK
START_TIMEOUT_S = 90
_UNREACHABLE = (docker.errors.DockerException, requests.exceptions.RequestException, OSError)


def _answering_client(base_url: str | None) -> docker.DockerClient | None:
    """A client for `base_url` (None: DOCKER_HOST with its TLS variables) if an engine answers there, else None."""
    try:
        if base_url is None:
            client = docker.from_env(timeout=CLIENT_TIMEOUT_S)
        else:
            client = docker.DockerClient(base_url=base_url, timeout=CLIENT_TIMEOUT_S)
        client.ping()
        return client
    except _UNREACHABLE:
        return None


def _is_debian_like() -> bool:
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return False
    fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    ids = {fields.get("ID", "").strip('"')} | set(fields.get("ID_LIKE", "").strip('"').split())
    return bool(ids & {"debian", "ubuntu"})


def _run_logged(command: list[str], log_path: Path, what: str) -> None:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    with log_path.open("ab") as out:
        result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
    if result.returncode != 0:
        raise UserError(f"{what} failed (exit {result.returncode}): `{' '.join(command)}`; see {log_path}")


def apt_install(package: str, program: str, state_dir: Path) -> None:
    """Install a Debian package providing `program` unless it is on PATH already (apt-get update once if needed)."""
    if shutil.which(program):
        return
    if not (_is_debian_like() and os.geteuid() == 0):
        raise UserError(f"`{program}` is missing: install the package `{package}` (needs a Debian/Ubuntu machine)")
    log_path = state_dir / "apt.log"
    log.info("installing %s with apt-get (log: %s)", package, log_path)
    install = ["apt-get", "install", "-y", "--no-install-recommends", package]
    try:
        _run_logged(install, log_path, f"installing {package}")
    except UserError:
        _run_logged(["apt-get", "update"], log_path, "apt-get update")
        _run_logged(install, log_path, f"installing {package}")
    if not shutil.which(program):
        raise UserError(f"installed {package} but `{program}` is still not on PATH; see {log_path}")


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start_dockerd(state_dir: Path, host: str = DEFAULT_SOCKET, extra_args: tuple[str, ...] = ()) -> docker.DockerClient:
    """Start dockerd detached (it outlives this process, like a service), log under `state_dir`, wait for it."""
    log_path = state_dir / "dockerd.log"
    log.info("starting dockerd in the background (log: %s)", log_path)
    command = ["dockerd", *(["-H", host] if host != DEFAULT_SOCKET else []), *extra_args]
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        client = _answering_client(host)
        if client:
            return client
        if process.poll() is not None:
            raise UserError(
                f"dockerd exited with code {process.returncode}; last lines of {log_path}:\n{_tail(log_path)}"
            )
        time.sleep(0.5)
    raise UserError(f"dockerd did not answer on {host} within {START_TIMEOUT_S} s; see {log_path}")


def engine_address() -> str:
    """Where the harness talks to the engine: DOCKER_HOST if set, else the default socket."""
    return os.environ.get("DOCKER_HOST", "").strip() or DEFAULT_SOCKET


def ensure_engine() -> docker.DockerClient:
    """Return a client for an answering engine: DOCKER_HOST, the default socket, or a dockerd we start."""
    docker_host = os.environ.get("DOCKER_HOST", "").strip()
    if docker_host:
        client = _answering_client(None)
        if client is None:
            raise UserError(f"DOCKER_HOST={docker_host!r} does not answer: start that engine or unset DOCKER_HOST")
        return client
    client = _answering_client(DEFAULT_SOCKET)
    if client:
        return client
    socket_path = DEFAULT_SOCKET.removeprefix("unix://")
    if os.path.exists(socket_path) and not os.access(socket_path, os.R_OK | os.W_OK):
        raise UserError(f"no permission to use {socket_path}: add your user to the `docker` group or run as root")
    if not (_is_debian_like() and os.geteuid() == 0):
        raise UserError(
            f"no Docker engine answers at {DEFAULT_SOCKET}: install and start Docker Engine (Debian/Ubuntu: the "
            "docker.io package; macOS/Windows: Docker Desktop), or set DOCKER_HOST to an engine that runs"
        )
    state_dir = settings.load().state_dir
    with (state_dir / "engine.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test processes must not start two daemons
        client = _answering_client(DEFAULT_SOCKET)
        if client:
            return client
        apt_install("docker.io", "dockerd", state_dir)
        return start_dockerd(state_dir)


def describe(client: docker.DockerClient) -> str:
    """One line for humans: engine version, API version and where it answers."""
    version = client.version()
    return f"Docker Engine {version.get('Version')} (API {version.get('ApiVersion')}) at {engine_address()}"
