"""Stand-ins for a customer's Maven project (harness/customer/maven.py): every dependency, parent, BOM and plugin
its poms name, the copy's pom with them as build extensions, the wrapper's distribution and its pinned hash."""

import difflib
import hashlib
import io
import re
import zipfile

import pytest
from hypothesis import given, settings, strategies as st

from harness.customer import maven
from harness.customer.project import load
from harness.infra import paths
from harness.infra.errors import UserError
from harness.stack import content

PROJECTS = paths.fixtures_dir() / "projects"
CENTRAL = "repo.maven.apache.org/maven2"


def files_of(name: str) -> dict[str, bytes]:
    return dict(load(PROJECTS / name).files)


def pom(body: str, head: str = "<groupId>com.example</groupId><artifactId>app</artifactId><version>1.0</version>",
        ) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
            f"  <modelVersion>4.0.0</modelVersion>\n  {head}\n{body}</project>\n").encode()


def deps(*gavs: str) -> str:
    listed = ""
    for gav in gavs:
        group, artifact, *version = gav.split(":")
        version_xml = f"<version>{version[0]}</version>" if version else ""
        listed += f"    <dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>{version_xml}</dependency>\n"
    return f"  <dependencies>\n{listed}  </dependencies>\n"


def gavs(standins) -> set[str]:
    return {f"{a['group']}:{a['artifact']}:{a['version']}" for a in standins.definition.get("maven", [])}


def item(standins, gav: str) -> dict:
    return next(a for a in standins.definition["maven"] if f"{a['group']}:{a['artifact']}:{a['version']}" == gav)


@pytest.fixture(scope="module")
def spring():
    loaded = load(PROJECTS / "maven-spring-like")
    return loaded, loaded.standins[0], content.with_standins(loaded.standins)


def test_the_spring_like_project_stands_in_for_every_dependency_parent_bom_and_plugin(spring):
    loaded, standins, _ = spring
    assert loaded.builds == (("maven", "mvn ${GOOGLE_BUILD_ARGS:-} -B -C -Dmaven.repo.local=/tmp/m2 validate"),)
    assert gavs(standins) == {
        "org.springframework.boot:spring-boot-dependencies:2.7.18", "com.fasterxml.jackson:jackson-bom:2.15.3",
        "com.fasterxml.jackson.core:jackson-databind:2.15.3", "jakarta.validation:jakarta.validation-api:2.0.2",
        "org.springframework.boot:spring-boot-starter-web:2.7.18",
        "org.springframework.boot:spring-boot-starter-actuator:2.7.18",
        "org.springframework.boot:spring-boot-starter-test:2.7.18", "com.google.guava:guava:32.1.3-jre",
        "org.postgresql:postgresql:42.7.1", "org.projectlombok:lombok:1.18.30",
        "org.apache.maven.plugins:maven-enforcer-plugin:3.4.1", "org.apache.maven.plugins:maven-checkstyle-plugin:3.3.1",
        "com.puppycrawl.tools:checkstyle:10.12.5", "org.springframework.boot:spring-boot-maven-plugin:2.7.18"}
    # the reactor's own module (shop-api, ${project.version}) is no stand-in; BOMs manage what they are assigned
    assert item(standins, "com.fasterxml.jackson:jackson-bom:2.15.3")["managed"] == [
        "com.fasterxml.jackson.core:jackson-databind:2.15.3"]
    assert item(standins, "org.springframework.boot:spring-boot-dependencies:2.7.18")["packaging"] == "pom"
    assert any("spring-boot-dependencies:2.7.18 (BOM outside the project) manages" in n for n in standins.notes)


def test_the_copy_lists_them_as_build_extensions_and_changes_nothing_else(spring):
    loaded, standins, _ = spring
    original = (PROJECTS / "maven-spring-like" / "pom.xml").read_bytes()
    copy = standins.rewritten["pom.xml"]
    extensions = re.findall(rb"<extension><groupId>([^<]+)</groupId><artifactId>([^<]+)</artifactId>"
                            rb"<version>([^<]+)</version></extension>", copy)
    assert {b":".join(e).decode() for e in extensions} == gavs(standins) - {
        "org.springframework.boot:spring-boot-dependencies:2.7.18", "com.fasterxml.jackson:jackson-bom:2.15.3"}
    # remove what was added (the extensions block) and the validate binding undone: the customer's bytes
    added = re.search(rb"    <extensions>\n.*?</extensions>\n", copy, re.S).group()
    assert copy.replace(added, b"").replace(b"<phase>none</phase>", b"<phase>validate</phase>") == original
    assert loaded.rewritten == ("pom.xml",)
    assert dict(loaded.copy())["shop-api/pom.xml"] == (PROJECTS / "maven-spring-like/shop-api/pom.xml").read_bytes()


