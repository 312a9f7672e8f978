"""Bundler stand-ins for a customer's project (harness/customer/rubygems.py): every gem Gemfile.lock names (platform
gems included) gets a stand-in of the same name, version and platform with the lock's dependencies, the build
copy's CHECKSUMS equal the sha256 of the .gem files the simulated rubygems.org serves (generated here with
content.with_standins), everything else in the lock stays byte-for-byte, what cannot be stood in for (git, path,
other gem servers, BUNDLED WITH) gives a note, and malformed files are errors naming the file."""

import gzip
import hashlib
import io
import re
import tarfile

import pytest
from hypothesis import given, strategies as st

from harness.customer import project
from harness.customer import rubygems as standins_of
from harness.infra import paths
from harness.infra.errors import UserError
from harness.stack import content
from harness.stack.content import rubygems as generator

PROJECTS = paths.fixtures_dir() / "projects"
RAILS = "rubygems-rails-like"
BUNDLE = "bundle config set --local path /tmp/bundle && bundle install --retry 0"
SPEC = re.compile(r"^    (\S+) \(([^-)]+)(?:-(\S+))?\)$", re.M)


def files_of(case: str) -> dict[str, bytes]:
    return dict(project.read_tree(PROJECTS / case))


@pytest.fixture(scope="module")
def rails():
    made = standins_of.standins(files_of(RAILS))
    return made, content.with_standins([made])


def served_gem(built, name: str, version: str, platform: str | None) -> bytes:
    suffix = f"-{platform}" if platform else ""
    return built.static[f"rubygems.org/gems/{name}-{version}{suffix}.gem"]


def gemspec_of(data: bytes) -> str:
    with tarfile.open(fileobj=io.BytesIO(data)) as gem:
        return gzip.decompress(gem.extractfile("metadata.gz").read()).decode()


# --- the fixture project -----------------------------------------------------------------------------------


def test_every_spec_of_the_lock_has_a_stand_in_with_its_platform(rails):
    made, _ = rails
    lock = files_of(RAILS)["Gemfile.lock"].decode()
    locked = {(n, v, p or "ruby") for n, v, p in SPEC.findall(lock.split("\n\nPLATFORMS")[0])}
    assert len(locked) == 64
    assert {(g["name"], g["version"], g.get("platform", "ruby")) for g in made.definition["gems"]} == locked
    assert ("nokogiri", "1.16.2", "x86_64-linux") in locked and ("nokogiri", "1.16.2", "arm64-darwin") in locked


def test_the_checksums_are_those_of_the_served_gems_and_nothing_else_changes(rails):
    made, built = rails
    before = files_of(RAILS)["Gemfile.lock"].decode()
    after = made.rewritten["Gemfile.lock"].decode()
    sums = re.findall(r"^  (\S+) \(([^-)]+)(?:-(\S+))?\) sha256=([0-9a-f]{64})$", after, re.M)
    assert len(sums) == 64
    for name, version, platform, digest in sums:
        assert digest == hashlib.sha256(served_gem(built, name, version, platform or None)).hexdigest()
        assert f"sha256={digest}" not in before
    hashes = re.compile(r"sha256=[0-9a-f]{64}")
    assert hashes.sub("H", before) == hashes.sub("H", after)


def test_the_index_lists_the_platform_gems_and_the_locks_dependencies(rails):
    made, built = rails
    versions = built.static["rubygems.org/versions"].decode()
    assert re.search(r"^nokogiri 1\.16\.2-arm64-darwin,1\.16\.2-x86_64-linux [0-9a-f]{32}$", versions, re.M)
    info = built.static["rubygems.org/info/nokogiri"].decode()
    linux = served_gem(built, "nokogiri", "1.16.2", "x86_64-linux")
    assert f"1.16.2-x86_64-linux racc:~> 1.4|checksum:{hashlib.sha256(linux).hexdigest()}\n" in info
    assert "platform: x86_64-linux\n" in gemspec_of(linux)
    assert "quick/Marshal.4.8/nokogiri-1.16.2-x86_64-linux.gemspec.rz" in "\n".join(built.static)
    active = built.static["rubygems.org/info/activesupport"].decode()
    assert "concurrent-ruby:~> 1.0&>= 1.0.2" in active and "base64:>= 0" in active and "i18n:>= 1.6&< 2" in active
    rails_info = built.static["rubygems.org/info/rails"].decode()
    assert "bundler:>= 1.15.0" in rails_info  # the lock's own line: Bundler answers it with itself
    assert "rubygems.org/gems/bundler-2.6.2.gem" not in built.static  # no stand-in of another Bundler


