"""Composer stand-ins for a customer's project (harness/customer/composer.py): every package composer.lock installs
gets a stand-in of the same name and version, served at the lock's own dist URL (code hosts included), the build
copy's non-empty shasums equal the sha1 of the zips served there (generated here with content.with_standins),
empty ones stay empty and every other byte stays, composer.json alone resolves through the repository, what cannot
be stood in for gives a note, and malformed files are errors naming the file."""

import hashlib
import io
import json
import re
import zipfile

import pytest
from hypothesis import given, strategies as st

from harness.customer import composer as standins_of
from harness.customer import project
from harness.infra import paths
from harness.infra.errors import UserError
from harness.stack import content
from harness.stack.content import composer as generator

PROJECTS = paths.fixtures_dir() / "projects"
GITHUB, PACKAGIST = "composer-lock-github-dist", "composer-packagist"
INSTALL = "composer install --no-interaction --no-progress"


def files_of(case: str) -> dict[str, bytes]:
    return dict(project.read_tree(PROJECTS / case))


@pytest.fixture(scope="module")
def made():
    made = {case: standins_of.standins(files_of(case)) for case in (GITHUB, PACKAGIST)}
    return made, content.with_standins(made.values())


def served(built, url: str) -> bytes:
    return built.static[url.partition("://")[2].partition("?")[0]]


def locked(lock: dict) -> list[dict]:
    return lock["packages"] + lock["packages-dev"]


# --- the fixture projects ----------------------------------------------------------------------------------


def test_every_locked_package_is_served_at_its_dist_url(made):
    made, built = made
    lock = json.loads(files_of(GITHUB)["composer.lock"])
    stood_in = {(p["name"], p["version"]): p for p in made[GITHUB].definition["packages"]}
    assert set(stood_in) == {(p["name"], p["version"]) for p in locked(lock)}
    for package in locked(lock):
        data = served(built, package["dist"]["url"])
        assert data == generator.dist_zip(stood_in[(package["name"], package["version"])])
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        top = names[0].split("/")[0]
        for kind, entries in package.get("autoload", {}).items():  # Composer's autoload dump reads these
            wanted = [p for v in entries.values() for p in ([v] if isinstance(v, str) else v)] \
                if kind.startswith("psr") else entries if kind in ("classmap", "files") else []
            for path in wanted:
                assert any(n.startswith(f"{top}/{path}".rstrip("/")) for n in names), (package["name"], path)
    metadata = json.loads(built.static["repo.packagist.org/p2/monolog/monolog.json"])
    assert metadata["packages"]["monolog/monolog"][0]["dist"]["url"].startswith("https://api.github.com/repos/Seldaek/")
    assert {"api.github.com", "codeload.github.com"} <= set(built.outside[0])


def test_only_a_non_empty_shasum_is_rewritten_to_the_served_zips_sha1(made):
    made, built = made
    before_text = files_of(GITHUB)["composer.lock"].decode()
    after_text = made[GITHUB].rewritten["composer.lock"].decode()
    before, after = json.loads(before_text), json.loads(after_text)
    changed = 0
    for old, new in zip(locked(before), locked(after)):
        if old["dist"]["shasum"]:
            assert new["dist"]["shasum"] == hashlib.sha1(served(built, new["dist"]["url"])).hexdigest() \
                != old["dist"]["shasum"]
            changed += 1
        else:
            assert new["dist"]["shasum"] == ""
    assert changed == 1
    shasums = re.compile(r'"shasum": "[0-9a-f]*"')
    assert shasums.sub("S", before_text) == shasums.sub("S", after_text)


def test_the_content_hash_is_composers(made):
    """The fixtures' content-hash values were written by Composer 2.5's Locker::getContentHash (checked with it)."""
    made, _ = made
    manifest = json.loads(files_of(GITHUB)["composer.json"])
    assert standins_of.content_hash(manifest) == json.loads(files_of(GITHUB)["composer.lock"])["content-hash"]
    assert any("content-hash matches" in note for note in made[GITHUB].notes)
    changed = dict(files_of(GITHUB))
    changed["composer.json"] = changed["composer.json"].replace(b'"^3.5"', b'"^3.6"')
    assert any("Composer warns" in note for note in standins_of.standins(changed).notes)