def test_every_standin_is_served_on_central_with_its_checksums(spring):
    _, standins, served = spring
    for entry in standins.definition["maven"]:
        base = f"{CENTRAL}/{entry['group'].replace('.', '/')}/{entry['artifact']}/{entry['version']}/" \
               f"{entry['artifact']}-{entry['version']}"
        data = served.static[f"{base}.pom"]
        assert served.static[f"{base}.pom.sha1"] == hashlib.sha1(data).hexdigest().encode()
        for managed in entry.get("managed", []):
            group, artifact, version = managed.split(":")
            assert f"<groupId>{group}</groupId><artifactId>{artifact}</artifactId><version>{version}</version>" \
                   in data.decode()
        if entry.get("packaging") != "pom":
            jar = zipfile.ZipFile(io.BytesIO(served.static[f"{base}.jar"]))
            if entry.get("packaging") == "maven-plugin":
                assert b"<goal>" in jar.read("META-INF/maven/plugin.xml") or entry["artifact"] == "checkstyle"


def test_the_wrapper_project_pins_the_served_distribution_and_reaches_central_for_it():
    loaded = load(PROJECTS / "maven-wrapper")
    [standins] = loaded.standins
    assert loaded.builds == (("maven", "sh ./mvnw ${GOOGLE_BUILD_ARGS:-} -B -C -Dmaven.repo.local=/tmp/m2 validate"),)
    served = content.with_standins(loaded.standins)
    url_path = "/maven2/org/apache/maven/apache-maven/3.9.9/apache-maven-3.9.9-bin.zip"
    zip_data = served.static["repo.maven.apache.org" + url_path]
    assert "apache-maven-3.9.9/bin/mvn" in zipfile.ZipFile(io.BytesIO(zip_data)).namelist()
    original = (PROJECTS / "maven-wrapper/.mvn/wrapper/maven-wrapper.properties").read_bytes()
    copy = standins.rewritten[maven.WRAPPER_PROPERTIES]
    assert f"distributionSha256Sum={hashlib.sha256(zip_data).hexdigest()}".encode() in copy
    assert re.sub(rb"distributionSha256Sum=\w+", b"", copy) == re.sub(rb"distributionSha256Sum=\w+", b"", original)
    # the parent outside the project manages the starters' versions and the Boot plugin's, at its own version
    parent = item(standins, "org.springframework.boot:spring-boot-starter-parent:3.2.1")
    assert parent["managed"] == ["org.springframework.boot:spring-boot-starter-test:3.2.1",
                                 "org.springframework.boot:spring-boot-starter-web:3.2.1"]
    assert parent["managed_plugins"] == ["org.springframework.boot:spring-boot-maven-plugin:3.2.1"]
    assert "<pluginManagement>" in served.static[
        f"{CENTRAL}/org/springframework/boot/spring-boot-starter-parent/3.2.1/spring-boot-starter-parent-3.2.1.pom"
    ].decode()


def test_a_distribution_that_static_yaml_serves_keeps_its_bytes_and_gets_their_hash():
    properties = (b"distributionUrl=https\\://repo.maven.apache.org/maven2/org/apache/maven/apache-maven/3.9.6/"
                  b"apache-maven-3.9.6-bin.zip\r\ndistributionSha256Sum=00\r\n")
    made = maven.standins({"pom.xml": pom(""), maven.WRAPPER_PROPERTIES: properties})
    assert made.elsewhere == {}  # static.yaml has it (the fixture Maven project's wrapper, fixtures/content/maven.yaml)
    served = content.build().static[
        "repo.maven.apache.org/maven2/org/apache/maven/apache-maven/3.9.6/apache-maven-3.9.6-bin.zip"]
    assert made.rewritten[maven.WRAPPER_PROPERTIES] == properties.replace(
        b"=00\r", f"={hashlib.sha256(served).hexdigest()}\r".encode())


