"""skopeo and podman read back registries.conf and auth.json: Docker Hub short names and references go to the mirror, with its credentials."""

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import tempfile

import pytest

from harness.preamble import interface
from harness.stack.content.oci import skeleton_layer
from helpers import CHECKOUT
from test_handoff import _triples
from loopback_mirror import HOSTILE_PASSWORD, HOSTILE_USER, Route, apply_preamble, basic_header, run_client, tls_server, write_config

CONFIG_BLOB = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}, "config": {}}).encode()
CONFIG_DIGEST = "sha256:" + hashlib.sha256(CONFIG_BLOB).hexdigest()
MANIFEST = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(CONFIG_BLOB), "digest": CONFIG_DIGEST},
    "layers": []}).encode()
REPOSITORY = "/v2/dockerhub-proxy/library/node"


@pytest.fixture
def registry(network, tmp_path):
    (tmp_path / "certs").mkdir()
    server = tls_server(network, tmp_path / "certs" / "ca.crt", expected_authorization=basic_header(HOSTILE_USER, HOSTILE_PASSWORD))
    server.routes["/v2/"] = Route(b"{}", "application/json")
    server.routes[f"{REPOSITORY}/manifests/18"] = Route(MANIFEST, "application/vnd.docker.distribution.manifest.v2+json")
    server.routes[f"{REPOSITORY}/blobs/{CONFIG_DIGEST}"] = Route(CONFIG_BLOB)
    yield server
    server.stop()


