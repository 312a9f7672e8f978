"""Go stand-ins for a customer's module (harness/customer/go.py): a stand-in for every module go.mod and go.sum
name, go.sum's hashes on the build's copy equal to what the simulated proxy serves (generated here with
content.with_standins and hashed again from the served files), the checksum database answering for every
stand-in, notes for directory replacements, and malformed files as errors naming the file."""

import base64
import hashlib
import io
import re
import zipfile

import pytest
from hypothesis import given, strategies as st

from harness.customer import go as go_standins
from harness.customer import project
from harness.infra import paths
from harness.infra.errors import UserError
from harness.stack import content
from harness.stack.content import go as generator
from harness.stack.content import sumdb

PROJECTS = paths.fixtures_dir() / "projects"
PROXY = "proxy.golang.org"


def files_of(name: str) -> dict[str, bytes]:
    root = PROJECTS / name
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def served_hashes(static: dict, module: str, version: str) -> tuple[str, str]:
    """(zip h1, go.mod h1) computed from the files the simulated proxy serves, as the go command computes them."""
    base = f"{PROXY}/{generator.escape(module)}/@v/{generator.escape(version)}"
    archive = zipfile.ZipFile(io.BytesIO(static[f"{base}.zip"]))
    zip_hash = generator.hash1({name: archive.read(name) for name in archive.namelist()})
    return zip_hash, generator.hash1({"go.mod": static[f"{base}.mod"]})


def go_sum_lines(text: str) -> list[tuple[str, str, bool, str]]:
    out = []
    for line in text.splitlines():
        if line.strip():
            path, version, digest = line.split()
            out.append((path, version.removesuffix("/go.mod"), version.endswith("/go.mod"), digest))
    return out


def test_module_project_stands_in_for_every_module_and_rewrites_go_sum_to_the_served_hashes():
    files = files_of("go-module")
    made = go_standins.standins(files)
    original = go_sum_lines(files["go.sum"].decode())
    requires = re.findall(r"^\t(\S+) (v\S+)", files["go.mod"].decode(), re.M)
    expected = {(p, v) for p, v, _, _ in original} | {(p, v) for p, v in requires if p != "github.com/acme/shared"}
    assert {(m["module"], m["version"]) for m in made.definition["modules"]} == expected
    assert list(made.rewritten) == ["go.sum"]
    assert made.notes == ("go.mod line 36: github.com/acme/shared => ./internal/shared: a directory of the project, "
                          "built from its copy; not stood in for",)

    static = content.with_standins([made]).static
    rewritten = go_sum_lines(made.rewritten["go.sum"].decode())
    assert [(p, v, m) for p, v, m, _ in rewritten] == [(p, v, m) for p, v, m, _ in original]  # same lines, same order
    for (path, version, is_mod, digest), (_, _, _, before) in zip(rewritten, original):
        assert digest == served_hashes(static, path, version)[is_mod] != before


def test_the_checksum_database_answers_for_every_standin():
    made = go_standins.standins(files_of("go-module"))
    static = content.with_standins([made]).static
    for path, version, is_mod, digest in go_sum_lines(made.rewritten["go.sum"].decode()):
        lookup = static[f"sum.golang.org/lookup/{sumdb.escape(path)}@{version}"].decode()
        assert f"{path} {version}{'/go.mod' if is_mod else ''} {digest}\n" in lookup


def test_incompatible_versions_have_no_go_mod_and_upper_case_paths_are_escaped():
    made = go_standins.standins(files_of("go-module"))
    static = content.with_standins([made]).static
    base = f"{PROXY}/github.com/golang-jwt/jwt/@v/v3.2.2+incompatible"
    assert static[f"{base}.mod"] == b"module github.com/golang-jwt/jwt\n"
    assert not any(n.endswith("go.mod") for n in zipfile.ZipFile(io.BytesIO(static[f"{base}.zip"])).namelist())
    assert f"{PROXY}/github.com/!burnt!sushi/toml/@v/v1.3.2.zip" in static
    assert f"{PROXY}/github.com/jackc/pgservicefile/@v/v0.0.0-20221227161230-091c0ba34f0a.info" in static


def test_the_slice_builds_go_mod_with_a_download():
    assert project.load(PROJECTS / "go-module").builds == (("go", "go mod download -x"),)


GO_MOD = """module example.com/app

go 1.21
toolchain go1.21.6

require (
\tgithub.com/a/one v1.0.0
\t"github.com/b/two" v2.0.0+incompatible // indirect
)

require github.com/c/three/v3 v3.1.0-rc.1

replace github.com/c/three/v3 v3.1.0-rc.1 => github.com/fork/three/v3 v3.1.1
replace github.com/a/one => ../one
exclude github.com/a/one v0.9.0
retract v0.1.0
"""


