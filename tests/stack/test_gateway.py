"""Gateway routes and nginx configuration from real proxy-config fixtures (harness.contract.endpoints)."""

from pathlib import Path

import pytest

from harness.contract.config import read_config
from harness.contract.endpoints import Endpoint
from harness.infra.errors import UserError
from harness.infra.images import ensure_image
from harness.stack import gateway
from harness.stack.pki import RunCA
from harness.stack.identity import run_labels
from harness.stack.servers.mirrors import BACKENDS
from harness.stack.stack import routes_for
from helpers import PROXY_CONFIGS, write_proxy_config

CONFIGS = sorted(path.name for path in PROXY_CONFIGS.iterdir() if path.is_dir())


def routes_of(directory: Path, enforce_auth: bool = True):
    return routes_for(read_config(directory), enforce_auth=enforce_auth)


def gateway_endpoint(key, family, target, path, username_key=None, password_key=None):
    return Endpoint(key, family, target, "https", "nexus.example.com", 443, path, username_key, password_key)


def by_key(routes):
    return {route.key: route for route in routes}


def test_nexus_paths_map_onto_their_backends():
    routes, unrouted = routes_of(PROXY_CONFIGS / "full-global")
    assert unrouted == {}
    assert gateway.mirror_hosts(routes) == ["nexus.example.com"]
    locations = {loc.path: loc.upstream for route in routes for loc in route.locations}
    assert locations["/v2/dockerhub-proxy/"] == "http://mirror-oci-dockerhub:5000/v2/"
    assert locations["/v2/gcr-proxy/gae-runtimes/"] == "http://mirror-oci-buildpacks-gar:5000/v2/gae-runtimes/"
    assert locations["/repository/npm-proxy/"] == "http://mirror-npm:4873/"
    assert locations["/repository/pypi-proxy/simple/"] == "http://mirror-pypi:3141/root/pypi/+simple/"
    assert locations["/repository/pypi-proxy/"] == "http://mirror-pypi:3141/root/pypi/"
    assert locations["/repository/nuget-proxy/"] == "http://mirror-files:80/nuget/"
    assert locations["/repository/go-proxy/"] == "http://mirror-files:80/go/"


def test_customer_hosts_ports_and_prefixes_are_taken_as_written():
    routes, _ = routes_of(PROXY_CONFIGS / "customer-artifactory-harbor")
    keyed = by_key(routes)
    assert gateway.mirror_hosts(routes) == ["artifactory.acme.internal", "harbor.acme.internal"]
    assert (keyed["oci-dockerhub-url"].host, keyed["oci-dockerhub-url"].port) == ("harbor.acme.internal", 8443)
    assert keyed["oci-dockerhub-url"].locations[0].path == "/v2/hub/"
    assert keyed["pkg-npm-url"].locations[0].path == "/artifactory/api/npm/npm-remote/"
    assert keyed["pkg-go-url"].locations[0].path == "/artifactory/api/go/go-remote/"


def test_credentials_are_enforced_and_never_written_in_clear():
    directory = PROXY_CONFIGS / "credentials-everywhere"
    routes, _ = routes_of(directory)
    password = (directory / "oci-dockerhub-password").read_text().rstrip("\n")
    assert by_key(routes)["oci-dockerhub-url"].users == (("build-user", password),)
    assert by_key(routes)["pkg-npm-url"].token == (directory / "pkg-npm-token").read_text().rstrip("\n")
    files = gateway.render(routes, RunCA().issue(gateway.mirror_hosts(routes)))
    user_files = [data for path, data in files.items() if "/users-" in path]
    assert user_files and all(data.startswith(b"build-user:{SSHA}") for data in user_files)
    assert not any(password.encode() in data for data in files.values())


def test_credentials_are_open_when_the_run_does_not_ask():
    routes, _ = routes_of(PROXY_CONFIGS / "credentials-everywhere", enforce_auth=False)
    assert all(not route.users and route.token is None for route in routes)


def test_values_the_stack_cannot_serve_are_reported_not_refused(tmp_path):
    directory = write_proxy_config(tmp_path / "cfg", {"oci-dockerhub-url": "10.9.8.7:5000/hub",
                                                "pkg-npm-url": "https://nexus.example.com/npm$proxy/"})
    routes, unrouted = routes_of(directory)
    assert routes == []
    assert "IP address" in unrouted["oci-dockerhub-url"] and "path" in unrouted["pkg-npm-url"]