def test_the_notes_name_the_projects_repositories_and_the_branch(made):
    made, _ = made
    notes = "\n".join(made[GITHUB].notes)
    assert "repository vcs https://github.com/acme/pdf-toolkit: kept" in notes
    assert "a package repository (inline packages): kept" in notes
    assert "acme/pdf-toolkit dev-main: a branch" in notes
    assert "dist shasum rewritten" in notes
    assert "7 package(s) with notification-url https://packagist.org/downloads/" in notes


def test_composer_json_alone_resolves_through_the_repository(made):
    made, built = made
    alone = made[PACKAGIST]
    assert alone.rewritten == {} and alone.elsewhere == {}
    assert sorted((p["name"], p["version"]) for p in alone.definition["packages"]) == [
        ("acme/coding-standard", "dev-main"), ("league/csv", "9.15.0"), ("phpstan/phpstan", "1.10.0"),
        ("ramsey/uuid", "4.7.0"), ("symfony/yaml", "7.1.0-RC1"), ("twig/twig", "v3.8.0")]
    branch = json.loads(built.static["repo.packagist.org/p2/acme/coding-standard~dev.json"])
    assert [v["version"] for v in branch["packages"]["acme/coding-standard"]] == ["dev-main"]
    yaml = json.loads(built.static["repo.packagist.org/p2/symfony/yaml.json"])["packages"]["symfony/yaml"][0]
    assert yaml["version_normalized"] == "7.1.0.0-RC1"
    assert json.loads(built.static["repo.packagist.org/p2/twig/twig.json"])["packages"]["twig/twig"][0][
        "version_normalized"] == "3.8.0.0"


@pytest.mark.parametrize("case", [GITHUB, PACKAGIST])
def test_a_composer_project_is_built_with_the_fixture_command(case):
    loaded = project.load(PROJECTS / case)
    assert loaded.builds == (("composer", INSTALL),)
    assert loaded.rewritten == (("composer.lock",) if case == GITHUB else ())


# --- what real locks hold beyond the fixtures --------------------------------------------------------------

MANIFEST = json.dumps({"name": "acme/app", "require": {"a/b": "^1.0"}}).encode()


def package(name="a/b", version="1.0.0", url=None, shasum="", **fields):
    url = url or f"https://api.github.com/repos/{name}/zipball/{'0' * 40}"
    return {"name": name, "version": version, "dist": {"type": "zip", "url": url, "reference": "0" * 40,
                                                       "shasum": shasum}, **fields}


def lock_of(*packages, dev=()) -> bytes:
    return json.dumps({"content-hash": "x", "packages": list(packages), "packages-dev": list(dev)}, indent=4).encode()


def test_a_lock_composer_is_told_to_ignore_is_not_what_the_stand_ins_follow():
    """config.lock false: Composer 2.5+ says 'composer.lock is present but ignored' and resolves composer.json."""
    manifest = json.dumps({"name": "acme/app", "require": {"a/b": "^1.0", "c/d": "^2.0"}, "config": {"lock": False}})
    made = standins_of.standins({"composer.json": manifest.encode(), "composer.lock": lock_of(package())})
    assert sorted((p["name"], p["version"]) for p in made.definition["packages"]) == [("a/b", "1.0.0"), ("c/d", "2.0.0")]
    assert made.rewritten == {} and any("config.lock is false" in note for note in made.notes)


