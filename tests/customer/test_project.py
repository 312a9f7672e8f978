"""A customer's project read and turned into steps and stand-ins (harness/customer/project.py, dockerfile.py)."""

import json
import os
import re
import shutil
import string
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from harness.contract.catalog import load_catalog
from harness.customer import dockerfile, project
from harness.customer.dockerfile import AUTOMATIC_ARGS
from harness.customer.project import STANDIN_DOCKERFILE, StandIns
from harness.infra.errors import UserError
from harness.infra import paths
from harness.scenarios import model
from harness.scenarios.steps import step_command
from harness.scenarios.recipes import recipes
from harness.stack import content, slices
from harness.stack.servers import internet

BYOC = paths.fixtures_dir() / "projects" / "byoc-dockerfile"


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    return root


def test_reading_skips_build_outputs_links_out_of_the_project_and_special_files(tmp_path):
    write(tmp_path, {"Dockerfile": "FROM alpine:3.20\n", "node_modules/x/index.js": "x", ".git/HEAD": "ref",
                     "src/app.js": "1"})
    (tmp_path / "outside").symlink_to("/etc/passwd")
    os.mkfifo(tmp_path / "pipe")  # reading it would hang
    files, notes = project.read_project(tmp_path)
    assert [path for path, _ in files] == ["Dockerfile", "src/app.js"]
    assert notes == ("outside: a symbolic link out of the project, not followed (left out)",
                     "pipe: not a regular file (a FIFO, socket or device) (left out)")


def test_a_link_within_the_project_is_read_as_its_target_and_what_is_left_out_is_noted(tmp_path):
    """A checkout's `requirements.txt -> requirements/prod.txt` is what pip reads: the build is `-r requirements.txt`
    with stand-ins for what the target names; a link out of the project, a link to a directory, a broken link and
    a FIFO are left out, each named in the project's notes (not silently: one may be the file the build needs)."""
    write(tmp_path, {"requirements/prod.txt": "django==4.2.1\n", "pyproject.toml": '[project]\nname = "svc"\n'})
    (tmp_path / "requirements.txt").symlink_to("requirements/prod.txt")
    (tmp_path / "outside.txt").symlink_to("/etc/hostname")
    (tmp_path / "linked-dir").symlink_to("requirements")
    (tmp_path / "broken").symlink_to("nowhere")
    os.mkfifo(tmp_path / "package-lock.json")
    loaded = project.load(tmp_path)
    assert dict(loaded.files)["requirements.txt"] == b"django==4.2.1\n"
    assert loaded.builds[0][1].endswith("-r requirements.txt")
    assert [d["name"] for d in loaded.standins[0].definition["distributions"]] == ["django"]
    assert loaded.summary()["notes"][:4] == [
        "project: linked-dir: a symbolic link to a directory, not followed (left out)",
        "project: broken: a broken symbolic link, or a loop of them (left out)",
        "project: outside.txt: a symbolic link out of the project, not followed (left out)",
        "project: package-lock.json: not a regular file (a FIFO, socket or device) (left out)"]


def test_a_link_into_a_skipped_directory_is_not_followed(tmp_path):
    """node_modules/ and .git/ are left out of the copy; a link into them does not bring them back."""
    write(tmp_path, {"package.json": '{"name": "a"}', "node_modules/x/package.json": '{"name": "x"}', ".git/config": "x"})
    (tmp_path / "gitconfig").symlink_to(".git/config")
    (tmp_path / "x.json").symlink_to("node_modules/x/package.json")
    files, notes = project.read_project(tmp_path)
    assert [path for path, _ in files] == ["package.json"]
    assert notes == tuple(f"{name}: a symbolic link into a directory the copy skips (node_modules/, .git/ ...), not "
                          "followed (left out)" for name in ("gitconfig", "x.json"))


def test_a_project_whose_build_file_links_out_of_it_says_so(tmp_path):
    write(tmp_path, {"README.md": "x"})
    (tmp_path / "Dockerfile").symlink_to("/etc/hostname")
    with pytest.raises(UserError, match=r"no project file .*; Dockerfile: a symbolic link out of the project"):
        project.load(tmp_path)


def test_build_outputs_are_skipped_only_beside_the_build_file_that_writes_them(tmp_path):
    """target/ beside a pom.xml and build/ beside a Gradle build are outputs; a Maven module named build is source."""
    write(tmp_path, {"pom.xml": "<project/>", "target/classes/x.class": "x", "build/pom.xml": "<project/>",
                     "build/target/y.class": "y", "gradle/build.gradle": "", "gradle/build/z.class": "z"})
    assert sorted(path for path, _ in project.read_tree(tmp_path)) == ["build/pom.xml", "gradle/build.gradle", "pom.xml"]


def test_tool_directories_named_by_their_last_parts_are_skipped_at_any_depth(tmp_path):
    """A local Maven repository or Maven wrapper distribution (.m2/repository, .m2/wrapper) and Yarn's cache are
    left out wherever they are; a settings file in .m2 is read (Maven's -s may name it)."""
    write(tmp_path, {"pom.xml": "<project/>", ".m2/settings.xml": "<settings/>", ".m2/repository/a/1/a-1.jar": "j",
                     ".m2/wrapper/dists/m.zip": "z", "backend/pom.xml": "<project/>", "backend/.m2/repository/b.jar": "j",
                     "web/.yarn/cache/x.zip": "z", "web/.yarn/releases/yarn.cjs": "y", "repository/x.txt": "source"})
    assert sorted(path for path, _ in project.read_tree(tmp_path)) == [
        ".m2/settings.xml", "backend/pom.xml", "pom.xml", "repository/x.txt", "web/.yarn/releases/yarn.cjs"]


UNREAD = [(piece.manager, pattern) for piece in slices.load() for pattern, _ in piece.unread]
FIXTURE_OF = {"npm": "npm-lockfile-v3", "python": "python-pyproject", "go": "go-module", "rubygems": "rubygems-rails-like",
              "composer": "composer-packagist", "maven": "maven-wrapper", "gradle": "gradle-groovy"}