def test_credential_values_missing_for_an_endpoint_are_refused_with_the_key():
    route_values = {"pkg-maven-username": "build-user"}
    endpoint = gateway_endpoint("pkg-maven-url", "package-proxy", "maven", "/m/", "pkg-maven-username",
                                "pkg-maven-password")
    with pytest.raises(UserError, match="pkg-maven-url.*pkg-maven-password"):
        gateway.build_routes([endpoint], route_values, BACKENDS)


def test_keys_sharing_a_url_are_served_by_the_first(tmp_path):
    url = "https://nexus.example.com/repository/maven-public/"
    directory = write_proxy_config(tmp_path / "cfg", {"pkg-maven-url": url, "pkg-gradle-url": url})
    routes, unrouted = routes_of(directory)
    assert [route.key for route in routes] == ["pkg-maven-url"]
    assert list(unrouted) == ["pkg-gradle-url"] and "pkg-maven-url" in unrouted["pkg-gradle-url"]


def test_image_overrides_on_their_own_hosts_go_to_the_golden_registry_under_their_own_names():
    routes, unrouted = routes_of(PROXY_CONFIGS / "image-overrides")
    keyed = by_key(routes)
    node = keyed["image-node-ref"]  # golden.example.com:5000/base/node:20.11-alpine, beside the Docker Hub mirror
    assert (node.host, node.port, node.protocol) == ("golden.example.com", 5000, "oci")
    assert node.locations[0].path == "/v2/base/node/"
    assert node.locations[0].upstream == "http://mirror-golden:5000/v2/base/node/"
    assert node.users == keyed["oci-dockerhub-url"].users != ()  # the mirror's login on its host
    golang = keyed["image-golang-ref"]  # registry.acme.internal/base/golang: no mirror there, no login
    assert (golang.host, golang.users) == ("registry.acme.internal", ())
    assert "digest" in unrouted["image-prism-ref"] and "digest" in unrouted["image-buildpacks-lifecycle-ref"]
    assert all(route.key not in unrouted for route in routes)


def test_an_image_override_on_a_mirror_host_is_served_by_that_mirror(tmp_path):
    directory = write_proxy_config(tmp_path / "cfg", {"oci-dockerhub-url": "nexus.example.com/dockerhub-proxy",
                                                "image-node-ref": "nexus.example.com/dockerhub-proxy/golden/node"})
    routes, unrouted = routes_of(directory)
    assert [route.key for route in routes] == ["oci-dockerhub-url"]
    assert unrouted == {"image-node-ref": "served by the oci-dockerhub-url mirror"}


@pytest.fixture(scope="module")
def nginx_image(docker_client):
    return docker_client, ensure_image("nginx", docker_client)


@pytest.mark.parametrize("name", CONFIGS)
def test_rendered_configuration_passes_nginx_t(nginx_image, name, tmp_path):
    """The real nginx of the gateway image accepts what the gateway writes for each fixture."""
    client, image = nginx_image
    routes, _ = routes_of(PROXY_CONFIGS / name)
    files = gateway.render(routes, RunCA().issue(gateway.mirror_hosts(routes) or ["x.invalid"]))
    for path, data in files.items():
        target = tmp_path / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    volumes = {str(tmp_path / "etc/nginx/airgap"): {"bind": gateway.CONF_DIR, "mode": "ro"},
               str(tmp_path / "etc/nginx/nginx.conf"): {"bind": "/etc/nginx/nginx.conf", "mode": "ro"}}
    output = client.containers.run(image, ["sh", "-c", "mkdir -p /var/log/airgap && nginx -t 2>&1"],
                                   volumes=volumes, remove=True, network_mode="none", labels=run_labels("nginx-t"))
    assert b"syntax is ok" in output and b"test is successful" in output, output.decode()


def test_an_override_beside_two_mirrors_takes_the_login_the_plan_pulls_with(tmp_path, catalog):
    """Two mirrors on one Harbor: the nginx override (a platform-registry image) logs in as the choreo
    mirror does, which is what plan() and the preamble use, so the gateway demands exactly that login."""
    from harness.contract.plan import plan

    directory = write_proxy_config(tmp_path / "cfg", {
        "oci-dockerhub-url": "harbor.acme.internal/hub", "oci-dockerhub-username": "hubuser",
        "oci-dockerhub-password": "hubpass", "oci-choreo-url": "harbor.acme.internal/choreo",
        "oci-choreo-username": "chuser", "oci-choreo-password": "chpass",
        "image-nginx-ref": "harbor.acme.internal/golden/nginx:1.25"})
    assert plan(catalog, read_config(directory), "webapp").images["nginx"].credentials == "oci-choreo-username"
    routes, _ = routes_of(directory)
    assert by_key(routes)["image-nginx-ref"].users == (("chuser", "chpass"),)
