"""npm and Yarn classic stand-ins for a customer's project (harness/customer/npm.py): every package its lockfile
(package-lock.json v1/v2/v3, npm-shrinkwrap.json, yarn.lock v1) or package.json names gets a stand-in under the
same name and version, the build copy's integrity values (and yarn.lock's `#sha1`) equal the hashes of the
tarballs the simulated internet serves (generated here with content.with_standins), everything else in the file
stays byte-for-byte, what cannot be stood in for gives a note, and malformed files are errors naming the file."""

import base64
import hashlib
import json
import re

import pytest
from hypothesis import given, strategies as st

from harness.customer import npm as standins_of
from harness.customer import project
from harness.infra import paths
from harness.infra.errors import UserError
from harness.stack import content, slices
from harness.stack.content import npm as generator

PROJECTS = paths.fixtures_dir() / "projects"
CASES = ("npm-lockfile-v3", "npm-vendor-scope", "npm-yarn-classic", "npm-package-json-only")
NPM_CI = "npm ci --no-audit --no-fund --fetch-retries=0 --fetch-timeout=15000"


def files_of(case: str) -> dict[str, bytes]:
    return dict(project.read_tree(PROJECTS / case))


@pytest.fixture(scope="module")
def made():
    """Each fixture project's stand-ins, and the content of one run serving them all (as `airgap run` does)."""
    made = {case: standins_of.standins(files_of(case)) for case in CASES}
    return made, content.with_standins(made.values())


def sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def served(built, url: str) -> bytes:
    """The bytes the simulated internet serves at `url` (Yarn's name for registry.npmjs.org: the same files)."""
    host, _, path = url.partition("://")[2].partition("/")
    if host in standins_of.PUBLIC_HOSTS:
        host = "registry.npmjs.org"
    return built.static[f"{host}/{path}"]


def lock_packages(lock: dict) -> list[tuple[str, str, dict]]:
    """(name, version, entry) of every package a package-lock.json installs (v2/v3 `packages`, else v1)."""
    if "packages" in lock:
        return [(entry.get("name", key.rpartition("node_modules/")[2]), entry["version"], entry)
                for key, entry in lock["packages"].items() if "node_modules/" in key]
    out = []

    def walk(dependencies):
        for name, entry in dependencies.items():
            out.append((name, entry["version"], entry))
            walk(entry.get("dependencies", {}))
    walk(lock["dependencies"])
    return out


def yarn_entries(text: str) -> list[dict]:
    """A yarn.lock's entries: specifiers, version, resolved, integrity (enough for what the fixtures hold)."""
    entries = []
    for line in text.splitlines():
        if line and not line.startswith((" ", "#")):
            entries.append({"specs": [s.strip().strip('"') for s in line.rstrip(":").split(",")]})
        elif m := re.fullmatch(r'  (version|resolved|integrity) "?([^"]*)"?', line):
            entries[-1][m.group(1)] = m.group(2)
    return entries


def stood_in(made_for) -> set[tuple[str, str]]:
    names = {(p["name"], p["version"]) for p in made_for.definition.get("packages", [])}
    for entry in made_for.elsewhere.get("files", []):
        if entry["kind"] == "tgz":
            manifest = json.loads(entry["files"]["package/package.json"])
            names.add((manifest["name"], manifest["version"]))
    return names


# --- the fixture projects ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["npm-lockfile-v3", "npm-vendor-scope"])
def test_every_package_of_a_package_lock_has_a_stand_in_and_its_hash(case, made):
    made, built = made
    original = json.loads(files_of(case)["package-lock.json"])
    rewritten = json.loads(made[case].rewritten["package-lock.json"])
    locked = lock_packages(original)
    assert stood_in(made[case]) == {(name, version) for name, version, _ in locked}
    for (name, version, before), (_, _, after) in zip(locked, lock_packages(rewritten)):
        data = served(built, before["resolved"])
        assert after["integrity"] == sri(data) != before["integrity"], (case, name)
        assert json.loads(_tar_manifest(data))["version"] == version


def test_the_v3_lockfile_keeps_every_kind_of_entry(made):
    """Scoped names, prereleases, an `npm:` alias, a nested node_modules path, dev/optional/peer flags: the
    stand-ins carry the dependencies and bins the lockfile records; the alias stands in for its target."""
    made, _ = made
    packages = {(p["name"], p["version"]): p for p in made["npm-lockfile-v3"].definition["packages"]}
    assert ("string-width", "4.2.3") in packages and ("@angular/core", "18.0.0-rc.2") in packages
    assert ("@vscode/l10n-dev", "0.0.0-insiders.8c1a3f9") in packages
    assert {("debug", "2.6.9"), ("debug", "4.3.4"), ("ms", "2.0.0"), ("ms", "2.1.2")} <= set(packages)
    assert packages[("morgan", "1.10.0")]["dependencies"]["debug"] == "2.6.9"
    typescript = packages[("typescript", "5.5.0-beta")]
    assert typescript["bin"] == {"tsc": "bin/tsc", "tsserver": "bin/tsserver"} and "bin/tsc" in typescript["files"]
    assert made["npm-lockfile-v3"].notes == () and made["npm-lockfile-v3"].elsewhere == {}