@pytest.mark.parametrize("manager, pattern", UNREAD, ids=[f"{m}-{p}" for m, p in UNREAD])
def test_a_file_the_stand_ins_do_not_follow_is_named_in_the_notes(tmp_path, manager, pattern):
    """Another tool's lock file or a workspace beside the manager's own files (customer.unread of its slice):
    the project still loads, and its notes say the file was not followed."""
    shutil.copytree(paths.fixtures_dir() / "projects" / FIXTURE_OF[manager], tmp_path, dirs_exist_ok=True)
    name = pattern.replace("*", "acme")
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)  # vendor/modules.txt, .bundle/config
    (tmp_path / name).write_text("lockfileVersion: 9\n")
    notes = project.load(tmp_path).summary()["notes"]
    assert any(note.startswith(f"{manager}: {name}: ") for note in notes), notes


_LOCKED_ON_A_PORT = {
    "npm": {"package.json": '{"name": "app", "dependencies": {"@corp/ui": "^2.0.0"}}',
            "package-lock.json": '{"name": "app", "lockfileVersion": 3, "packages": {"": {"dependencies": {"@corp/ui": '
                                 '"^2.0.0"}}, "node_modules/@corp/ui": {"version": "2.0.0", "resolved": '
                                 '"https://npm.corp.example:8443/@corp/ui/-/ui-2.0.0.tgz", "integrity": "sha512-' + "B" * 86 + '=="}}}'},
    "yarn": {"package.json": '{"name": "app", "dependencies": {"@corp/ui": "^2.0.0"}}',
             "yarn.lock": '# yarn lockfile v1\n\n\n"@corp/ui@^2.0.0":\n  version "2.0.0"\n  resolved '
                          '"http://npm.corp.example:8443/@corp/ui/-/ui-2.0.0.tgz#' + "a" * 40 + '"\n'},
    "pip": {"requirements.txt": "--index-url https://npm.corp.example:8443/simple/\nacme-lib==1.2.0\n"},
    "composer": {"composer.json": '{"require": {"acme/x": "^1.0"}}',
                 "composer.lock": '{"content-hash": "x", "packages": [{"name": "acme/x", "version": "1.0.0", "dist": '
                                  '{"type": "zip", "url": "https://npm.corp.example:8443/dist/acme/x/1.0.0.zip"}}]}'},
}


@pytest.mark.parametrize("files", list(_LOCKED_ON_A_PORT.values()), ids=list(_LOCKED_ON_A_PORT))
def test_a_registry_on_a_port_of_its_own_is_named_not_stood_in_for(tmp_path, files):
    """The simulated internet answers 443 only: packages a project fetches from host:8443 cannot be stood in
    for there, and the notes say so instead of claiming they were."""
    loaded = project.load(write(tmp_path, files))
    notes = loaded.summary()["notes"]
    assert any("npm.corp.example:8443, a port of its own" in note for note in notes), notes
    assert not any("stood in for there" in note or "served there" in note for note in notes), notes
    assert "npm.corp.example" not in json.dumps([made.elsewhere for made in loaded.standins])


@pytest.mark.parametrize("name, text", [
    ("requirements.txt", "six==1.16.0\n"),
    ("pom.xml", '<?xml version="1.0" encoding="UTF-16"?>\n<project><groupId>g</groupId><artifactId>a</artifactId>'
                "<version>1</version><dependencies><dependency><groupId>c</groupId><artifactId>d</artifactId>"
                "<version>1</version></dependency></dependencies></project>\n"),
])
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_a_utf16_file_is_refused_by_name_never_rewritten_half(tmp_path, name, text, encoding):
    """What PowerShell 5 writes: the client reads UTF-16, the stand-ins read and rewrite UTF-8 only, so the
    project is refused naming the file (a pom's copy got UTF-8 lines spliced into UTF-16 before)."""
    write(tmp_path, {name: text.encode(encoding)})
    with pytest.raises(UserError, match=f"{name}: not UTF-8 but UTF-16.* text; .* save it as UTF-8"):
        project.load(tmp_path)


CONFLICT = "<<<<<<< HEAD\n{a}\n=======\n{b}\n>>>>>>> feature\n"


@pytest.mark.parametrize("name, head, a, b", [
    ("Gemfile.lock", "GEM\n  remote: https://rubygems.org/\n  specs:\n", "    rack (3.0.8)", "    rack (3.1.0)"),
    ("requirements.txt", "", "six==1.16.0", "six==1.17.0"),
    ("go.sum", "", "golang.org/x/text v0.3.0 h1:x=", "golang.org/x/text v0.3.1 h1:y="),
])
def test_merge_conflict_markers_are_an_error_naming_the_file_and_line(tmp_path, name, head, a, b):
    """A lockfile or requirements file left mid-merge: its client stops at the markers, so the project is refused
    naming the file and the line (a Gemfile.lock with them loaded silently before)."""
    files = {name: head + CONFLICT.format(a=a, b=b)}
    files |= {"Gemfile": 'source "https://rubygems.org"\ngem "rack"\n'} if name == "Gemfile.lock" else {}
    files |= {"go.mod": "module example.com/a\n\ngo 1.21\n"} if name == "go.sum" else {}
    with pytest.raises(UserError, match=f"{name}: merge-conflict markers from line {head.count(chr(10)) + 1}"):
        project.load(write(tmp_path, files))


def test_yarn_resolves_its_own_lockfile_conflicts():
    assert project.text_of("yarn.lock", CONFLICT.format(a="a", b="b").encode()).startswith("<<<<<<<")


def test_a_file_too_large_is_an_error_naming_it(tmp_path, monkeypatch):
    write(tmp_path, {"Dockerfile": "FROM alpine:3.20\n", "big.bin": b"x" * 2048})
    monkeypatch.setattr(project, "MAX_FILE_BYTES", 1024)
    with pytest.raises(UserError, match=r"big\.bin: 2048 bytes"):
        project.read_tree(tmp_path)