@pytest.mark.parametrize("port, stood_in", [("", True), (":443", True), (":8443", False)])
def test_a_distribution_on_its_schemes_port_is_stood_in_for(port, stood_in):
    """An explicit default port names the same server (a sweep saw https://host:443/ refused as "not on port 443")."""
    url = f"https://nexus.corp.example{port}/repository/maven/org/apache/maven/apache-maven/3.9.6/apache-maven-3.9.6-bin.zip"
    made = maven.standins({"pom.xml": pom(""), maven.WRAPPER_PROPERTIES: f"distributionUrl={url}\n".encode()})
    hosts = {entry["host"] for entry in made.elsewhere.get("files", [])}
    assert (hosts == {"nexus.corp.example"}) is stood_in, made.notes
    assert any("not a plain http(s) URL on its scheme's port" in note for note in made.notes) is not stood_in, made.notes


def test_properties_come_from_the_pom_its_parents_in_the_project_and_maven_config():
    files = {
        "pom.xml": pom("  <modules><module>app</module></modules>\n  <properties><lib.version>2.0</lib.version>"
                       "<other>${lib.version}</other></properties>\n",
                       "<groupId>g</groupId><artifactId>parent</artifactId><version>${revision}</version>"
                       "<packaging>pom</packaging>"),
        "app/pom.xml": pom(deps("org.a:one:${other}", "org.a:two:${revision}", "org.a:three:${project.version}"),
                           "<parent><groupId>g</groupId><artifactId>parent</artifactId><version>${revision}</version>"
                           "</parent><artifactId>app</artifactId>"),
        ".mvn/maven.config": b"-B -Drevision=7.1 --no-transfer-progress\n"}
    made = maven.standins(files)
    assert gavs(made) == {"org.a:one:2.0", "org.a:two:7.1", "org.a:three:7.1"}


@pytest.mark.parametrize("relative", ["<relativePath>..</relativePath>", "<relativePath>../</relativePath>",
                                      "<relativePath>../pom.xml</relativePath>", ""])
def test_a_parent_at_the_project_root_is_read_whatever_its_relative_path_names(relative):
    """A relativePath naming a directory stands for its pom.xml, the project's root directory too."""
    files = {"pom.xml": pom("  <modules><module>core</module></modules>\n  <properties><guava.version>32.1.3-jre"
                            "</guava.version></properties>\n",
                            "<groupId>com.example</groupId><artifactId>root</artifactId><version>1.0</version>"
                            "<packaging>pom</packaging>"),
             "core/pom.xml": pom(deps("com.google.guava:guava:${guava.version}"),
                                 f"<parent><groupId>com.example</groupId><artifactId>root</artifactId><version>1.0"
                                 f"</version>{relative}</parent><artifactId>core</artifactId>")}
    assert gavs(maven.standins(files)) == {"com.google.guava:guava:32.1.3-jre"}


def test_the_dependencies_of_a_lifecycle_plugin_written_without_a_version_are_stood_in_for():
    made = maven.standins({"pom.xml": pom(
        "  <build><plugins><plugin><artifactId>maven-surefire-plugin</artifactId><dependencies><dependency>"
        "<groupId>org.junit.platform</groupId><artifactId>junit-platform-surefire-provider</artifactId>"
        "<version>1.3.2</version></dependency></dependencies></plugin></plugins></build>\n")})
    assert gavs(made) == {"org.junit.platform:junit-platform-surefire-provider:1.3.2"}


def test_what_cannot_be_stood_in_for_is_a_note_not_a_silent_drop():
    made = maven.standins({"pom.xml": pom(
        deps("org.a:unversioned", "org.a:ranged:[1.0,2.0)", "org.a:snap:1.0-SNAPSHOT", "org.a:unknown:${nowhere}")
        + "  <profiles><profile><id>x</id><dependencies><dependency><groupId>org.a</groupId><artifactId>p</artifactId>"
          "<version>1</version></dependency></dependencies></profile></profiles>\n"
        + "  <modules><module>missing</module><module>../outside</module></modules>\n")})
    assert gavs(made) == set()
    text = "\n".join(made.notes)
    for expected in ("org.a:unversioned: no version", "a version range", "a SNAPSHOT", "a property the project does "
                     "not define", "its other <profiles>", "missing/pom.xml: a module", "../outside: a module"):
        assert expected in text
    assert "pom.xml" not in made.rewritten  # nothing to add