def test_the_yarn_lock_gets_the_stand_ins_sha1_and_integrity(made):
    made, built = made
    before = yarn_entries(files_of("npm-yarn-classic")["yarn.lock"].decode())
    after = yarn_entries(made["npm-yarn-classic"].rewritten["yarn.lock"].decode())
    assert stood_in(made["npm-yarn-classic"]) == {(e["specs"][0].rpartition("@")[0], e["version"]) for e in before}
    assert ["ms@2.1.2", "ms@^2.1.1"] in [e["specs"] for e in after]  # one entry, two specifiers
    for old, new in zip(before, after):
        url, _, sha1 = new["resolved"].partition("#")
        data = served(built, url)
        assert url == old["resolved"].partition("#")[0] and url.startswith("https://registry.yarnpkg.com/")
        assert sha1 == hashlib.sha1(data).hexdigest() != old["resolved"].partition("#")[2]
        assert new["integrity"] == sri(data) != old["integrity"]


@pytest.mark.parametrize("case", ["npm-lockfile-v3", "npm-vendor-scope", "npm-yarn-classic"])
def test_only_the_hashes_change(case, made):
    made, _ = made
    (path, data), = made[case].rewritten.items()
    hashes = re.compile(r"sha(?:512|1)-[A-Za-z0-9+/=]+|#[0-9a-f]{40}")
    before, after = files_of(case)[path].decode(), data.decode()
    assert hashes.sub("H", before) == hashes.sub("H", after) and before != after


def test_the_vendor_registry_packages_are_served_on_its_host_at_the_lockfiles_path(made):
    made, built = made
    vendor = made["npm-vendor-scope"]
    paths_there = sorted(e["path"] for e in vendor.elsewhere["files"])
    # each tarball, and each package's document as its directory's index.json (the edge answers /@acme/logger)
    assert paths_there == ["/artifactory/api/npm/npm-virtual/@acme/logger/-/@acme/logger-1.4.0-beta.1.tgz",
                           "/artifactory/api/npm/npm-virtual/@acme/logger/index.json",
                           "/artifactory/api/npm/npm-virtual/@acme/ui-tokens/-/@acme/ui-tokens-2.3.0.tgz",
                           "/artifactory/api/npm/npm-virtual/@acme/ui-tokens/index.json"]
    assert "acme.jfrog.io" in built.outside[0]
    assert not any(p["name"].startswith("@acme/") for p in vendor.definition["packages"])
    assert any("sends @acme to acme.jfrog.io" in note for note in vendor.notes)


def test_one_run_serves_one_stand_in_per_name_and_version(made):
    """The projects share packages (debug 4.3.4 in three lockfile formats): one run serves all their stand-ins,
    so each name@version must be the same package whichever lockfile named it."""
    made, _ = made
    seen = {}
    for case, made_for in made.items():
        for package in made_for.definition.get("packages", []):
            if (package["name"], package["version"]) in seen:
                assert seen[(package["name"], package["version"])] == package, (case, package["name"])
            seen[(package["name"], package["version"])] = package
    assert ("debug", "4.3.4") in seen


def test_package_json_alone_stands_in_for_the_direct_dependencies(made):
    made, built = made
    alone = made["npm-package-json-only"]
    assert alone.rewritten == {}
    assert sorted((p["name"], p["version"]) for p in alone.definition["packages"]) == [
        ("@slack/web-api", "7.0.2"), ("@types/node", "20.0.0"), ("dayjs", "1.11.10"), ("nanoid", "3.0.0"),
        ("p-retry", "4.6.2"), ("pino", "9.0.0-rc.1"), ("wrap-ansi", "7.0.0")]
    packument = json.loads(built.static["registry.npmjs.org/pino/index.json"])
    assert packument["dist-tags"]["latest"] == "9.0.0-rc.1"


@pytest.mark.parametrize("case, command", [
    ("npm-lockfile-v3", NPM_CI), ("npm-vendor-scope", NPM_CI),
    ("npm-yarn-classic", "yarnpkg install --frozen-lockfile --non-interactive --network-timeout 15000"),
    ("npm-package-json-only", "npm install --no-audit --no-fund --fetch-retries=0 --fetch-timeout=15000")])
def test_a_project_is_built_with_the_command_of_its_lockfile(case, command):
    loaded = project.load(PROJECTS / case)
    assert loaded.builds == (("npm", command),)
    assert loaded.rewritten == (() if case == "npm-package-json-only" else
                                ("yarn.lock",) if "yarn" in case else ("package-lock.json",))


def test_yarn_lock_wins_and_shrinkwrap_wins_over_package_lock():
    builds = next(piece.builds for piece in slices.load() if piece.manager == "npm")
    assert [when for when, _ in builds] == ["yarn.lock", "npm-shrinkwrap.json", "package-lock.json", "package.json"]
    lock = files_of("npm-lockfile-v3")
    made = standins_of.standins({**lock, "npm-shrinkwrap.json": lock["package-lock.json"]})
    assert list(made.rewritten) == ["npm-shrinkwrap.json"]


# --- what real lockfiles hold beyond the fixtures ----------------------------------------------------------

MANIFEST = json.dumps({"name": "app", "version": "1.0.0", "dependencies": {"a": "^1.0.0"}}).encode()
OLD = "sha512-" + "A" * 86 + "=="