def test_too_many_files_is_an_error(tmp_path, monkeypatch):
    write(tmp_path, {f"f{i}": "x" for i in range(5)})
    monkeypatch.setattr(project, "MAX_FILES", 3)
    with pytest.raises(UserError, match="more than 3 files"):
        project.read_tree(tmp_path)


def test_not_a_directory_empty_or_without_a_build_file_are_errors(tmp_path):
    with pytest.raises(UserError, match="not a directory"):
        project.load(tmp_path / "missing")
    with pytest.raises(UserError, match="no files"):
        project.load(tmp_path)
    write(tmp_path, {"README.md": "hello"})
    with pytest.raises(UserError, match="no project file of a package manager.*looked for .*Dockerfile"):
        project.load(tmp_path)


@pytest.mark.parametrize("files, named", [
    ({"Pipfile": "[packages]\nflask = '*'\n", "Pipfile.lock": "{}"}, ["Pipfile: Pipfile is not read", "Pipfile.lock:"]),
    ({"go.work": "go 1.21\nuse ./app\n", "app/go.mod": "module example.com/app\n"}, ["go.work: go.work is not read"]),
])
def test_a_project_of_a_tool_no_slice_builds_is_named_with_why(tmp_path, named, files):
    """A Pipenv project or a Go workspace was 'no project file' and nothing more (found by a review): the files
    a slice names as not followed (customer: unread) say why they are not built."""
    write(tmp_path, files)
    with pytest.raises(UserError) as raised:
        project.load(tmp_path)
    assert str(raised.value).startswith(f"--project {tmp_path}: no project file of a package manager at its top")
    assert all(part in str(raised.value) for part in named), str(raised.value)


def test_byoc_builds_the_project_dockerfile_on_its_standin_copy():
    loaded = project.load(BYOC)
    [step] = loaded.steps("byoc", recipes()["byoc"])
    assert step == {"dockerfile": "Dockerfile", "context": "customer-dockerfile", "file": STANDIN_DOCKERFILE}
    assert step_command(step).endswith(f"-f /work/projects/customer-dockerfile/{STANDIN_DOCKERFILE} "
                                       "/work/projects/customer-dockerfile")
    copy = dict(loaded.copy())
    assert copy["Dockerfile"] == (BYOC / "Dockerfile").read_bytes()  # the customer's own file, as it is
    assert loaded.rewritten == (STANDIN_DOCKERFILE,)


def test_a_strategy_that_builds_nothing_of_the_project_says_what_it_found():
    loaded = project.load(BYOC)
    with pytest.raises(UserError, match="uses .*Dockerfile; strategy prism builds no project"):
        loaded.steps("prism", recipes()["prism"])


@pytest.mark.parametrize("files, manager, message", [
    ({"yarn.lock": "__metadata:\n  version: 6\n", "package.json": '{"name": "a"}'}, "npm", "a Yarn 2\\+ lockfile"),
    ({"pyproject.toml": '[project]\nname = "a"\n[project]\nname = "b"\n'}, "python", "pyproject.toml"),
])
def test_files_a_manager_cannot_read_stop_only_a_build_of_that_manager(tmp_path, files, manager, message):
    """A Yarn 2+ lockfile beside the Dockerfile byoc builds is no reason to refuse byoc: the error comes for a
    strategy that builds that manager; one that does not says in a note that it was not read."""
    root = write(tmp_path, {"Dockerfile": "FROM registry.acme.example/base:1\n", **files})
    loaded = project.load(root, project.built_by(recipes()["byoc"]))
    [step] = loaded.steps("byoc", recipes()["byoc"])
    assert step["context"] == "customer-dockerfile"
    assert any(note.startswith(f"{manager} not read, as this strategy does not build it") and re.search(message, note)
               for note in loaded.notes), loaded.notes
    strategy = {"npm": "webapp", "python": "buildpack"}[manager]
    for builds in (project.built_by(recipes()[strategy]), None):  # None: every manager it finds
        with pytest.raises(UserError, match=message):
            project.load(root, builds)


def test_standin_images_are_served_with_their_hosts():
    loaded = project.load(BYOC)
    served = content.with_standins(loaded.standins)
    references = {ref.reference for ref in served.images}
    assert {"docker.io/library/node:20-alpine", "public.ecr.aws/acme-platform/runtime:2024.1",
            "docker.io/nginxinc/nginx-unprivileged:stable-alpine"} <= references
    names = internet.public_names(load_catalog(), served)
    assert "public.ecr.aws" in names and "public.ecr.aws" not in internet.public_names(load_catalog())


def test_a_scenario_with_a_project_path_builds_it(tmp_path):
    folder = write(tmp_path / "customer-x", {"scenario.yaml": (
        f"strategy: byoc\nproxy_config: {{fixture: full-global}}\nproject: {{path: {BYOC}}}\n"
        "expect: {build: fails}\n")})
    scenario = model.load_file(folder)
    assert scenario.customer is not None and scenario.recipe[0]["context"] == "customer-dockerfile"
    write(folder, {"project/x.txt": "x"})
    with pytest.raises(UserError, match="cannot be combined with project"):
        model.load_file(folder)


def froms(text: str) -> int:
    return sum(line.startswith("FROM ") for line in text.splitlines())


def parsed(text: str) -> StandIns:
    return dockerfile.standins({"Dockerfile": text.encode()})


def test_from_lines_are_resolved_as_the_builder_resolves_them():
    made = parsed("# syntax=docker/dockerfile:1\r\nARG BASE=node\r\nARG TAG\r\n"
                  "FROM ${BASE}:${TAG:-20} AS build\r\nRUN echo \\\r\n  # a comment inside\r\n  more\r\n"
                  "FROM build AS again\nFROM scratch\nFROM registry.corp:5000/team/base:1\n"
                  "FROM ghcr.io/acme/x@sha256:" + "a" * 64 + "\nFROM --platform=$BUILDPLATFORM alpine\n")
    assert made.images == ("docker.io/library/node:20", "docker.io/library/alpine:latest")
    assert any("digest" in note for note in made.notes) and any("port" in note for note in made.notes)
    standin = made.rewritten[STANDIN_DOCKERFILE].decode()
    assert "RUN" not in standin and froms(standin) == 6


