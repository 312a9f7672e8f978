"""Composer reads back the config the preamble wrote: packagist.org disabled, the mirror with http-basic."""

import json
import shutil

import pytest
from hypothesis import given

from loopback_mirror import assert_reached_mirror, credentials, generated_mirror, mirror_urls, realclient_settings, scratch_directory
from loopback_mirror import assert_fetched_with_credentials, HOSTILE_PASSWORD, HOSTILE_USER, RecordingServer, Route, apply_preamble, basic_header, run_client, write_config

pytestmark = pytest.mark.skipif(shutil.which("composer") is None, reason="Composer is not installed (.ci/run installs it)")


def test_composer_uses_the_mirror_only(network, tmp_path):
    server = RecordingServer(expected_authorization=basic_header(HOSTILE_USER, HOSTILE_PASSWORD)).start(network)
    server.routes["/composer/packages.json"] = Route(json.dumps({"packages": [], "metadata-url": "/composer/p2/%package%.json"}).encode(), "application/json")
    server.routes["/composer/p2/example/tiny.json"] = Route(json.dumps({"packages": {"example/tiny": [
        {"name": "example/tiny", "version": "1.0.0", "version_normalized": "1.0.0.0", "type": "library",
         "dist": {"type": "zip", "url": f"{server.url}/composer/dist/tiny.zip"}}]}}).encode(), "application/json")
    try:
        config = write_config(tmp_path / "config", {
            "pkg-composer-url": server.url + "/composer",
            "pkg-composer-username": HOSTILE_USER,
            "pkg-composer-password": HOSTILE_PASSWORD,
        })
        env = apply_preamble("buildpack", config, tmp_path / "home")
        env["COMPOSER_NO_INTERACTION"] = "1"
        repositories = json.loads(run_client(network, ["composer", "config", "-g", "repositories"], env, cwd=tmp_path).stdout)
        # Composer's effective view: the mirror only (without the preamble it lists packagist.org).
        assert repositories == {"proxy-config": {"type": "composer", "url": server.url + "/composer"}}

        project = tmp_path / "app"
        project.mkdir()
        (project / "composer.json").write_text("{}")
        done = run_client(network, ["composer", "show", "--all", "--format=json", "example/tiny"], env, cwd=project)
        assert done.returncode == 0, done.stdout + done.stderr
        assert json.loads(done.stdout)["name"] == "example/tiny"
        assert_fetched_with_credentials(server, "/composer/p2/example/tiny.json", done.stdout + done.stderr)
    finally:
        server.stop()


@realclient_settings()
@given(mirror=mirror_urls("composer"), user=credentials("composer", "username"), password=credentials("composer", "password"))
def test_composer_reaches_any_accepted_mirror_url_with_any_accepted_credentials(network, mirror, user, password):
    """Property (c) for Composer: host case, [::1], default port written or not, any accepted path, credentials of
    any accepted characters (JSON-quoted into auth.json's http-basic by the preamble)."""
    check_composer(network, mirror, user, password)


def check_composer(network, mirror, user, password):
    expected = basic_header(user, password)
    with scratch_directory() as tmp, generated_mirror(network, mirror, expected) as server:
        # metadata-url is a path on the repository's host: the prefix as written, then Composer's template.
        metadata = mirror.path.rstrip("/") + "/p2/%package%.json"
        server.routes[mirror.under("packages.json")] = Route(json.dumps({"packages": [], "metadata-url": metadata}).encode(), "application/json")
        server.routes[mirror.under("p2/example/tiny.json")] = Route(json.dumps({"packages": {"example/tiny": [
            {"name": "example/tiny", "version": "1.0.0", "version_normalized": "1.0.0.0", "type": "library",
             "dist": {"type": "zip", "url": mirror.url(server).rstrip("/") + "/dist/tiny.zip"}}]}}).encode(), "application/json")
        config = write_config(tmp / "config", {"pkg-composer-url": mirror.url(server), "pkg-composer-username": user,
                                               "pkg-composer-password": password})
        env = apply_preamble("buildpack", config, tmp / "home")
        env["COMPOSER_NO_INTERACTION"] = "1"
        project = tmp / "app"
        project.mkdir()
        (project / "composer.json").write_text("{}")
        done = run_client(network, ["composer", "show", "--all", "--format=json", "example/tiny"], env, cwd=project)
        assert done.returncode == 0, (mirror.url(server), done.stdout[-2000:] + done.stderr[-2000:])
        assert json.loads(done.stdout)["name"] == "example/tiny"
        assert_reached_mirror(server, mirror, expected, ["packages.json", "p2/example/tiny.json"], done.stdout + done.stderr)
