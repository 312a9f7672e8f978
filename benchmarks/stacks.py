"""How many air-gap stacks side by side: the whole matrix with --jobs 1, 2, 3 ..., its wall time, verdicts and the
peak memory of the run's containers (sampled with `docker stats`), so batch.default_jobs can be chosen from
measured figures (issue 12, item 2). Prints one line per N; asserts nothing.

Run: python benchmarks/stacks.py [--jobs 1 2 3] [PATHS...]
"""

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNITS = {"B": 1 / 2**20, "KiB": 1 / 1024, "kB": 1 / 1024, "MiB": 1, "MB": 1, "GiB": 1024, "GB": 1024}


def _mib(text: str) -> float:
    number = text.rstrip("BKMGikb")
    return float(number) * UNITS.get(text[len(number):], 1)


def _airgap_memory() -> float:
    """MiB in use by every container whose name is an airgap run's (airgap-<run>-<service>)."""
    out = subprocess.run(["docker", "stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}"],
                         capture_output=True, text=True, check=False).stdout
    return sum(_mib(line.split()[1]) for line in out.splitlines() if line.startswith("airgap-"))


def measure(jobs: int, paths: list[str]) -> dict:
    peak, stop = [0.0], threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], _airgap_memory())
            stop.wait(5)

    sampler = threading.Thread(target=sample, daemon=True)
    with tempfile.TemporaryDirectory(prefix="airgap-stacks-") as reports:
        sampler.start()
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "harness", "run", "--jobs", str(jobs), "--report-dir", reports, *paths],
                       cwd=ROOT, capture_output=True, text=True, check=False)
        wall = time.monotonic() - started
        stop.set()
        sampler.join()
        records = json.loads((Path(reports) / "scenarios.json").read_text())
    return {"jobs": jobs, "wall_s": round(wall, 1), "scenarios": len(records),
            "failed": sum(bool(r["problems"]) for r in records),
            "build_s": round(sum(r["seconds"] for r in records), 1), "peak_mib": round(peak[0])}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("paths", nargs="*")
    args = parser.parse_args()
    for jobs in args.jobs:
        result = measure(jobs, args.paths)
        print(f"jobs {result['jobs']}: {result['wall_s']} s wall, {result['scenarios']} scenarios "
              f"({result['failed']} failed), {result['build_s']} s of builds, peak {result['peak_mib']} MiB "
              f"({result['peak_mib'] / jobs:.0f} MiB per stack)", flush=True)


if __name__ == "__main__":
    main()