def mirror_env(network, tmp_path, registry) -> dict:
    config = write_config(tmp_path / "config", {
        "oci-dockerhub-url": f"127.0.0.1:{registry.port}/dockerhub-proxy",
        "oci-dockerhub-username": HOSTILE_USER,
        "oci-dockerhub-password": HOSTILE_PASSWORD,
    })
    env = apply_preamble("byoc", config, tmp_path / "home")
    assert env["PROXY_IMAGE_DOCKERFILE_BASE"] == f"127.0.0.1:{registry.port}/dockerhub-proxy/library/alpine:3.20"
    return env


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is not installed (.ci/run installs it)")
def test_skopeo_inspects_docker_hub_images_on_the_mirror(network, tmp_path, registry):
    env = mirror_env(network, tmp_path, registry)
    done = run_client(network, ["skopeo", "inspect", "--cert-dir", str(tmp_path / "certs"), "--no-tags", "docker://docker.io/library/node:18"], env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Digest"] == "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
    assert f"{REPOSITORY}/manifests/18" in [r.path for r in registry.authenticated()]
    assert registry.authenticated()[0].basic == (HOSTILE_USER, HOSTILE_PASSWORD)


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is not installed (.ci/run installs it)")
def test_a_user_drop_in_of_the_image_does_not_take_the_mirror_s_prefix(network, tmp_path, registry):
    """containers/image reads ~/.config/containers/registries.conf.d/*.conf after registries.conf, and a drop-in's
    entry for a prefix replaces the file's: an image's own drop-in for docker.io sent pulls past the mirror (found
    by a sweep). The preamble's remaps come last, in a drop-in of its own."""
    drop_ins = tmp_path / "home/.config/containers/registries.conf.d"
    drop_ins.mkdir(parents=True)
    (drop_ins / "50-image.conf").write_text('[[registry]]\nprefix = "docker.io"\nlocation = "127.0.0.1:9/decoy"\n')
    env = mirror_env(network, tmp_path, registry)
    done = run_client(network, ["skopeo", "inspect", "--cert-dir", str(tmp_path / "certs"), "--no-tags", "docker://docker.io/library/node:18"], env)
    assert done.returncode == 0, done.stderr
    assert f"{REPOSITORY}/manifests/18" in [r.path for r in registry.authenticated()]


@pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed (.ci/run installs it)")
def test_podman_resolves_a_short_name_to_the_mirror(network, tmp_path, registry):
    env = mirror_env(network, tmp_path, registry)
    runroot = tempfile.mkdtemp(prefix="podman-", dir="/tmp")  # podman wants a run root under 50 characters
    storage = ["--root", str(tmp_path / "storage"), "--runroot", runroot, "--storage-driver", "vfs"]
    done = run_client(network, ["podman", *storage, "pull", "--cert-dir", str(tmp_path / "certs"), "node:18"], env)
    assert f"{REPOSITORY}/manifests/18" in [r.path for r in registry.authenticated()], done.stderr
    assert done.returncode == 0, done.stderr
    images = run_client(network, ["podman", *storage, "images", "--format", "{{.Repository}}:{{.Tag}}"], env).stdout.split()
    run_client(network, ["podman", *storage, "system", "reset", "--force"], env)
    shutil.rmtree(runroot, ignore_errors=True)
    assert images == ["docker.io/library/node:18"]


@pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed (.ci/run installs it)")
def test_podman_build_follows_the_mirror_for_multi_stage_and_arg_templated_from(network, tmp_path, registry):
    env = mirror_env(network, tmp_path, registry)
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text("ARG BASE=node:18\nFROM ${BASE} AS build\nLABEL stage=build\n"
                                        "FROM docker.io/library/node:18\nLABEL stage=final\n")
    runroot = tempfile.mkdtemp(prefix="podman-", dir="/tmp")
    storage = ["--root", str(tmp_path / "storage"), "--runroot", runroot, "--storage-driver", "vfs"]
    done = run_client(network, ["podman", *storage, "build", "--cert-dir", str(tmp_path / "certs"), "-t", "app", str(context)], env)
    run_client(network, ["podman", *storage, "system", "reset", "--force"], env)
    shutil.rmtree(runroot, ignore_errors=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    manifests = [r for r in registry.authenticated() if r.path == f"{REPOSITORY}/manifests/18"]
    assert manifests, [r.path for r in registry.requests]
    assert HOSTILE_PASSWORD not in done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is not installed (.ci/run installs it)")
@pytest.mark.parametrize("image, path", [
    ("gcr.io/buildpacks/builder:google-22", "/v2/bp/buildpacks/builder/manifests/google-22"),
    ("us-docker.pkg.dev/gae-runtimes/runtimes-ubuntu2204/nodejs:20", "/v2/bp/gae-runtimes/runtimes-ubuntu2204/nodejs/manifests/20"),
    # the default profile's (profiles/choreo.yaml): on the platform's ACR, and inside Docker Hub
    ("choreoprivateacr.azurecr.io/buildpacks/builder:google-22", "/v2/bp/buildpacks/builder/manifests/google-22"),
    ("choreoprivateacr.azurecr.io/choreoipaas/choreo-buildpacks/builder:0.2.78",
     "/v2/bp/choreoipaas/choreo-buildpacks/builder/manifests/0.2.78"),
    ("docker.io/buildpacksio/lifecycle:0.20.2", "/v2/bp/buildpacksio/lifecycle/manifests/0.20.2"),
])
def test_skopeo_follows_the_buildpacks_mirror(network, tmp_path, registry, image, path):
    config = write_config(tmp_path / "config", {"oci-buildpacks-url": f"127.0.0.1:{registry.port}/bp",
                                                "oci-buildpacks-username": HOSTILE_USER, "oci-buildpacks-password": HOSTILE_PASSWORD})
    env = apply_preamble("buildpack", config, tmp_path / "home")
    done = run_client(network, ["skopeo", "inspect", "--no-tags", "--cert-dir", str(tmp_path / "certs"), f"docker://{image}"], env)
    assert path in [r.path for r in registry.authenticated()], done.stderr  # 404 there: the fake mirror holds only node
    assert registry.authenticated()[0].basic == (HOSTILE_USER, HOSTILE_PASSWORD)


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is not installed (.ci/run installs it)")
@pytest.mark.parametrize("keys, path", [
    (("oci-dockerhub-url", "oci-buildpacks-url"), "/v2/bp/buildpacksio/lifecycle/manifests/0.20.2"),
    (("oci-dockerhub-url",), "/v2/dockerhub-proxy/buildpacksio/lifecycle/manifests/0.20.2"),
], ids=["longest-prefix", "docker-hub-mirror-takes-the-rest"])
def test_the_longest_prefix_in_effect_takes_a_registry_inside_docker_hub(network, tmp_path, registry, keys, path):
    """docker.io/buildpacksio is the buildpacks registry's prefix inside Docker Hub's (the plan's model): with both
    mirrors the lifecycle goes to the buildpacks mirror, with the Docker Hub mirror alone to that one."""
    values = {"oci-dockerhub-url": f"127.0.0.1:{registry.port}/dockerhub-proxy", "oci-buildpacks-url": f"127.0.0.1:{registry.port}/bp"}
    config = {key: values[key] for key in keys}
    for key in keys:
        config[key.replace("-url", "-username")], config[key.replace("-url", "-password")] = HOSTILE_USER, HOSTILE_PASSWORD
    env = apply_preamble("buildpack", write_config(tmp_path / "config", config), tmp_path / "home")
    image = "docker://docker.io/buildpacksio/lifecycle:0.20.2"
    done = run_client(network, ["skopeo", "inspect", "--no-tags", "--cert-dir", str(tmp_path / "certs"), image], env)
    assert path in [r.path for r in registry.authenticated()], (done.stderr, [r.path for r in registry.requests])


# --- the podman build runner of webapp and test-runner (harness/scenarios/handoff.sh, airgap_podman_build) ---------

def podman_build_step(tmp_path, handoff: bytes, command: str) -> subprocess.CompletedProcess:
    """One step as the scenarios run it under podman build: the hand-off taken, then COMMAND as a RUN of the
    component's Dockerfile FROM an image holding only the stand-ins' skeleton (harness/stack/content/oci.py),
    with this machine's /usr borrowed as the builder's is."""
    tmp_path.mkdir(parents=True)
    runroot = tempfile.mkdtemp(prefix="podman-", dir="/tmp")  # podman wants a run root under 50 characters
    conf = tmp_path / "storage.conf"
    conf.write_text(f'[storage]\ndriver = "vfs"\ngraphroot = "{tmp_path / "storage"}"\nrunroot = "{runroot}"\n')
    env = {"PATH": os.environ["PATH"], "CONTAINERS_STORAGE_CONF": str(conf), "HOME": str(tmp_path)}
    (tmp_path / "skeleton.tar").write_bytes(skeleton_layer()[0])
    imported = subprocess.run(["podman", "import", str(tmp_path / "skeleton.tar"), "localhost/airgap-stage:1"],
                              capture_output=True, text=True, env=env)
    assert imported.returncode == 0, imported.stderr
    state, projects = tmp_path / "state", tmp_path / "projects"
    state.mkdir()
    projects.mkdir()
    (state / interface.HANDOFF_FILE).write_bytes(handoff)
    program = (f"source {shlex.quote(str(CHECKOUT / 'harness/scenarios/handoff.sh'))} && AIRGAP_BUILD_USER=$(id -un) "
               f"AIRGAP_RUN_DIR={shlex.quote(str(tmp_path / 'run'))} AIRGAP_STAGE_ARG=NODE_IMAGE "
               f"AIRGAP_STAGE_DEFAULT=localhost/airgap-stage:1 AIRGAP_PROJECTS={shlex.quote(str(projects))} && "
               f"airgap_handoff 'podman build' {shlex.quote(str(state))} && airgap_podman_build {shlex.quote(command)}")
    return subprocess.run(["bash", "-c", program], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.skipif(shutil.which("podman") is None or shutil.which("npm") is None,
                    reason="podman or npm is not installed (.ci/run installs them)")
def test_a_dockerfile_run_sees_the_npmrc_secret_over_the_registry_build_argument(tmp_path):
    """`npm config set registry "$NPM_REGISTRY"` writes root's ~/.npmrc in the image; the secret mounted there
    hides it during the RUN, so npm takes the secret's registry; without the secret, the argument's."""
    secret = tmp_path / "npmrc"
    secret.write_text("registry=https://secret.example/\n")
    argument = ("build-arg", "NPM_REGISTRY", "https://arg.example/")
    done = podman_build_step(tmp_path / "with", _triples(argument, ("secret", "npmrc", str(secret))),
                             "echo home=$HOME; npm config get registry")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "home=/root" in done.stdout and "\nhttps://secret.example/\n" in done.stdout, done.stdout
    done = podman_build_step(tmp_path / "without", _triples(argument), "npm config get registry")
    assert done.returncode == 0 and "\nhttps://arg.example/\n" in done.stdout, done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed (.ci/run installs it)")
def test_the_build_stage_is_the_node_image_build_argument_else_its_default(tmp_path):
    done = podman_build_step(tmp_path / "default", b"", "cat /etc/passwd")
    assert done.returncode == 0 and "root:x:0:0:root:/root:/bin/sh" in done.stdout, done.stdout + done.stderr
    done = podman_build_step(tmp_path / "argument", _triples(("build-arg", "NODE_IMAGE", "localhost/airgap-absent:1")), "true")
    assert done.returncode != 0 and "localhost/airgap-absent:1" in done.stdout + done.stderr
