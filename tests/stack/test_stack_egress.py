"""From the build network, real clients fetch the fixtures through the mirrors, and only through them.

Each ecosystem runs twice in a fresh builder: configured from the mounted proxy-config (it must succeed,
the gateway log must show its route, the trap must see nothing from it), and unconfigured (it must fail,
and the trap must show the public host's DNS query and TLS SNI). The open-egress control runs the
unconfigured command on the simulated internet, where it must succeed.
"""

import shlex
from dataclasses import dataclass

import pytest

from harness.stack import content, dns, isolation
from harness.stack.topology import INTERNET
from helpers import PROXY_CONFIGS

NEXUS = PROXY_CONFIGS / "full-global"
CREDENTIALS = PROXY_CONFIGS / "credentials-everywhere"
CUSTOMER = PROXY_CONFIGS / "customer-artifactory-harbor"
KEY = "/mnt/proxy-config"


@dataclass(frozen=True)
class Case:
    project: str | None  # fixture project (harness.stack.content) placed in /work
    configured: str  # the command, configured from the mounted proxy-config
    unconfigured: str  # the same fetch with the client's public defaults
    public_host: str  # where the unconfigured client goes
    route: str  # the proxy-config key whose gateway route the configured client uses
    check: str  # a command that succeeds only if the fetch produced its result


CASES = {
    "npm": Case(
        project="npm",
        configured=f'npm install --no-audit --fetch-retries=0 --registry "$(cat {KEY}/pkg-npm-url)"',
        unconfigured="npm install --no-audit --fetch-retries=0",
        public_host="registry.npmjs.org", route="pkg-npm-url",
        check="test -f node_modules/airgap-fixture-util/index.js && test -f node_modules/@airgap-fixture/scoped/index.js"),
    "pip": Case(
        project="python",
        configured=f'pip download --retries 0 -d /tmp/dl --index-url "$(cat {KEY}/pkg-python-url)" -r requirements.txt',
        unconfigured="pip download --retries 0 -d /tmp/dl -r requirements.txt",
        public_host="pypi.org", route="pkg-python-url",
        check="ls /tmp/dl/airgap_fixture_util-2.1.0-py3-none-any.whl /tmp/dl/airgap_fixture_sdist-0.1.0.tar.gz"),
    "skopeo": Case(
        project=None,
        configured=f'skopeo copy docker://"$(cat {KEY}/oci-dockerhub-url)"/library/alpine:3.20 dir:/tmp/image',
        unconfigured="skopeo copy docker://docker.io/library/alpine:3.20 dir:/tmp/image",
        public_host="registry-1.docker.io", route="oci-dockerhub-url",
        check="test -s /tmp/image/manifest.json"),
    "go": Case(
        project="go",
        configured=f'GOPROXY="$(cat {KEY}/pkg-go-url)" go mod download -x',
        unconfigured="go mod download -x",
        public_host="proxy.golang.org", route="pkg-go-url",
        check="ls /root/go/pkg/mod/cache/download/github.com/airgap-fixture/hello/@v/v1.0.0.zip"),
}


def _files(case: Case) -> dict[str, bytes]:
    if case.project is None:
        return {}
    return {f"/work/{path}": data for path, data in content.build().projects[case.project].items()}


def _run(stack, case: Case, command: str, **kwargs):
    return stack.run(f"{command} && {case.check}", files=_files(case), **kwargs)


def test_isolation_self_test_passed(airgap_stack):
    report = airgap_stack.isolation_report
    assert report.ok, report.summary()
    names = " ".join(check.name for check in report.checks)
    for expected in ("resolves only to the trap", "public IP literal", "bridge gateway", "decoy listener",
                     "cloud metadata address", "IPv6 has no way out", "UDP DNS query", "ICMP echo"):
        assert expected in names


