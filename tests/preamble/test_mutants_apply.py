"""Every deliberate fault of benchmarks/mutants.yaml still applies to the preamble (no Docker needed).

A fault names the shell function it edits and text inside that function's body; `benchmarks/mutants.py
--check` applies each one (and the generated `drop-key` faults) to a copy of the preamble. A refactor of
preamble/lib that moves or rewrites that text must carry the fault along: otherwise this test fails,
instead of the benchmark quietly running fewer faults.
"""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MUTANTS = ROOT / "benchmarks" / "mutants.py"


def mutants(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(MUTANTS), *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_every_fault_applies_to_the_reference_preamble():
    done = mutants("--check")
    assert done.returncode == 0, done.stdout + done.stderr
    applied, total = done.stdout.split()[0].split("/")
    assert applied == total and int(total) > 7, done.stdout


def test_a_fault_that_no_longer_applies_fails_naming_it(tmp_path):
    faults = tmp_path / "faults.yaml"
    faults.write_text("""faults:
  - {name: gone-function, function: pc_write_nothing, find: x, replace: y, strategies: [webapp]}
  - {name: gone-text, function: pc_write_go, find: "GOPROXY=$PC_R", replace: y, strategies: [buildpack]}
  - {name: fine, function: pc_write_maven, find: "proxy-config '*'", replace: "proxy-config 'central'", strategies: [mi]}
""")
    done = mutants("--check", "--faults", str(faults))
    assert done.returncode == 1
    assert "fault gone-function: no function pc_write_nothing()" in done.stderr
    assert "fault gone-text: 'GOPROXY=$PC_R' is not in the body of pc_write_go()" in done.stderr
    assert "fault fine" not in done.stderr
    # The benchmark itself refuses to run (before any stack is started) rather than skip them.
    done = mutants("--faults", str(faults))
    assert done.returncode == 2 and "fault gone-text" in done.stderr, done.stdout + done.stderr


def test_a_refactor_that_moves_a_faults_text_fails_the_check(tmp_path):
    """Text found elsewhere does not count: the fault's function must hold it."""
    preamble = tmp_path / "preamble"
    shutil.copytree(ROOT / "preamble", preamble)
    go = preamble / "lib" / "managers" / "go.sh"
    text = go.read_text()
    go.write_text(text.replace("GOTOOLCHAIN=local", "GOTOOLCHAIN=${PC_GO_TOOLCHAIN}")
                  + "\n# GOTOOLCHAIN=local\nPC_GO_TOOLCHAIN=local\n")
    done = mutants("--check", "--preamble", str(preamble))
    assert done.returncode == 1
    assert "fault go-toolchain-auto: 'GOTOOLCHAIN=local' is not in the body of pc_write_go()" in done.stderr, done.stderr