def test_system_scope_classifiers_and_pom_types_are_said():
    body = ("  <dependencies>\n"
            "    <dependency><groupId>a</groupId><artifactId>sys</artifactId><version>1</version><scope>system</scope>"
            "<systemPath>/opt/x.jar</systemPath></dependency>\n"
            "    <dependency><groupId>a</groupId><artifactId>nat</artifactId><version>1</version>"
            "<classifier>linux</classifier></dependency>\n"
            "    <dependency><groupId>a</groupId><artifactId>agg</artifactId><version>1</version><type>pom</type>"
            "</dependency>\n  </dependencies>\n")
    made = maven.standins({"pom.xml": pom(body)})
    assert gavs(made) == {"a:agg:1"} and item(made, "a:agg:1")["packaging"] == "pom"
    text = "\n".join(made.notes)
    assert "scope system" in text and "a:nat:1:linux (jar)" in text and "a:agg:1" in text


def test_core_extensions_and_pom_build_extensions_are_stood_in_for():
    made = maven.standins({
        "pom.xml": pom("  <build><extensions><extension><groupId>kr.motd.maven</groupId>"
                       "<artifactId>os-maven-plugin</artifactId><version>1.7.1</version></extension></extensions>"
                       "</build>\n"),
        ".mvn/extensions.xml": b"<extensions><extension><groupId>com.gradle</groupId><artifactId>gradle-enterprise-"
                               b"maven-extension</artifactId><version>1.20</version></extension></extensions>"})
    assert gavs(made) == {"kr.motd.maven:os-maven-plugin:1.7.1", "com.gradle:gradle-enterprise-maven-extension:1.20"}


@pytest.mark.parametrize("files, message", [
    ({"pom.xml": b"<project><artifactId>a</artifactId>"}, r"pom\.xml: not well-formed XML"),
    ({"pom.xml": pom("  <modules><module>m</module></modules>\n"), "m/pom.xml": b"<project>"},
     r"m/pom\.xml: not well-formed XML"),
    ({"pom.xml": b"<settings/>"}, r"pom\.xml: not a pom"),
    ({"pom.xml": pom("", "<parent><groupId>g</groupId></parent><artifactId>a</artifactId>")},
     r"pom\.xml: <parent> needs groupId"),
    ({"pom.xml": pom(""), maven.WRAPPER_PROPERTIES: b"wrapperVersion=3.3.2\n"},
     r"maven-wrapper\.properties: no distributionUrl"),
    ({"pom.xml": pom(""), maven.EXTENSIONS_XML: b"<extensions"}, r"\.mvn/extensions\.xml: not well-formed"),
])
def test_malformed_files_are_errors_naming_the_file(files, message):
    with pytest.raises(UserError, match=message):
        maven.standins(files)


def test_a_project_error_names_the_project_and_the_file(tmp_path):
    (tmp_path / "pom.xml").write_text("<project>")
    with pytest.raises(UserError, match=rf"--project {re.escape(str(tmp_path))}: pom\.xml: not well-formed"):
        load(tmp_path)


NAMES = st.from_regex(r"[a-z][a-z0-9]{0,6}(\.[a-z][a-z0-9]{0,6}){0,2}", fullmatch=True)
VERSIONS = st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}([.-](RELEASE|Final|jre|M[0-9]|rc[0-9]|beta))?",
                         fullmatch=True)


@settings(max_examples=40, deadline=None)
@given(group=NAMES, artifact=NAMES, version=VERSIONS, crlf=st.booleans(), tabs=st.booleans(),
       build=st.sampled_from(["", "  <build>\n  </build>\n", "  <build>\n    <extensions>\n    </extensions>\n  </build>\n",
                              "  <build>\n    <plugins/>\n  </build>\n"]))
