"""gem and Bundler read back what the preamble wrote: the mirror as the only gem source and as Bundler's rubygems.org mirror."""

import functools
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given

from loopback_mirror import MirrorUrl, assert_reached_mirror, credentials, generated_mirror, mirror_urls, realclient_settings, scratch_directory
from loopback_mirror import assert_fetched_with_credentials, HOSTILE_PASSWORD, HOSTILE_USER, RecordingServer, Route, apply_preamble, basic_header, run_client, write_config

pytestmark = pytest.mark.skipif(shutil.which("gem") is None or shutil.which("bundle") is None,
                                reason="RubyGems/Bundler are not installed (.ci/run installs them)")
GEMSPEC = 'Gem::Specification.new { |s| s.name = "tiny"; s.version = "1.0.0"; s.summary = "tiny"; s.authors = ["t"]; s.files = [] }\n'


@pytest.fixture
def gem_mirror(network, tmp_path_factory):
    """A static gem repository (gem build + gem generate_index) served under /gems/."""
    root = tmp_path_factory.mktemp("gem-repo")
    (root / "src").mkdir()
    (root / "src/tiny.gemspec").write_text(GEMSPEC)
    subprocess.run(["gem", "build", "tiny.gemspec"], cwd=root / "src", check=True, capture_output=True)
    (root / "repo/gems").mkdir(parents=True)
    (root / "src/tiny-1.0.0.gem").rename(root / "repo/gems/tiny-1.0.0.gem")
    subprocess.run(["gem", "generate_index", "-d", str(root / "repo")], check=True, capture_output=True)
    server = RecordingServer(expected_authorization=basic_header(HOSTILE_USER, HOSTILE_PASSWORD)).start(network)
    for path in (root / "repo").rglob("*"):
        if path.is_file():
            server.routes["/gems/" + str(path.relative_to(root / "repo"))] = Route(path.read_bytes())
    yield server
    server.stop()


def rubygems_env(tmp_path, server) -> dict:
    config = write_config(tmp_path / "config", {
        "pkg-rubygems-url": server.url + "/gems/",
        "pkg-rubygems-username": HOSTILE_USER,
        "pkg-rubygems-password": HOSTILE_PASSWORD,
    })
    return apply_preamble("buildpack", config, tmp_path / "home")


def test_gem_fetches_from_the_mirror_only(network, tmp_path, gem_mirror):
    env = rubygems_env(tmp_path, gem_mirror)
    sources = run_client(network, ["gem", "sources", "--list"], env).stdout.split("\n")
    listed = [line for line in sources if line.startswith("http")]
    assert len(listed) == 1 and listed[0].endswith(f"@127.0.0.1:{gem_mirror.port}/gems/"), sources
    done = run_client(network, ["gem", "fetch", "tiny"], env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "tiny-1.0.0.gem").exists()
    assert_fetched_with_credentials(gem_mirror, "/gems/gems/tiny-1.0.0.gem", done.stdout + done.stderr)


