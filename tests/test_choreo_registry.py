"""A PDP's own platform registry (`--choreo-registry` / AIRGAP_CHOREO_REGISTRY), from the flag to the stack.

The host is refused with a message naming the flag unless it can stand where a registry domain stands in an
image reference and be served under its name; an accepted host reaches the catalog, the simulated internet,
the mirror backend, the builders' CHOREO_REGISTRY and the expectations, so a run with it judges and serves
the same registry. The last test runs the prism and webapp matrix with one on the real air-gap stack.
"""

import json
import os
import subprocess

import pytest

import helpers
from harness.contract.catalog import DEFAULT_CHOREO_REGISTRY, load_catalog
from harness.infra.errors import UserError
from harness.scenarios.recipes import recipes
from harness.scenarios.model import generated
from harness.stack import content
from harness.stack.pki import RunCA
from harness.stack.servers import all_specs, internet

HOST = "acr.pdp.example.com"
PLATFORM_HOSTS = (DEFAULT_CHOREO_REGISTRY, "choreoprivateacr.azurecr.io", "choreoanonymouspullable.azurecr.io")


def airgap(*args: str, env: dict | None = None, timeout: int = 60) -> subprocess.CompletedProcess:
    """The command without the machine's AIRGAP_CHOREO_REGISTRY, unless `env` is given."""
    env = env or {k: v for k, v in os.environ.items() if k != "AIRGAP_CHOREO_REGISTRY"}
    return helpers.airgap(*args, env=env, timeout=timeout)


@pytest.mark.parametrize("option", ["--choreo-registry", "--profile"])
def test_an_explicit_empty_value_is_a_usage_error_not_the_default(tmp_path, option):
    """`--profile ""` ran with profiles/choreo.yaml, `--choreo-registry ""` with no registry (found by a sweep)."""
    result = airgap("plan", "--strategy", "prism", option, "", str(tmp_path))
    assert result.returncode == 2 and f"argument {option}: empty" in result.stderr, result.stderr


def test_a_dotless_host_is_a_usage_error_naming_the_flag(tmp_path):
    result = airgap("plan", "--strategy", "prism", "--choreo-registry", "myacr", str(tmp_path))
    assert result.returncode == 2, result.stderr
    assert "--choreo-registry" in result.stderr and "'myacr'" in result.stderr
    assert "acr.pdp.example.com" in result.stderr  # says what would be accepted
    assert "inconsistent" not in result.stderr and "Traceback" not in result.stderr
    assert "usage: airgap plan" in result.stderr


def test_a_password_typed_into_the_host_is_masked_in_the_error():
    with pytest.raises(UserError) as refused:
        load_catalog("builder:S3cretZZ91@acr.example.com")
    assert "S3cretZZ91" not in str(refused.value) and "builder:***@acr.example.com" in str(refused.value)


def test_a_bad_host_from_the_environment_names_the_variable(tmp_path):
    env = dict(os.environ, AIRGAP_CHOREO_REGISTRY="myacr")
    result = airgap("plan", "--strategy", "prism", str(tmp_path), env=env)
    assert result.returncode == 2 and "AIRGAP_CHOREO_REGISTRY" in result.stderr, result.stderr
    accepted = airgap("plan", "--strategy", "prism", "--choreo-registry", HOST, str(tmp_path), env=env)
    assert accepted.returncode == 0 and f"{HOST}/stoplight/prism:5" in accepted.stdout, accepted.stderr


@pytest.mark.parametrize("host", ["myacr", "MyAcr.example.com", "localhost", "localhost:5000", "10.0.0.5",
                                  "10.0.0.5:5000", "[::1]:5000", "acr.example.com:99999", "https://acr.example.com",
                                  "gcr.io", "docker.io", "index.docker.io", "registry.npmjs.org"])
def test_refused_hosts(host):
    with pytest.raises(UserError, match="is not a platform registry host"):
        load_catalog(host)


def test_a_port_stays_in_the_references_and_leaves_the_host_names():
    catalog = load_catalog(f"{HOST}:5000")
    assert catalog.strategies["webapp"].images["nginx"].default == f"{HOST}:5000/nginxinc/nginx-unprivileged:stable-alpine-slim"
    assert catalog.registries["choreo"].prefixes == (f"{HOST}:5000",)  # every platform host of the profile, one PDP's
    assert catalog.registries["choreo"].endpoints == (HOST,)  # as egress evidence names it
    scenario = next(s for s in generated(catalog, recipes()) if s.name == "prism/no-secret")
    assert HOST in scenario.expect.egress and f"{HOST}:5000" not in scenario.expect.egress


def test_the_servers_serve_the_platform_registry_under_the_chosen_host():
    specs = {spec.name: spec for spec in all_specs(RunCA(), content.build(), load_catalog(f"{HOST}:5000"))}
    edge = specs[internet.EDGE]
    assert HOST in edge.aliases and not set(PLATFORM_HOSTS) & set(edge.aliases)
    conf = edge.files["/etc/airgap/sim-edge.conf"].decode()
    assert "listen 5000 ssl;" in conf and HOST in conf and not any(host in conf for host in PLATFORM_HOSTS)
    assert f'remoteurl: "https://{HOST}:5000"' in specs["mirror-oci-choreo"].files["/etc/airgap/registry.yml"].decode()


@pytest.mark.parametrize("strategy", ["prism", "webapp"])
def test_the_matrix_passes_on_the_stack_with_a_pdp_platform_registry(strategy, docker_client, tmp_path):
    """`airgap run --choreo-registry`: the platform images come from HOST, on the public side (the trap sees
    HOST when its mirror is not configured) and through the oci-choreo-url mirror, whose upstream is HOST."""
    env = dict(os.environ, TESTCONTAINERS_RYUK_DISABLED="true")
    result = airgap("run", "--strategy", strategy, "--choreo-registry", HOST, "--jobs", "2",
                    "--report-dir", str(tmp_path), "scenarios/matrix.yaml", env=env, timeout=1800)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    text = (tmp_path / "scenarios.json").read_text()
    assert not any(host in text for host in PLATFORM_HOSTS)
    outcomes = {o["scenario"]: o for o in json.loads(text)}
    assert HOST in {e["destination"] for e in outcomes[f"{strategy}/without:oci-choreo-url"]["egress"]}
    full = outcomes[f"{strategy}/full-global"]
    assert any(h["route"] == "oci-choreo-url" and h["status"] < 400 for h in full["mirror_hits"])