def test_any_version_from_properties_is_stood_in_for_and_only_extensions_are_added(group, artifact, version, crlf,
                                                                                  tabs, build):
    body = f"  <properties><x.version>{version}</x.version></properties>\n" + deps(f"{group}:{artifact}:${{x.version}}") \
           + build
    data = pom(body)
    if tabs:
        data = data.replace(b"  ", b"\t")
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    made = maven.standins({"pom.xml": data})
    assert gavs(made) == {f"{group}:{artifact}:{version}"}
    copy = made.rewritten["pom.xml"]
    assert maven.parse_xml("pom.xml", copy).find("build/extensions/extension/version").text == version
    # whole lines inserted, in the file's line ending and indentation unit; none of the customer's changed
    before, after = data.splitlines(keepends=True), copy.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    assert {op for op, *_ in matcher.get_opcodes()} <= {"equal", "insert"}
    assert all(line.endswith(b"\r\n" if crlf else b"\n") and (b"\r" not in line[:-2]) for line in after)
    assert all(line[:1] in (b"\t" if tabs else b" ",) for line in after if line not in before)


@pytest.mark.parametrize("build", ["  <build/>\n", "  <build/>", "  <build ></build>", "  <build><extensions/></build>",
                                   "  <build>\n    <extensions />\n  </build>\n", "  <build><extensions/></build>\n"])
def test_an_empty_build_or_extensions_element_gets_its_extensions(build):
    """`<build/>` and `<extensions/>`, on a line of their own or before the next end tag: the extensions land in
    project/build/extensions, and nowhere else."""
    made = maven.standins({"pom.xml": pom(deps("a:b:1") + build)})
    root = maven.parse_xml("pom.xml", made.rewritten["pom.xml"])
    assert [e.find("artifactId").text for e in root.findall("build/extensions/extension")] == ["b"]
    assert root.findall(".//extension") == root.findall("build/extensions/extension")
    assert len(root.findall(".//extensions")) == 1 and len(root.findall(".//build")) == 1


@settings(max_examples=30, deadline=None)
@given(versions=st.lists(VERSIONS, min_size=1, max_size=5, unique=True))
def test_any_versions_of_one_artifact_are_laid_out_with_their_metadata(versions):
    from harness.stack.content.maven import layout
    tree = layout([{"group": "org.a", "artifact": "x", "version": v} for v in versions])
    metadata = tree["org/a/x/maven-metadata.xml"].decode()
    assert all(f"<version>{v}</version>" in metadata for v in versions)


def test_a_settings_file_named_in_maven_config_is_noted():
    """`-s FILE` in .mvn/maven.config replaces the user settings.xml the preamble writes: its mirrors win."""
    made = maven.standins({"pom.xml": pom(""), ".mvn/maven.config": b"-B --settings=.mvn/settings.xml -gs '/etc/m2.xml'\n"})
    assert (".mvn/maven.config: --settings .mvn/settings.xml: Maven reads that settings file instead of the user "
            "settings.xml the preamble writes: its mirrors and servers apply to the build") in made.notes
    assert any(note.startswith(".mvn/maven.config: -gs /etc/m2.xml: Maven reads that settings file as its global")
               for note in made.notes)
    assert not any("maven.config" in note for note in maven.standins({"pom.xml": pom(""),
                                                                    ".mvn/maven.config": b"-Drevision=1\n"}).notes)
    # the file in a directory the build's copy leaves out, or not in the project: Maven stops on it
    made = maven.standins({"pom.xml": pom(""), ".mvn/maven.config": b"-s .m2/repository/settings.xml -gs ci/m2.xml\n"})
    assert (".mvn/maven.config: -s .m2/repository/settings.xml: in .m2/repository/, which the build's copy leaves out "
            "(build output or tool directory): Maven stops on the missing file") in made.notes
    assert ".mvn/maven.config: -gs ci/m2.xml: not in the project as read: Maven stops on the missing file" in made.notes