def test_bundler_mirrors_rubygems_org(network, tmp_path, gem_mirror):
    env = rubygems_env(tmp_path, gem_mirror)
    project = tmp_path / "app"
    project.mkdir()
    (project / "Gemfile").write_text('source "https://rubygems.org"\ngem "tiny"\n')
    mirror = run_client(network, ["bundle", "config", "get", "mirror.https://rubygems.org/"], env, cwd=project).stdout
    assert f"@127.0.0.1:{gem_mirror.port}/gems/" in mirror
    done = run_client(network, ["bundle", "lock"], env, cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "tiny (1.0.0)" in (project / "Gemfile.lock").read_text()
    assert gem_mirror.authenticated() and all(r.basic == (HOSTILE_USER, HOSTILE_PASSWORD) for r in gem_mirror.authenticated())
    assert HOSTILE_PASSWORD not in done.stdout + done.stderr


@functools.cache
def gem_repository_files() -> dict[str, bytes]:
    """The static gem repository of `gem_mirror` (gem build + gem generate_index), built once: path -> bytes."""
    with tempfile.TemporaryDirectory(prefix="airgap-gem-repo-") as name:
        root = Path(name)
        (root / "src").mkdir()
        (root / "src/tiny.gemspec").write_text(GEMSPEC)
        subprocess.run(["gem", "build", "tiny.gemspec"], cwd=root / "src", check=True, capture_output=True)
        (root / "repo/gems").mkdir(parents=True)
        (root / "src/tiny-1.0.0.gem").rename(root / "repo/gems/tiny-1.0.0.gem")
        subprocess.run(["gem", "generate_index", "-d", str(root / "repo")], check=True, capture_output=True)
        return {str(path.relative_to(root / "repo")): path.read_bytes() for path in (root / "repo").rglob("*") if path.is_file()}


@realclient_settings()
@given(mirror=mirror_urls("rubygems"), user=credentials("rubygems", "username"), password=credentials("rubygems", "password"))
def test_gem_and_bundler_reach_any_accepted_mirror_url_with_any_accepted_credentials(network, mirror, user, password):
    """Property (c) for gem and Bundler: host case, [::1], default port written or not, any accepted path with
    or without a trailing '/', credentials of any accepted characters (percent-encoded user-info in .gemrc and
    Bundler's mirror)."""
    check_gem_and_bundler(network, mirror, user, password)


def test_gem_keeps_the_last_path_segment_without_a_trailing_slash(network):
    """gem resolves the .gem URL against its source as RFC 3986 merges (source http://HOST/a/b would fetch
    /a/gems/...): the preamble writes a directory-base URL with its '/' (grammar.yaml clients)."""
    check_gem_and_bundler(network, MirrorUrl("http", "127.0.0.1", "other", "/a/b"), "y", "r")


@pytest.mark.parametrize("user, password", [("builder", "pa+ss"), ("a+b", "x+y+z%")])
def test_a_plus_in_the_url_s_own_user_info_reaches_the_mirror_as_a_plus(network, user, password):
    """gem and Bundler decode a URL's user-info as a form does ('+' a space): the preamble writes a '+' there as
    %2B (found by a sweep: both sent 'pa ss' and got 401)."""
    check_gem_and_bundler(network, MirrorUrl("http", "127.0.0.1", "other", "/gems/"), user, password, in_url=True)


def check_gem_and_bundler(network, mirror, user, password, in_url=False):
    expected = basic_header(user, password)
    with scratch_directory() as tmp, generated_mirror(network, mirror, expected) as server:
        for relative, data in gem_repository_files().items():
            server.routes[mirror.under(relative)] = Route(data)
        if in_url:  # the credentials in the URL's own user-info, RFC 3986 style: a '+' as itself
            scheme, _, rest = mirror.url(server).partition("://")
            userinfo = f"{quote(user, safe='+')}:{quote(password, safe='+')}"
            config = write_config(tmp / "config", {"pkg-rubygems-url": f"{scheme}://{userinfo}@{rest}"})
        else:
            config = write_config(tmp / "config", {"pkg-rubygems-url": mirror.url(server), "pkg-rubygems-username": user,
                                                   "pkg-rubygems-password": password})
        env = apply_preamble("buildpack", config, tmp / "home")
        done = run_client(network, ["gem", "fetch", "tiny"], env, cwd=tmp)
        assert done.returncode == 0, ("gem", mirror.url(server), done.stdout[-2000:] + done.stderr[-2000:])
        assert (tmp / "tiny-1.0.0.gem").exists()
        assert_reached_mirror(server, mirror, expected, ["gems/tiny-1.0.0.gem"], done.stdout + done.stderr)

        server.requests.clear()
        project = tmp / "app"
        project.mkdir()
        (project / "Gemfile").write_text('source "https://rubygems.org"\ngem "tiny"\n')
        done = run_client(network, ["bundle", "lock"], env, cwd=project)
        assert done.returncode == 0, ("bundle", mirror.url(server), done.stdout[-2000:] + done.stderr[-2000:])
        assert "tiny (1.0.0)" in (project / "Gemfile.lock").read_text()
        assert_reached_mirror(server, mirror, expected, [], done.stdout + done.stderr)
        assert server.authenticated(), [r.path for r in server.requests]