def test_platform_requirements_composer_checks_first_are_named():
    """Composer stops before any download when the builder's PHP misses one (php >=8.3, ext-intl): say which."""
    lock = json.loads(lock_of(package()))
    lock["platform"] = {"php": ">=8.3", "ext-intl": "*"}
    lock["packages"][0]["require"] = {"php": "^7.4 || ^8.0", "ext-bcmath": "*", "psr/log": "^1.0"}  # a locked package's own
    manifest = json.dumps({"require": {"a/b": "^1.0", "ext-gd": "*", "php": "^8.1"}}).encode()
    notes = standins_of.standins({"composer.json": manifest, "composer.lock": json.dumps(lock).encode()}).notes
    [note] = [n for n in notes if n.startswith("platform requirements")]
    assert "ext-bcmath *, ext-gd *, ext-intl *, php >=8.3 and ^8.1 and ^7.4 || ^8.0" in note and "Debian's PHP 8.2" in note
    assert not any(n.startswith("platform") for n in standins_of.standins({"composer.json": MANIFEST}).notes)


def test_dists_elsewhere_path_metapackage_and_source_only_entries():
    made = standins_of.standins({"composer.json": MANIFEST, "composer.lock": lock_of(
        package("a/b", "v2.0.0", require={"php": ">=8.1", "ext-intl": "*", "c/d": "^1.0"}, type="composer-plugin"),
        package("c/d", "1.0.0", url="https://repo.packagist.org/dists/c/d/c-d-1.0.0.zip", shasum="1" * 40),
        package("e/f", "1.0.0", url="https://gitlab.com/api/v4/projects/e%2Ff/repository/archive.zip?sha=abc"),
        {"name": "g/h", "version": "1.0.0", "type": "metapackage"},
        {"name": "i/j", "version": "dev-main", "source": {"type": "git", "url": "https://github.com/i/j.git"}},
        {"name": "k/l", "version": "1.0.0", "dist": {"type": "path", "url": "../k", "reference": "x"}},
        {"name": "m/n", "version": "1.0.0", "dist": {"type": "path", "url": "packages/m", "reference": "x"}},
        {"name": "o/p", "version": "1.0.0", "dist": {"type": "tar", "url": "https://example.com/o.tar"}},
        package("q/r", url="http://example.com/q.zip"))})
    by_name = {p["name"]: p for p in made.definition["packages"]}
    assert sorted(by_name) == ["a/b", "c/d", "e/f"]
    assert by_name["a/b"]["require"] == {"c/d": "^1.0"} and by_name["a/b"]["type"] == "composer-plugin"
    assert by_name["c/d"]["dist_url"] == "https://repo.packagist.org/dists/c/d/c-d-1.0.0.zip"
    assert [(e["host"], e["path"]) for e in made.elsewhere["files"]] == [
        ("api.github.com", f"/repos/a/b/zipball/{'0' * 40}"),
        ("gitlab.com", "/api/v4/projects/e/f/repository/archive.zip")]
    built = content.with_standins([made])
    zip_c = built.static["repo.packagist.org/dists/c/d/c-d-1.0.0.zip"]
    rewritten = json.loads(made.rewritten["composer.lock"])
    assert rewritten["packages"][1]["dist"]["shasum"] == hashlib.sha1(zip_c).hexdigest()
    notes = "\n".join(made.notes)
    assert "a/b v2.0.0: a Composer plugin" in notes
    assert "i/j dev-main: no dist in the lock, only its source https://github.com/i/j.git" in notes
    assert "k/l 1.0.0: a path dist ../k outside the project" in notes and "m/n" not in notes
    assert "dist URLs on Packagist itself (c/d 1.0.0): composer install downloads them from the lock's URL" in notes
    assert "o/p 1.0.0: a tar dist" in notes and "q/r 1.0.0: dist URL http://example.com/q.zip is not https" in notes


def test_escaped_slashes_crlf_and_a_shasum_key_elsewhere_are_kept():
    text = lock_of(package(shasum="f" * 40)).decode().replace("/", "\\/").replace("\n", "\r\n")
    text = text.replace('"content-hash"', '"extra": {"shasum": "' + "e" * 40 + '"},\r\n    "content-hash"')
    made = standins_of.standins({"composer.json": MANIFEST, "composer.lock": text.encode()})
    after = made.rewritten["composer.lock"].decode()
    assert "e" * 40 in after and "f" * 40 not in after and after.count("\r\n") == text.count("\r\n")
    assert len(after) == len(text)


