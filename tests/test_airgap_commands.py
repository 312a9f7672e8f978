"""The air-gap commands end to end, as a user runs them: `airgap repro`, `airgap run --jobs`, `pytest scenarios/`.

Each runs the real command in a subprocess on its own stack(s); nothing here fakes a build or its evidence.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from harness.stack.identity import PID_LABEL
from helpers import CHECKOUT as ROOT, PREAMBLE, PROXY_CONFIGS as CONFIGS, airgap

ENV = dict(os.environ, TESTCONTAINERS_RYUK_DISABLED="true")


def _left_by(client, pid: int) -> list:
    selector = {"label": f"{PID_LABEL}={pid}"}
    return client.containers.list(all=True, filters=selector, ignore_removed=True) + client.networks.list(filters=selector)


@pytest.fixture(autouse=True)
def engine(docker_client):
    return docker_client


def test_repro_reports_the_egress_the_step_and_the_key_that_would_redirect_it():
    result = airgap("repro", "--strategy", "test-runner", "--config", str(CONFIGS / "ts-strategy-scoped-only"),
                    "--format", "json", env=ENV, timeout=900)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["build"] == "failed" and report["failed_steps"] == ["preamble"]
    assert {"destination": "registry-1.docker.io", "step": "preamble", "covered_by": "oci-dockerhub-url"}.items() \
        <= report["egress"][0].items()


def test_repro_of_a_complete_configuration_exits_0_with_mirror_hits_only():
    result = airgap("repro", "--strategy", "webapp", "--config", str(CONFIGS / "full-global"), "--format", "json",
                    env=ENV, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["build"] == "succeeded" and report["egress"] == []
    assert {hit["route"] for hit in report["mirror_hits"] if hit["status"] < 400} >= {"oci-dockerhub-url", "pkg-npm-url"}


def test_repro_builds_a_customers_project_and_explains_what_left():
    """--project: the customer's Dockerfile (fixtures/projects/byoc-dockerfile) built on its stand-in copy; the
    Docker Hub bases come through the mirror, the public.ecr.aws base leaves, with its cause and fix."""
    project = ROOT / "fixtures" / "projects" / "byoc-dockerfile"
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    result = airgap("repro", "--strategy", "byoc", "--config", str(CONFIGS / "full-global"), "--project", str(project),
                    "--format", "json", env=ENV, timeout=900)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["project"]["rewritten"] == ["Dockerfile.airgap-standin"] and report["project"]["dockerfile"]
    assert report["failed_steps"] == ["dockerfile:Dockerfile"]
    [egress] = {e["destination"]: e for e in report["egress"] if e["destination"] == "public.ecr.aws"}.values()
    assert egress["cause"]["id"] == "oci-unmirrored-registry" and egress["cause"]["fix"]
    routes = {hit["route"] for hit in report["mirror_hits"] if hit["status"] < 400}
    assert "oci-dockerhub-url" in routes and routes <= {"oci-dockerhub-url", "oci-ping"}  # oci-ping: the /v2/ probe
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file()} == before  # the customer's files, untouched


def test_repro_with_a_project_it_cannot_read_stops_before_any_stack():
    """A missing --project is a usage error (exit 2), as a missing input is for every command; a file where the
    project's directory should be is refused by the reader (exit 1). Neither starts a stack."""
    result = airgap("repro", "--strategy", "byoc", "--config", str(CONFIGS / "full-global"), "--project",
                    str(ROOT / "no-such-project"), env=ENV, timeout=60)
    assert result.returncode == 2 and "no-such-project: no such file or directory" in result.stderr
    assert "Traceback" not in result.stderr
    result = airgap("repro", "--strategy", "byoc", "--config", str(CONFIGS / "full-global"), "--project",
                    str(ROOT / "README.md"), env=ENV, timeout=60)
    assert result.returncode == 1 and "README.md: not a directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_on_two_stacks_keeps_the_order_writes_the_reports_and_leaves_nothing(docker_client, tmp_path):
    files = ["leak-go-toolchain", "ts-webapp-node18", "leak-maven-own-repository"]
    process = subprocess.Popen([sys.executable, "-m", "harness", "run", "--jobs", "2", "--report-dir",
                                str(tmp_path), *(f"scenarios/{f}" for f in files)], cwd=ROOT, env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = process.communicate(timeout=900)
    assert process.returncode == 0, stdout + stderr[-3000:]
    assert stderr.count(" up; isolation self-test:") == 2  # two stacks, each proved isolated
    report = json.loads((tmp_path / "scenarios.json").read_text())
    rows = report["scenarios"] if isinstance(report, dict) else report
    assert [row["scenario"] for row in rows] == files
    assert (tmp_path / "junit.xml").is_file() and (tmp_path / "report.html").is_file()
    assert _left_by(docker_client, process.pid) == []


def test_pytest_collects_scenarios_and_a_faulty_preamble_fails_readably(tmp_path):
    """`pytest scenarios/NAME` passes with the reference preamble and fails, saying why, with a fault."""
    scenario = "scenarios/leak-go-toolchain"
    passing = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", scenario],
                             cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=900)
    assert passing.returncode == 0 and "1 passed" in passing.stdout, passing.stdout[-3000:]

    faulty = tmp_path / "preamble"
    shutil.copytree(PREAMBLE, faulty)
    library = faulty / "lib" / "managers" / "go.sh"
    library.write_text(library.read_text().replace("GOTOOLCHAIN=local", "GOTOOLCHAIN=auto"))
    failing = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", scenario,
                              "--preamble", str(faulty)], cwd=ROOT, env=ENV, capture_output=True, text=True,
                             timeout=900)
    assert failing.returncode == 1
    assert "scenario leak-go-toolchain" in failing.stdout
    assert "build output does not match 'GOTOOLCHAIN=local'" in failing.stdout, failing.stdout[-3000:]