def lock_v2(entry: dict, old: dict | None = None) -> bytes:
    return json.dumps({"name": "app", "lockfileVersion": 2, "requires": True,
                       "packages": {"": {"name": "app"}, "node_modules/a": entry},
                       "dependencies": {"a": old or {k: entry[k] for k in ("version", "resolved", "integrity")}}},
                      indent=2).encode()


def public(name="a", version="1.0.0", **fields):
    base = name.rpartition("/")[2]
    return {"version": version, "resolved": f"https://registry.npmjs.org/{name}/-/{base}-{version}.tgz",
            "integrity": OLD, **fields}


def test_a_v2_lockfile_gets_the_same_integrity_in_both_sections():
    made = standins_of.standins({"package.json": MANIFEST, "package-lock.json": lock_v2(public())})
    lock = json.loads(made.rewritten["package-lock.json"])
    new = lock["packages"]["node_modules/a"]["integrity"]
    assert new == lock["dependencies"]["a"]["integrity"] != OLD
    assert new == generator.integrity(generator.tarball(made.definition["packages"][0]))


def test_crlf_and_tab_indentation_are_kept():
    text = lock_v2(public()).decode().replace("  ", "\t").replace("\n", "\r\n").encode()
    made = standins_of.standins({"package.json": MANIFEST, "package-lock.json": text})
    rewritten = made.rewritten["package-lock.json"]
    assert rewritten.count(b"\r\n") == text.count(b"\r\n") and b"\t\t\t\"integrity\"" in rewritten
    yarn = (b'# yarn lockfile v1\r\n\r\n\r\na@^1.0.0:\r\n  version "1.0.0"\r\n'
            b'  resolved "https://registry.yarnpkg.com/a/-/a-1.0.0.tgz#' + b"0" * 40 + b'"\r\n')
    rewritten = standins_of.standins({"package.json": MANIFEST, "yarn.lock": yarn}).rewritten["yarn.lock"]
    assert rewritten.count(b"\r\n") == yarn.count(b"\r\n") and b"0" * 40 not in rewritten


def test_an_integrity_with_escaped_slashes_is_rewritten():
    old = "sha512-ab/cd+" + "A" * 78 + "=="
    text = lock_v2(public(integrity=old)).decode().replace("/", "\\/").encode()
    made = standins_of.standins({"package.json": MANIFEST, "package-lock.json": text})
    lock = json.loads(made.rewritten["package-lock.json"])
    assert lock["packages"]["node_modules/a"]["integrity"] == lock["dependencies"]["a"]["integrity"] != old


def test_a_v1_lockfile_with_aliases_nested_dependencies_and_non_registry_ones():
    lock = {"lockfileVersion": 1, "dependencies": {
        "wrap-cjs": {"version": "npm:wrap-ansi@7.0.0", "resolved": "https://registry.npmjs.org/wrap-ansi/-/wrap-ansi-7.0.0.tgz",
                     "integrity": "sha1-" + "B" * 27 + "=", "requires": {"ansi-styles": "^4.0.0"}},
        "x": {"version": "2.0.0", "resolved": "https://registry.npmjs.org/x/-/x-2.0.0.tgz", "integrity": OLD,
              "dependencies": {"ms": {"version": "2.0.0", "resolved": "https://registry.npmjs.org/ms/-/ms-2.0.0.tgz",
                                      "integrity": "sha512-" + "C" * 86 + "=="}}},
        "forked": {"version": "github:acme/forked#abc123", "from": "github:acme/forked"},
        "local": {"version": "file:../shared"},
        "tar": {"version": "https://cdn.example.com/tar-1.0.0.tgz", "integrity": "sha512-" + "D" * 86 + "=="},
        "inner": {"version": "1.0.0", "bundled": True}}}
    made = standins_of.standins({"package.json": MANIFEST, "package-lock.json": json.dumps(lock).encode()})
    assert sorted((p["name"], p["version"]) for p in made.definition["packages"]) == [
        ("ms", "2.0.0"), ("wrap-ansi", "7.0.0"), ("x", "2.0.0")]
    wrap = next(p for p in made.definition["packages"] if p["name"] == "wrap-ansi")
    assert wrap["dependencies"] == {"ansi-styles": "^4.0.0"}
    notes = "\n".join(made.notes)
    assert "forked: a git dependency (github:acme/forked#abc123)" in notes
    assert "local: a local path (../shared) outside the project" in notes
    assert "tar: a tarball URL dependency (https://cdn.example.com/tar-1.0.0.tgz)" in notes
    assert "inner: bundled in its parent's tarball" in notes
    assert b"B" * 27 not in made.rewritten["package-lock.json"]