def test_no_marker_is_copied_from_a_stage_that_is_scratch_by_way_of_another_stage():
    """The stand-in copy takes the stand-ins' marker file from each earlier stage, so that podman builds them: a
    stage on scratch, or on a stage on scratch, has none (podman failed there, for no reason of the air gap)."""
    standin = parsed("FROM scratch AS a\nFROM a AS b\nFROM b AS c\nFROM alpine:3.19 AS d\nFROM d AS e\n"
                     "FROM alpine:3.19\n").rewritten[STANDIN_DOCKERFILE].decode()
    copied = re.findall(r"COPY --from=(\d+) ", standin)
    assert copied == ["3", "4"], standin


def test_here_documents_are_no_instructions():
    """A line of a here-document (Dockerfile syntax 1.4: RUN, COPY and ADD) that reads like FROM is text."""
    made = parsed("FROM alpine AS a\nRUN <<EOT\nFROM evil.example/heredoc:1\nEOT\n"
                  "COPY <<-A <<'B' /x/\n\tFROM evil.example/two:1\n\tA\nFROM evil.example/three:1\nB\n"
                  "FROM busybox\nRUN cat <<< here-string && echo 'a << b'\n")
    assert made.images == ("docker.io/library/alpine:latest", "docker.io/library/busybox:latest")
    assert "evil" not in made.rewritten[STANDIN_DOCKERFILE].decode()


def test_every_arg_form_buildkit_reads_resolves_the_from_lines():
    """ARG defaults quoted, several names on one ARG line, a default that uses an earlier ARG; a byte-order mark
    before the first line; stage names in any case (BuildKit lowercases them; the copy names them in lower case)."""
    made = parsed("\ufeffARG REGISTRY=registry.acme.example VERSION=20\nARG BASE=\"${REGISTRY}/node:${VERSION}-alpine\"\n"
                  "ARG 'TOOL=busybox'\nFROM ${BASE} AS Build\nFROM BUILD AS test\nFROM ${TOOL}\nCOPY --from=Build /a /a\n")
    assert made.images == ("registry.acme.example/node:20-alpine", "docker.io/library/busybox:latest")
    standin = made.rewritten[STANDIN_DOCKERFILE].decode()
    assert "FROM ${BASE} AS build\nFROM build AS test\n" in standin and "\ufeff" not in standin
    with pytest.raises(UserError, match=r"Dockerfile: ARG \.\.\.: No closing quotation \(the line.s text is not shown\)"):
        parsed('ARG "x\nFROM alpine\n')


def test_continuations_and_here_documents_are_read_as_buildkit_reads_them():
    """Empty and comment lines inside a continued instruction are skipped; continued lines join as written (no
    space added); an escaped escape character ends no line. A here-document opens only at a shell word starting
    `<<` of RUN, COPY or ADD (ONBUILD's too), never in the JSON form, `cat<<EOF` or `$((1<<2))`."""
    made = parsed("FROM alpine:3.19 \\\n\n    # the base\n    AS base\nRUN apt-get update && \\\n  \n  apt-get install -y curl\n"
                  "FROM registry.acme.example/ba\\\nse:1 AS b\nRUN echo $((1<<EOF)) && echo done \\\\\n"
                  "FROM busybox:1\nONBUILD RUN <<EOT\nFROM evil.example/onbuild:1\nEOT\nRUN 3<<\"END\" cat\n"
                  "FROM evil.example/fd:1\nEND\nRUN [\"sh\", \"-c\", \"cat <<EOF\"]\nFROM debian:12\nFROM base\n")
    assert made.images == ("docker.io/library/alpine:3.19", "registry.acme.example/base:1",
                           "docker.io/library/busybox:1", "docker.io/library/debian:12")
    with pytest.raises(UserError, match="Dockerfile: the here-document EOF of RUN is never closed"):
        parsed("FROM alpine\nRUN <<EOF\necho\nFROM busybox\n")


def test_automatic_platform_args_nested_defaults_and_the_shell_form_of_run_are_read_as_buildkit_reads_them():
    """TARGETARCH and the other automatic platform ARGs are set in the global scope (an `ARG TARGETARCH` without a
    default keeps the value); a default may hold ${...} of its own; `RUN [ -x f ] && cat <<EOF` is the shell form,
    its here-document no instructions; `# syntax=` is named."""
    made = parsed("# syntax=docker/dockerfile:1\nARG TARGETARCH\nARG ARCH=${TARGETARCH}\nARG DEFAULT=registry.acme.example\n"
                  "ARG REGISTRY\nFROM alpine:3.19 AS base-amd64\nFROM alpine:3.19 AS base-arm64\nFROM base-${TARGETARCH}\n"
                  "RUN [ -d /etc ] && cat <<EOF > /Dockerfile.inner\nFROM evil.example/inner:1\nEOF\n"
                  "FROM ${REGISTRY:-${DEFAULT}}/base:1-${ARCH}\nRUN --mount=type=cache,target=/c,from=ghcr.io/acme/cache:1 true\n")
    arch = AUTOMATIC_ARGS["TARGETARCH"]
    assert made.images == ("docker.io/library/alpine:3.19", f"registry.acme.example/base:1-{arch}", "ghcr.io/acme/cache:1")
    assert any(note.startswith("# syntax=docker/dockerfile:1: BuildKit pulls") for note in made.notes)
    assert any(note.startswith("TARGETARCH: automatic platform ARGs") for note in made.notes)


@pytest.mark.parametrize("text", ["FROM deploy:S3cret/PW@registry.acme.example/base:1\n",
                                  "ARG REG\nFROM deploy:S3cretPW@${REG}/base:1\n", "FROM alpine # deploy:S3cret/PW@r.example\n"])