def test_udp_and_icmp_of_a_build_are_recorded_as_its_egress(airgap_stack):
    """A build that asks a hard-coded resolver and pings: both end in the trap, recorded with the builder as
    client. The destination is an address of this run (its simulated internet resolver), never a real one."""
    target = airgap_stack.topology.address(dns.INTERNET_DNS, INTERNET)
    probes = [isolation.udp_probe(target, 53, "hard-coded.example.com"), isolation.icmp_probe(target)]
    result = airgap_stack.run(" && ".join(shlex.join(probe) for probe in probes))
    assert result.ok, result.output
    events = airgap_stack.evidence_of(result).trap_events
    assert [(e.kind, e.dst_ip, e.dst_port, e.name) for e in events if e.kind == "udp"] == \
        [("udp", target, 53, "hard-coded.example.com")]
    assert [(e.kind, e.dst_ip, e.icmp_type) for e in events if e.kind == "icmp"] == [("icmp", target, 8)]


def test_a_build_cannot_change_its_routes(airgap_stack):
    """The builder's routes are set from a second container sharing its network namespace; the builder has no
    NET_ADMIN, so the trap stays its only way off the subnet even for a build that tries (as root) to route
    around it."""
    gateway = airgap_stack.topology.bridge_gateway("build")
    result = airgap_stack.run(f"ip route show default; ip route replace default via {gateway}; "
                              f"echo status=$?; ip route del prohibit {gateway}/32; echo status=$?; ip route show")
    resolver = airgap_stack.topology.resolver("build")
    assert result.output.count("Operation not permitted") == 2, result.output
    assert f"default via {resolver}" in result.stdout and f"prohibit {gateway}" in result.stdout, result.output
    assert "status=0" not in result.stdout, result.output


@pytest.mark.parametrize("name", CASES)
def test_configured_fetch_uses_only_the_mirror(airgap_stack, name):
    case = CASES[name]
    result = _run(airgap_stack, case, case.configured, proxy_config=NEXUS)
    assert result.ok, result.output
    evidence = airgap_stack.evidence_of(result)
    served = [hit for hit in evidence.hits_for(case.route) if hit.status == 200]
    assert served, f"no successful request on route {case.route}: {evidence.mirror_hits}"
    assert all(hit.host == "nexus.example.com" for hit in served)
    assert case.public_host not in evidence.dns_queries()
    assert not evidence.trapped_connections(), evidence.trapped_connections()


@pytest.mark.parametrize("name", CASES)
def test_unconfigured_fetch_is_trapped(airgap_stack, name):
    case = CASES[name]
    result = _run(airgap_stack, case, case.unconfigured)
    assert not result.ok, result.output
    evidence = airgap_stack.evidence_of(result)
    assert case.public_host in evidence.dns_queries()
    assert case.public_host in {event.sni for event in evidence.trapped_connections()}
    assert not evidence.mirror_hits


@pytest.mark.parametrize("name", CASES)
def test_open_egress_control_fetches_from_the_simulated_internet(airgap_stack, name):
    case = CASES[name]
    result = _run(airgap_stack, case, case.unconfigured, network="internet")
    assert result.ok, result.output
    assert not airgap_stack.evidence_of(result).trap_events