def test_v3_links_git_bundled_and_install_scripts_give_notes():
    lock = {"lockfileVersion": 3, "packages": {
        "": {"name": "app", "workspaces": ["packages/*"]},
        "packages/ui": {"name": "@app/ui", "version": "1.0.0", "dependencies": {"a": "^1.0.0"}},
        "packages/ui/node_modules/a": public(),
        "node_modules/@app/ui": {"resolved": "packages/ui", "link": True},
        "node_modules/forked": {"version": "1.2.0", "resolved": "git+ssh://git@github.com/acme/forked.git#0123abc"},
        "node_modules/b": public("b", "3.0.0", integrity="sha512-" + "E" * 86 + "==", hasInstallScript=True,
                                 dependencies={"inner": "^1.0.0"}),
        "node_modules/b/node_modules/inner": {"version": "1.0.0", "inBundle": True},
        "node_modules/c": {"version": "1.0.0", "resolved": "https://user:secret@npm.corp.example/c/-/c-1.0.0.tgz"}}}
    made = standins_of.standins({"package.json": MANIFEST, "package-lock.json": json.dumps(lock).encode(),
                                 "packages/ui/package.json": b'{"name": "@app/ui"}'})
    assert sorted((p["name"], p["version"]) for p in made.definition["packages"]) == [("a", "1.0.0"), ("b", "3.0.0")]
    notes = "\n".join(made.notes)
    assert "@app/ui: a local path (packages/ui) in the project" in notes
    assert "forked: a git dependency (git+ssh://github.com/acme/forked.git#0123abc)" in notes
    assert "inner: bundled" in notes and "1 package(s) have install scripts" in notes
    assert "npm.corp.example" in notes and "secret" not in notes
    assert [e["path"] for e in made.elsewhere["files"]] == ["/c/-/c-1.0.0.tgz"]


def test_yarn_aliases_git_and_local_entries():
    yarn = """# yarn lockfile v1


"string-width-cjs@npm:string-width@^4.2.0":
  version "4.2.3"
  resolved "https://registry.yarnpkg.com/string-width/-/string-width-4.2.3.tgz#269c7117d27b05ad2e536830a8ec895ef9c6d010"
  dependencies:
    "@scope/x" "^1.0.0"
    strip-ansi "^6.0.1"
  optionalDependencies:
    fsevents "~2.3.2"

"forked@github:acme/forked#main":
  version "1.2.0"
  resolved "https://codeload.github.com/acme/forked/tar.gz/0123abc"

"shared@file:../shared":
  version "0.1.0"

local-lib@link:./lib:
  version "0.0.0"
  uid ""
"""
    made = standins_of.standins({"package.json": MANIFEST, "yarn.lock": yarn.encode(), "lib/package.json": b"{}"})
    (package,) = made.definition["packages"]
    assert (package["name"], package["version"]) == ("string-width", "4.2.3")
    assert package["dependencies"] == {"@scope/x": "^1.0.0", "strip-ansi": "^6.0.1"}
    assert package["optionalDependencies"] == {"fsevents": "~2.3.2"}
    assert made.notes == ("forked: a git dependency (github:acme/forked#main): not stood in for; the client fetches "
                          "it from the code host",
                          "shared: a local path (../shared) outside the project: the build's copy does not have it",
                          "local-lib: a local path (./lib) in the project: installed from the build's copy, nothing to fetch")


@pytest.mark.parametrize("spec, note", [
    ("file:vendor/f-1.0.0.tgz", "f: a local path (vendor/f-1.0.0.tgz) in vendor/, which the build's copy leaves out"),
    ("file:./libs/f", "f: a local path (./libs/f) not in the project as read: the build does not find it"),
    ("file:./present", "f: a local path (./present) in the project: installed from the build's copy"),
    ("workspace:*", "f: a workspace: dependency (workspace:*): npm and Yarn classic do not know the protocol"),
    ("portal:../f", "f: a portal: dependency (portal:../f): npm and Yarn classic do not know the protocol"),
])
def test_a_local_dependency_is_noted_as_the_build_s_copy_has_it(spec, note):
    """A file: dependency the build's copy lacks (in vendor/, which the copy leaves out) is no 'installed from the
    copy'; pnpm's and Yarn 2+'s protocols are ones npm stops on."""
    manifest = json.dumps({"name": "app", "dependencies": {"f": spec}}).encode()
    made = standins_of.standins({"package.json": manifest, "present/package.json": b"{}"})  # vendor/: not read
    assert any(n.startswith(note) for n in made.notes), made.notes


def test_a_project_npmrc_scope_registry_without_a_lockfile_serves_its_metadata_there():
    manifest = json.dumps({"name": "app", "dependencies": {"@acme/ui": "^2.1.0", "next-thing": "next"}}).encode()
    npmrc = b"; company registry\n@acme:registry=https://npm.pkg.github.com/\n//npm.pkg.github.com/:_authToken=${NPM_TOKEN}\n"
    made = standins_of.standins({"package.json": manifest, ".npmrc": npmrc})
    by_path = {e["path"]: e for e in made.elsewhere["files"]}
    document = json.loads(by_path["/@acme/ui"]["content"])
    tarball = document["versions"]["2.1.0"]["dist"]["tarball"]
    assert tarball == "https://npm.pkg.github.com/download/@acme/ui/2.1.0/ui-2.1.0.tgz"
    built = content.with_standins([made])
    assert document["versions"]["2.1.0"]["dist"]["integrity"] == sri(built.static["npm.pkg.github.com" + tarball[26:]])
    notes = "\n".join(made.notes)
    assert "sends @acme to npm.pkg.github.com" in notes and "reads an environment variable" in notes
    assert "next-thing@next: a dist-tag other than latest" in notes


def test_the_projects_own_install_scripts_are_named():
    manifest = json.dumps({"name": "app", "scripts": {"prepare": "husky install", "test": "jest"}}).encode()
    made = standins_of.standins({"package.json": manifest})
    assert made.notes == ("the project's own prepare script runs in the build, with the stand-ins: husky install",)