def test_an_unchanged_lock_is_not_rewritten():
    assert standins_of.standins({"composer.json": MANIFEST, "composer.lock": lock_of(package())}).rewritten == {}


def test_repositories_of_the_project():
    manifest = {"name": "acme/app", "repositories": [
        {"type": "composer", "url": "https://user:secret@repo.acme.example"}, {"packagist.org": False},
        {"type": "path", "url": "../libs/*"}, {"type": "path", "url": "packages/*"},
        {"type": "composer", "url": "https://repo.packagist.org"}, {"type": "artifact", "url": "artifacts/"}]}
    notes = "\n".join(standins_of.standins({"composer.json": json.dumps(manifest).encode()}).notes)
    assert "repository composer https://repo.acme.example: the project's own repository, kept" in notes
    assert "secret" not in notes and "path ../libs/*: outside the project" in notes and "packages/*" not in notes
    assert "repository artifact artifacts/: kept" in notes and "repo.packagist.org" not in notes


# --- malformed input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("files, message", [
    ({"composer.json": b"{"}, r"composer\.json: not valid JSON \(line 1"),
    ({"composer.json": b"[]"}, r"composer\.json: expected a JSON object"),
    ({"composer.json": b"\xff"}, r"composer\.json: not UTF-8"),
    ({"composer.json": b'{"require": ["a/b"]}'}, r"composer\.json: require: expected an object"),
    ({"composer.json": b'{"repositories": [1]}'}, r"composer\.json: repositories: 0: expected an object"),
    ({"composer.json": MANIFEST, "composer.lock": b'{"packages": {}}'}, r"composer\.lock: packages: expected a list"),
    ({"composer.json": MANIFEST, "composer.lock": lock_of({"name": "a/b"})},
     r"composer\.lock: packages\[0\]: expected"),
    ({"composer.json": MANIFEST, "composer.lock": lock_of(package("../../etc"))},
     r"composer\.lock: packages\[0\]: '\.\./\.\./etc' is not a package name"),
    ({"composer.json": MANIFEST, "composer.lock": lock_of(package(version="1.0/../../x"))},
     r"composer\.lock: packages\[0\]: version '1\.0/\.\./\.\./x' is not a Composer version"),
    ({"composer.json": MANIFEST, "composer.lock": lock_of(package(url="https://api.github.com/a/../../etc"))},
     r"composer\.lock: packages\[0\] \(a/b 1\.0\.0\): dist URL .* is not a URL a stand-in can be served at"),
    ({"composer.json": MANIFEST, "composer.lock": lock_of(package(autoload={"classmap": ["../x"]}))},
     r"composer\.lock: packages\[0\] \(a/b 1\.0\.0\): autoload\.classmap: '\.\./x' is not a path inside"),
    ({"composer.json": MANIFEST, "composer.lock": lock_of(package(autoload={"psr-4": ["src"]}))},
     r"autoload\.psr-4: expected an object"),
    ({"composer.json": MANIFEST, "composer.lock": lock_of(package(bin=["/usr/bin/x"]))}, r"bin: expected paths inside"),
    ({"composer.json": MANIFEST, "composer.lock": lock_of(package(require={"c/d": 1}))},
     r"composer\.lock: packages\[0\] \(a/b 1\.0\.0\): require: expected an object"),
])
def test_malformed_files_are_errors_naming_the_file(files, message):
    with pytest.raises(UserError, match=message):
        standins_of.standins(files)


def test_a_malformed_project_is_an_error_naming_the_project(tmp_path):
    (tmp_path / "composer.json").write_text("{")
    with pytest.raises(UserError, match=r"--project .*: composer\.json: not valid JSON"):
        project.load(tmp_path)


# --- the grammars: versions, constraints, lock placement of shasums ----------------------------------------

numbers = st.lists(st.integers(0, 40), min_size=1, max_size=4)
stabilities = st.sampled_from(["", "-RC1", "-rc.2", "-beta", "-beta.3", "-alpha2", "-p1", "-stable"])
versions = st.builds(lambda v, parts, stability: v + ".".join(map(str, parts)) + stability,
                     st.sampled_from(["", "v"]), numbers, stabilities)