def test_the_notes_name_the_platform_only_gem_and_bundled_with(rails):
    made, _ = rails
    notes = "\n".join(made.notes)
    assert "DEPENDENCIES without a spec in the lock (tzinfo-data)" in notes
    assert "BUNDLED WITH 2.6.2" in notes and "bundler-version-switch" in notes
    assert "CHECKSUMS rewritten" in notes


def test_a_git_gem_is_one_note_and_the_rest_of_the_lock_is_stood_in():
    made = standins_of.standins(files_of("rubygems-git-source"))
    assert len(made.definition["gems"]) == 10 and "acme-auth" not in {g["name"] for g in made.definition["gems"]}
    assert [note for note in made.notes if "acme-auth" in note] == [
        "gems from git https://github.com/acme/acme-auth.git (acme-auth): not stood in; Bundler clones the "
        "repository (leak cause bundler-git-source)"]
    assert made.rewritten == {}  # no CHECKSUMS section


def test_one_run_serves_both_fixture_projects():
    """They share gems (puma 6.4.2, nio4r 2.7.0, rack-session 2.0.0): each must be the same stand-in in both."""
    made = [standins_of.standins(files_of(case)) for case in (RAILS, "rubygems-git-source")]
    built = content.with_standins(made)
    assert "rubygems.org/gems/sinatra-4.0.0.gem" in built.static and "rubygems.org/gems/rails-7.1.3.gem" in built.static


def test_a_bundler_project_is_built_with_the_fixture_command():
    loaded = project.load(PROJECTS / RAILS)
    assert loaded.builds == (("rubygems", BUNDLE),)
    assert loaded.rewritten == ("Gemfile.lock",)
    gemfile_only = standins_of.standins({"Gemfile": files_of(RAILS)["Gemfile"]})
    assert gemfile_only.rewritten == {} and len(gemfile_only.definition["gems"]) == 7


# --- what real Gemfiles and lockfiles hold beyond the fixture ----------------------------------------------

LOCK = """GIT
  remote: https://github.com/acme/forked.git
  revision: 0123456789abcdef0123456789abcdef01234567
  branch: main
  specs:
    forked (0.3.0)
      rack

PATH
  remote: .
  specs:
    mine (1.0.0)
      rack (>= 2)

PATH
  remote: ../shared
  specs:
    shared (0.1.0)

GEM
  remote: https://rubygems.org/
  specs:
    rack (3.0.9)
    rails (7.2.0.beta2)
      rack (>= 2.2.4, < 4)
    sqlite3 (1.7.2-x86_64-linux-gnu)

GEM
  remote: https://user:s3cret@gems.contribsys.com/
  specs:
    sidekiq-pro (7.2.0)

PLATFORMS
  x86_64-linux-gnu

DEPENDENCIES
  forked!
  mine!
  rails (~> 7.2.0.beta2)
  sidekiq-pro!
  sqlite3

CHECKSUMS
  forked (0.3.0)
  rack (3.0.9) sha256=%(a)s
  rails (7.2.0.beta2) sha256=%(b)s
  sidekiq-pro (7.2.0) sha256=%(c)s
  sqlite3 (1.7.2-x86_64-linux-gnu) sha256=%(d)s

BUNDLED WITH
   2.5.11
""" % {k: k * 64 for k in "abcd"}


