"""The preamble's safety promises, each tested: fixtures agree with the plan, values stay data, secrets stay
out of logs, credential files are private, the config directory is never written, shellcheck is clean,
the bash catalog is not stale, and the Docker Hub login fails loudly naming oci-dockerhub-url."""

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.contract.catalog import load_catalog
from harness.contract.config import read_config
from harness.preamble.catalog_gen import render
from harness.preamble.check import preamble_check
from harness.preamble.interface import DEFAULT_STATE_DIR, STATE_DIR, Environment, entry
from harness.preamble.runner import PreambleRun, run_preamble
from helpers import PROXY_CONFIGS, airgap
from loopback_mirror import PREAMBLE_DIR, IsolatedNetwork, write_config
from test_differential import check_agreement

FIXTURES = sorted(p for p in PROXY_CONFIGS.iterdir() if p.is_dir())
STRATEGIES = list(load_catalog().strategies)
SECRET = "s3cr3t value & < > { } % @ : / # \" ' ; `id` $(id)"


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
def test_fixture_agrees_with_plan(fixture, strategy):
    check_agreement(fixture, strategy)


def hostile_config(directory: Path, marker: Path) -> Path:
    """Every key the catalog knows, each with an injection attempt that would create `marker` if run."""
    injection = f"$(touch {marker})`touch {marker}`;touch {marker}"
    values = {}
    for name in load_catalog().all_key_names():
        if name.endswith(("-password", "-token", "-username")):
            values[name] = SECRET + injection
        elif name.startswith("pkg-"):
            # Shell syntax that RFC 3986 allows in a path ('{', '`' and '"' it does not: the grammar refuses those).
            values[name] = "https://nexus.example.com/repo/$(touch$IFS" + str(marker) + ");touch$IFS'x'&*!/"
        elif name.startswith("oci-"):
            values[name] = "nexus.example.com/proxy"
    return write_config(directory, values)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_values_stay_data_and_secrets_stay_private(tmp_path, strategy):
    marker = tmp_path / "pwned"
    config = hostile_config(tmp_path / "config", marker)
    result = preamble_check(strategy, config)
    assert result["exit_code"] == 0, result["log"]
    assert result["problems"] == []  # includes: log free of secrets, files with secrets 0600, config untouched
    assert not marker.exists()
    assert SECRET not in result["log"]
    for package in result["packages"].values():
        assert "$(touch$IFS" in package["url"]  # written and read back literally


def run_entry(strategy: str, config: Path, home: Path, *, dockerhub_login: tuple[str, str] | None = None,
              dry_run_login: bool = False, network: IsolatedNetwork | None = None) -> PreambleRun:
    """The entry sourced as a build step does (harness.preamble.runner); `completed`: the build went on.
    By default the Docker Hub login is real and the platform has no credentials for it."""
    workdir = home.parent / f"{home.name}.preamble-run"
    workdir.mkdir(parents=True, exist_ok=True)
    environment = Environment(home=home, proxy_config_dir=config, dockerhub_login=dockerhub_login, dry_run_login=dry_run_login)
    return run_preamble(entry(PREAMBLE_DIR, strategy), environment, workdir, enter=network.enter if network else ())


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_build_step_traced_with_set_x_shows_no_secret_and_stays_traced(tmp_path, strategy):
    """CI scripts often run their build step with `set -x`: the trace of the preamble would print every
    credential it reads (found by a sweep: a Maven password 34 times). The trace is off while it runs, on after."""
    config = hostile_config(tmp_path / "config", tmp_path / "pwned")
    env = {"PATH": "/usr/bin:/bin", **Environment(home=tmp_path / "home", proxy_config_dir=config,
                                                   dockerhub_login=("u", "PlatF0rmPassQQ")).variables()}
    script = f"set -euxo pipefail; source {shlex.quote(str(entry(PREAMBLE_DIR, strategy)))}; echo after-the-preamble"
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, errors="replace", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert SECRET not in done.stderr and "PlatF0rmPassQQ" not in done.stderr
    assert "+ echo after-the-preamble" in done.stderr  # the caller's trace is back on


def test_missing_config_directory_means_public_defaults(tmp_path):
    done = run_entry("webapp", tmp_path / "absent", tmp_path / "home", dockerhub_login=("u", "p"), dry_run_login=True)
    assert done.exit_code == 0 and done.completed, done.stderr
    assert not (tmp_path / "home/.npmrc").exists()