def test_java_properties_are_read_as_java_reads_them_and_no_line_is_refused_or_quoted():
    """gradle.properties and the wrappers' .properties: a value continued over lines (org.gradle.jvmargs, a
    signing key), a key without a value and escapes are valid Java properties; they were refused with the line
    quoted back, a signing key's text included (found by a project sweep)."""
    data = (b"# comment\n! comment too\norg.gradle.jvmargs=-Dfile.encoding=UTF-8 \\\n    -Xmx4g\n"
            b"signingKey=mQINBSecretPart1\\\r\n  SecretPart2\\\\\nkeyonly\nspaced key\\ x : v\\u0041\\t.\n"
            b"distributionUrl=https\\://services.gradle.org/x.zip\nlast=end\\")
    assert maven.properties("gradle.properties", data) == {
        "org.gradle.jvmargs": "-Dfile.encoding=UTF-8 -Xmx4g", "signingKey": "mQINBSecretPart1SecretPart2\\",
        "keyonly": "", "spaced": "key x : vA\t.",
        "distributionUrl": "https://services.gradle.org/x.zip", "last": "end"}
    continued = b"distributionUrl=https\\://a.example/\\\n   b.zip\nx=1\n"
    assert maven.with_property(continued, "distributionUrl", "https://m.example/c.zip") == b"distributionUrl=https://m.example/c.zip\nx=1\n"
    escaped = b"distributionSha256Sum=ab\\\\\ndistributionUrl=https://x/y.zip\n"  # an escaped '\', no continuation
    assert maven.with_property(escaped, "distributionSha256Sum", "NEW") == b"distributionSha256Sum=NEW\ndistributionUrl=https://x/y.zip\n"


def test_a_settings_file_maven_config_names_has_its_mirrors_named_and_no_contradicting_note():
    """-s settings.xml in .mvn/maven.config replaces the preamble's settings: its mirrors are named (a token in
    their URL masked), and the repositories note no longer says the preamble's mirrorOf * reads them (found by
    a project sweep: the two notes contradicted each other)."""
    settings = (b"<settings><mirrors><mirror><id>all</id><mirrorOf>*,!jitpack</mirrorOf>"
                b"<url>https://ci:S3cretQQ@nexus.corp.example.com/m2/</url></mirror></mirrors></settings>")
    made = maven.standins({"pom.xml": pom("  <repositories><repository><id>jitpack</id><url>https://jitpack.io</url>"
                                          "</repository></repositories>\n"),
                           ".mvn/maven.config": b"-s settings.xml -B", "settings.xml": settings})
    notes = "\n".join(made.notes)
    assert "settings.xml: mirror all of *,!jitpack -> https://nexus.corp.example.com/m2/" in notes
    assert "its mirrors decide where they are read" in notes and "mirrorOf * reads every" not in notes
    assert "S3cretQQ" not in notes


PROFILE = ("<profile><id>{id}</id>{activation}<dependencies><dependency><groupId>org.a</groupId><artifactId>{id}"
           "</artifactId><version>1</version></dependency></dependencies><build><plugins><plugin><groupId>org.p</groupId>"
           "<artifactId>{id}-plugin</artifactId><version>2</version></plugin></plugins></build></profile>")
ON = "<activation><activeByDefault>true</activeByDefault></activation>"


@pytest.mark.parametrize("profiles, expected", [
    ([("on", ON)], {"org.a:on:1", "org.p:on-plugin:2"}),
    ([("on", ON), ("off", "")], {"org.a:on:1", "org.p:on-plugin:2"}),
    # its own properties apply (Maven merges an active profile's <properties> over the pom's)
    ([("on", ON + "<properties><v>3.1</v></properties>")], {"org.a:on:1", "org.p:on-plugin:2", "org.b:prop:3.1"}),
    # another profile's activation may apply here (a JDK, a property): it would turn the default one off
    ([("on", ON), ("jdk", "<activation><jdk>17</jdk></activation>")], set()),
])
def test_a_profile_active_by_default_has_its_dependencies_and_plugins_stood_in_for(profiles, expected):
    """Maven activates an activeByDefault profile when no other profile of the pom is activated: its
    dependencies and plugins are fetched like the pom's own (they were noted as never applying)."""
    body = "  <profiles>" + "".join(PROFILE.format(id=name, activation=activation) for name, activation in profiles)
    uses = "<v>" in body and deps("org.b:prop:${v}") or ""
    made = maven.standins({"pom.xml": pom(uses + body + "</profiles>\n")})
    assert gavs(made) == expected
    assert any(("active (by default" if expected else "its other <profiles>") in note for note in made.notes), made.notes


def test_repositories_of_profiles_are_named_with_the_others():
    """An activeByDefault profile's repositories are fetched from too: they were left out (found by a project sweep)."""
    made = maven.standins({"pom.xml": pom(
        "  <profiles><profile><id>p</id><activation><activeByDefault>true</activeByDefault></activation>"
        "<repositories><repository><id>c</id><url>https://packages.confluent.io/maven/</url></repository></repositories>"
        "<pluginRepositories><pluginRepository><id>s</id><url>https://u:S3cretQQ@repo.spring.io/plugins/</url>"
        "</pluginRepository></pluginRepositories></profile></profiles>\n")})
    note = next(n for n in made.notes if n.startswith("repositories the poms declare"))
    assert "https://packages.confluent.io/maven/" in note and "https://repo.spring.io/plugins/" in note
    assert "S3cretQQ" not in note