def test_a_dockerfile_error_masks_a_user_info_whatever_its_password_holds(text):
    with pytest.raises(UserError) as error:
        parsed(text)
    assert "S3cret" not in str(error.value) and "PW" not in str(error.value) and "***" in str(error.value)


def test_a_dockerfile_error_never_prints_terminal_control_characters():
    for text in ("\x1b]0;title\x07\x1b[2JRUN true\nFROM alpine\n", "FROM alpine\x1b[8m:3.19\n"):
        with pytest.raises(UserError) as error:
            parsed(text)
        assert "\x1b" not in str(error.value) and "\\x1b" in str(error.value)


def test_the_escape_directive_sets_the_continuation_character():
    """A Windows-style Dockerfile (`# escape=``) continues lines with a backtick; a trailing backslash is a path
    there, so the FROM after it is still an instruction. The directive counts only at the top."""
    made = parsed("# syntax=docker/dockerfile:1\n#  ESCAPE = `\nFROM registry.acme.example/base:1 `\n    AS build\n"
                  "RUN dir c:\\\nFROM registry.acme.example/run:2\nCOPY --from=build c:\\app c:\\app\n")
    assert made.images == ("registry.acme.example/base:1", "registry.acme.example/run:2")
    late = parsed("# a comment first\n# escape=`\nFROM alpine \\\n  AS a\nFROM busybox\n")
    assert late.images == ("docker.io/library/alpine:latest", "docker.io/library/busybox:latest")
    with pytest.raises(UserError, match="Dockerfile: the parser directive escape='x'"):
        parsed("# escape=x\nFROM alpine\n")


@pytest.mark.parametrize("text, message", [("RUN true\n", "RUN before the first FROM"), ("# nothing\n", "no FROM"),
                                            ("FROM Upper/Case:1\n", "not an image reference"),
                                            ("FROM alpine\nFROM busybox # runtime\n", "FROM busybox # runtime: not FROM "),
                                            ("FROM alpine AS\n", "FROM alpine AS: not FROM "), ("FROM\n", "FROM: not FROM ")])
def test_a_malformed_dockerfile_is_an_error_naming_it(text, message):
    with pytest.raises(UserError, match=f"Dockerfile: .*{message}|Dockerfile: {message}"):
        parsed(text)


names = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=12)
tags = st.text(string.ascii_letters + string.digits + "._-", min_size=1, max_size=20).filter(lambda t: t[0] not in ".-")


@given(st.lists(st.tuples(st.sampled_from(["", "docker.io/", "quay.io/", "ghcr.io/acme/"]), names, tags),
                min_size=1, max_size=5))
def test_every_from_image_gets_a_standin_and_a_stage(images):
    text = "".join(f"FROM {host}{name}:{tag}\nRUN make\n" for host, name, tag in images)
    made = parsed(text)
    expected = []
    for host, name, tag in images:
        domain = host.split("/")[0] if host else "docker.io"
        path = "/".join(filter(None, [*host.split("/")[1:], name])) if host not in ("", "docker.io/") else f"library/{name}"
        expected.append(f"{domain}/{path}:{tag}")
    assert made.images == tuple(dict.fromkeys(expected))
    standin = made.rewritten[STANDIN_DOCKERFILE].decode()
    assert froms(standin) == len(images) and standin.count("COPY --from=") == len(images) - 1


def test_stand_ins_that_disagree_about_a_package_version_are_an_error_not_a_silent_choice():
    one = StandIns("npm", {"packages": [{"name": "debug", "version": "4.3.4", "dependencies": {"ms": "2.1.2"}}]})
    same = StandIns("npm", {"packages": [{"name": "debug", "version": "4.3.4", "dependencies": {"ms": "2.1.2"}}]})
    other = StandIns("npm", {"packages": [{"name": "debug", "version": "4.3.4", "dependencies": {"ms": "2.1.3"}}]})
    assert content.with_standins([one, same]).static == content.with_standins([one]).static
    with pytest.raises(UserError, match=r"two different stand-ins for \{'name': 'debug', 'version': '4.3.4'\}"):
        content.with_standins([one, other])


def test_an_index_on_the_same_host_holds_the_distributions_of_both():
    merged = content.merged({"python": [{"host": "h.example", "index": "/i/", "distributions": [{"name": "a"}]}]},
                            [{"python": [{"host": "h.example", "index": "/i/", "distributions": [{"name": "b"}]}]}], "w")
    assert merged == {"python": [{"host": "h.example", "index": "/i/", "distributions": [{"name": "a"}, {"name": "b"}]}]}


SECRET_PROJECT = {
    ".npmrc": "@acme:registry=https://npm.acme.example/\n//npm.acme.example/:_authToken=SECRET-npm-token\n"
              "registry=https://SECRETUSER:SECRET-npm-pass@registry.acme.example/\n",
    "package.json": '{"name": "x", "version": "1.0.0", "dependencies": {"@acme/x": "^1.0.0", '
                    '"priv": "git+https://SECRET-git-token@github.com/acme/priv.git", '
                    '"tarb": "https://SECRETU:SECRET-tar@files.acme.example/t.tgz"}}\n',
    "requirements.txt": "--extra-index-url https://user:SECRET-pip@pypi.acme.example/simple/\nrequests==2.31.0\n"
                        "x @ git+https://SECRET-git-token@github.com/acme/x.git\n"
                        "y @ https://u:SECRET-url@files.acme.example/y-1.0-py3-none-any.whl\n",
    "composer.json": '{"require": {"acme/x": "^1.0"}, "repositories": [{"type": "composer", '
                     '"url": "https://user:SECRET-composer@repo.acme.example"}]}\n',
    "auth.json": '{"http-basic": {"repo.acme.example": {"username": "u", "password": "SECRET-auth"}}}\n',
    "Gemfile": 'source "https://SECRET-gem:x@gems.acme.example"\ngem "rack", "3.0.8"\n',
    "pom.xml": "<project><modelVersion>4.0.0</modelVersion><groupId>a</groupId><artifactId>b</artifactId>"
               "<version>1</version><repositories><repository><id>acme</id>"
               "<url>https://user:SECRET-mvn@maven.acme.example/repo</url></repository></repositories></project>\n",
    "go.mod": "module example.com/a\n\ngo 1.21\n\nrequire github.com/x/y v1.0.0\n",
    "Dockerfile": "FROM registry.acme.example/base:1\n",
}