def test_git_path_and_other_servers_are_notes_and_their_checksums_stay():
    made = standins_of.standins({"Gemfile": b'source "https://rubygems.org"\n', "Gemfile.lock": LOCK.encode()})
    assert sorted((g["name"], g["version"], g.get("platform")) for g in made.definition["gems"]) == [
        ("rack", "3.0.9", None), ("rails", "7.2.0.beta2", None), ("sqlite3", "1.7.2", "x86_64-linux-gnu")]
    rails_gem = next(g for g in made.definition["gems"] if g["name"] == "rails")
    assert rails_gem["dependencies"] == {"rack": ">= 2.2.4, < 4"}
    notes = "\n".join(made.notes)
    assert "gems from git https://github.com/acme/forked.git (forked)" in notes and "bundler-git-source" in notes
    assert "gems from path ../shared (shared): outside the project" in notes
    assert "path . (mine)" not in notes  # the project's own gemspec: in the build's copy
    assert "gems from https://gems.contribsys.com/ (sidekiq-pro): another gem server" in notes
    assert "s3cret" not in notes
    after = made.rewritten["Gemfile.lock"].decode()
    assert f"sidekiq-pro (7.2.0) sha256={'c' * 64}" in after and "  forked (0.3.0)\n" in after
    assert "a" * 64 not in after and "b" * 64 not in after and "d" * 64 not in after


@pytest.mark.parametrize("gems_rb", [False, True])
def test_a_path_gem_the_build_copy_lacks_is_named(tmp_path, gems_rb):
    """`path: vendor/mylib` (under a directory the copy skips) or a path not in the project: Bundler stops with
    "The path ... does not exist" in the build, so a note says why, with a lock and without."""
    gemfile = b'source "https://rubygems.org"\ngem "mylib", path: "vendor/mylib"\ngem "other", path: "libs/other"\n'
    lock = LOCK.replace("PATH\n  remote: .\n", "PATH\n  remote: vendor/mylib\n").encode()
    names = ("gems.rb", "gems.locked") if gems_rb else ("Gemfile", "Gemfile.lock")
    (tmp_path / names[0]).write_bytes(gemfile)
    (tmp_path / "vendor" / "mylib").mkdir(parents=True)
    (tmp_path / "vendor" / "mylib" / "mylib.gemspec").write_text("Gem::Specification.new\n")
    (tmp_path / names[1]).write_bytes(lock)
    with_lock = "\n".join(project.load(tmp_path).summary()["notes"])
    assert ("gems from path vendor/mylib (mine): in vendor/, which the build's copy leaves out (build output or "
            "tool directory); Bundler stops there") in with_lock, with_lock
    (tmp_path / names[1]).unlink()
    without = "\n".join(project.load(tmp_path).summary()["notes"])
    assert "gems from path vendor/mylib (mylib): in vendor/, which the build's copy leaves out" in without, without
    assert "gems from path libs/other (other): not in the project as read; Bundler stops there" in without, without


def test_a_prerelease_is_listed_as_rubygems_lists_prereleases():
    made = standins_of.standins({"Gemfile": b"", "Gemfile.lock": LOCK.encode()})
    built = content.with_standins([made])
    prerelease = gzip.decompress(built.static["rubygems.org/prerelease_specs.4.8.gz"])
    released = gzip.decompress(built.static["rubygems.org/specs.4.8.gz"])
    assert b"7.2.0.beta2" in prerelease and b"7.2.0.beta2" not in released


def test_crlf_and_a_byte_order_mark_are_kept():
    text = ("\ufeff" + LOCK).replace("\n", "\r\n").encode()
    made = standins_of.standins({"Gemfile": b"", "Gemfile.lock": text})
    after = made.rewritten["Gemfile.lock"]
    assert after.startswith(b"\xef\xbb\xbf") and after.count(b"\r\n") == text.count(b"\r\n")
    assert len(after) == len(text) and b"a" * 64 not in after


def test_a_lock_of_other_platforms_only_is_named():
    lock = LOCK.replace("PLATFORMS\n  x86_64-linux-gnu\n", "PLATFORMS\n  arm64-darwin-23\n  x64-mingw-ucrt\n")
    notes = "\n".join(standins_of.standins({"Gemfile": b"", "Gemfile.lock": lock.encode()}).notes)
    assert "PLATFORMS has neither ruby nor a Linux platform (arm64-darwin-23, x64-mingw-ucrt)" in notes
    assert "PLATFORMS" not in "\n".join(standins_of.standins({"Gemfile": b"", "Gemfile.lock": LOCK.encode()}).notes)


def test_a_lock_without_checksums_is_not_rewritten():
    lock = LOCK.split("CHECKSUMS")[0] + "BUNDLED WITH\n   2.3.15\n"
    assert standins_of.standins({"Gemfile": b"", "Gemfile.lock": lock.encode()}).rewritten == {}