def normalize_reference(version: str) -> str:
    """Composer\\Semver\\VersionParser::normalize for plain versions, written out from its rules: four numeric
    parts, a v dropped, the stability named in full (b -> beta, a -> alpha, p -> patch, rc -> RC) and its
    number joined to it."""
    found = re.fullmatch(r"v?([\d.]+)(?:[-.]?(stable|beta|b|RC|rc|alpha|a|patch|pl|p)[.-]?(\d*))?", version)
    parts = found.group(1).split(".")
    name = (found.group(2) or "").lower()
    name = {"b": "beta", "a": "alpha", "pl": "patch", "p": "patch", "rc": "RC"}.get(name, name)
    return ".".join(parts + ["0"] * (4 - len(parts))) + (f"-{name}{found.group(3)}" if name else "")


@given(versions)
def test_version_normalized_is_composers(version):
    assert generator.normalized(version) == normalize_reference(version)


@given(st.sampled_from(["^", "~", ">=", "", "v", "=="]), numbers.filter(lambda n: len(n) <= 3),
       st.sampled_from(["", " <99.0", ", <99", "@dev", " || ^0.1"]))
def test_a_picked_version_is_the_constraints_lower_bound(operator, parts, tail):
    constraint = f"{operator}{'.'.join(map(str, parts))}{tail}"
    picked = standins_of.pick_version(constraint)
    digits = [int(x) for x in re.match(r"v?([\d.]+)", picked).group(1).split(".")]
    assert digits[:len(parts)] == parts and len(digits) >= 3 and not any(digits[len(parts):])


@pytest.mark.parametrize("constraint, picked", [("> 1.2", "1.3.0"), ("~ 1.2", "1.2.0"), (">= 1.0 < 2.0", "1.0.0"),
                                                ("< 2.0", None), ("!= 1.0", None), ("dev-master#abc123", "dev-master"),
                                                ("dev-main#abc as 1.0.x-dev", "dev-main")])
def test_a_picked_version_reads_the_constraint_as_composer_splits_it(constraint, picked):
    """An operator and its version may stand apart (`> 1.2`); a dev branch's #commit is not part of its version."""
    assert standins_of.pick_version(constraint) == picked


@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=6))
def test_exactly_the_non_empty_shasums_of_stand_ins_change(entries):
    """Each entry: (a shasum in the lock?, served on a code host or from a path dist?)."""
    packages = []
    for index, (pinned, zipped) in enumerate(entries):
        entry = package(f"v{index}/p", shasum=f"{index:040d}" if pinned else "")
        if not zipped:
            entry["dist"]["type"] = "path"
            entry["dist"]["url"] = f"packages/p{index}"
        packages.append(entry)
    made = standins_of.standins({"composer.json": MANIFEST, "composer.lock": lock_of(*packages)})
    after = json.loads(made.rewritten.get("composer.lock", lock_of(*packages)))
    for index, ((pinned, zipped), new) in enumerate(zip(entries, after["packages"])):
        if pinned and zipped:
            stand_in = next(p for p in made.definition["packages"] if p["name"] == f"v{index}/p")
            assert new["dist"]["shasum"] == hashlib.sha1(generator.dist_zip(stand_in)).hexdigest()
        else:
            assert new["dist"]["shasum"] == (f"{index:040d}" if pinned else "")


@pytest.mark.parametrize("preferred, shown", [('"source"', "(*)"), ('{"acme/*": "source", "*": "dist"}', "(acme/*)")])
def test_a_source_install_preference_is_named(preferred, shown):
    """config.preferred-install source makes Composer clone from the code host, past the mirror (found by a
    project sweep: no note)."""
    made = standins_of.standins({"composer.json": ('{"require": {"a/b": "1.0.0"}, "config": {"preferred-install": '
                                                + preferred + '}}').encode()})
    assert any(f"preferred-install source {shown}: Composer clones" in note for note in made.notes), made.notes
    assert not any("preferred-install" in n for n in standins_of.standins({"composer.json": b'{"require": {"a/b": "1.0.0"}}'}).notes)
