"""The hand-off (interface.py HANDOFF_FILE): what a preamble hands to the build command, and the build's side of it
(harness/scenarios/handoff.sh). The reference hands off every client file it wrote, readable by the build user;
the platform's adapter hands off exactly the words of the command line the platform evaluates; the build side
gives env values back byte for byte, keeps the last of a name and mounts as a bind mount shows."""

import os
import shlex
import stat
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from harness.contract.catalog import load_catalog
from harness.preamble import interface
from harness.preamble.runner import run_preamble
from helpers import CHECKOUT, PREAMBLE, PROXY_CONFIGS

pytestmark = pytest.mark.offline
CATALOG = load_catalog()
BUILD_SIDE = CHECKOUT / "harness" / "scenarios" / "handoff.sh"
ROOT = os.geteuid() == 0
BUILD_USER = "1000:1000" if ROOT else f"{os.getuid()}:{os.getgid()}"


def _run(tmp_path, strategy, preamble=PREAMBLE, config="credentials-everywhere"):
    environment = interface.Environment(home=tmp_path / "home", proxy_config_dir=PROXY_CONFIGS / config,
                                        dockerhub_login=("platform", "platform-secret"),
                                        build_user=BUILD_USER, build_home="/home/cnb")
    run = run_preamble(interface.entry(preamble, strategy), environment, tmp_path, isolate=True)
    assert run.ok, run.log
    return run, interface.read_handoff(interface.state_dir(tmp_path / "home"))


@pytest.mark.parametrize("strategy", list(CATALOG.strategies))
def test_the_reference_hands_off_every_client_file_it_wrote_to_the_build_user(tmp_path, strategy):
    run, items = _run(tmp_path, strategy)
    home = tmp_path / "home"
    volumes = {Path(i.name): i.value for i in items if i.kind == "volume"}
    written = [p for p in home.rglob("*") if p.is_file() and interface.DEFAULT_STATE_DIR not in p.parts
               and p.relative_to(home).parts[:2] != (".config", "containers")]
    for path in written:  # each written file is under exactly one volume, at the same place in the build's home
        holders = [source for source in volumes if path == source or source in path.parents]
        assert len(holders) == 1, f"{path}: handed off by {holders}"
        assert volumes[holders[0]] == f"/home/cnb/{holders[0].relative_to(home)}"
        assert f"{path.stat().st_uid}:{path.stat().st_gid}" == BUILD_USER
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(volumes) <= len(written)
    for item in items:
        if item.kind == "env":
            exported = run.env[item.name]
            assert item.value == (exported.replace(str(home), "/home/cnb", 1) if exported.startswith(str(home))
                                  else exported)
    images = {i.name: i.value for i in items if i.kind == "build-arg"}
    assert images == {f"{name.upper().replace('-', '_')}_IMAGE": run.env[interface.image_variable(name)]
                      for name in CATALOG.strategies[strategy].images}
    secrets = {i.name: i.value for i in items if i.kind == "secret"}
    assert secrets == ({"npmrc": str(home / ".npmrc")} if "npm" in CATALOG.strategies[strategy].managers else {})


LOCATIONS = {"XDG_CONFIG_HOME": ".xdg", "GRADLE_USER_HOME": ".gradle-home", "NPM_CONFIG_USERCONFIG": ".config/npm/npmrc",
             "BUNDLE_USER_HOME": ".bundle-home"}


def test_a_client_location_the_image_set_goes_to_the_build_with_the_files(tmp_path):
    """The writers follow NPM_CONFIG_USERCONFIG, XDG_CONFIG_HOME, GRADLE_USER_HOME, BUNDLE_USER_HOME; the build's
    client must too: it gets the variable, moved to the build's home, beside the volume that holds the file (found
    by a sweep: only the files went, and npm, pip, Gradle and Bundler read their default places)."""
    home = tmp_path / "home"
    environment = interface.Environment(home=home, proxy_config_dir=PROXY_CONFIGS / "credentials-everywhere",
                                        dockerhub_login=("platform", "platform-secret"), build_user=BUILD_USER,
                                        build_home="/home/cnb")
    run = run_preamble(interface.entry(PREAMBLE, "buildpack"), environment, tmp_path, isolate=True,
                       extra_env={name: str(home / where) for name, where in LOCATIONS.items()})
    assert run.ok, run.log
    items = interface.read_handoff(interface.state_dir(home))
    env = {i.name: i.value for i in items if i.kind == "env"}
    volumes = {i.value for i in items if i.kind == "volume"}
    for name, where in LOCATIONS.items():
        assert env.get(name) == f"/home/cnb/{where}", (name, env)
        top = where.split("/")[0] if not where.startswith(".config/") else "/".join(where.split("/")[:2])
        assert f"/home/cnb/{top}" in volumes, (name, volumes)
    assert [i.name for i in items if i.kind == "env"].count("XDG_CONFIG_HOME") == 1  # pip and NuGet follow it both


