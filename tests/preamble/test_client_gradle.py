"""Gradle runs the init script the preamble wrote: build-script and plugin repositories replaced by the mirror."""

import shutil

import pytest

from loopback_mirror import assert_fetched_with_credentials, HOSTILE_PASSWORD, HOSTILE_USER, RecordingServer, Route, apply_preamble, basic_header, run_client, write_config

pytestmark = pytest.mark.skipif(shutil.which("gradle") is None, reason="Gradle is not installed (.ci/run installs it)")
POM = b"""<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>com.example</groupId><artifactId>tiny</artifactId><version>1.0</version></project>"""
BUILD = """
repositories { mavenCentral(); jcenter(); maven { url 'http://127.0.0.2:9/maven2' } }
configurations { deps }
dependencies { deps 'com.example:tiny:1.0' }
task resolve { doLast { configurations.deps.files.each { println "RESOLVED " + it.name } } }
"""


def test_gradle_resolves_through_the_mirror(network, tmp_path):
    server = RecordingServer(expected_authorization=basic_header(HOSTILE_USER, HOSTILE_PASSWORD)).start(network)
    server.routes["/gradle/com/example/tiny/1.0/tiny-1.0.pom"] = Route(POM, "text/xml")
    server.routes["/gradle/com/example/tiny/1.0/tiny-1.0.jar"] = Route(b"PK\x05\x06" + b"\0" * 18)
    try:
        config = write_config(tmp_path / "config", {
            "pkg-gradle-url": server.url + "/gradle/",
            "pkg-gradle-username": HOSTILE_USER,
            "pkg-gradle-password": HOSTILE_PASSWORD,
        })
        # Gradle, like Maven, takes its home from Java's user.home (the passwd entry) unless GRADLE_USER_HOME is set.
        gradle_home = tmp_path / "home" / ".gradle"
        env = apply_preamble("buildpack", config, tmp_path / "home", {"GRADLE_USER_HOME": str(gradle_home)})
        project = tmp_path / "app"
        project.mkdir()
        (project / "build.gradle").write_text(BUILD)
        (project / "settings.gradle").write_text("rootProject.name = 'app'\n")
        done = run_client(network, ["gradle", "--no-daemon", "-q", "resolve"], env, cwd=project, timeout=300)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        assert "RESOLVED tiny-1.0.jar" in done.stdout
        assert_fetched_with_credentials(server, "/gradle/com/example/tiny/1.0/tiny-1.0.jar", done.stdout + done.stderr)
    finally:
        server.stop()


def test_gradle_plugins_resolve_through_the_mirror(network, tmp_path):
    server = RecordingServer(expected_authorization=basic_header(HOSTILE_USER, HOSTILE_PASSWORD)).start(network)
    try:
        config = write_config(tmp_path / "config", {"pkg-gradle-url": server.url + "/gradle/",
                                                    "pkg-gradle-username": HOSTILE_USER, "pkg-gradle-password": HOSTILE_PASSWORD})
        gradle_home = tmp_path / "home" / ".gradle"
        env = apply_preamble("ballerina", config, tmp_path / "home", {"GRADLE_USER_HOME": str(gradle_home)})
        project = tmp_path / "app"
        project.mkdir()
        (project / "build.gradle").write_text("plugins { id 'com.example.hello' version '1.0' }\n")
        done = run_client(network, ["gradle", "--no-daemon", "-q", "help"], env, cwd=project, timeout=300)
        # The mirror has no such plugin, so the build fails; the marker was looked up there, not at plugins.gradle.org.
        marker = "/gradle/com/example/hello/com.example.hello.gradle.plugin/1.0/com.example.hello.gradle.plugin-1.0.pom"
        assert marker in [r.path for r in server.authenticated()], done.stderr[-2000:]
        assert "plugins.gradle.org" not in done.stderr
    finally:
        server.stop()