def test_credentials_in_a_projects_files_never_reach_its_summary(tmp_path):
    summary = json.dumps(project.load(write(tmp_path, SECRET_PROJECT)).summary())
    assert "SECRET" not in summary and "acme.example" in summary


def test_an_error_about_a_project_file_masks_the_credentials_it_quotes(tmp_path):
    write(tmp_path, {"Dockerfile": "FROM user:SECRET-docker@registry.acme.example/base:1\n"})
    with pytest.raises(UserError) as error:
        project.load(tmp_path)
    assert "SECRET" not in str(error.value) and "registry.acme.example" in str(error.value)


secret = st.text(string.ascii_letters + string.digits + "-._~!$&'()*+,;%", min_size=1, max_size=30)
user = st.text(string.ascii_letters + string.digits + "-._", min_size=1, max_size=12)


@given(user, secret, st.sampled_from(["https://{u}:{p}@h.example/x", "{u}:{p}@h.example/x", "git+https://{p}@github.com/a",
                                      "//h.example/:_authToken={p}", "password: {p}", "x _password={p}",
                                      '{{"password": "{p}"}}', "'{u}:{p}@h.example'", "https://{u}:{p}@x@h.example/m2",
                                      "https://{u}:{p}/y@h.example/m2", "curl -u {u}:{p} https://h.example",
                                      "-H 'Authorization: Bearer {p}'", "password '{p}'", "https://h.example/x?api_key={p}&a=1",
                                      '{{"url": "https:\\/\\/{u}:{p}@h.example\\/x"}}', '["git+https:\\/\\/{p}@h.example\\/a"]',
                                      "(https://b.s3.example/x.tgz?X-Amz-Credential={p}&X-Amz-Signature={p}):",
                                      "https://h.example/r?auth={p}&key={p}", "https://h.example/b?sv=1&sig={p}"]))
def test_scrub_masks_every_credential_form(name, password, form):
    text = "before " + form.format(u=name, p="PW" + password) + " after"
    assert "PW" + password not in project.scrub(text)


@given(user, st.text(string.ascii_letters + string.digits + "-._~!$%+,:@/=", min_size=1, max_size=30),
       st.sampled_from(["npm config set //h.example/:_authToken {p} && npm ci", "npm config set _password {p}",
                        "yarn config set npmAuthToken {p}", "pnpm config set --location project //h/:_auth {p}",
                        "x --password {p} -y", "wget --http-password={p} https://h.example/x", "tool --api-key '{p}'",
                        "docker login -u {u} -p {p} reg.example", "twine upload --repository x -u {u} -p {p} dist/*",
                        "sshpass -p {p} ssh h", 'npmAuthIdent: "{u}:{p}"', "<password>{p}</password>",
                        "-H 'X-JFrog-Art-Api: {p}'", "COMPOSER_AUTH='{{\"github-oauth\": {{\"github.com\": \"{p}\"}}}}' composer i",
                        "composer config http-basic.h.example {u} {p}", "composer config -g github-oauth.github.com {p}",
                        "bundle config set --global h.example {u}:{p}", "BUNDLE_GEMS__H__EXAMPLE={u}:{p} bundle install",
                        "curl -u {u}:'{p} x' https://h.example", "curl -u '{u}:{p} y' https://h.example",
                        'curl --user "{u}:{p}" https://h.example', "npm set //h.example/:_authToken {p}",
                        "npm config set --location=project --global --a --b --c //h/:_auth {p}",
                        "<password><![CDATA[{p}]]></password>", '<password id="x">{p}</password>',
                        "AWS_SECRET_ACCESS_KEY='{p}' aws s3 cp", "-H 'X-Auth-Token: {p}'",
                        "gpg --batch --passphrase {p} -d f.gpg", "tool --verbose --token {p}", "curl -u{u}:{p} https://h",
                        "keytool -importcert -noprompt -storepass {p} -file ca.crt", "jarsigner -keypass {p} a.jar k",
                        "mysql -u{u} -p{p} db", "openssl pkcs12 -export -passout pass:{p} -out k.p12"]))
def test_scrub_masks_credentials_a_projects_scripts_pass_on_a_command_line(name, password, form):
    """A package.json script is quoted in the notes as it is: the credentials commands take as arguments (npm,
    Yarn, Composer and Bundler settings, --password flags, -p of a login) are masked there too."""
    text = "before; " + form.format(u=name, p="PW" + password) + "; after"
    scrubbed = project.scrub(text)
    assert "PW" + password not in scrubbed and scrubbed.startswith("before; ") and scrubbed.endswith(" after")  # a closing quote may go with the value


@given(st.text(string.ascii_letters + string.digits + ';&| "$<>()', min_size=1, max_size=30),
       st.sampled_from(["npm config set //h.example/:_authToken '{q}'", "composer config http-basic.h.example u '{q}'",
                        "yarn config set npmAuthToken '{q}'", "tool --password '{q}'", "NPM_TOKEN='{q}' npm ci",
                        "npm config set _password '{q}"]))  # the last one unclosed: to the line's end
def test_scrub_masks_a_quoted_credential_whatever_the_quotes_hold(quoted, form):
    """A ';', '&' or '|' inside quotes ends no command: the whole quoted value is masked."""
    text = "before; " + form.format(q="PW" + quoted) + "\nafter"
    scrubbed = project.scrub(text)
    assert "PW" + quoted not in scrubbed and not re.search(r"PW[^*]", scrubbed) and scrubbed.endswith("\nafter")


