"""Maven reads back the settings.xml the preamble wrote: every repository mirrored, hostile password intact; and
the project's Maven wrapper downloads its Maven from the mirror with the preamble's MVNW_* hand-off."""

import shutil
from urllib.parse import quote

import pytest
from hypothesis import given

from harness.contract.grammar import Kind
from harness.stack.content.archives import zip_bytes
from helpers import FIXTURES
from loopback_mirror import MirrorUrl, assert_client_limit, assert_reached_mirror, credentials, generated_mirror, mirror_urls, realclient_settings, scratch_directory
from loopback_mirror import HOSTILE_PASSWORD, HOSTILE_USER, RecordingServer, Route, apply_preamble, basic_header, run_client, with_userinfo, write_config

pytestmark = pytest.mark.skipif(shutil.which("mvn") is None, reason="Maven is not installed (.ci/run installs it)")
PASSWORD = HOSTILE_PASSWORD + " {braced} \\{x\\}"
PARENT = b"""<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>com.example</groupId><artifactId>parent</artifactId><version>1.0</version><packaging>pom</packaging></project>"""
PROJECT = """<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<parent><groupId>com.example</groupId><artifactId>parent</artifactId><version>1.0</version><relativePath/></parent>
<artifactId>app</artifactId>
<repositories><repository><id>central-again</id><url>http://127.0.0.2:9/maven2</url></repository></repositories>
</project>"""


def test_maven_resolves_through_the_mirror_with_a_hostile_password(network, tmp_path):
    server = RecordingServer(expected_authorization=basic_header(HOSTILE_USER, PASSWORD)).start(network)
    server.routes["/maven/com/example/parent/1.0/parent-1.0.pom"] = Route(PARENT, "text/xml")
    try:
        config = write_config(tmp_path / "config", {
            "pkg-maven-url": server.url + "/maven/",
            "pkg-maven-username": HOSTILE_USER,
            "pkg-maven-password": PASSWORD,
        })
        home = tmp_path / "home"
        env = apply_preamble("mi", config, home)
        # Java takes user.home from the passwd entry, not $HOME (docs/preamble.md); point it at the test HOME.
        env["MAVEN_OPTS"] = f"-Duser.home={home}"
        project = tmp_path / "app"
        project.mkdir()
        (project / "pom.xml").write_text(PROJECT)
        done = run_client(network, ["mvn", "-B", "validate"], env, cwd=project)
        assert done.returncode == 0, done.stdout[-3000:]
        parent = [r for r in server.authenticated() if r.path.endswith("parent-1.0.pom")]
        assert parent and parent[0].basic == (HOSTILE_USER, PASSWORD)
        assert PASSWORD not in done.stdout + done.stderr
    finally:
        server.stop()


@realclient_settings()
@given(mirror=mirror_urls("maven"), user=credentials("maven", "username"), password=credentials("maven", "password"))
def test_maven_reaches_any_accepted_mirror_url_with_any_accepted_credentials(network, mirror, user, password):
    """Property (c) for Maven: host case, default port written or not, any accepted path, credentials of any
    characters the grammar accepts for Maven (XML-escaped into settings.xml by the preamble). What Maven cannot
    take is a client limit of the grammar, shown below with Maven failing on it."""
    check_maven(network, mirror, user, password)


def test_maven_cannot_send_credentials_to_an_ipv6_literal_mirror(network):
    """Maven 3.8.7 sends no credentials to http://[::1]:PORT/m/ (its <server> credentials never reach it): 401."""
    assert_client_limit("client-ipv6-credentials", Kind("package-proxy", "maven"), "http://[::1]:8081/m/",
                        check_maven, network, MirrorUrl("http", "[::1]", "other", "/m/"), "y", "r")


def test_maven_sends_a_url_s_user_info_as_written(network):
    """Maven sends the mirror URL's user-info without decoding it: plain text authenticates, a percent-escape
    reaches the mirror still escaped (bu%40corp, not bu@corp), so the mirror answers 401 (found by a sweep)."""
    mirror = MirrorUrl("http", "127.0.0.1", "other", "/m/")
    check_maven(network, mirror, "builder", "pw", True)
    assert_client_limit("client-userinfo-escape", Kind("package-proxy", "maven"), "http://bu%40corp:pw@127.0.0.1/m/",
                        check_maven, network, mirror, "bu@corp", "pw", True)


def check_maven(network, mirror, user, password, userinfo=False):
    expected = basic_header(user, password)
    with scratch_directory() as tmp, generated_mirror(network, mirror, expected) as server:
        server.routes[mirror.under("com/example/parent/1.0/parent-1.0.pom")] = Route(PARENT, "text/xml")
        values = ({"pkg-maven-url": with_userinfo(mirror.url(server), user, password)} if userinfo else
                  {"pkg-maven-url": mirror.url(server), "pkg-maven-username": user, "pkg-maven-password": password})
        config = write_config(tmp / "config", values)
        home = tmp / "home"
        env = apply_preamble("mi", config, home)
        env["MAVEN_OPTS"] = f"-Duser.home={home}"
        project = tmp / "app"
        project.mkdir()
        (project / "pom.xml").write_text(PROJECT)
        done = run_client(network, ["mvn", "-B", "validate"], env, cwd=project)
        assert done.returncode == 0, (mirror.url(server), done.stdout[-3000:])
        assert_reached_mirror(server, mirror, expected, ["com/example/parent/1.0/parent-1.0.pom"], done.stdout + done.stderr)