def test_mirror_enforces_credentials_and_logs_no_secret(airgap_stack):
    token = (CREDENTIALS / "pkg-npm-token").read_text().rstrip("\n")
    password = (CREDENTIALS / "oci-dockerhub-password").read_text().rstrip("\n")
    npm, skopeo = CASES["npm"], CASES["skopeo"]
    with_token = (f'npm config set "//nexus.example.com/repository/npm-proxy/:_authToken" "$(cat {KEY}/pkg-npm-token)"'
                  f" && {npm.configured}")
    creds = f'--src-creds "$(cat {KEY}/oci-dockerhub-username):$(cat {KEY}/oci-dockerhub-password)"'
    with_creds = skopeo.configured.replace("skopeo copy", f"skopeo copy {creds}")

    allowed = [_run(airgap_stack, npm, with_token, proxy_config=CREDENTIALS),
               _run(airgap_stack, skopeo, with_creds, proxy_config=CREDENTIALS)]
    refused = [_run(airgap_stack, npm, npm.configured, proxy_config=CREDENTIALS),
               _run(airgap_stack, skopeo, skopeo.configured, proxy_config=CREDENTIALS)]

    assert all(result.ok for result in allowed), [r.output for r in allowed]
    assert not any(result.ok for result in refused), [r.output for r in refused]
    npm_hits = airgap_stack.evidence_of(allowed[0]).hits_for("pkg-npm-url")
    assert npm_hits and all(hit.auth == "bearer" for hit in npm_hits)
    oci_hits = airgap_stack.evidence_of(allowed[1]).hits_for("oci-dockerhub-url")
    assert oci_hits and all(hit.auth == "basic" and hit.user == "build-user" for hit in oci_hits if hit.status == 200)
    for result in refused:
        assert any(hit.status == 401 for hit in airgap_stack.evidence_of(result).mirror_hits)
    logs = repr(airgap_stack.evidence())
    assert token not in logs and password not in logs


def test_any_customer_configuration_works_unchanged(airgap_stack):
    """Artifactory-style URL paths and a Harbor host with a port route exactly as the keys say."""
    npm, skopeo = CASES["npm"], CASES["skopeo"]
    results = {"pkg-npm-url": _run(airgap_stack, npm, npm.configured, proxy_config=CUSTOMER),
               "oci-dockerhub-url": _run(airgap_stack, skopeo, skopeo.configured, proxy_config=CUSTOMER)}
    for route, result in results.items():
        assert result.ok, result.output
        hits = airgap_stack.evidence_of(result).hits_for(route)
        assert hits and {hit.host for hit in hits} <= {"artifactory.acme.internal", "harbor.acme.internal"}
    assert {hit.port for hit in airgap_stack.evidence_of(results["oci-dockerhub-url"]).hits_for(
        "oci-dockerhub-url")} == {8443}


# One fixture file per remaining package kind, fetched at the configured URL: every route of the
# full-global proxy-config reaches a mirror that proxies the simulated public source.
FILES_BY_KEY = {
    "pkg-maven-url": "org/airgap/fixture/hello-lib/1.0.0/hello-lib-1.0.0.pom",
    "pkg-gradle-url": "org/airgap/fixture/hello/org.airgap.fixture.hello.gradle.plugin/1.0.0/"
                      "org.airgap.fixture.hello.gradle.plugin-1.0.0.pom",
    "pkg-rubygems-url": "gems/airgap-fixture-util-2.1.0.gem",
    "pkg-composer-url": "p2/airgap-fixture/hello.json",
    "pkg-nuget-url": "",  # the URL names the service index itself
}


def test_every_package_kind_is_proxied_through_its_route(airgap_stack):
    fetches = " && ".join(f'curl -fsS -o /dev/null "$(cat {KEY}/{key}){path}"' for key, path in FILES_BY_KEY.items())
    result = airgap_stack.run(fetches, proxy_config=NEXUS)
    assert result.ok, result.output
    evidence = airgap_stack.evidence_of(result)
    for key in FILES_BY_KEY:
        assert [hit for hit in evidence.hits_for(key) if hit.status == 200], f"{key}: {evidence.mirror_hits}"
    assert not evidence.trapped_connections()


def test_java_in_a_builder_trusts_the_run_ca_and_nothing_else(airgap_stack):
    """Maven and Gradle read a keystore, not the PEM bundle: the builder gets the run CA as one."""
    result = airgap_stack.run('store=${JAVA_TOOL_OPTIONS#*trustStore=}; store=${store%% *}; '
                              'keytool -list -keystore "$store" -storepass airgap | grep -c trustedCertEntry',
                              proxy_config=None)
    assert result.exit_code == 0 and result.stdout.strip().splitlines()[-1] == "1", result.output