def test_go_mod_syntax_and_replacements():
    made = go_standins.standins({"go.mod": GO_MOD.encode(), "go.sum": b""})
    assert [(m["module"], m["version"]) for m in made.definition["modules"]] == [
        ("github.com/b/two", "v2.0.0+incompatible"), ("github.com/fork/three/v3", "v3.1.1")]
    assert made.notes[0] == ("go.mod line 14: github.com/a/one => ../one: a directory outside the project: the "
                             "build cannot read it; not stood in for")
    # the lines go mod download checks and go.sum lacks are added (with the fork's hashes): a note says so
    added = go_sum_lines(made.rewritten["go.sum"].decode())
    assert [(p, v, m) for p, v, m, _ in added] == [("github.com/b/two", "v2.0.0+incompatible", False),
                                                   ("github.com/b/two", "v2.0.0+incompatible", True),
                                                   ("github.com/fork/three/v3", "v3.1.1", False),
                                                   ("github.com/fork/three/v3", "v3.1.1", True)]
    assert "go.sum lacked 4 line(s)" in made.notes[1]


@pytest.mark.parametrize("go_mod, expected", [
    ("require github.com/a/one v1.0.0\nreplace github.com/a/one => github.com/b/any v1.1.0\n"
     "replace github.com/a/one v1.0.0 => github.com/c/specific v1.2.0\n", [("github.com/c/specific", "v1.2.0")]),
    ("require(\n\tgithub.com/a/one v1.0.0\n\tgithub.com/b/two v1.2.0\n)\nreplace(\n\tgithub.com/a/one => "
     "github.com/fork/one v1.0.1\n)\nexclude ()\n", [("github.com/b/two", "v1.2.0"), ("github.com/fork/one", "v1.0.1")]),
    ("require ()\n", [])])
def test_go_mod_is_read_as_go_reads_it(go_mod, expected):
    """A replacement of path@version wins over one of the whole path wherever it is written; `require(` opens a
    block and `require ()` is an empty one, as modfile's lexer reads '(' (found by a sweep: the first replacement
    won, `require(` dropped the block silently, `require ()` was refused)."""
    made = go_standins.standins({"go.mod": f"module example.com/app\ngo 1.19\n{go_mod}".encode(), "go.sum": b""})
    assert [(m["module"], m["version"]) for m in made.definition.get("modules", [])] == expected


def test_crlf_and_a_missing_last_newline_are_kept():
    h1 = "h1:" + base64.b64encode(b"x" * 32).decode()
    go_sum = f"github.com/a/one v1.0.0 {h1}\r\ngithub.com/a/one v1.0.0/go.mod {h1}"
    made = go_standins.standins({"go.mod": b"module m\r\n\r\nrequire github.com/a/one v1.0.0\r\n",
                                 "go.sum": go_sum.encode()})
    out = made.rewritten["go.sum"].decode()
    assert out.count("\r\n") == 1 and not out.endswith("\n") and h1 not in out
    assert made.notes == ()


def test_no_go_sum_and_non_canonical_versions_are_notes():
    made = go_standins.standins({"go.mod": b"module m\nrequire github.com/a/one master\nrequire github.com/b/two v1.2.3\n"})
    assert [m["module"] for m in made.definition["modules"]] == ["github.com/b/two"]
    assert "github.com/a/one master: not a canonical version" in made.notes[0]
    assert made.notes[1].startswith("no go.sum:") and made.rewritten == {}


@pytest.mark.parametrize("files, message", [
    ({"go.mod": b"module m\nrequire github.com/a/one\n"}, r"go\.mod line 2: require needs"),
    ({"go.mod": b"module m\nrequire (\n\tgithub.com/a/one v1.0.0\n"}, r"go\.mod: a 'require \(' block is not closed"),
    ({"go.mod": b"module m\nreplace github.com/a/one v1.0.0 github.com/b v1\n"}, r"go\.mod line 2: replace needs '=>'"),
    ({"go.mod": b"module m\nreplace github.com/a => github.com/b\n"}, r"go\.mod line 2: replace by a module needs"),
    ({"go.mod": b"module m\nrequire ../../etc v1.0.0\n"}, r"go\.mod line 2: '\.\./\.\./etc' is not a module path"),
    ({"go.mod": b"module m\nreplace a.b/c => a.b/d v1.0.0\nreplace a.b/c => a.b/e v1.0.0\n"},
     r"go\.mod line 3: a\.b/c is replaced again, differently \(go\.mod line 2\)"),
    ({"go.mod": b"module m\n", "go.sum": b"github.com/a v1.0.0\n"}, r"go\.sum line 1: expected 'module version hash'"),
    ({"go.mod": b"module m\n", "go.sum": b"github.com/a 1.0 h1:x=\n"}, r"go\.sum line 1: '1\.0' is not a canonical"),
    ({"go.mod": b"module m\n", "go.sum": b"github.com/a v1.0.0 h2:x=\n"}, r"go\.sum line 1: the hash is not an h1"),
    ({"go.mod": b"module \xff\n"}, r"go\.mod: not UTF-8"),
])
def test_malformed_files_are_errors_naming_them(files, message):
    with pytest.raises(UserError, match=message):
        go_standins.standins(files)