def module_head(artifact: str, parent: str = "root", relative: str = "") -> str:
    return (f"<parent><groupId>com.example</groupId><artifactId>{parent}</artifactId><version>1.0</version>{relative}"
            f"</parent><artifactId>{artifact}</artifactId>")


def test_a_bom_and_a_parent_of_the_reactor_are_read_from_the_project_wherever_they_lie():
    """Maven takes a parent or an imported BOM from the reactor before any repository: a parent module that is
    not at the relativePath (the aggregator is there), a BOM module imported by another (found by a sweep: both
    were stood in for, their managed versions lost)."""
    root = "<groupId>com.example</groupId><artifactId>root</artifactId><version>1.0</version><packaging>pom</packaging>"
    files = {
        "pom.xml": pom("  <modules><module>parent</module><module>bom</module><module>app</module></modules>\n", root),
        "parent/pom.xml": pom("  <properties><guava.version>32.1.3-jre</guava.version></properties>\n"
                              "  <dependencyManagement><dependencies><dependency><groupId>com.example</groupId>"
                              "<artifactId>bom</artifactId><version>1.0</version><type>pom</type><scope>import</scope>"
                              "</dependency></dependencies></dependencyManagement>\n",
                              "<groupId>com.example</groupId><artifactId>parent</artifactId><version>1.0</version>"
                              "<packaging>pom</packaging>"),
        "bom/pom.xml": pom("  <properties><jackson.version>2.15.3</jackson.version></properties>\n"
                           "  <dependencyManagement><dependencies><dependency><groupId>com.fasterxml.jackson.core</groupId>"
                           "<artifactId>jackson-databind</artifactId><version>${jackson.version}</version></dependency>"
                           "</dependencies></dependencyManagement>\n", module_head("bom")),
        "app/pom.xml": pom(deps("com.google.guava:guava:${guava.version}", "com.fasterxml.jackson.core:jackson-databind"),
                           module_head("app", parent="parent"))}
    made = maven.standins(files)
    assert gavs(made) == {"com.google.guava:guava:32.1.3-jre", "com.fasterxml.jackson.core:jackson-databind:2.15.3"}


def test_profiles_maven_config_turns_on_and_modules_of_an_active_profile_are_read():
    """-P in .mvn/maven.config turns a profile on (and the activeByDefault ones off); an active profile's
    <modules> are part of the reactor, so an inter-module dependency on one is not stood in for."""
    root = "<groupId>com.example</groupId><artifactId>root</artifactId><version>1.0</version><packaging>pom</packaging>"
    files = {
        "pom.xml": pom("  <modules><module>app</module></modules>\n  <properties><lib.version>1.0.0</lib.version>"
                       "</properties>\n  <profiles><profile><id>ci</id><properties><lib.version>2.0.0</lib.version>"
                       "</properties>" + deps("org.extra:extra:3.0") + "</profile><profile><id>all</id><activation>"
                       "<activeByDefault>true</activeByDefault></activation><modules><module>lib</module></modules>"
                       "</profile></profiles>\n", root),
        "app/pom.xml": pom(deps("org.lib:lib:${lib.version}", "com.example:lib:1.0"), module_head("app")),
        "lib/pom.xml": pom(deps("org.slf4j:slf4j-api:2.0.9"), module_head("lib"))}
    assert gavs(maven.standins(files)) == {"org.lib:lib:1.0.0", "org.slf4j:slf4j-api:2.0.9"}
    with_ci = maven.standins({**files, ".mvn/maven.config": b"-B -Pci\n"})  # `all` is off then: lib is no module
    assert gavs(with_ci) == {"org.lib:lib:2.0.0", "org.extra:extra:3.0", "com.example:lib:1.0"}
    both = maven.standins({**files, ".mvn/maven.config": b"--activate-profiles=ci,all,!nothing\n"})
    assert gavs(both) == {"org.lib:lib:2.0.0", "org.extra:extra:3.0", "org.slf4j:slf4j-api:2.0.9"}