@pytest.mark.parametrize("text", ["npm ERR! your authentication token seems to be invalid", "mkdir -p build/out",
                                  "docker login --password-stdin reg.example", "npm config set registry https://r.example/",
                                  "bundle config set --local path vendor/bundle", "--tokenizer bert-base",
                                  "bundle config set --local build.nokogiri --use-system-libraries",
                                  'LABEL org.opencontainers.image.authors="Jane Doe"', "author='Jane Doe'",
                                  'TOKENIZERS_PARALLELISM="false"', "X-Request-Id: abc", "--secret-file /run/s"])
def test_scrub_leaves_commands_without_a_credential_as_they_are(text):
    assert project.scrub(text) == text


@given(st.text(string.ascii_letters + string.digits + "-_", min_size=6, max_size=40),
       st.sampled_from(["https://dl.cloudsmith.io/{t}/acme/repo/python/simple/", "https://gems.gemfury.com/{t}/",
                        "https://npm-proxy.fury.io/{t}/acme/", "--index-url https://pypi.fury.io/{t}/acme/simple",
                        "https://conda.anaconda.org/t/{t}/acme", '"https:\\/\\/dl.cloudsmith.io\\/{t}\\/acme\\/r\\/"']))
def test_scrub_masks_a_token_in_the_path_of_a_hosted_registry(token, form):
    """Cloudsmith, Gemfury and anaconda.org take the token as a path segment of the URL a project names."""
    text = form.format(t="TK" + token)
    scrubbed = project.scrub(text)
    assert "TK" + token not in scrubbed and "***" in scrubbed


@pytest.mark.parametrize("url", ["https://dl.cloudsmith.io/public/acme/repo/", "https://dl.cloudsmith.io/basic/acme/repo/",
                                 "https://npm.fury.io/acme/", "https://registry.npmjs.org/@scope/pkg"])
def test_scrub_leaves_a_public_registry_path_as_it_is(url):
    assert project.scrub(url) == url


RUNTIME_STEPS = {"npm-lockfile-v3": ["pull:runtime-nodejs"], "python-pyproject": ["pull:runtime-python"],
                 "maven-wrapper": ["pull:runtime-openjdk"], "gradle-groovy": ["pull:runtime-openjdk"],
                 "go-module": ["fetch:https://dl.google.com/go/go1.26.1.linux-amd64.tar.gz"],
                 "rubygems-rails-like": ["pull:runtime-ruby"], "composer-packagist": ["pull:runtime-php"]}


@pytest.mark.parametrize("name", list(RUNTIME_STEPS))
def test_a_customer_build_downloads_the_runtime_of_its_language_only(name):
    """buildpack's runtime downloads carry `when_building`: each runs before a build in its language, never for
    another (a JDK download in an npm build would be egress the real buildpack never makes)."""
    loaded = project.load(paths.fixtures_dir() / "projects" / name)
    base = model.Scenario(f"customer-{name}", "buildpack", model.ConfigSpec(), model.Expect("succeeds"))
    steps = model.with_customer(base, loaded, recipes()["buildpack"]).recipe
    downloads = [model.step_name(s) for s in steps if "when_building" in s]
    assert downloads == RUNTIME_STEPS[name]
    names = [model.step_name(s) for s in steps]
    assert names.index(downloads[0]) < names.index(f"project:customer-{loaded.managers[0]}")  # before the build
    assert names[:3] == ["pull:buildpacks-builder", "pull:buildpacks-lifecycle", "pull:buildpacks-run"]


def test_the_whole_buildpack_recipe_downloads_every_runtime_and_mi_none():
    """The generated matrix builds all seven managers at once, so every runtime download runs; mi builds Maven
    with its own builder and takes none of the Google buildpacks' runtimes."""
    whole = [model.step_name(s) for s in recipes()["buildpack"] if "when_building" in s]
    assert whole == ["pull:runtime-nodejs", "pull:runtime-python", "pull:runtime-openjdk",
                     "fetch:https://dl.google.com/go/go1.26.1.linux-amd64.tar.gz", "pull:runtime-ruby", "pull:runtime-php"]
    assert not any("when_building" in s for s in recipes()["mi"])


def test_when_building_must_name_a_manager():
    from harness.scenarios.recipes import expand

    with pytest.raises(UserError, match="when_building names javascript, not a manager"):
        expand([{"pull": "runtime-nodejs", "when_building": ["javascript"]}, {"project": "npm"}])
    kept = expand([{"pull": "runtime-nodejs", "when_building": ["npm"]}, {"project": "python"}])
    assert [model.step_name(s) for s in kept] == ["project:python"]


_LOAD = ("import sys; from pathlib import Path; from harness.customer.project import load; "
         "from harness.infra.errors import UserError\n"
         "try:\n    load(Path(sys.argv[1]))\nexcept UserError as error:\n    print(error)\n    sys.exit(1)\n")


def _limited():
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def _nested_properties() -> str:
    chain = "".join(f"<p{i}>" + f"${{p{i + 1}}}" * 50 + f"</p{i}>" for i in range(8)) + "<p8>x</p8>"
    return (f"<project><groupId>g</groupId><artifactId>a</artifactId><version>1</version><properties>{chain}"
            "</properties><dependencies><dependency><groupId>c</groupId><artifactId>d</artifactId>"
            "<version>${p0}</version></dependency></dependencies></project>")


