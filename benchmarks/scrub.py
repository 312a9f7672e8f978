"""Time of project.scrub (the credential mask over a project's notes and every build step's output) on long
adversarial lines: each a 40,000-character repetition of a piece that once made one of its patterns try every
start position again (quadratic: 6 to 64 s a line). Prints figures, asserts nothing; target: linear, under 0.3 s
a line on this 2-core machine.

Run: python benchmarks/scrub.py
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from harness.customer.project import scrub  # noqa: E402

PIECES = ["a:", "a@", ":", "-a", "a ", "a=", "/a", "a.", "%", "a'", 'a"', "a&", "a?", "x-", "X-", "_auth", "token",
          "-u ", "://", "a:b@", "\\/", "login ", "BUNDLE_", "npm config set ", "a\\", "-p ", "<password>", "bearer "]
PREFIXES = ["", "https://", "https:\\/\\/"]
LENGTH, TARGET_S = 40_000, 0.3


def main() -> int:
    worst = (0.0, "")
    for prefix in PREFIXES:
        for piece in PIECES:
            text = prefix + piece * (LENGTH // len(piece))
            started = time.perf_counter()
            scrub(text)
            worst = max(worst, (time.perf_counter() - started, f"{prefix}{piece!r}"))
    verdict = "ok" if worst[0] < TARGET_S else "OVER TARGET"
    print(f"scrub: {len(PIECES) * len(PREFIXES)} lines of {LENGTH} characters; slowest {worst[0]:.3f} s ({worst[1]}), "
          f"target < {TARGET_S} s: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
