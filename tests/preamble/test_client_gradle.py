"""Gradle runs the init script the preamble wrote: build-script and plugin repositories replaced by the mirror."""

import shutil

import pytest
from hypothesis import given

from harness.contract.grammar import Kind
from loopback_mirror import MirrorUrl, assert_client_limit, assert_reached_mirror, credentials, generated_mirror, mirror_urls, realclient_settings, scratch_directory
from loopback_mirror import assert_fetched_with_credentials, HOSTILE_PASSWORD, HOSTILE_USER, RecordingServer, Route, apply_preamble, basic_header, run_client, with_userinfo, write_config

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


@realclient_settings()
@given(mirror=mirror_urls("gradle"), user=credentials("gradle", "username"), password=credentials("gradle", "password"))
def test_gradle_reaches_any_accepted_mirror_url_with_any_accepted_credentials(network, mirror, user, password):
    """Property (c) for Gradle: host case, [::1], default port written or not, any path the grammar accepts for
    gradle, credentials of any characters it accepts (Groovy-quoted into the init script by the preamble). What
    Gradle cannot take is a client limit of the grammar, each shown below with Gradle failing on it."""
    check_gradle(network, mirror, user, password)


def test_gradle_cannot_keep_an_escaped_byte_that_is_not_utf8(network):
    """Gradle 4.4.1 decodes the repository path as UTF-8: /%9e/ becomes /\ufffd/ (sent as %EF%BF%BD)."""
    assert_client_limit("client-path-escape-not-utf8", Kind("package-proxy", "gradle"), "http://127.0.0.1/%9e",
                        check_gradle, network, MirrorUrl("http", "127.0.0.1", "other", "/%9e"), "y", "r")


def test_gradle_cannot_take_a_parenthesis_in_the_path(network):
    """Gradle builds an artifact pattern from the URL (/B!*)l/[organisation]/...), where '(' ')' mark an optional
    part: "invalid end of optional part at position 4". Found by the property above."""
    assert_client_limit("client-path-parenthesis", Kind("package-proxy", "gradle"), "http://127.0.0.1/B!*)l",
                        check_gradle, network, MirrorUrl("http", "127.0.0.1", "implicit", "/B!*)l"), "*", "r")


def test_gradle_cannot_send_a_non_ascii_password(network):
    """Gradle 4.4.1 does not send a non-ASCII password as UTF-8 in the Basic header: 401."""
    assert_client_limit("client-credential-not-ascii", Kind("password", "gradle"), "é",
                        check_gradle, network, MirrorUrl("http", "127.0.0.1", "other", "/"), "y", "é")


def test_gradle_sends_no_credentials_of_a_url_s_user_info(network):
    """Gradle puts the URL in the repository as written and authenticates only with a credentials block: user-info
    credentials are never sent, and the mirror answers 401 (found by a sweep). With the keys they are."""
    mirror = MirrorUrl("http", "127.0.0.1", "other", "/g/")
    check_gradle(network, mirror, "builder", "pw")
    assert_client_limit("client-userinfo-dropped", Kind("package-proxy", "gradle"), "http://builder:pw@127.0.0.1/g/",
                        check_gradle, network, mirror, "builder", "pw", True)


def test_gradle_cannot_take_an_underscore_in_the_host(network, tmp_path):
    """Java's URI parser finds no host in mirror_x.test (a '_' is no host name character to it): Gradle asks for
    http:/g/... and reaches nothing (found by a sweep). The names resolve through a hosts file given to Java
    (jdk.net.hosts.file), which reaches the mirror for mirror-x.test."""
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 mirror-x.test mirror_x.test\n")
    java = {"JAVA_TOOL_OPTIONS": f"-Djdk.net.hosts.file={hosts}"}
    check_gradle(network, MirrorUrl("http", "mirror-x.test", "other", "/g/"), "y", "r", extra_env=java)
    assert_client_limit("client-host-underscore", Kind("package-proxy", "gradle"), "http://mirror_x.test/g/",
                        check_gradle, network, MirrorUrl("http", "mirror_x.test", "other", "/g/"), "y", "r", False, java)


def check_gradle(network, mirror, user, password, userinfo=False, extra_env=None):
    expected = basic_header(user, password)
    with scratch_directory() as tmp, generated_mirror(network, mirror, expected) as server:
        server.routes[mirror.under("com/example/tiny/1.0/tiny-1.0.pom")] = Route(POM, "text/xml")
        server.routes[mirror.under("com/example/tiny/1.0/tiny-1.0.jar")] = Route(b"PK\x05\x06" + b"\0" * 18)
        values = ({"pkg-gradle-url": with_userinfo(mirror.url(server), user, password)} if userinfo else
                  {"pkg-gradle-url": mirror.url(server), "pkg-gradle-username": user, "pkg-gradle-password": password})
        config = write_config(tmp / "config", values)
        env = apply_preamble("buildpack", config, tmp / "home", {"GRADLE_USER_HOME": str(tmp / "home" / ".gradle")})
        env.update(extra_env or {})
        project = tmp / "app"
        project.mkdir()
        (project / "build.gradle").write_text(BUILD)
        (project / "settings.gradle").write_text("rootProject.name = 'app'\n")
        done = run_client(network, ["gradle", "--no-daemon", "-q", "resolve"], env, cwd=project, timeout=300)
        assert done.returncode == 0, (mirror.url(server), done.stdout[-2000:] + done.stderr[-3000:])
        assert "RESOLVED tiny-1.0.jar" in done.stdout
        assert_reached_mirror(server, mirror, expected, ["com/example/tiny/1.0/tiny-1.0.jar"], done.stdout + done.stderr)