# --- the Maven wrapper (./mvnw: fixtures/projects/maven-wrapper/mvnw, curl underneath) -------------------------

DISTRIBUTION = "org/apache/maven/apache-maven/3.9.6/apache-maven-3.9.6-bin.zip"
PROPERTIES = f"distributionType=only-script\ndistributionUrl=https://repo.maven.apache.org/maven2/{DISTRIBUTION}\n"


def check_wrapper(network, mirror: MirrorUrl, values: dict, expected: str | None):
    """./mvnw under the preamble's environment fetches distributionUrl's Maven from the mirror (MVNW_REPOURL),
    with the configured credentials (MVNW_USERNAME, MVNW_PASSWORD), and runs it."""
    maven = zip_bytes({"apache-maven-3.9.6/bin/mvn": b"#!/bin/sh\necho \"the wrapper's maven: $*\"\n"})
    with scratch_directory() as tmp, generated_mirror(network, mirror, expected) as server:
        server.routes[mirror.under(DISTRIBUTION)] = Route(maven, "application/zip")
        config = write_config(tmp / "config", {key: (value(server) if callable(value) else value) for key, value in values.items()})
        home = tmp / "home"
        env = apply_preamble("buildpack", config, home)
        project = tmp / "app"
        (project / ".mvn/wrapper").mkdir(parents=True)
        (project / ".mvn/wrapper/maven-wrapper.properties").write_text(PROPERTIES)
        shutil.copy(FIXTURES / "projects/maven-wrapper/mvnw", project / "mvnw")
        done = run_client(network, ["sh", "./mvnw", "-B", "validate"], env, cwd=project)
        output = done.stdout + done.stderr
        assert done.returncode == 0 and "the wrapper's maven: -B validate" in done.stdout, (mirror.url(server), output[-3000:])
        assert_reached_mirror(server, mirror, expected, [DISTRIBUTION], output)
        if expected:
            assert env["MVNW_PASSWORD"] not in output


@realclient_settings()
@given(mirror=mirror_urls("maven"), user=credentials("maven", "username"), password=credentials("maven", "password"))
def test_the_maven_wrapper_downloads_from_any_accepted_mirror_with_any_accepted_credentials(network, mirror, user, password):
    check_wrapper(network, mirror, {"pkg-maven-url": mirror.url, "pkg-maven-username": user, "pkg-maven-password": password},
                  basic_header(user, password))


def test_the_maven_wrapper_takes_a_urls_own_user_info_decoded_and_never_in_the_url(network):
    """pkg-maven-url with user-info (a warning, url-credentials): MVNW_REPOURL without it, the credentials
    percent-decoded into MVNW_USERNAME/MVNW_PASSWORD, so no curl or wget command line carries them."""
    user, password = "build user@corp", "p%w:/x"
    mirror = MirrorUrl("http", "127.0.0.1", "other", "/maven/")
    userinfo = f"{quote(user, safe='')}:{quote(password, safe='')}"
    check_wrapper(network, mirror, {"pkg-maven-url": lambda server: mirror.url(server).replace("://", f"://{userinfo}@")},
                  basic_header(user, password))


def test_the_maven_wrapper_without_credentials_downloads_from_the_mirror(network):
    mirror = MirrorUrl("http", "127.0.0.1", "other", "/repository/maven-public//")
    check_wrapper(network, mirror, {"pkg-maven-url": mirror.url}, None)


def test_an_image_s_global_mirror_of_central_does_not_take_the_build(network, tmp_path):
    """A base image's global settings.xml (`mvn -gs`, as ${maven.home}/conf/settings.xml) mirroring `central`:
    Maven takes a mirror naming the repository's id over the preamble's `*`, so central's requests went to the
    image's mirror (found by a sweep with Maven 3.8.7). The preamble mirrors `central` too, in the user's settings,
    which come first: the decoy standing for the image's mirror sees nothing."""
    server = RecordingServer(expected_authorization=basic_header(HOSTILE_USER, PASSWORD)).start(network)
    server.routes["/maven/com/example/parent/1.0/parent-1.0.pom"] = Route(PARENT, "text/xml")
    decoy = RecordingServer().start(network)
    try:
        config = write_config(tmp_path / "config", {"pkg-maven-url": server.url + "/maven/",
                                                    "pkg-maven-username": HOSTILE_USER, "pkg-maven-password": PASSWORD})
        home = tmp_path / "home"
        env = {**apply_preamble("mi", config, home), "MAVEN_OPTS": f"-Duser.home={home}"}
        global_settings = tmp_path / "global-settings.xml"
        global_settings.write_text(f"<settings><mirrors><mirror><id>corp-central</id><mirrorOf>central</mirrorOf>"
                                   f"<url>{decoy.url}/central/</url></mirror></mirrors></settings>")
        project = tmp_path / "app"
        project.mkdir()
        (project / "pom.xml").write_text(PROJECT.replace("central-again", "central"))
        done = run_client(network, ["mvn", "-B", "-gs", str(global_settings), "validate"], env, cwd=project)
        assert done.returncode == 0, done.stdout[-3000:]
        assert decoy.requests == [], [r.path for r in decoy.requests]
        assert [r for r in server.authenticated() if r.path.endswith("parent-1.0.pom")]
    finally:
        decoy.stop()
        server.stop()
