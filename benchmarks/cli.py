"""Whole-process time of `airgap plan` and `airgap lint` on a 60-key configuration (target: under 300 ms each).

Run: python benchmarks/cli.py [--runs N]. Prints median and worst wall time per command.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))
from harness.catalog import load_catalog  # noqa: E402

TARGET_MS = 300


def sixty_keys(directory: Path) -> int:
    """Every catalog key, global and scoped to a few strategies, until 60 files exist."""
    catalog = load_catalog()
    values = {"oci-mirror": "nexus.example.com/proxy", "image-override": "golden.example.com/base/img:1",
              "package-proxy": "https://nexus.example.com/repository/proxy/"}
    names = []
    for scope in ["", "buildpack.", "webapp.", "ballerina."]:
        for key in catalog.keys.values():
            names.append((scope + key.name, values[key.family]))
            names += [(scope + cred, "secret-value") for cred in key.credential_keys]
    for name, value in names[:60]:
        (directory / name).write_text(value + "\n")
    return len(list(directory.iterdir()))


def time_command(args: list[str], runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "harness", *args], check=False, capture_output=True)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        count = sixty_keys(Path(tmp))
        print(f"configuration: {count} keys; {runs} runs each; target < {TARGET_MS} ms")
        for label, args in [("plan", ["plan", "--strategy", "buildpack", tmp, "--format", "json"]),
                            ("lint", ["lint", tmp, "--format", "json"])]:
            timings = time_command(args, runs)
            median = statistics.median(timings)
            verdict = "OK" if median < TARGET_MS else "OVER TARGET"
            print(f"airgap {label}: median {median:.0f} ms, worst {max(timings):.0f} ms  [{verdict}]")


if __name__ == "__main__":
    main()