# --- malformed input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("files, message", [
    ({"package.json": b"{", "package-lock.json": b"{}"}, r"package\.json: not valid JSON \(line 1"),
    ({"package.json": MANIFEST, "package-lock.json": b"[1]"}, r"package-lock\.json: expected a JSON object"),
    ({"package.json": MANIFEST, "package-lock.json": b'{"lockfileVersion": 4}'}, r"package-lock\.json: lockfileVersion 4"),
    ({"package.json": MANIFEST, "package-lock.json": b'{"lockfileVersion": true}'}, r"lockfileVersion True"),
    ({"package-lock.json": b"{}"}, r"package\.json: missing beside package-lock\.json"),
    ({"package.json": MANIFEST, "package-lock.json": b'{"lockfileVersion": 3, "packages": {"node_modules/a": 1}}'},
     r"package-lock\.json: packages\['node_modules/a'\] is not an object"),
    ({"package.json": MANIFEST, "package-lock.json": lock_v2(public(version="1.0"))},
     r"package-lock\.json: packages\['node_modules/a'\]: version '1\.0' is not a semantic version"),
    ({"package.json": MANIFEST, "package-lock.json": lock_v2({**public(), "name": "../../etc"})},
     r"package-lock\.json: .*'\.\./\.\./etc' is not an npm package name"),
    ({"package.json": MANIFEST, "package-lock.json": lock_v2({**public(), "integrity": "md5:x"})},
     r"package-lock\.json: .*integrity 'md5:x' is not <algorithm>-<base64>"),
    ({"package.json": MANIFEST, "package-lock.json": lock_v2({**public(), "bin": {"x": "../../x"}})},
     r"package-lock\.json: .*\.bin: expected paths inside the package"),
    ({"package.json": MANIFEST, "package-lock.json": lock_v2(
        {**public(), "resolved": "https://npm.corp.example/a/../../etc/a-1.0.0.tgz"})},
     r"package-lock\.json: .*is not a URL the stand-in can be served at"),
    ({"package.json": MANIFEST, "package-lock.json": b"\xff\xfe"}, r"package-lock\.json: not UTF-8"),
    ({"package.json": MANIFEST, "yarn.lock": b'__metadata:\n  version: 6\n'}, r"yarn\.lock: a Yarn 2\+ lockfile"),
    ({"package.json": MANIFEST, "yarn.lock": b'a@^1.0.0\n  version "1.0.0"\n'}, r"yarn\.lock: line 1: expected"),
    ({"package.json": MANIFEST, "yarn.lock": b'  version "1.0.0"\n'}, r"yarn\.lock: line 1: indented before"),
    ({"package.json": MANIFEST, "yarn.lock": b'a@^1.0.0:\n  version "1.0\n'}, r"yarn\.lock: line 2: a quoted string"),
    ({"package.json": MANIFEST, "yarn.lock": b'a@^1.0.0:\n  version "latest"\n'},
     r"yarn\.lock: line 1: version 'latest' is not a semantic version"),
    ({"package.json": b'{"dependencies": []}'}, r"package\.json: `dependencies` is not an object"),
    ({"package.json": b'{"dependencies": {"a": 1}}'}, r"package\.json: dependencies\['a'\] is not a string"),
])
def test_malformed_files_are_errors_naming_the_file(files, message):
    with pytest.raises(UserError, match=message):
        standins_of.standins(files)


def test_a_malformed_project_is_an_error_naming_the_project(tmp_path):
    (tmp_path / "package.json").write_text(json.dumps({"name": "app"}))
    (tmp_path / "package-lock.json").write_text('{"lockfileVersion": "three"}')
    with pytest.raises(UserError, match=r"--project .*: package-lock\.json: lockfileVersion 'three'"):
        project.load(tmp_path)


# --- the grammars: versions, names, ranges, yarn.lock -------------------------------------------------------

identifiers = st.one_of(st.integers(0, 99).map(str), st.from_regex(r"[a-z][a-z0-9-]{0,6}", fullmatch=True))
versions = st.builds(lambda core, pre: ".".join(map(str, core)) + (f"-{'.'.join(pre)}" if pre else ""),
                     st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30)),
                     st.lists(identifiers, max_size=3))
names = st.builds(lambda scope, name: f"@{scope}/{name}" if scope else name,
                  st.one_of(st.none(), st.from_regex(r"[a-z0-9][a-z0-9._-]{0,8}", fullmatch=True)),
                  st.from_regex(r"[a-z0-9][a-z0-9._-]{0,12}", fullmatch=True))


def semver_compare(a: str, b: str) -> int:
    """SemVer 2.0 precedence, written out from the specification's section 11 (the reference for version_key)."""
    (core_a, _, pre_a), (core_b, _, pre_b) = a.partition("-"), b.partition("-")
    numbers = [int(x) for x in core_a.split(".")], [int(x) for x in core_b.split(".")]
    if numbers[0] != numbers[1]:
        return -1 if numbers[0] < numbers[1] else 1
    if not pre_a or not pre_b:
        return (not pre_a) - (not pre_b)
    for x, y in zip(pre_a.split("."), pre_b.split(".")):
        if x == y:
            continue
        if x.isdigit() and y.isdigit():
            return -1 if int(x) < int(y) else 1
        if x.isdigit() != y.isdigit():
            return -1 if x.isdigit() else 1
        return -1 if x < y else 1
    return (len(pre_a.split(".")) > len(pre_b.split("."))) - (len(pre_a.split(".")) < len(pre_b.split(".")))