GEMFILE = b'''# frozen_string_literal: true
source "https://rubygems.org"
git_source(:github) { |repo| "https://github.com/#{repo}.git" }
ruby file: ".ruby-version"

gem "rails", "~> 7.1.3", ">= 7.1.3.2" # a comment with "quotes"
gem 'sidekiq-pro', source: "https://user:secret@gems.contribsys.com/"
gem "puma", :require => false
source "https://gems.vendor.example" do
  gem "vendor-gem"
end
group :development do
  gem "web-console", "> 4.0"
  gem "mine", path: "../mine"
  gem "foo", github: "acme/foo", branch: "main"
  gem "bar", git: "https://gitlab.com/acme/bar.git"
end
platforms :windows do
  gem "wdm", ">= 0.1.0", "< 0.2"
end
gem "tzinfo-data", platforms: %i[ windows jruby ]
'''


def test_a_gemfile_alone_gets_one_allowed_version_per_gem():
    made = standins_of.standins({"Gemfile": GEMFILE})
    assert made.definition == {"gems": [
        {"name": "rails", "version": "7.1.3.2"}, {"name": "puma", "version": "1.0.0"},
        {"name": "web-console", "version": "4.0.1"}, {"name": "wdm", "version": "0.1.0"},
        {"name": "tzinfo-data", "version": "1.0.0"}]}
    notes = "\n".join(made.notes)
    assert "ruby the one in .ruby-version" in notes
    assert "gem sidekiq-pro: from https://gems.contribsys.com/" in notes and "secret" not in notes
    assert "gem vendor-gem: from https://gems.vendor.example" in notes
    assert "gem mine path: ../mine: outside the project" in notes
    assert "gem foo github: acme/foo" in notes and "gem bar git: https://gitlab.com/acme/bar.git" in notes
    assert notes.count("platform windows is Bundler 2.5's name") == 2
    assert "no Gemfile.lock" in notes


def test_a_gemfile_s_requirements_on_the_next_line_or_in_an_array_are_read():
    """`gem "rails",` with its requirement on the line below, `gem "pg", [">= 1.1", "< 2"]` and an upper bound alone,
    as Bundler's DSL reads them (found by a sweep: rails and pg got 1.0.0, sprockets < 4 nothing); one string of two
    requirements is named, since RubyGems refuses it."""
    made = standins_of.standins({"Gemfile": b'source "https://rubygems.org"\ngem "rails",\n    "~> 7.0.4"\n'
                                            b'gem "pg", [">= 1.1", "< 2"]\ngem "sprockets", "< 4" # old\n'
                                            b'gem "puma", ">= 5.0, < 7"\n'})
    assert made.definition["gems"] == [{"name": "rails", "version": "7.0.4"}, {"name": "pg", "version": "1.1"},
                                       {"name": "sprockets", "version": "3"}, {"name": "puma", "version": "5.0"}]
    assert any("gem puma '>= 5.0, < 7': one string of two requirements" in note for note in made.notes)


def test_a_plain_http_source_is_named():
    made = standins_of.standins({"Gemfile": b"source 'http://rubygems.org'\ngem 'rake'\n"})
    assert any("not https" in note for note in made.notes)


# --- malformed input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("lock, message", [
    (b"GEM\n  remote: https://rubygems.org/\n  specs:\n    rack 3.0.9\n",
     r"Gemfile\.lock: line 4: 'rack 3\.0\.9' is not a spec"),
    (b"GEM\n  remote: https://rubygems.org/\n  specs:\n      rack (>= 1)\n",
     r"Gemfile\.lock: line 4: .*not a dependency line"),
    (b"GEM\n  specs:\n    rack (3.0.9)\n      rack (>= one)\n",
     r"Gemfile\.lock: line 4: '>= one' is not a gem requirement"),
    (b"GEM\n  specs:\n    ../x (1.0)\n", r"Gemfile\.lock: line 3: '\.\./x \(1\.0\)' is not a spec"),
    (b"GEM\n  specs:\n    x (1.0/../..)\n", r"Gemfile\.lock: line 3"),
    (b"hello\n", r"Gemfile\.lock: no GEM, GIT or PATH section"),
    (b"\xff\xfe", r"Gemfile\.lock: not UTF-8"),
])
def test_malformed_locks_are_errors_naming_the_file(lock, message):
    with pytest.raises(UserError, match=message):
        standins_of.standins({"Gemfile": b"", "Gemfile.lock": lock})


