"""Print the stack's figures: cold image build, warm stack start, memory of the running stack, one trivial
builder command. Targets on a 2-core machine: warm start under 10 s, running stack under 1.5 GiB.

Run from the repository root: `python benchmarks/stack.py [--cold] [--starts N] [--repeat N]`. --cold first builds every
image anew (benchmarks/images.py --fresh-ca: a throwaway CA gives new tags, the images in use stay) and
reports that time; without it the images are only ensured (a warm no-op when present). The warm start is the
median of --starts (default 5) starts, each printed with its phases.
"""

import argparse
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import docker.errors  # noqa: E402

from harness.stack.identity import RUN_LABEL  # noqa: E402
from harness.stack.stack import AirgapStack  # noqa: E402

WARM_START_TARGET_S = 10  # issue 12, item 5 (issue 2 asked for 15)
MEMORY_TARGET_MIB = 1.5 * 1024


def cold_image_build() -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "images.py"), "--fresh-ca"], check=True)
    return time.monotonic() - started


def memory_mib(stack: AirgapStack) -> dict[str, float]:
    """Resident memory per container of the run (cgroup usage minus page cache, as `docker stats` shows)."""
    containers = stack.client.containers.list(filters={"label": f"{RUN_LABEL}={stack.run_id}"}, ignore_removed=True)

    def used(container) -> tuple[str, float] | None:
        try:
            stats = container.stats(stream=False)["memory_stats"]
        except docker.errors.NotFound:  # a builder removed in the background since the listing: gone
            return None
        cache = stats.get("stats", {}).get("inactive_file", stats.get("stats", {}).get("cache", 0))
        return container.name.removeprefix(f"airgap-{stack.run_id}-"), (stats.get("usage", 0) - cache) / 2**20

    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(row for row in pool.map(used, containers) if row is not None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="also build every image anew and time it")
    parser.add_argument("--repeat", type=int, default=3, help="trivial builder commands to time (median)")
    parser.add_argument("--starts", type=int, default=5,
                        help="warm starts to time (median): one start varies by seconds on a busy 2-core machine")
    args = parser.parse_args()
    if args.starts < 1:
        parser.error("--starts: at least 1")

    if args.cold:
        print(f"cold image build (all images, benchmarks/images.py --fresh-ca): {cold_image_build():.1f} s")
    else:
        print("cold image build: not measured (pass --cold)")

    starts = []
    for number in range(1, args.starts + 1):
        stack = AirgapStack()
        started = time.monotonic()
        stack.start()
        starts.append(time.monotonic() - started - stack.timings.get("images", 0.0))
        print(f"  start {number}: {starts[-1]:.1f} s; phases {stack.timings}", flush=True)
        if number < args.starts:
            stack.stop()
    warm_s = statistics.median(starts)
    verdict = "ok" if warm_s < WARM_START_TARGET_S else "OVER TARGET"
    print(f"warm stack start: median {warm_s:.1f} s of {len(starts)} ({min(starts):.1f}-{max(starts):.1f}) "
          f"(target < {WARM_START_TARGET_S} s: {verdict}); the image check not counted")
    try:  # the last one started: its memory and a trivial build
        memory = memory_mib(stack)
        total = sum(memory.values())
        verdict = "ok" if total < MEMORY_TARGET_MIB else "OVER TARGET"
        print(f"running stack memory: {total:.0f} MiB over {len(memory)} containers "
              f"(target < {MEMORY_TARGET_MIB:.0f} MiB: {verdict})")
        for name, mib in sorted(memory.items(), key=lambda item: -item[1]):
            print(f"  {name:32s} {mib:7.1f} MiB")
        durations = []
        for _ in range(args.repeat):
            before = time.monotonic()
            result = stack.run("true")
            durations.append(time.monotonic() - before)
            if not result.ok:
                print(f"trivial builder command failed: {result.output}")
                return 1
        print(f"one trivial builder command (fresh builder, `true`): median {statistics.median(durations):.2f} s "
              f"of {args.repeat} ({', '.join(f'{d:.2f}' for d in durations)})")
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