IMAGE_CONTAINERS = {"registries.conf": 'unqualified-search-registries = ["quay.io", "docker.io"]\n',
                    "auth.json": '{"auths": {"quay.io": {"auth": "YnVpbGQ6dG9rZW4="}}}\n'}


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("values", [{}, {"pkg-npm-url": "https://nexus.example.com/npm/"}])
def test_without_an_oci_mirror_the_image_s_container_configuration_stays(tmp_path, strategy, values):
    """The contract: without the Secret the build proceeds with its default sources (opt-in, backwards
    compatible). The preamble wrote registries.conf (short names to docker.io only, the image's drop-ins and
    aliases dropped) and an empty auth.json (a login made before it lost) even then (found by a sweep)."""
    home = tmp_path / "home"
    (home / ".config/containers").mkdir(parents=True)
    for name, text in IMAGE_CONTAINERS.items():
        (home / ".config/containers" / name).write_text(text)
    done = run_entry(strategy, write_config(tmp_path / "config", values), home, dockerhub_login=("u", "p"),
                     dry_run_login=True)
    assert done.exit_code == 0 and done.completed, done.stderr
    assert {name: (home / ".config/containers" / name).read_text() for name in IMAGE_CONTAINERS} == IMAGE_CONTAINERS
    assert "REGISTRY_AUTH_FILE" not in done.env and "Docker Hub" not in done.stderr.replace("Docker Hub login recorded", "")


def test_the_files_an_earlier_run_wrote_go_when_the_mirror_does_and_a_changed_one_stays(tmp_path):
    """A second sourcing (a Secret without its OCI keys now) removes the registries.conf and auth.json the first
    one wrote: left behind, they would still send pulls to the old mirror. A file changed since is not its own."""
    home, containers = tmp_path / "home", tmp_path / "home/.config/containers"
    mirror = write_config(tmp_path / "mirror", {"oci-dockerhub-url": "nexus.example.com/hub",
                                                "oci-dockerhub-username": "build", "oci-dockerhub-password": "pw"})
    empty = write_config(tmp_path / "empty", {})

    def run(config):
        done = run_entry("webapp", config, home, dockerhub_login=("u", "p"), dry_run_login=True)
        assert done.exit_code == 0, done.stderr
        return sorted(str(p.relative_to(containers)) for p in containers.rglob("*") if p.is_file())

    written = ["auth.json", "registries.conf", "registries.conf.d/zzzz-proxy-config.conf"]
    assert run(mirror) == written
    assert run(empty) == []
    assert run(mirror) == written
    (containers / "auth.json").write_text('{"auths": {"quay.io": {"auth": "eDp5"}}}')  # a login made since
    (containers / "registries.conf.d/50-image.conf").write_text("")  # an image's own drop-in
    assert run(empty) == ["auth.json", "registries.conf.d/50-image.conf"]


def test_a_second_sourcing_without_the_mirror_leaves_no_export_of_a_removed_file(tmp_path):
    """Sourced twice in one shell (a mirror with a login, then none), the second run removed the auth.json the first
    wrote but left REGISTRY_AUTH_FILE naming it: podman and buildah then stop on the missing file (found by a review)."""
    mirror = write_config(tmp_path / "mirror", {"oci-choreo-url": "reg.example.com/choreo", "oci-choreo-username": "alice",
                                                "oci-choreo-password": "S3cretPassw0rd"})
    empty = write_config(tmp_path / "empty", {})
    prism = shlex.quote(str(entry(PREAMBLE_DIR, "prism")))
    script = (f"set -euo pipefail; PROXY_CONFIG_DIR={shlex.quote(str(mirror))}; source {prism}; echo first=$REGISTRY_AUTH_FILE; "
              f"PROXY_CONFIG_DIR={shlex.quote(str(empty))}; source {prism}; echo second=${{REGISTRY_AUTH_FILE-unset}}")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home")}
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"first={tmp_path}/home/.config/containers/auth.json" in done.stdout and "second=unset" in done.stdout, done.stdout