@given(versions, versions)
def test_version_order_is_semvers(a, b):
    key = generator.version_key
    assert (key(a) > key(b)) - (key(a) < key(b)) == semver_compare(a, b)


@given(st.lists(versions, min_size=1, max_size=6))
def test_latest_is_the_highest_release_else_the_highest_prerelease(listed):
    releases = [v for v in listed if "-" not in v]
    assert generator.latest(listed) == max(releases or listed, key=generator.version_key)


@given(names, versions, versions)
def test_the_generator_makes_any_name_and_version_a_client_can_install(name, version, other):
    files = generator.registry_files([{"name": name, "version": version}, {"name": name, "version": other}])
    packument = json.loads(files[f"{name}/index.json"])
    assert set(packument["versions"]) == {version, other}
    filename = f"{name.rpartition('/')[2]}-{version}.tgz"
    assert packument["versions"][version]["dist"]["tarball"] == f"https://registry.npmjs.org/{name}/-/{filename}"
    assert packument["versions"][version]["dist"]["integrity"] == sri(files[f"{name}/-/{filename}"])


@given(st.lists(st.tuples(names, versions), min_size=1, max_size=5, unique_by=lambda p: p[0]),
       st.sampled_from(["\n", "\r\n"]))
def test_any_yarn_lock_gets_the_hashes_of_what_is_served(packages, newline):
    text = "# yarn lockfile v1\n\n"
    for name, version in packages:
        base = name.rpartition("/")[2]
        text += (f'\n"{name}@^{version}", "{name}@{version}":\n  version "{version}"\n'
                 f'  resolved "https://registry.yarnpkg.com/{name}/-/{base}-{version}.tgz#{"a" * 40}"\n'
                 f"  integrity {OLD}\n")
    data = text.replace("\n", newline).encode()
    made = standins_of.standins({"package.json": MANIFEST, "yarn.lock": data})
    rewritten = made.rewritten["yarn.lock"].decode()
    files = generator.registry_files(made.definition["packages"])
    for name, version in packages:
        tarball = files[f"{name}/-/{name.rpartition('/')[2]}-{version}.tgz"]
        assert f"#{hashlib.sha1(tarball).hexdigest()}\"{newline}  integrity {sri(tarball)}{newline}" in rewritten


@given(st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40)), st.lists(identifiers, max_size=2))
def test_the_lowest_version_of_a_range(core, pre):
    x, y, z = core
    version = f"{x}.{y}.{z}" + (f"-{'.'.join(pre)}" if pre else "")
    lowest = standins_of.lowest
    for spec in (version, f"^{version}", f"~{version}", f">={version}", f"={version}", f"v{version}",
                 f">={version} <{x + 1}.0.0", f"{version} - {x + 2}.0.0", f"{version} || ^{x + 5}.0.0"):
        assert lowest(spec) == version, spec
    assert lowest(f"{x}.x") == lowest(f"^{x}") == lowest(f"{x}") == f"{x}.0.0"
    assert lowest(f"~{x}.{y}") == lowest(f"{x}.{y}.*") == f"{x}.{y}.0"
    assert lowest(f">{x}.{y}.{z}") == f"{x}.{y}.{z + 1}" and lowest(f">{x}") == f"{x + 1}.0.0"
    assert lowest(f"<{x}.{y}.{z}") == lowest("*") == lowest("") == "0.0.0"


@pytest.mark.parametrize("spec", ["next", "beta", "^1.0.0 garbage", "1.0.0 ~"])
def test_a_dist_tag_or_a_broken_range_has_no_lowest_version(spec):
    assert standins_of.lowest(spec) is None


def _tar_manifest(data: bytes) -> bytes:
    import io
    import tarfile
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.extractfile("package/package.json").read()


def test_a_project_npmrc_registry_on_a_port_is_named_with_its_port_never_its_credentials():
    made = standins_of.standins({"package.json": b'{"dependencies": {"left-pad": "1.3.0"}}',
                                 ".npmrc": b"registry=https://ci:S3cret@nexus.corp.example:8443/repository/npm/\n"})
    assert any("sends its packages to nexus.corp.example:8443;" in note for note in made.notes)
    assert "S3cret" not in repr(made.notes)


def test_a_registry_npmrc_takes_from_the_environment_is_noted_not_an_error():
    """A CI-style .npmrc (`registry=${NPM_REGISTRY_URL}`, a scope's too) names no host to serve stand-ins on:
    those dependencies are named as not stood in for; the others still are."""
    made = standins_of.standins({
        "package.json": b'{"name": "app", "dependencies": {"left-pad": "^1.3.0", "@corp/ui": "^2.0.0"}}',
        ".npmrc": b"registry=${NPM_REGISTRY_URL}\n@corp:registry=${CORP_NPM_URL}\n"})
    assert "left-pad: .npmrc takes its registry from an environment variable (${NPM_REGISTRY_URL}/): not stood in for" \
        in made.notes
    assert any(note.startswith("@corp/ui: .npmrc takes its registry") for note in made.notes)
    made = standins_of.standins({
        "package.json": b'{"name": "app", "dependencies": {"left-pad": "^1.3.0", "@corp/ui": "^2.0.0"}}',
        ".npmrc": b"@corp:registry=${CORP_NPM_URL}\n"})
    assert [p["name"] for p in made.definition["packages"]] == ["left-pad"]