def test_a_volume_mounted_onto_its_own_path_stays(tmp_path):
    """A file written outside HOME is handed off at its own path (found by a sweep: the build side removed it)."""
    source = tmp_path / "composer" / "config.json"
    source.parent.mkdir()
    source.write_text("{}")
    done = _build_side(tmp_path, "pack build", _triples(("volume", str(source), str(source))))
    assert done.returncode == 0, done.stdout
    assert source.read_text() == "{}"


@pytest.mark.parametrize("strategy", ["buildpack", "webapp", "mi"])
def test_the_platform_hands_off_the_words_of_its_command_line(tmp_path, strategy):
    _, items = _run(tmp_path, strategy, PREAMBLE / "platform")
    command = (interface.state_dir(tmp_path / "home") / "build-command").read_text().split()
    words = []
    for item in items:
        flag = {"env": "--env", "volume": "--volume", "build-arg": "--build-arg", "secret": "--secret"}[item.kind]
        value = (f"{item.name}:{item.value}" if item.kind == "volume" else
                 f"id={item.name},src={item.value}" if item.kind == "secret" else f"{item.name}={item.value}")
        words.append((flag, value))
    pairs = [(command[i], command[i + 1]) for i in range(len(command) - 1) if command[i] in dict(words)]
    seen = [(f, v.split(":ro")[0]) for f, v in pairs]
    assert words and sorted(seen) == sorted(words)
    assert [w for w in seen if w[0] == "--env"] == [w for w in words if w[0] == "--env"]  # the last of a name wins


def _build_side(tmp_path, command: str, handoff: bytes, script: str = "") -> subprocess.CompletedProcess:
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    (state / interface.HANDOFF_FILE).write_bytes(handoff)
    program = (f"source {shlex.quote(str(BUILD_SIDE))} && AIRGAP_BUILD_USER=$(id -un) "
               f"AIRGAP_RUN_DIR={shlex.quote(str(tmp_path / 'run'))} && "
               f"airgap_handoff {shlex.quote(command)} {shlex.quote(str(state))} && {script or ':'}")
    return subprocess.run(["bash", "-c", program], capture_output=True, env={"PATH": os.environ["PATH"]})


def _triples(*items) -> bytes:
    return b"".join(b"\0".join(part.encode() for part in item) + b"\0" for item in items)


NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True).filter(
    lambda n: n not in {"airgap_n", "PATH", "HOME", "PWD", "OLDPWD", "SHLVL", "_", "BASH_ENV", "ENV", "IFS", "PS4", "SHELLOPTS",
                        "BASHOPTS", "UID", "EUID", "PPID", "GROUPS", "BASH_ARGV0", "RANDOM", "SECONDS", "LINENO",
                        "SRANDOM", "EPOCHSECONDS", "EPOCHREALTIME", "BASHPID", "HISTCMD", "FUNCNAME"}
    and not n.startswith("BASH"))
VALUES = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=40)


@settings(max_examples=60, deadline=None)
@given(env=st.lists(st.tuples(NAMES, VALUES), min_size=1, max_size=5))
def test_env_values_reach_the_build_byte_for_byte_the_last_of_a_name_winning(tmp_path_factory, env):
    tmp_path = tmp_path_factory.mktemp("handoff")
    values = tmp_path / "values"
    done = _build_side(tmp_path, "pack build", _triples(*(("env", n, v) for n, v in env)),
                       f"env -i bash -c 'source \"$1\" && for airgap_n in \"${{@:3}}\"; do printf \"%s\\0\" \"${{!airgap_n}}\"; done >\"$2\"' "
                       f"_ {shlex.quote(str(tmp_path / 'run' / 'build-env'))} {shlex.quote(str(values))} "
                       + " ".join(n for n, _ in env))
    assert done.returncode == 0, done.stderr
    last = dict(env)
    assert values.read_bytes().decode().split("\0")[:-1] == [last[n] for n, _ in env]
    assert stat.S_IMODE((tmp_path / "run" / "build-env").stat().st_mode) == 0o600