def test_an_earlier_run_s_file_that_cannot_be_removed_stops_the_build(tmp_path):
    """Left behind, an earlier run's registries.conf still sends pulls to its mirror: when it cannot be removed (a
    read-only ~/.config/containers) the build stops naming it, and auth.json's digest stays for a later run (found
    by a review: the preamble went on)."""
    home = tmp_path / "home"
    mirror = write_config(tmp_path / "mirror", {"oci-dockerhub-url": "nexus.example.com/hub",
                                                "oci-dockerhub-username": "alice", "oci-dockerhub-password": "pw"})
    assert run_entry("webapp", mirror, home).exit_code == 0
    containers = home / ".config/containers"
    empty = write_config(tmp_path / "empty", {})
    webapp = shlex.quote(str(entry(PREAMBLE_DIR, "webapp")))
    script = (f"mount --bind {containers} {containers} && mount -o remount,bind,ro {containers} && "
              f"PROXY_CONFIG_DIR={shlex.quote(str(empty))} PREAMBLE_DRY_RUN_LOGIN=1 PLATFORM_DOCKERHUB_USERNAME=u "
              f"PLATFORM_DOCKERHUB_PASSWORD=p bash -c 'set -euo pipefail; source {webapp}; echo went-on'")
    done = subprocess.run(["unshare", "-rm", "bash", "-c", script], env={"PATH": "/usr/bin:/bin:/sbin:/usr/sbin",
                          "HOME": str(home)}, capture_output=True, text=True, timeout=60)
    assert "went-on" not in done.stdout and done.returncode != 0, done.stdout + done.stderr
    assert f"cannot remove {containers}/registries.conf" in done.stderr, done.stderr
    assert sorted(p.name for p in containers.iterdir()) == ["auth.json", "registries.conf", "registries.conf.d"]
    assert (home / DEFAULT_STATE_DIR / "auth.json.sha256").exists()


def test_docker_hub_login_without_platform_credentials_names_the_key(tmp_path):
    done = run_entry("byoc", tmp_path / "absent", tmp_path / "home")
    assert done.exit_code != 0 and not done.completed
    assert "oci-dockerhub-url" in done.stderr


@pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed (.ci/run installs it)")
def test_failed_docker_hub_login_stops_the_build_naming_the_key(tmp_path, network):
    # A real `podman login docker.io`, inside the empty network namespace: it cannot reach anything and fails.
    done = run_entry("test-runner", tmp_path / "absent", tmp_path / "home", dockerhub_login=("platform", SECRET),
                     network=network)
    assert done.exit_code != 0 and not done.completed
    assert "Docker Hub login failed" in done.stderr and "oci-dockerhub-url" in done.stderr
    assert SECRET not in done.stderr + done.stdout


def test_docker_hub_mirror_skips_the_login(tmp_path):
    config = write_config(tmp_path / "config", {"oci-dockerhub-url": "nexus.example.com/dockerhub"})
    done = run_entry("byoc", config, tmp_path / "home")  # no platform credentials needed
    assert done.exit_code == 0, done.stderr


def test_invalid_values_stop_the_build_naming_the_key(tmp_path):
    config = write_config(tmp_path / "config", {"webapp.image-node-ref": "Node:18", "pkg-npm-url": "https://ok.example.com/"})
    done = run_entry("webapp", config, tmp_path / "home", dry_run_login=True)
    assert done.exit_code != 0 and "webapp.image-node-ref" in done.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed (.ci/run installs it)")
