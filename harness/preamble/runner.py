"""Run a build preamble offline, the one way: source a strategy's entry with bash in a HOME of the caller's
choosing, against a proxy-config directory, and return what it did.

    run = run_preamble(entry(preamble_dir, "webapp"), Environment(home=tmp / "home", proxy_config_dir=config),
                       workdir=tmp, isolate=True)
    run.exit_code, run.stdout, run.stderr, run.env (what it exported), run.report, run.files()

The step is `set -euo pipefail; source ENTRY`, then the environment is saved (`env -0`): `completed` says the
build would have gone on. The variables it receives are harness.preamble.interface.Environment's; PATH and
LANG come from here, nothing else of the caller's environment leaks in. `isolate` runs it in a new, empty
network namespace (unshare --net: nothing can leave the machine, not even DNS); `enter` runs it in one that
exists (a command prefix such as nsenter's).
"""

import os
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from harness.infra.errors import UserError
from harness.preamble.interface import Environment, ReportRecord, read_report

WRAPPER = 'set -euo pipefail\nsource "$1"\nenv -0 >"$2"\n'
TIMEOUT_SECONDS = 60
MAX_OUTPUT_BYTES = 4 << 20  # of each of the preamble's output streams read back (a preamble prints a few KiB)


@dataclass
class PreambleRun:
    """What one preamble run did and left behind."""

    exit_code: int
    stdout: str
    stderr: str
    home: Path
    env: dict[str, str]  # the environment after sourcing: what it exported (empty when it stopped the step)
    completed: bool  # sourcing succeeded and the step went on
    report: list[ReportRecord] = field(default_factory=list)
    report_problems: list[str] = field(default_factory=list)  # lines of report.tsv that break the interface

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.completed

    @property
    def log(self) -> str:
        return self.stdout + self.stderr

    def files(self) -> dict[str, bytes]:
        """Every file under HOME (path relative to it -> bytes): what the preamble wrote there."""
        if not self.home.is_dir():
            return {}
        return {str(p.relative_to(self.home)): p.read_bytes() for p in sorted(self.home.rglob("*")) if p.is_file()}


def no_network_prefix() -> list[str]:
    """The command prefix that runs a command in a new, empty network namespace."""
    if shutil.which("unshare") is None:
        raise UserError("running a preamble offline needs `unshare` (util-linux) to run it without network")
    if os.geteuid() == 0:
        return ["unshare", "--net", "--"]
    return ["unshare", "--user", "--map-root-user", "--net", "--"]


def _exported(path: Path) -> dict[str, str]:
    exported = {}
    if path.exists():
        for item in path.read_bytes().split(b"\0"):
            name, sep, value = item.partition(b"=")
            if sep:
                exported[os.fsdecode(name)] = os.fsdecode(value)
    return exported


def run_preamble(entry: Path, environment: Environment, workdir: Path, *, extra_env: Mapping[str, str] | None = None,
                 isolate: bool = False, enter: Sequence[str] = (), timeout: int = TIMEOUT_SECONDS) -> PreambleRun:
    """Source `entry` (a strategy's `<strategy>.sh`) in bash with `environment`, TMPDIR and the working
    directory `workdir` (which also holds the wrapper and the saved environment); HOME is created."""
    home = Path(environment.home)
    home.mkdir(parents=True, exist_ok=True)
    wrapper, env_file = workdir / "airgap-preamble-run.sh", workdir / "airgap-preamble-env"
    wrapper.write_text(WRAPPER)
    env_file.unlink(missing_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "TMPDIR": str(workdir),
           **environment.variables(), **(extra_env or {})}
    prefix = no_network_prefix() if isolate else list(enter)
    command = prefix + ["bash", str(wrapper), str(entry), str(env_file)]
    returncode, stdout, stderr = _run_bounded(command, env, workdir, timeout, entry)
    log = stdout + stderr
    if isolate and ("unshare failed" in log or (returncode != 0 and log.startswith("unshare:"))):
        raise UserError(f"could not create a network namespace to run the preamble in: {log.strip()}")
    run = PreambleRun(returncode, stdout, stderr, home, _exported(env_file), env_file.exists())
    run.report = read_report(environment.report_dir(), run.report_problems)
    return run


def _run_bounded(command: list[str], env: Mapping[str, str], workdir: Path, timeout: int, entry: Path) -> tuple[int, str, str]:
    """Run the preamble in its own process group, its output in files: a background process it started
    cannot hold a pipe open (the run ends when the preamble does), whatever it leaves running is stopped
    with it, and only the first MAX_OUTPUT_BYTES of each stream are read back."""
    outputs = [workdir / "airgap-preamble-stdout", workdir / "airgap-preamble-stderr"]
    with open(outputs[0], "wb") as out, open(outputs[1], "wb") as err:
        process = subprocess.Popen(command, env=env, cwd=workdir, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise UserError(f"{entry}: the preamble did not finish within {timeout} s") from None
        finally:
            _stop_group(process)
    return returncode, *(_head_text(path) for path in outputs)


def _stop_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # nothing of it is left
    process.wait()


def read_head(path: Path, limit: int) -> bytes:
    """A file's first `limit` bytes: what a preamble run wrote is read back bounded (its output here, the files
    it wrote in harness/preamble/check.py)."""
    with open(path, "rb") as file:
        return file.read(limit)


def _head_text(path: Path) -> str:
    data = read_head(path, MAX_OUTPUT_BYTES + 1)
    text = data[:MAX_OUTPUT_BYTES].decode("utf-8", "backslashreplace")
    return text + (f"\n[output cut at {MAX_OUTPUT_BYTES} bytes]\n" if len(data) > MAX_OUTPUT_BYTES else "")
