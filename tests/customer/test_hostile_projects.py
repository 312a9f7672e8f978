"""Any project, however broken its files, gives stand-ins or a UserError naming the file: never a traceback.

Each customer-style project of fixtures/projects/ is damaged the ways real checkouts are (a file cut short, a
merge conflict left in, bytes that are not UTF-8, a file emptied) and read again."""

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from harness.customer import project
from harness.infra import paths
from harness.infra.errors import UserError
from harness.stack import content

PROJECTS = sorted(p for p in (paths.fixtures_dir() / "projects").iterdir() if p.is_dir())
EXAMPLES = int(os.environ.get("AIRGAP_HOSTILE_PROJECT_EXAMPLES", "25"))


def damaged(data: bytes, how: str, where: float, junk: bytes) -> bytes:
    cut = int(len(data) * where)
    return {"truncate": data[:cut],
            "conflict": data[:cut] + b"\n<<<<<<< HEAD\n" + junk + b"\n=======\n>>>>>>> theirs\n" + data[cut:],
            "junk": data[:cut] + junk + data[cut:],
            "empty": b""}[how]


def files_of(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("root", PROJECTS, ids=[p.name for p in PROJECTS])
@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_damaged_project_is_stood_in_for_or_refused_by_name(root, data, tmp_path_factory):
    names = files_of(root)
    victim = data.draw(st.sampled_from(names), label="file")
    how = data.draw(st.sampled_from(["truncate", "conflict", "junk", "empty"]), label="how")
    where = data.draw(st.floats(0, 1), label="where")
    junk = data.draw(st.binary(max_size=40) | st.sampled_from([b"\xff\xfe", b"\x00", b"{", b"]]", b"\"", b"<x"]),
                     label="junk")
    copy = tmp_path_factory.mktemp("project")
    for name in names:
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        source = (root / name).read_bytes()
        target.write_bytes(damaged(source, how, where, junk) if name == victim else source)
    try:
        loaded = project.load(copy)
    except UserError as error:
        assert "Traceback" not in str(error) and str(error).strip()
        return
    loaded.summary()  # what the report shows of it is made without error too
    try:
        content.with_standins(loaded.standins)  # and the simulated internet's content, or a UserError
    except UserError as error:
        assert str(error).strip()


DEEP_TOML = "a = " + "[" * 5000 + "]" * 5000 + "\n"


@pytest.mark.parametrize("files, message", [
    ({"pyproject.toml": DEEP_TOML, "requirements.txt": "six==1.16.0\n"}, r"pyproject\.toml: nested too deeply"),
    ({"build.gradle": "plugins { id 'java' }\n", "gradle/libs.versions.toml": DEEP_TOML}, r"libs\.versions\.toml: nested too deeply"),
    ({"build.gradle": "plugins { id 'java' }\n", "gradle/libs.versions.toml": 'versions = "1.0"\n'},
     r"libs\.versions\.toml: \[versions\] is not a table"),
    ({"build.gradle": "plugins { id 'java' }\n", "gradle/libs.versions.toml": "[libraries]\nfoo = { module = 5 }\n"},
     r"libraries\.foo: not group:artifact"),
    ({"build.gradle": "plugins { id 'java' }\n", "gradle/libs.versions.toml": "[plugins]\nboot = { id = 5 }\n"},
     r"plugins\.boot: needs an id"),
    ({"Dockerfile": "ARG GH_PAT='ghp_DockerArgSECRET123\nFROM alpine\n"}, r"Dockerfile: ARG GH_PAT: No closing quotation"),
    ({"Dockerfile": "ARG DB_PASS=\"hunter2SECRET\" CREDS='unclosed\nFROM alpine\n"}, r"ARG DB_PASS CREDS: No closing"),
    ({"requirements.txt": "--index-url https://host.example.com:99999/simple\nrequests\n"},
     r"python files \(requirements\.txt\) cannot be read: ValueError: Port out of range"),
    ({"package.json": '{"dependencies": {"a": "1.0.0"}}', ".npmrc": "registry=https://[::1/\n"},
     r"npm files \(\.npmrc, package\.json\) cannot be read: ValueError: Invalid IPv6 URL"),
    ({"pom.xml": "<project><artifactId>a</artifactId></project>",
      ".mvn/wrapper/maven-wrapper.properties": "distributionUrl=https://h:99999/apache-maven-3.9.6-bin.zip\n"},
     r"maven files \(\.mvn/wrapper/maven-wrapper\.properties\) cannot be read"),
], ids=["deep-pyproject", "deep-catalog", "catalog-versions-string", "catalog-module-number", "catalog-id-number",
        "arg-token-unclosed", "arg-password-unclosed", "index-port", "npmrc-ipv6", "wrapper-port"])
def test_a_project_file_of_the_wrong_shape_is_refused_by_name_without_its_secrets(tmp_path, files, message):
    """Found by a project sweep: deeply nested TOML and wrong value types were tracebacks; an ARG line with an
    unclosed quote was quoted back, its credential included."""
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    with pytest.raises(UserError, match=message) as raised:
        project.load(tmp_path)
    assert "SECRET" not in str(raised.value) and "Traceback" not in str(raised.value)