def test_shellcheck_clean():
    files = sorted(str(p) for p in PREAMBLE_DIR.rglob("*.sh"))
    files += sorted(str(p) for p in (PREAMBLE_DIR.parent / "harness").rglob("*.sh"))  # the build side of the hand-off
    done = subprocess.run(["shellcheck", "-x", "-P", "SCRIPTDIR", *files], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_bash_catalog_is_generated_from_the_yaml():
    assert (PREAMBLE_DIR / "lib/catalog.sh").read_text() == render(), "run: python -m harness.preamble.catalog_gen --write"


def test_preamble_check_names_a_catalog_sh_the_catalog_did_not_make(tmp_path):
    """A key added to catalog.yaml without regenerating catalog.sh: plan takes it, the preamble ignores it, and
    preamble-check said "problems: none" (found by a sweep following docs/adding-a-key.md)."""
    import shutil

    preamble = tmp_path / "preamble"
    shutil.copytree(PREAMBLE_DIR, preamble)
    config = write_config(tmp_path / "config", {"oci-dockerhub-url": "nexus.example.com/hub"})
    assert preamble_check("webapp", config, preamble)["problems"] == []
    catalog = preamble / "lib/catalog.sh"
    catalog.write_text(catalog.read_text() + "PC_OCI_KEYS[webapp]+=' oci-quay-url'  # an older catalog\n")
    problems = preamble_check("webapp", config, preamble)["problems"]
    assert any("lib/catalog.sh is not made from this checkout's catalog.yaml" in p and "catalog_gen --write" in p
               for p in problems), problems


def test_every_strategy_has_an_entry():
    assert sorted(p.stem for p in PREAMBLE_DIR.glob("*.sh")) == sorted(STRATEGIES)


def test_preamble_check_command_prints_plan_shaped_json(tmp_path):
    import json

    done = airgap("preamble-check", "--strategy", "webapp", PROXY_CONFIGS / "credentials-everywhere", "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) >= {"images", "mirrors", "logins", "dockerhub_login", "packages", "ignored_keys", "problems"}


def test_preamble_check_catches_a_leaky_preamble(tmp_path):
    """--preamble DIR tests someone else's preamble; this one prints a token, leaves .npmrc world-readable
    and points npm back at the public registry: each is reported."""
    other = tmp_path / "other-preamble"
    shutil.copytree(PREAMBLE_DIR, other)
    (other / "webapp.sh").write_text(
        (other / "webapp.sh").read_text()
        + '\necho "token: $(cat "$PROXY_CONFIG_DIR/pkg-npm-token")" >&2\n'
        + 'printf "registry=https://registry.npmjs.org/\\n" >"$HOME/.npmrc"; chmod 0644 "$HOME/.npmrc"\n')
    config = write_config(tmp_path / "config", {"pkg-npm-url": "https://nexus.example.com/npm/", "pkg-npm-token": "tok-" + "x" * 20})
    result = preamble_check("webapp", config, other)
    problems = "\n".join(result["problems"])
    assert "contains the value of pkg-npm-token" in problems
    assert "pkg-npm-url does not hold the URL written" in problems
    assert "tok-" not in result["log"]


@pytest.mark.parametrize("appended, problem", [
    ('export MVNW_REPOURL="$MVNW_REPOURL/"', "MVNW_REPOURL is not the mirror"),  # ./mvnw would ask for //org/...
    ('export MVNW_PASSWORD=other-password', "MVNW_USERNAME / MVNW_PASSWORD are not the mirror's credentials"),
    ("unset MVNW_USERNAME MVNW_PASSWORD", "MVNW_USERNAME / MVNW_PASSWORD are not the mirror's credentials"),
])
def test_preamble_check_holds_the_maven_wrappers_hand_off_to_the_mirror(tmp_path, appended, problem):
    other = tmp_path / "other-preamble"
    shutil.copytree(PREAMBLE_DIR, other)
    (other / "buildpack.sh").write_text((other / "buildpack.sh").read_text() + f"\n{appended}\n")
    config = write_config(tmp_path / "config", {"pkg-maven-url": "https://nexus.example.com/maven/",
                                                "pkg-maven-username": "ci", "pkg-maven-password": "s3cret-pass"})
    assert preamble_check("buildpack", config)["problems"] == []
    result = preamble_check("buildpack", config, other)
    assert any(problem in p for p in result["problems"]), result["problems"]
    assert "s3cret-pass" not in "\n".join(result["problems"])


@pytest.mark.parametrize("strategy, written", [
    ("mi", {".m2/settings.xml": "<settings><mirrors>&secret-pass<"}),  # XML Maven could not read either
    ("webapp", {".npmrc": "_authToken=abc\n"}),  # no registry line
    ("webapp", {".npmrc": b"registry=\xff\xfe\n"}),  # not UTF-8
])
def test_files_a_foreign_preamble_wrote_that_cannot_be_read_back_are_problems(tmp_path, strategy, written):
    """preamble-check reads back what any preamble wrote: what it cannot parse is a finding, not a traceback."""
    other = tmp_path / "other-preamble"
    other.mkdir()
    lines = []
    for name, content in written.items():
        data = content if isinstance(content, bytes) else content.encode()
        lines.append(f'mkdir -p "$(dirname "$HOME/{name}")" && printf %b {shlex.quote(data.decode("latin-1").encode("unicode_escape").decode())} >"$HOME/{name}"')
    (other / f"{strategy}.sh").write_text("\n".join(lines) + "\n")
    config = write_config(tmp_path / "config", {"pkg-maven-url": "https://nexus.example.com/maven/",
                                                "pkg-npm-url": "https://nexus.example.com/npm/"})
    result = preamble_check(strategy, config, other)
    manager = "maven" if strategy == "mi" else "npm"
    assert any(p.startswith(f"{manager}: what the preamble wrote names no URL") for p in result["problems"]), result["problems"]
    assert result["packages"][manager]["url"] is None
    assert "secret-pass" not in "\n".join(result["problems"])


@pytest.mark.parametrize("written, problem", [
    ({".config/containers/registries.conf": "garbage [[ secret-pass"}, "registries.conf: unreadable (TOMLDecodeError)"),
    ({".config/containers/registries.conf": '[[registry]]\nlocation = "secret-pass"\n'}, "registries.conf: unreadable (KeyError)"),
    ({".config/containers/registries.conf": b"x = '\xff'\n"}, "registries.conf: unreadable (UnicodeDecodeError)"),
    ({".config/containers/auth.json": "{secret-pass"}, "auth.json: unreadable (JSONDecodeError)"),
    ({".config/containers/auth.json": '{"auths": ["secret-pass"]}'}, "auth.json: unreadable (TypeError)"),
])
def test_container_files_a_foreign_preamble_wrote_that_cannot_be_read_back_are_problems(tmp_path, written, problem):
    other = tmp_path / "other-preamble"
    other.mkdir()
    lines = [f'mkdir -p "$(dirname "$HOME/{name}")" && printf %b '
             f'{shlex.quote((c if isinstance(c, bytes) else c.encode()).decode("latin-1").encode("unicode_escape").decode())}'
             f' >"$HOME/{name}"' for name, c in written.items()]
    (other / "webapp.sh").write_text("\n".join(lines) + "\n")
    config = write_config(tmp_path / "config", {"oci-dockerhub-url": "nexus.example.com/dockerhub-proxy"})
    result = preamble_check("webapp", config, other)
    assert problem in result["problems"], result["problems"]
    assert "secret-pass" not in "\n".join(result["problems"])


def test_a_file_that_cannot_be_written_stops_the_build(tmp_path):
    config = write_config(tmp_path / "config", {"pkg-maven-url": "https://nexus.example.com/maven/"})
    (tmp_path / "home").mkdir()
    (tmp_path / "home/.m2").write_text("a file where Maven's directory belongs")
    done = run_entry("mi", config, tmp_path / "home")
    assert done.exit_code != 0 and "cannot write" in done.stderr and "settings.xml" in done.stderr


def test_a_file_it_cannot_write_is_named_not_blamed_on_a_value(tmp_path):
    """A writer that fails to write says which file; 'a value ... cannot carry' is for format refusals."""
    config = write_config(tmp_path / "cfg", {"pkg-maven-url": "https://nexus.example.com/repository/maven/"})
    home = tmp_path / "home"
    home.mkdir()
    (home / ".m2").write_text("a file where the preamble needs a directory")
    done = run_entry("mi", config, home)
    assert done.exit_code != 0 and not done.completed
    assert "cannot write" in done.stderr and ".m2/settings.xml" in done.stderr, done.stderr
    assert "cannot carry" not in done.stderr, done.stderr


def test_a_preamble_that_leaves_a_process_behind_ends_when_it_does_and_the_process_is_stopped(tmp_path):
    """A background child holding the output open must neither stall preamble-check nor outlive it."""
    marker = f"airgap-left-behind-{tmp_path.name}"
    other = tmp_path / "other-preamble"
    other.mkdir()
    (other / "webapp.sh").write_text(f'(exec -a {marker} sleep 300 &)\necho started\n')
    config = write_config(tmp_path / "config", {"pkg-npm-url": "https://nexus.example.com/npm/"})
    result = preamble_check("webapp", config, other)
    assert "started" in result["log"]
    left = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
    assert left.returncode == 1, f"still running: {left.stdout}"


def test_a_preamble_that_prints_without_end_is_read_back_only_in_part(tmp_path):
    other = tmp_path / "other-preamble"
    other.mkdir()
    (other / "webapp.sh").write_text('head -c 20000000 /dev/zero | tr "\\0" a\n')
    config = write_config(tmp_path / "config", {"pkg-npm-url": "https://nexus.example.com/npm/"})
    log = preamble_check("webapp", config, other)["log"]
    assert len(log) < 5 << 20 and log.rstrip().endswith("[output cut at 4194304 bytes]")


def test_a_present_key_file_the_build_cannot_use_is_named_once_with_lint_s_rule(tmp_path):
    """A password over 64 KiB, a directory, a non-UTF-8 or binary value, a broken symlink: the build treats each
    as unset, as lint says, and its log (often all a customer sees) said nothing but "auth: none" (found by a
    preamble sweep). Now each is named once, with the rule lint gives the same file."""
    config = write_config(tmp_path / "config", {
        "pkg-maven-url": "https://nexus.example.com/m/", "pkg-maven-username": "u", "pkg-maven-password": "p" * 70000,
        "pkg-go-url": "https://nexus.example.com/go/", "pkg-go-username": "u",
        "pkg-python-url": "https://nexus.example.com/py/", "pkg-python-username": "u",
        "pkg-npm-url": "https://nexus.example.com/npm/", "oci-dockerhub-url": "nexus.example.com/hub",
        "oci-dockerhub-username": "u"})
    (config / "pkg-go-password").write_bytes(b"caf\xe9")
    (config / "pkg-python-password").mkdir()
    (config / "pkg-npm-token").write_bytes(b"tok\x00en")
    (config / "oci-dockerhub-password").symlink_to(tmp_path / "nowhere")
    (config / "pkg-gradle-url").write_text("https://nexus.example.com/gradle/")
    (config / "pkg-gradle-username").write_text("u")
    (config / "pkg-gradle-password").write_bytes(b"p\0" + b"q" * 70000)  # large and binary: both name binary-value
    result = preamble_check("buildpack", config)
    assert result["exit_code"] == 0, result["log"]
    entries = read_config(config).entries
    for key in ("pkg-maven-password", "pkg-go-password", "pkg-python-password", "pkg-npm-token", "oci-dockerhub-password",
                "pkg-gradle-password"):
        rule = entries[key].rule
        lines = [line for line in result["log"].splitlines() if line.startswith(f"proxy-config: warning: {key}:")]
        assert len(lines) == 1 and lines[0].endswith(f"treated as unset ({rule})"), (key, rule, result["log"])


@pytest.mark.parametrize("options", ["shopt -s failglob", "shopt -s dotglob", "shopt -s nocasematch", "set -f",
                                     "shopt -s nullglob extglob globstar nocaseglob", "IFS=$'\\n\\t'",
                                     # noclobber refused every file a second sourcing writes again (found by a sweep)
                                     "set -C; source {entry} >/dev/null 2>&1 || :",
                                     # RVM replaces cd with a function that prints (found by a sweep)
                                     'cd() { builtin cd "$@" && echo rvm-using-ruby; }; dirname() { echo nowhere; }'])
@pytest.mark.parametrize("npm_url", ["https://nexus.example.com/npm/", "HTTPS://nexus.example.com/npm/"])
@pytest.mark.parametrize("dot_file", [False, True])
def test_the_caller_s_glob_options_change_nothing_and_stay_set(tmp_path, options, npm_url, dot_file):
    """The preamble is sourced into the build step, under its shell options: failglob made it fail when the
    folder held no dot-file, nocasematch let an upper-case scheme through (found by a review), the strict mode's
    IFS=$'\\n\\t' wrote one registries.conf prefix of three hosts (found by a sweep). It runs under bash's
    defaults, writes the same files, and the caller's options are as they were after it."""
    config = write_config(tmp_path / "config", {"oci-dockerhub-url": "nexus.example.com/hub", "pkg-npm-url": npm_url})
    if dot_file:
        (config / ".dockerconfigjson").write_text("{}")
    env = {"PATH": "/usr/bin:/bin", **Environment(home=tmp_path / "home", proxy_config_dir=config).variables()}
    show = "shopt -p dotglob extglob failglob globstar nocaseglob nocasematch nullglob || true; echo flags=$- ${IFS@Q}"
    runs = {}
    for caller in ("true", options.replace("{entry}", shlex.quote(str(entry(PREAMBLE_DIR, "webapp"))))):
        script = (f"set -euo pipefail; {caller}; before=$({show}); source {shlex.quote(str(entry(PREAMBLE_DIR, 'webapp')))} "
                  f"|| echo refused; after=$({show}); [[ $before == \"$after\" ]] && echo options-kept; "
                  "cat \"$HOME/.config/containers/registries.conf\" \"$HOME/.npmrc\"")
        done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60)
        runs[caller] = done.stdout + "".join(line for line in done.stderr.splitlines(True) if "proxy-config:" in line)
    assert runs[caller] == runs["true"] and "options-kept" in runs[caller], runs


def test_a_turkish_locale_changes_no_variable_name(tmp_path):
    """In tr_TR, ${x^^} makes `i` a dotted capital İ: PROXY_IMAGE_NGİNX is no variable name, and the preamble
    stopped (found by a sweep). Names are upper-cased as ASCII (pc__upper)."""
    locales = tmp_path / "locales"
    locales.mkdir()
    made = subprocess.run(["localedef", "-i", "tr_TR", "-f", "UTF-8", str(locales / "tr_TR.UTF-8")],
                          capture_output=True, text=True, timeout=120)
    assert (locales / "tr_TR.UTF-8").is_dir(), made.stderr  # the `locales` package (scripts/bootstrap)
    config = write_config(tmp_path / "config", {"oci-dockerhub-url": "nexus.example.com/hub"})
    runs = {}
    for lang in ("C", "tr_TR.UTF-8"):
        env = {"PATH": "/usr/bin:/bin", "LOCPATH": str(locales), "LC_ALL": lang,
               **Environment(home=tmp_path / lang, proxy_config_dir=config).variables()}
        script = (f"source {shlex.quote(str(entry(PREAMBLE_DIR, 'webapp')))} || echo refused; "
                  "for v in $(compgen -v PROXY_IMAGE_); do echo \"$v=${!v}\"; done; "
                  f"cat \"${{{STATE_DIR}:-$HOME/{DEFAULT_STATE_DIR}}}/handoff\"")
        done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60)
        runs[lang] = done.stdout.replace(str(tmp_path / lang), "HOME")
    assert "PROXY_IMAGE_NGINX=" in runs["C"] and "NGINX_IMAGE" in runs["C"], runs
    assert runs["tr_TR.UTF-8"] == runs["C"], runs