def test_a_lock_entry_without_resolved_is_stood_in_for_where_the_npmrc_scope_sends_it():
    """npm fetches an entry without `resolved` from the registry .npmrc gives its scope: it was stood in for on
    registry.npmjs.org (found by a project sweep)."""
    lock = {"name": "app", "lockfileVersion": 3, "packages": {
        "": {"dependencies": {"@corp/ui": "2.1.0", "left-pad": "1.3.0"}},
        "node_modules/@corp/ui": {"version": "2.1.0"}, "node_modules/left-pad": {"version": "1.3.0"}}}
    made = standins_of.standins({"package.json": b'{"name": "app", "dependencies": {"@corp/ui": "2.1.0", "left-pad": "1.3.0"}}',
                                 "package-lock.json": json.dumps(lock).encode(),
                                 ".npmrc": b"@corp:registry=https://npm.corp.example.com/repository/npm-private/\n"})
    hosts = {item["host"] for item in made.elsewhere.get("files", [])}
    assert hosts == {"npm.corp.example.com"}, made.elsewhere
    assert "left-pad" in json.dumps(made.definition) and "@corp/ui" not in json.dumps(made.definition)


@pytest.mark.parametrize("line", ["@corp:registry=https://npm.corp.example.com/repository/npm-private/ # private",
                                  "@corp:registry = https://npm.corp.example.com/repository/npm-private/;the vendor's",
                                  "@corp:registry=\"https://npm.corp.example.com/repository/npm-private/\""])
def test_an_npmrc_value_is_read_as_npm_reads_it_without_its_inline_comment(line):
    """npm's ini ends an unquoted value at the first ';' or '#' not escaped (found by a project sweep: the comment
    was read as part of the URL, and the project refused with an empty URL in the message)."""
    lock = {"name": "app", "lockfileVersion": 3, "packages": {
        "": {"dependencies": {"@corp/ui": "2.1.0"}}, "node_modules/@corp/ui": {"version": "2.1.0"}}}
    made = standins_of.standins({"package.json": b'{"name": "app", "dependencies": {"@corp/ui": "2.1.0"}}',
                                 "package-lock.json": json.dumps(lock).encode(), ".npmrc": line.encode() + b"\n"})
    paths = {(item["host"], item["path"]) for item in made.elsewhere.get("files", [])}
    assert ("npm.corp.example.com", "/repository/npm-private/@corp/ui/-/ui-2.1.0.tgz") in paths, paths


def test_a_lock_entry_without_resolved_and_a_registry_from_the_environment_still_loads():
    """registry=${NPM_REGISTRY} is unknown here: the entry is stood in on the public registry, as before 2bca000
    (which refused the project with an empty URL; found by a review)."""
    lock = {"name": "app", "lockfileVersion": 3, "packages": {"": {"dependencies": {"left-pad": "1.3.0"}},
                                                              "node_modules/left-pad": {"version": "1.3.0"}}}
    made = standins_of.standins({"package.json": b'{"name": "app", "dependencies": {"left-pad": "1.3.0"}}',
                                 "package-lock.json": json.dumps(lock).encode(), ".npmrc": b"registry=${NPM_REGISTRY}\n"})
    assert "left-pad" in json.dumps(made.definition) and any("environment variable" in n for n in made.notes)


OFFLINE_LOCK = """# yarn lockfile v1


left-pad@^1.3.0:
  version "1.3.0"
  resolved "https://registry.yarnpkg.com/left-pad/-/left-pad-1.3.0.tgz#5b8a3a7765dfe001261dde915589e782f8c94d1e"
  integrity sha512-XI5MPzVNApjAyhQzphX8BkmKsKUxD4LdyK24iZeQ8yyS0wd+HYjMakS2YVmbtzjiyLOqbqkzrV7tc2+n9ghH1g==

"@types/node@^20.0.0":
  version "20.1.0"
  resolved "https://registry.yarnpkg.com/@types/node/-/node-20.1.0.tgz#aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

is-odd@^3.0.0:
  version "3.0.1"
  resolved "https://registry.yarnpkg.com/is-odd/-/is-odd-3.0.1.tgz#bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
"""


@pytest.mark.parametrize("yarnrc", ['yarn-offline-mirror "./npm-packages-offline-cache"\n',
                                    "# vendored\nyarn-offline-mirror: npm-packages-offline-cache # vendored\r\n"
                                    "yarn-offline-mirror-pruning true\n"])
def test_a_yarn_offline_mirror_s_tarballs_are_installed_from_it_and_kept(yarnrc):
    """Yarn classic installs an entry whose tarball the offline mirror of .yarnrc holds (named as Yarn names it:
    scope-name-version.tgz for a scoped package) from the project, offline, checking the lockfile's hashes against
    it: those entries are not stood in for and keep their hashes (rewriting them made Yarn go to the network, a
    leak the build does not have); the one not in the mirror is stood in for as usual."""
    files = {"package.json": MANIFEST, "yarn.lock": OFFLINE_LOCK.encode(), ".yarnrc": yarnrc.encode(),
             "npm-packages-offline-cache/left-pad-1.3.0.tgz": b"tgz", "npm-packages-offline-cache/@types-node-20.1.0.tgz": b"tgz"}
    made = standins_of.standins(files)
    assert [p["name"] for p in made.definition["packages"]] == ["is-odd"]
    rewritten = made.rewritten["yarn.lock"].decode()
    assert "#5b8a3a7765dfe001261dde915589e782f8c94d1e" in rewritten and "XI5MPzVNApjAyhQzphX8" in rewritten
    assert "#aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" in rewritten and "#bbbbbbbb" not in rewritten
    assert any("2 of 3 entries are in the offline mirror npm-packages-offline-cache/" in note for note in made.notes)