def test_a_malformed_project_is_an_error_naming_the_project(tmp_path):
    (tmp_path / "Gemfile").write_text('gem "x", "~> one"\n')
    with pytest.raises(UserError, match=r"--project .*: Gemfile: line 1: '~> one' is not a gem requirement"):
        project.load(tmp_path)


# --- the grammars: gem versions, platforms, requirements ----------------------------------------------------

segments = st.one_of(st.integers(0, 40).map(str), st.from_regex(r"(pre|rc|beta)[0-9]?", fullmatch=True))
versions = st.builds(lambda first, rest: ".".join([str(first), *rest]), st.integers(0, 30),
                     st.lists(segments, max_size=3))
names = st.from_regex(r"[a-z][a-z0-9_]{0,6}(-[a-z0-9]{1,4})?", fullmatch=True)
platforms = st.sampled_from([None, "x86_64-linux", "x86_64-linux-gnu", "aarch64-linux-musl", "arm64-darwin", "java",
                             "x64-mingw-ucrt"])
requirements = st.lists(st.tuples(st.sampled_from(["=", ">=", "~>", "<", "!=", ">"]), versions), max_size=2)


@given(st.lists(st.tuples(names, versions, platforms, st.lists(st.tuples(names, requirements), max_size=2)),
                min_size=1, max_size=4, unique_by=lambda g: (g[0], g[1], g[2])))
def test_any_lock_is_stood_in_and_its_checksums_match_the_generated_gems(gems):
    specs = checks = ""
    for name, version, platform, dependencies in gems:
        full = f"{version}-{platform}" if platform else version
        specs += f"    {name} ({full})\n" + "".join(
            f"      {dep}" + (f" ({', '.join(f'{op} {v}' for op, v in req)})" if req else "") + "\n"
            for dep, req in dict(dependencies).items())
        checks += f"  {name} ({full}) sha256={'0' * 64}\n"
    lock = f"GEM\n  remote: https://rubygems.org/\n  specs:\n{specs}\nCHECKSUMS\n{checks}"
    made = standins_of.standins({"Gemfile": b"", "Gemfile.lock": lock.encode()})
    assert len(made.definition["gems"]) == len(gems)
    digests = re.findall(r"sha256=([0-9a-f]{64})", made.rewritten["Gemfile.lock"].decode())
    assert digests == [hashlib.sha256(generator.gem_file(g)).hexdigest() for g in made.definition["gems"]]
    for gem, (name, version, platform, dependencies) in zip(made.definition["gems"], gems):
        assert (gem["name"], gem["version"], gem.get("platform")) == (name, version, platform)
        assert set(gem.get("dependencies", {})) == {dep for dep, _ in dependencies}
        assert generator.gemspec_yaml(gem).decode().count("\nplatform: ") == 1


@given(st.lists(st.tuples(st.sampled_from(["=", ">=", "~>", "<", "!=", ">"]), versions), min_size=1, max_size=2))
def test_a_picked_version_meets_every_requirement_or_there_is_none(requirement):
    clauses = [f"{op} {v}" for op, v in requirement]
    picked = standins_of.pick_version([", ".join(clauses)], "Gemfile")
    if picked is not None:
        assert all(standins_of._satisfies(picked, clause) for clause in clauses)
    else:
        assert any(op in ("<", "!=") for op, _ in requirement) or len(requirement) > 1
    if len(requirement) == 1 and requirement[0][0] == "<" and re.fullmatch(r"[0-9.]*[1-9][0-9.]*", requirement[0][1]):
        assert picked is not None  # below any bound but 0: Bundler takes the highest there is (found by a sweep)