def test_the_config_snapshot_survives_an_entry_going_and_stops_at_its_bound(tmp_path, monkeypatch):
    """A Secret volume's update swaps ..data while preamble-check compares the directory before and after: an
    entry gone between the listing and its lstat is recorded, not a traceback; and /proc-sized trees are cut."""
    from harness.preamble import check

    for name in ("pkg-npm-url", "gone"):
        (tmp_path / name).write_text("https://nexus.example.com/npm/")
    lstat = Path.lstat

    def vanishing(path):
        if path.name == "gone":
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return lstat(path)

    monkeypatch.setattr(Path, "lstat", vanishing)
    state = check._snapshot(tmp_path)
    assert state["gone"] == ("gone while read", "No such file or directory") and state["pkg-npm-url"][3]
    monkeypatch.setattr(check, "SNAPSHOT_MAX_ENTRIES", 1)
    assert list(check._snapshot(tmp_path))[-1] == "..."


@pytest.mark.parametrize("url", ["https://nexus.example.com/repo=x/npm/", "https://nexus.example.com/a=b=c/npm/"])
def test_a_client_limit_lint_reports_is_no_disagreement_of_the_preamble_and_plan(tmp_path, url):
    """An '=' in an npm registry's path breaks the .npmrc key of its token: lint says npm sends none (the build
    goes on). The preamble wrote the token it reported; preamble-check and plan both say so, without a problem."""
    (tmp_path / "pkg-npm-url").write_text(url)
    (tmp_path / "pkg-npm-token").write_text("T0kenQQ77")
    check_agreement(tmp_path, "webapp")


@pytest.mark.parametrize("url", ["https://nexus.example.com:8443/repository/npm/team@corp.example/",
                                 "https://ci:2024/x@nexus.example.com/npm/"])
def test_an_at_sign_after_a_port_is_masked_yet_decides_nothing(tmp_path, url):
    """After a port, an '@' may end a password of digits and '/' (masked so), but the build reads the URL as
    written: no user-info, so a token beside it is no conflict for plan, lint or the preamble (found by a review)."""
    (tmp_path / "pkg-npm-url").write_text(url)
    (tmp_path / "pkg-npm-token").write_text("T0kenQQ77")
    check_agreement(tmp_path, "webapp")