def test_a_yarn_lock_with_a_byte_order_mark_reads_as_without_it():
    """Yarn classic's lockfile parser strips a byte-order mark (an editor on Windows wrote one)."""
    files = {"package.json": MANIFEST, "yarn.lock": OFFLINE_LOCK.encode()}
    plain = standins_of.standins(files)
    marked = standins_of.standins(files | {"yarn.lock": b"\xef\xbb\xbf" + OFFLINE_LOCK.encode()})
    assert marked.definition == plain.definition and len(plain.definition["packages"]) == 3


@pytest.mark.parametrize("yarnrc, note", [
    ('yarn-offline-mirror "/home/ci/offline"\n', "outside the project"),
    ('yarn-offline-mirror "./offline"\n', "no such directory in the project"),
    ('yarn-offline-mirror "./vendor/yarn"\n', "in vendor/, which the build's copy leaves out"),
    ('yarn-offline-mirror "./build/offline"\n', "in build/, which the build's copy leaves out"),
    ('yarn-offline-mirror ".yarn/cache/x"\n', "in .yarn/cache/, which the build's copy leaves out"),
    ('registry "https://npm.acme.example/"\n"@acme:registry" "https://npm.acme.example/"\n',
     ".yarnrc sets @acme:registry, registry: not checked"),
    ('"//u:S3cretZZ91@npm.acme.example/:always-auth" true\nregistry "https://npm.acme.example/"\n',
     ".yarnrc sets registry, 1 other key(s), not shown: not checked"),
    ("yarn-offline-mirror\tnpm-packages-offline-cache\n", None),  # Yarn reads no key there: a tab does not end a
    # word in its .yarnrc, so the mirror is not used and everything is stood in for
])
def test_yarnrc_settings_the_stand_ins_do_not_follow_are_noted(yarnrc, note):
    files = {"package.json": MANIFEST, "yarn.lock": OFFLINE_LOCK.encode(), ".yarnrc": yarnrc.encode()}
    files["npm-packages-offline-cache/left-pad-1.3.0.tgz"] = b"tgz"
    made = standins_of.standins(files)
    assert len(made.definition["packages"]) == 3, made.notes
    assert any(note in n for n in made.notes) if note else not any("offline mirror" in n for n in made.notes)
    assert not any("S3cretZZ91" in n for n in made.notes)


def test_an_npm_alias_without_a_version_is_the_latest_of_its_target():
    """`npm:bar` and `npm:@scope/qux` name no version: npm takes the target's latest (they were read as a dist-tag
    and as a git dependency, and a yarn.lock entry `foo@npm:bar` was refused; found by a project sweep)."""
    made = standins_of.standins({"package.json": b'{"dependencies": {"foo": "npm:bar", "baz": "npm:@scope/qux", '
                                                 b'"q": "npm:left-pad@^1.3.0"}}'})
    assert {(p["name"], p["version"]) for p in made.definition["packages"]} == {
        ("bar", "1.0.0"), ("@scope/qux", "1.0.0"), ("left-pad", "1.3.0")}
    locked = standins_of.standins({"package.json": b'{"dependencies": {"foo": "npm:bar"}}', "yarn.lock":
                                   b'# yarn lockfile v1\n\n"foo@npm:bar":\n  version "1.2.0"\n'
                                   b'  resolved "https://registry.yarnpkg.com/bar/-/bar-1.2.0.tgz#abc"\n'})
    assert [(p["name"], p["version"]) for p in locked.definition["packages"]] == [("bar", "1.2.0")]


@pytest.mark.parametrize("workspaces", ['["packages/*"]', '["./packages/*", "!packages/skipped"]', '{"packages": ["packages/**"]}'])
def test_without_a_lockfile_the_workspaces_dependencies_are_stood_in_for_and_the_workspaces_linked(workspaces):
    """npm install installs every workspace's dependencies and links the workspaces themselves (found by a
    project sweep: left-pad, a workspace's dependency, had no stand-in, and @app/shared had one)."""
    made = standins_of.standins({
        "package.json": b'{"name": "app", "workspaces": ' + workspaces.encode() +
                        b', "dependencies": {"@app/shared": "*", "a": "^1.0.0"}}',
        "packages/shared/package.json": b'{"name": "@app/shared", "version": "0.1.0", "dependencies": {"left-pad": "^1.3.0"}}',
        "packages/skipped/package.json": b'{"name": "skipped", "dependencies": {"never": "1.0.0"}}',
        "other/package.json": b'{"name": "other", "dependencies": {"not-a-workspace": "1.0.0"}}'})
    names = {p["name"] for p in made.definition["packages"]}
    assert {"a", "left-pad"} <= names and not {"@app/shared", "not-a-workspace"} & names
    assert ("never" in names) == ("!packages/skipped" not in workspaces)
    assert any("dependencies of" in note and "workspaces stood in for" in note for note in made.notes)
