"""Time of project.scrub (the credential mask over a project's notes and every build step's output) on long
adversarial lines: each a 40,000-character repetition of a piece that once made one of its patterns try every
start position again (quadratic: 6 to 64 s a line). Prints figures, asserts nothing. Target: linear (the slowest
line, twice as long, takes less than 3 times as long) and under 0.5 s a line on this 2-core machine.

Run: python benchmarks/scrub.py
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from harness.customer.project import scrub  # noqa: E402

PIECES = ["a:", "a@", ":", "-a", "a ", "a=", "/a", "a.", "%", "a'", 'a"', "a&", "a?", "x-", "X-", "_auth", "token",
          "-u ", "://", "a:b@", "\\/", "login ", "BUNDLE_", "npm config set ", "a\\", "-p ", "<password>", "bearer ",
          "_", "key", "?key", "a_", "--a-", "X-a-", "npm set a ", "' ", "<password><![CDATA[", "AUTH_",
          "--token_", "-u", "mysql "]
PREFIXES = ["", "https://", "https:\\/\\/", "BUNDLE_", "?", "npm config set //h/:_authToken ", "--", "X-", "mysql ", "--batch "]
LENGTH, TARGET_S, LINEAR_RATIO = 40_000, 0.5, 3.0


def seconds(text: str) -> float:
    started = time.perf_counter()
    scrub(text)
    return time.perf_counter() - started


def main() -> int:
    lines = [(prefix, piece) for prefix in PREFIXES for piece in PIECES]
    worst, prefix, piece = max((seconds(p + q * (LENGTH // len(q))), p, q) for p, q in lines)
    doubled = seconds(prefix + piece * (2 * LENGTH // len(piece)))
    verdict = "ok" if worst < TARGET_S and doubled / worst < LINEAR_RATIO else "OVER TARGET"
    print(f"scrub: {len(lines)} lines of {LENGTH} characters; slowest {worst:.3f} s ({prefix!r} then {piece!r} repeated), "
          f"{doubled:.3f} s at twice the length (x{doubled / worst:.1f}); target < {TARGET_S} s and "
          f"< x{LINEAR_RATIO}: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