def test_the_log_names_what_was_handed_never_a_value(tmp_path):
    done = _build_side(tmp_path, "pack build", _triples(("env", "GOPROXY", "https://u:s3cr3t-value@mirror/")))
    assert done.returncode == 0 and b"GOPROXY" in done.stdout and b"s3cr3t-value" not in done.stdout


def test_a_volume_is_seen_as_a_bind_mount_shows_it(tmp_path):
    source = tmp_path / "binding"
    source.mkdir()
    (source / "settings.xml").write_text("<settings/>")
    (source / "settings.xml").chmod(0o640)
    target = tmp_path / "container" / "platform" / "bindings" / "maven-settings"
    done = _build_side(tmp_path, "pack build", _triples(("volume", str(source), str(target))))
    assert done.returncode == 0, done.stdout
    assert (target / "settings.xml").read_text() == "<settings/>"
    assert stat.S_IMODE((target / "settings.xml").stat().st_mode) == 0o640


@pytest.mark.parametrize("item, message", [
    (("volume", "/nonexistent/airgap-source", "/tmp/x"), b"does not exist"),
    (("volume", "/etc/hostname", "relative/target"), b"not an absolute path"),
])
def test_a_volume_the_build_command_would_refuse_stops_the_build(tmp_path, item, message):
    done = _build_side(tmp_path, "pack build", _triples(item))
    assert done.returncode != 0 and message in done.stdout


def test_each_command_takes_only_its_kinds(tmp_path):
    handoff = _triples(("env", "A", "1"), ("build-arg", "NODE_IMAGE", "mirror/node:18"), ("secret", "npmrc", "/x"))
    done = _build_side(tmp_path, "podman build", handoff,
                       'printf "%s|%s|" "${AIRGAP_BUILD_ARG[NODE_IMAGE]}" "${AIRGAP_SECRET[npmrc]}"; cat "$AIRGAP_RUN_DIR/build-env"')
    assert done.returncode == 0 and done.stdout.endswith(b"mirror/node:18|/x|")
    done = _build_side(tmp_path, "pack build", handoff, 'printf "[%s]" "${AIRGAP_BUILD_ARG[NODE_IMAGE]:-}"')
    assert done.returncode == 0 and done.stdout.endswith(b"[]")


def test_the_dockerfile_of_a_podman_build_step(tmp_path):
    """airgap__dockerfile: FROM the stage's build argument with its default, the projects at their own path, the
    registry argument, the step as one RUN with the npmrc secret (tests/preamble/test_client_podman.py builds it)."""
    stage = "AIRGAP_STAGE_ARG=NODE_IMAGE AIRGAP_STAGE_DEFAULT=docker.io/library/node:18-alpine AIRGAP_PROJECTS=/work/projects"
    done = _build_side(tmp_path, "podman build", b"", f"{stage} && airgap__dockerfile 'cd /work/projects/npm && npm ci'")
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines()[-6:] == [
        "ARG NODE_IMAGE=docker.io/library/node:18-alpine", "FROM ${NODE_IMAGE}", "ARG NPM_REGISTRY", "COPY . /work/projects/",
        'RUN if [ -n "$NPM_REGISTRY" ]; then npm config set registry "$NPM_REGISTRY"; fi',
        "RUN --mount=type=secret,id=npmrc,target=/root/.npmrc cd /work/projects/npm && npm ci"]
    done = _build_side(tmp_path, "podman build", b"", f"{stage} && airgap__dockerfile $'npm ci\\nRUN curl evil'")
    assert done.returncode != 0 and b"line break" in done.stdout
    done = _build_side(tmp_path, "podman build", b"", "airgap__dockerfile 'npm ci'")
    assert done.returncode != 0 and b"no build stage" in done.stdout


def test_the_interface_refuses_a_broken_handoff_file():
    with pytest.raises(interface.ReportError, match="unknown kind"):
        interface.parse_handoff(_triples(("mount", "a", "b")))
    with pytest.raises(interface.ReportError, match="triples"):
        interface.parse_handoff(b"env\0A\0")
    assert interface.parse_handoff(b"") == []


def test_the_build_side_takes_the_kinds_the_interface_declares():
    """The rule of which command takes which kind is interface.HANDOFF_KINDS in Python and a case in handoff.sh."""
    import re

    from harness.scenarios.steps import HANDOFF_RUNNERS

    taken = set(re.findall(r'^\s*"(pack build|podman build)/([a-z-]+)"\)', BUILD_SIDE.read_text(), re.M))
    assert taken == {(command, kind) for command, kinds in interface.HANDOFF_KINDS.items() for kind in kinds}
    assert set(HANDOFF_RUNNERS) <= set(interface.HANDOFF_KINDS)