@pytest.mark.parametrize("files, expected", [
    ({"build.gradle": "plugins {" * 5000 + "}" * 5000}, None),  # nested blocks: one pass, not one per block
    ({"build.gradle": "plugins {\n" * 20000}, None),
    ({"build.gradle": "repositories {\n" * 20000}, None),  # the repositories note: each block walked to the end
    ({"Gemfile": 'gem "a", ' + ", ".join(f'">= {i}"' for i in range(4000)) + "\n"}, "more than 64 version requirements"),
    ({"pom.xml": "<project><artifactId>a</artifactId>" + "<x>" * 20000 + "</x>" * 20000 + "</project>"},
     "elements nested more than 256 deep"),
    ({"pom.xml": _nested_properties()}, "expand past 64 KiB"),
    ({"package.json": "[" * 100000 + "]" * 100000}, "package.json: JSON nested too deeply"),
    ({"requirements.txt": "-r r1.txt\n", **{f"r{i}.txt": f"-r r{i + 1}.txt\npkg{i}\n" for i in range(1, 400)}},
     "-r/-c includes nested more than 100 files deep"),
    ({"package.json": "{}", "yarn.lock": ',,,:\n  version "1.0.0"\n'}, "an entry header with an empty specifier"),
    ({"package.json": "{}", "yarn.lock": ':\n  version "1.0.0"\n'}, "an entry header with an empty specifier"),
    ({"pom.xml": '<?xml version="1.0" encoding="x-MacRoman"?><project><artifactId>a</artifactId></project>'},
     "pom.xml: declares an encoding this reader cannot decode"),
    ({"/".join(["d"] * 100) + "/Dockerfile": "FROM alpine\n", "Dockerfile": "FROM alpine\n"}, "nested more than 64 deep"),
], ids=["gradle-nested-blocks", "gradle-unclosed-blocks", "gradle-unclosed-repositories", "gemfile-requirements", "pom-deep", "pom-properties-bomb", "json-deep",
        "requirements-include-chain", "yarn-lock-empty-specifiers", "yarn-lock-empty-header", "xml-unknown-encoding",
        "directories-deep"])
def test_a_hostile_project_loads_or_is_a_clear_error_in_bounded_time_and_memory(tmp_path, files, expected):
    import subprocess
    import sys

    write(tmp_path, files)
    done = subprocess.run([sys.executable, "-c", _LOAD, str(tmp_path)], capture_output=True, text=True, timeout=60,
                          preexec_fn=_limited, cwd=paths.checkout())
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    if expected is None:
        assert done.returncode == 0, done.stdout + done.stderr
    else:
        assert done.returncode == 1 and expected in done.stdout, done.stdout + done.stderr


def test_images_and_remotes_a_stage_fetches_besides_its_from_are_stood_in_for_or_named():
    """COPY --from=IMAGE and RUN --mount=...,from=IMAGE pull images through registries.conf like a FROM; ADD fetches
    URLs and git remotes itself. They were not seen at all (found by a project sweep)."""
    made = parsed("ARG TOOLS=quay.io/corp/tools:1.0\nFROM golang:1.22 AS build\nCOPY --from=ghcr.io/astral-sh/uv:0.4.0 /uv /uv\n"
                  "RUN --mount=type=bind,from=${TOOLS},source=/x,target=/x true\nCOPY --from=build /a /b\nCOPY --from=0 /a /c\n"
                  "ADD https://user:AddS3cret@files.example.com/app.tar.gz?sig=Q1 /\nADD git@github.com:moby/buildkit.git#v0.10.1 /k\n"
                  "COPY --from=registry.example.com/x@sha256:" + "0" * 64 + " /y /y\nFROM alpine\nCOPY --from=BUILD /app /app\n")
    assert made.images == ("docker.io/library/golang:1.22", "ghcr.io/astral-sh/uv:0.4.0", "quay.io/corp/tools:1.0",
                           "docker.io/library/alpine:latest")
    standin = made.rewritten[STANDIN_DOCKERFILE].decode()
    for image in ("ghcr.io/astral-sh/uv:0.4.0", "quay.io/corp/tools:1.0"):  # the build pulls them as the project's would
        assert f"COPY --from={image} /airgap-fixture/image.txt" in standin
    notes = "\n".join(made.notes)
    assert "ADD https://user:***@files.example.com/app.tar.gz?***: fetched by the build itself" in notes
    assert "buildkit.git" in notes and "pinned by digest" in notes and "AddS3cret" not in notes + standin
    # BuildKit takes --from as written (moby/buildkit#2412), podman expands it: said (found by a sweep)
    assert "RUN --mount from=${TOOLS}: BuildKit does not expand variables there" in notes


def test_a_dotnet_project_beside_a_dockerfile_is_named(tmp_path):
    """Found by a project sweep: NuGet files were ignored without a word (the contract names NuGet)."""
    for name, text in {"Dockerfile": "FROM alpine\n", "app.csproj": "<Project/>", "NuGet.config": "<configuration/>"}.items():
        (tmp_path / name).write_text(text)
    notes = [note for made in project.load(tmp_path).standins for note in made.notes]
    assert any(note.startswith("NuGet.config, app.csproj: a .NET project") for note in notes), notes


def test_a_dotnet_project_alone_is_refused_saying_so(tmp_path):
    (tmp_path / "app.csproj").write_text("<Project/>")
    with pytest.raises(UserError, match=r"app\.csproj: a \.NET project: --project does not read or build NuGet"):
        project.load(tmp_path)


@pytest.mark.parametrize("text", ["ARG BASE\nFROM ${BASE}\n", "ARG REG\nFROM ${REG}/node:18\n", "FROM $NOPE\n"])
def test_a_from_line_whose_arg_has_no_default_names_the_arg(text):
    """Found by a project sweep: the message was 'FROM : not an image reference'."""
    with pytest.raises(UserError, match=r"has no default value .* without --build-arg"):
        parsed(text)
    assert parsed("ARG REG\nFROM ${REG:-docker.io}/node:18\n").images == ("docker.io/library/node:18",)


def test_add_and_copy_from_edge_cases_found_by_review():
    """A ',' in ADD's user-info cut the URL before its '@', leaking the password's start; COPY --from=${ARG} with no
    default was an unclear error although the Dockerfile is valid with --build-arg."""
    made = parsed("ARG TOOLS\nFROM alpine\nADD https://deploy:Pa,ssw0rd-Secr3t@files.example.com/app.tgz /app/\n"
                  "COPY --from=${TOOLS} /x /x\n")
    notes = "\n".join(made.notes)
    assert "Pa," not in notes and "Secr3t" not in notes and "https://deploy:***@files.example.com/app.tgz" in notes
    assert "COPY --from ${TOOLS}: an ARG with no default before the first FROM; not stood in for" in notes