# --- the checksum database beyond one tile ------------------------------------------------------------------------
def test_tile_paths_follow_tlog():
    assert sumdb._tile_path("0", 5, 256) == "tile/8/0/005"
    assert sumdb._tile_path("data", 1234567, 3) == "tile/8/data/x001/x234/567.p/3"


def test_a_database_of_more_than_one_tile_has_every_level():
    sums = {(f"example.com/m{i}", "v1.0.0"): (f"h1:{i}", f"h1:{i}mod") for i in range(300)}
    tree = sumdb.layout(sums)
    assert {p for p in tree if p.startswith("tile/")} == {"tile/8/0/000", "tile/8/0/001.p/44", "tile/8/1/000.p/1",
                                                          "tile/8/data/000", "tile/8/data/001.p/44"}
    leaves = [tree["tile/8/0/000"][i:i + 32] for i in range(0, 256 * 32, 32)]
    assert tree["tile/8/1/000.p/1"] == sumdb._tree_hash(leaves)
    first = sorted(sums)[0]
    assert tree[f"lookup/{first[0]}@{first[1]}"].startswith(b"0\n" + f"{first[0]} v1.0.0 h1:".encode())


# --- paths and versions (grammars) -----------------------------------------------------------------------------------
ELEMENT = st.from_regex(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,10}", fullmatch=True)
MODULES = st.builds(lambda host, rest: "/".join([host, *rest]), st.from_regex(r"[a-z0-9]{1,8}\.(com|io|org)",
                                                                           fullmatch=True), st.lists(ELEMENT, max_size=3))
VERSIONS = st.one_of(
    st.builds(lambda a, b, c: f"v{a}.{b}.{c}", *[st.integers(0, 40)] * 3),
    st.builds(lambda a, pre: f"v{a}.0.0-{pre}", st.integers(0, 9), st.from_regex(r"(rc|beta)\.[0-9]", fullmatch=True)),
    st.builds(lambda t, h: f"v0.0.0-{t}-{h}", st.from_regex(r"20[0-9]{12}", fullmatch=True),
              st.from_regex(r"[0-9a-f]{12}", fullmatch=True)),
    st.builds(lambda a: f"v{a}.0.0+incompatible", st.integers(2, 9)))


@given(st.dictionaries(st.tuples(MODULES, VERSIONS), st.booleans(), min_size=1, max_size=6))
def test_any_module_and_version_round_trips_through_go_sum(entries):
    go_mod = "module example.com/main\n\nrequire (\n" + "".join(
        f"\t{path} {version}\n" for (path, version), direct in entries.items() if direct) + ")\n"
    go_sum = "".join(f"{p} {v} h1:AAAA=\n{p} {v}/go.mod h1:BBBB=\n" for p, v in entries)
    made = go_standins.standins({"go.mod": go_mod.encode(), "go.sum": go_sum.encode()})
    assert {(m["module"], m["version"]) for m in made.definition["modules"]} == set(entries)
    static = content.with_standins([made]).static
    for path, version, is_mod, digest in go_sum_lines(made.rewritten["go.sum"].decode()):
        assert digest == served_hashes(static, path, version)[is_mod]


@given(MODULES)
def test_escaping_is_reversible(path):
    escaped = sumdb.escape(path)
    assert escaped == generator.escape(path) and escaped == escaped.lower()
    assert re.sub(r"!([a-z])", lambda m: m.group(1).upper(), escaped) == path


def test_hash1_is_dirhash():
    """golang.org/x/mod/sumdb/dirhash Hash1 of a known input (the go command's own test vector shape)."""
    summary = f"{hashlib.sha256(b'data').hexdigest()}  m@v1.0.0/a\n"
    assert generator.hash1({"m@v1.0.0/a": b"data"}) == "h1:" + base64.b64encode(
        hashlib.sha256(summary.encode()).digest()).decode()