@pytest.mark.parametrize("version, clause, expected", [
    ("1.0", "= 1.0.0", True), ("7.1.3.2", "~> 7.1.3", True), ("7.2.0", "~> 7.1.3", False), ("2.9", "~> 2.0", True),
    ("3.0", "~> 2.0", False), ("1.0.0.rc1", "< 1.0.0", True), ("1.0.0.rc1", ">= 1.0.0", False),
    ("10.0", "> 9.9.9", True)])
def test_versions_compare_as_rubygems_compares_them(version, clause, expected):
    assert standins_of._satisfies(version, clause) is expected


def test_a_version_yaml_would_read_as_a_number_is_quoted():
    assert "  version: '1.0'\n" in generator.gemspec_yaml({"name": "x", "version": "1.0"}).decode()
    assert "  version: 2.1.0\n" in generator.gemspec_yaml({"name": "x", "version": "2.1.0"}).decode()


def test_gemfile_blocks_give_their_gems_their_source_git_or_path():
    """Without a lock, a gem's origin comes from the blocks around it: `source URL do` (an `if ... end` inside
    does not close it), `git URL do`, `github "org/repo" do`, `path "dir" do`, and a git_source(:name) option."""
    gemfile = (b'source "https://rubygems.org"\n'
               b'git_source(:corp) do |repo|\n  "https://git.corp.example/#{repo}.git"\nend\n'
               b'source "https://gems.contribsys.com/" do\n  if ENV["PRO"]\n    gem "sidekiq-ent"\n  end\n'
               b'  gem "sidekiq-pro"\nend\n'
               b'git "https://github.com/rails/rails.git" do\n  gem "activesupport"\nend\n'
               b'github "acme/internal" do\n  gem "acme-auth"\nend\n'
               b'path "engines" do\n  gem "billing"\nend\n'
               b'gem "acme-audit", corp: "acme/audit"\n'
               b'gem "rack", "3.0.8" if true\n'
               b'gem "rails", "7.1.0"\n')
    made = standins_of.standins({"Gemfile": gemfile})
    assert sorted(g["name"] for g in made.definition["gems"]) == ["rack", "rails"]
    notes = "\n".join(made.notes)
    assert "gem sidekiq-pro: from https://gems.contribsys.com/, not stood in" in notes
    assert "gem activesupport git: https://github.com/rails/rails.git" in notes
    assert "gem acme-auth github: acme/internal" in notes and "gem acme-audit git: acme/audit" in notes


def test_a_source_bundler_computes_is_noted_and_a_custom_github_source_is_named_once():
    """`source ENV.fetch(...) do` names no URL the stand-ins can follow: its gems are stood in on rubygems.org and
    a note says so; `gem "pg", github: ...` under a git_source(:github) of the Gemfile's own is one note, not a
    second one naming a `git:` the Gemfile does not have."""
    gems, notes = standins_of.read_gemfile('source ENV.fetch("GEM_SOURCE", "https://gems.acme.example") do\n  gem "acme"\n'
                                        'end\ngit_source(:github) { |repo| "https://github.com/#{repo}.git" }\n'
                                        'gem "pg", github: "ged/ruby-pg"\n')
    assert any("line 1: a source Bundler computes" in note for note in notes), notes
    assert standins_of._gemfile_notes(gems, {}) == ["gem pg github: ged/ruby-pg: not stood in; Bundler clones it from the code "
                                             "host (leak cause bundler-git-source)"]


def test_gems_rb_is_what_bundler_reads_before_a_gemfile(tmp_path):
    """Bundler.default_gemfile finds gems.rb (its lock gems.locked) before Gemfile: a project with both builds
    gems.rb's gems, and one with only gems.rb is a Bundler project (it was 'no project file')."""
    (tmp_path / "gems.rb").write_text('source "https://rubygems.org"\ngem "rack", "3.0.8"\n')
    (tmp_path / "Gemfile").write_text('source "https://rubygems.org"\ngem "sinatra", "4.0.0"\n')
    made = standins_of.standins(dict(project.read_tree(tmp_path)))
    assert [(g["name"], g["version"]) for g in made.definition["gems"]] == [("rack", "3.0.8")]
    assert made.notes[0].startswith("gems.rb: what Bundler reads (before a Gemfile)") and "Gemfile not read" in made.notes[0]
    (tmp_path / "Gemfile").unlink()
    assert project.load(tmp_path).builds == (("rubygems", BUNDLE),)
