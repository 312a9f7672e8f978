"""Stand-ins for a customer's Gradle build (harness/customer/gradle.py): the plugins and dependencies its scripts,
catalog and lockfiles name, served on the plugin portal; verification-metadata.xml and the wrapper's pinned hash
rewritten to the stand-ins'."""

import hashlib
import io
import re
import zipfile

import pytest
from hypothesis import given, settings, strategies as st

from harness.customer import gradle
from harness.customer.project import load
from harness.infra import paths
from harness.infra.errors import UserError
from harness.stack import content
from harness.stack.content import gradle as portal

PROJECTS = paths.fixtures_dir() / "projects"
PORTAL = "plugins.gradle.org/m2"


def artifacts(made) -> set[str]:
    return {f"{a['group']}:{a['artifact']}:{a['version']}" for a in made.definition.get("artifacts", [])}


def plugins(made) -> set[str]:
    return {f"{p['id']}:{p['version']}" for p in made.definition.get("plugins", [])}


def notes(made) -> str:
    return "\n".join(made.notes)


@pytest.fixture(scope="module")
def groovy():
    loaded = load(PROJECTS / "gradle-groovy")
    return loaded, loaded.standins[0], content.with_standins(loaded.standins)


def test_the_groovy_project_stands_in_for_every_plugin_and_dependency(groovy):
    loaded, made, _ = groovy
    assert loaded.builds[0][0] == "gradle" and "gradle ${GOOGLE_BUILD_ARGS:-} --no-daemon -q -I /tmp/airgap-resolve.gradle airgapResolve" \
        in loaded.builds[0][1]
    assert plugins(made) == {"org.springframework.boot:2.7.18", "io.spring.dependency-management:1.0.15.RELEASE",
                             "com.github.ben-manes.versions:0.51.0"}
    assert artifacts(made) == {
        "org.springframework.boot:spring-boot-starter-web:2.7.18", "com.fasterxml.jackson.core:jackson-databind:2.15.3",
        "com.google.guava:guava:32.1.3-jre", "org.projectlombok:lombok:1.18.30", "org.postgresql:postgresql:42.7.1",
        "org.springframework.boot:spring-boot-starter-test:2.7.18", "org.testcontainers:postgresql:1.19.3",
        "org.apache.commons:commons-lang3:3.14.0", "org.slf4j:slf4j-api:1.7.36",
        "com.fasterxml.jackson.core:jackson-core:2.15.3"}  # the last one only in verification-metadata.xml
    springboot = next(p for p in made.definition["plugins"] if p["id"] == "org.springframework.boot")
    assert springboot["implementation"] == "org.springframework.boot:spring-boot-gradle-plugin:2.7.18"
    assert loaded.rewritten == ("gradle/verification-metadata.xml",)


def test_plugin_jars_carry_a_plugin_class_the_build_can_apply(groovy):
    _, _, served = groovy
    base = f"{PORTAL}/org/springframework/boot/spring-boot-gradle-plugin/2.7.18/spring-boot-gradle-plugin-2.7.18"
    jar = zipfile.ZipFile(io.BytesIO(served.static[f"{base}.jar"]))
    assert jar.read("META-INF/gradle-plugins/org.springframework.boot.properties") == \
        b"implementation-class=airgap.standin.Plugin\n"
    assert jar.read("airgap/standin/Plugin.class") == portal.plugin_class()
    marker = served.static[f"{PORTAL}/org/springframework/boot/org.springframework.boot.gradle.plugin/2.7.18/"
                           "org.springframework.boot.gradle.plugin-2.7.18.pom"].decode()
    assert "<artifactId>spring-boot-gradle-plugin</artifactId><version>2.7.18</version>" in marker


def test_verification_checksums_are_those_of_the_served_files_and_nothing_else_changes(groovy):
    _, made, served = groovy
    original = (PROJECTS / "gradle-groovy/gradle/verification-metadata.xml").read_text()
    copy = made.rewritten["gradle/verification-metadata.xml"].decode()
    checked = 0
    for component in re.finditer(r'<component group="([^"]+)" name="([^"]+)" version="([^"]+)">(.*?)</component>',
                                 copy, re.S):
        group, name, version, body = component.groups()
        for file_name, value in re.findall(r'<artifact name="([^"]+)">\s*<sha256 value="(\w+)"', body):
            data = served.static.get(f"{PORTAL}/{group.replace('.', '/')}/{name}/{version}/{file_name}")
            if data is None:  # a .module file: no stand-in serves one, its line stays the customer's
                assert f'<artifact name="{file_name}">' in original and value in original
            else:
                assert value == hashlib.sha256(data).hexdigest()
                checked += 1
    assert checked == 29
    assert re.sub(r'value="\w+"', "", copy) == re.sub(r'value="\w+"', "", original)


def write_files(**texts: str) -> dict[str, bytes]:
    return {path.replace("__", "/").replace("_dot_", "."): text.encode() for path, text in texts.items()}


def test_kotlin_dsl_catalog_and_platforms_are_read_and_said():
    made = gradle.standins({
        "settings.gradle.kts": b'pluginManagement { plugins { id("org.sonarqube") version "4.4.1.3373" } }\n'
                               b'dependencyResolutionManagement { repositories { mavenCentral() } }\n',
        "build.gradle.kts": b'plugins {\n  kotlin("jvm") version "1.9.22"\n  id("org.sonarqube")\n'
                            b'  alias(libs.plugins.spring.boot)\n}\n'
                            b'val exposedVersion by extra("0.46.0")\n'
                            b'dependencies {\n  implementation(platform("org.springframework.boot:spring-boot-dependencies:3.2.1"))\n'
                            b'  implementation("org.jetbrains.exposed:exposed-core:${exposedVersion}")\n'
                            b'  implementation(libs.guava)\n'
                            b'  // implementation("com.example:commented-out:1.0")\n'
                            b'  /* testImplementation("com.example:also-commented:1.0") */\n}\n',
        "gradle/libs.versions.toml": b'[versions]\nboot = "3.2.1"\nguava = { strictly = "33.0.0-jre" }\n'
                                     b'[libraries]\nguava = { module = "com.google.guava:guava", version.ref = "guava" }\n'
                                     b'junit = "junit:junit:4.13.2"\n'
                                     b'[plugins]\nspring-boot = { id = "org.springframework.boot", version.ref = "boot" }\n'})
    assert plugins(made) == {"org.jetbrains.kotlin.jvm:1.9.22", "org.sonarqube:4.4.1.3373",
                             "org.springframework.boot:3.2.1"}
    assert artifacts(made) == {"org.springframework.boot:spring-boot-dependencies:3.2.1",
                               "org.jetbrains.exposed:exposed-core:0.46.0", "com.google.guava:guava:33.0.0-jre",
                               "junit:junit:4.13.2"}
    bom = next(a for a in made.definition["artifacts"] if a["artifact"] == "spring-boot-dependencies")
    assert bom["packaging"] == "pom"
    text = notes(made)
    for expected in ("the Kotlin DSL", "pluginManagement { plugins { } } (5.6)", "dependencyResolutionManagement (6.8)",
                     "platform() (5.0)", "version catalogs came in Gradle 7.0"):
        assert expected in text


def test_portal_plugins_in_the_org_gradle_namespace_kotlin_version_calls_and_typed_vals_are_read():
    """Gradle's core plugins are those whose namespace is empty or exactly org.gradle: `gradle init`'s
    org.gradle.toolchains.foojay-resolver-convention is a portal plugin. Kotlin writes id("x").version("y") and
    `val v: String = "1.0"`."""
    made = gradle.standins({
        "settings.gradle.kts": b'plugins { id("org.gradle.toolchains.foojay-resolver-convention") version "0.7.0" }\n',
        "build.gradle.kts": b'plugins {\n  id("org.gradle.java-library")\n  `java`\n  id("org.gradle.test-retry") version "1.5.8"\n'
                            b'  id("org.springframework.boot").version("3.2.0").apply(false)\n}\n'
                            b'val jacksonVersion: String = "2.15.3"\n'
                            b'dependencies { implementation("com.fasterxml.jackson.core:jackson-databind:$jacksonVersion") }\n',
        "app/build.gradle": b"apply plugin: 'org.gradle.test-retry'\napply plugin: 'java'\n"})
    assert plugins(made) == {"org.gradle.toolchains.foojay-resolver-convention:0.7.0", "org.gradle.test-retry:1.5.8",
                             "org.springframework.boot:3.2.0"}
    assert artifacts(made) == {"com.fasterxml.jackson.core:jackson-databind:2.15.3"}


def test_buildsrc_constants_and_kotlin_modules_are_stood_in_for():
    """The pre-catalog `object Deps { const val guava = "g:a:v" }` of buildSrc, used as Deps.guava or
    ${Versions.jackson}; kotlin("stdlib") at the Kotlin plugin's version, kotlin("reflect", "v") at its own."""
    made = gradle.standins({
        "build.gradle.kts": b'plugins { kotlin("jvm") version "1.9.22" }\ndependencies {\n  implementation(kotlin("stdlib"))\n'
                            b'  implementation(kotlin("reflect", "1.9.21"))\n  implementation(Deps.guava)\n'
                            b'  implementation("com.fasterxml.jackson.core:jackson-databind:${Versions.jackson}")\n}\n',
        "buildSrc/src/main/kotlin/Dependencies.kt": b'object Versions { const val jackson = "2.15.3" }\n'
                                                    b'object Deps { const val guava = "com.google.guava:guava:32.1.3-jre" }\n',
        "buildSrc/src/main/groovy/Libs.groovy": b"class Libs { static final String LANG = 'org.apache.commons:commons-lang3:3.14.0' }\n"})
    assert artifacts(made) == {"com.fasterxml.jackson.core:jackson-databind:2.15.3", "com.google.guava:guava:32.1.3-jre",
                               "org.jetbrains.kotlin:kotlin-reflect:1.9.21", "org.jetbrains.kotlin:kotlin-stdlib:1.9.22",
                               "org.apache.commons:commons-lang3:3.14.0"}
    assert plugins(made) == {"org.jetbrains.kotlin.jvm:1.9.22"}


def test_a_project_of_an_included_build_is_built_not_stood_in_for():
    """includeBuild (a composite build): Gradle substitutes the included build's projects for a dependency on
    their group:name; their own dependencies are fetched as any (found by a sweep: com.example:core was stood in)."""
    made = gradle.standins({
        "settings.gradle": b"rootProject.name = 'app'\nincludeBuild 'libs/core'\n",
        "build.gradle": b"dependencies {\n  implementation 'com.example:core:1.0'\n  implementation 'com.example:util:1.0'\n"
                        b"  implementation 'com.google.guava:guava:32.1.3-jre'\n}\n",
        "libs/core/settings.gradle.kts": b'include("util", ":sub:deep")\n',
        "libs/core/build.gradle": b"allprojects { group = 'com.example' }\nversion = '1.0'\n"
                                  b"dependencies { implementation 'org.slf4j:slf4j-api:2.0.9' }\n"})
    assert artifacts(made) == {"com.google.guava:guava:32.1.3-jre", "org.slf4j:slf4j-api:2.0.9"}
    assert "com.example:util:1.0: a project of the included build libs/core" in notes(made)


@pytest.mark.parametrize("settings", [
    b'dependencyResolutionManagement { versionCatalogs { create("libs") {\n  version("guava", "32.1.3-jre")\n'
    b'  library("guava", "com.google.guava", "guava").versionRef("guava")\n'
    b'  library("slf4j", "org.slf4j", "slf4j-api").version("2.0.9")\n  library("junit", "junit:junit:4.13.2")\n'
    b'  plugin("spotless", "com.diffplug.spotless").version("6.22.0")\n} } }\n',
    b"dependencyResolutionManagement { versionCatalogs { libs {\n  version('guava', '32.1.3-jre')\n"
    b"  library('guava', 'com.google.guava', 'guava').versionRef('guava')\n"
    b"  library('slf4j', 'org.slf4j', 'slf4j-api').version('2.0.9')\n  library('junit', 'junit:junit:4.13.2')\n"
    b"  plugin('spotless', 'com.diffplug.spotless').version('6.22.0')\n} } }\n"])
def test_a_version_catalog_built_in_settings_is_read_as_libs_versions_toml_is(settings):
    """versionCatalogs { create("libs") { ... } } (Groovy: libs { ... }): its libraries stood in for, its plugins
    known to alias(libs.plugins...) (found by a sweep: all dropped, and the alias said not in the catalog)."""
    name = "settings.gradle.kts" if b'"' in settings else "settings.gradle"
    made = gradle.standins({name: settings, "build.gradle.kts": b"plugins { alias(libs.plugins.spotless) }\n"})
    assert artifacts(made) == {"com.google.guava:guava:32.1.3-jre", "org.slf4j:slf4j-api:2.0.9", "junit:junit:4.13.2"}
    assert plugins(made) == {"com.diffplug.spotless:6.22.0"} and "not in gradle/libs.versions.toml" not in notes(made)


def test_a_strict_version_shorthand_is_the_version_gradle_takes():
    """`1.0!!` is strictly 1.0; `[2.0,3.0[!!2.0.9` a strict range preferring 2.0.9 (they were noted as ranges)."""
    made = gradle.standins({"build.gradle": b"dependencies {\n  implementation 'com.google.guava:guava:32.1.3-jre!!'\n"
                                            b"  implementation 'org.slf4j:slf4j-api:[2.0,3.0[!!2.0.9'\n}\n"})
    assert artifacts(made) == {"com.google.guava:guava:32.1.3-jre", "org.slf4j:slf4j-api:2.0.9"}


def test_groovy_forms_variables_and_lockfiles():
    made = gradle.standins({
        "gradle.properties": b"kotlinVersion=1.9.0\nlibVersion = 2.0\n",
        "build.gradle": b"buildscript {\n  ext.versions = [retrofit: '2.9.0', okhttp: \"4.12.0\"]\n"
                        b"  dependencies { classpath \"org.jetbrains.kotlin:kotlin-gradle-plugin:$kotlinVersion\" }\n}\n"
                        b"apply plugin: 'kotlin'\napply plugin: 'com.example.legacy'\n"
                        b"dependencies {\n"
                        b"  implementation \"com.squareup.retrofit2:retrofit:${versions.retrofit}\"\n"
                        b"  implementation group: 'com.squareup.okhttp3', name: 'okhttp', version: versions.okhttp\n"
                        b"  implementation(group: \"org.lib\", name: \"lib\", version: \"${project.libVersion}\")\n"
                        b"  implementation 'org.single:quoted:$notInterpolated'\n"
                        b"  implementation 'org.dyn:dynamic:1.+'\n"
                        b"  implementation \"org.unknown:var:${nowhere}\"\n"
                        b"  implementation 'org.nover:noversion'\n"
                        b"  implementation 'org.cls:native:1.0:linux-x86_64'\n"
                        b"  implementation project(':core')\n"
                        b"}\napply from: 'https://raw.githubusercontent.com/x/y/main/z.gradle'\n",
        "app/gradle.lockfile": b"# This is a Gradle generated file for dependency locking.\n"
                               b"com.squareup.okio:okio:3.6.0=compileClasspath,runtimeClasspath\nempty=\n"})
    assert artifacts(made) == {"org.jetbrains.kotlin:kotlin-gradle-plugin:1.9.0", "com.squareup.retrofit2:retrofit:2.9.0",
                               "com.squareup.okhttp3:okhttp:4.12.0", "org.lib:lib:2.0", "com.squareup.okio:okio:3.6.0"}
    classpath = next(a for a in made.definition["artifacts"] if a["artifact"] == "kotlin-gradle-plugin")
    assert classpath["plugins"] == ["com.example.legacy"]  # `apply plugin:` finds it on the classpath stand-in
    text = notes(made)
    for expected in ("org.single:quoted:$notInterpolated: a variable", "org.dyn:dynamic:1.+: a dynamic version",
                     "org.unknown:var:${nowhere}: a variable", "org.nover:noversion: no version",
                     "native:1.0:linux-x86_64: a classifier", "apply from: https://raw.githubusercontent.com"):
        assert expected in text


def test_a_plugin_without_a_known_implementation_gets_a_made_up_one_with_a_note():
    made = gradle.standins({"build.gradle": b"plugins { id 'com.acme.build' version '2.1' }\n"})
    [plugin] = made.definition["plugins"]
    assert plugin["implementation"] == "airgap.standin:com.acme.build:2.1"
    assert "com.acme.build: the implementation its marker names is not known here" in notes(made)


def test_the_wrapper_distribution_is_served_and_its_hash_pinned():
    properties = (b"distributionBase=GRADLE_USER_HOME\ndistributionPath=wrapper/dists\n"
                  b"distributionUrl=https\\://services.gradle.org/distributions/gradle-8.5-bin.zip\n"
                  b"distributionSha256Sum=9d926787066a081739e8200858338b4a69e837c3a821a33aca9db09dd4a41026\n"
                  b"networkTimeout=10000\nzipStoreBase=GRADLE_USER_HOME\n")
    made = gradle.standins({"build.gradle": b"", "gradlew": b"#!/bin/sh\n", gradle.WRAPPER_PROPERTIES: properties})
    [entry] = made.elsewhere["files"]
    assert (entry["host"], entry["path"]) == ("services.gradle.org", "/distributions/gradle-8.5-bin.zip")
    served = content.with_standins([made]).static["services.gradle.org/distributions/gradle-8.5-bin.zip"]
    assert made.rewritten[gradle.WRAPPER_PROPERTIES] == re.sub(
        rb"distributionSha256Sum=\w+", f"distributionSha256Sum={hashlib.sha256(served).hexdigest()}".encode(),
        properties)
    assert "gradlew without gradle/wrapper/gradle-wrapper.jar" in notes(made)


def test_the_wrapper_of_a_version_static_yaml_serves_is_pinned_to_those_bytes():
    properties = b"distributionUrl=https://services.gradle.org/distributions/gradle-8.7-bin.zip\ndistributionSha256Sum=ab\n"
    made = gradle.standins({"build.gradle": b"", gradle.WRAPPER_PROPERTIES: properties})
    served = content.build().static["services.gradle.org/distributions/gradle-8.7-bin.zip"]
    assert made.elsewhere == {}
    assert made.rewritten[gradle.WRAPPER_PROPERTIES].endswith(f"={hashlib.sha256(served).hexdigest()}\n".encode())


@pytest.mark.parametrize("files, message", [
    ({"build.gradle": b"\xff\xfe"}, r"build\.gradle: not UTF-8"),
    ({"build.gradle": b"", "gradle/libs.versions.toml": b"[versions\n"}, r"libs\.versions\.toml: not TOML"),
    ({"build.gradle": b"", "gradle/libs.versions.toml": b"[libraries]\nx = 3\n"}, r"libraries\.x: not group"),
    ({"build.gradle": b"", "gradle.lockfile": b"a:b=c\n"}, r"gradle\.lockfile: line 1: not group:artifact:version"),
    ({"build.gradle": b"", gradle.VERIFICATION: b"<verification-metadata>"}, r"verification-metadata\.xml: not "
                                                                             r"well-formed"),
    ({"build.gradle": b"", gradle.VERIFICATION: b"<project/>"}, r"verification-metadata\.xml: not Gradle"),
    ({"build.gradle": b"", "gradle/libs.versions.toml": b'[libraries]\nx = { module = "g:a", version = { strictly = 5 } }\n'},
     r"libs\.versions\.toml: libraries\.x: strictly is not a string"),
    ({"build.gradle": b"", "gradle/libs.versions.toml": b"[versions]\nv = { require = 1 }\n"},
     r"libs\.versions\.toml: versions\.v: require is not a string"),
    ({"build.gradle": b"", gradle.WRAPPER_PROPERTIES: b"zipStoreBase=x\n"}, r"gradle-wrapper\.properties: no "
                                                                            r"distributionUrl"),
])
def test_malformed_files_are_errors_naming_the_file(files, message):
    with pytest.raises(UserError, match=message):
        gradle.standins(files)


NAMES = st.from_regex(r"[a-z][a-z0-9]{0,6}(\.[a-z][a-z0-9]{0,6}){0,2}", fullmatch=True)
ARTIFACTS = st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,6}){0,2}", fullmatch=True)
VERSIONS = st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}([.-](RELEASE|Final|jre|M[0-9]|rc[0-9]))?", fullmatch=True)


@settings(max_examples=40, deadline=None)
@given(group=NAMES, artifact=ARTIFACTS, version=VERSIONS,
       form=st.sampled_from(["implementation '{c}'", 'api("{c}")', "testImplementation \"{c}\"",
                             "compileOnly group: '{g}', name: '{a}', version: '{v}'",
                             'runtimeOnly(group = "{g}", name = "{a}", version = "{v}")',
                             "implementation name: '{a}', group: '{g}', version: '{v}'",  # map keys in any order
                             'implementation(version = "{v}", group = "{g}", name = "{a}")',
                             "implementation \"{g}:{a}:$ver\"", "implementation \"{g}:{a}:${{ver}}\""]),
       comment=st.booleans())
def test_any_coordinates_in_any_form_are_stood_in_for_unless_commented_out(group, artifact, version, form, comment):
    line = form.format(c=f"{group}:{artifact}:{version}", g=group, a=artifact, v=version)
    script = f"ext.ver = '{version}'\ndependencies {{\n  {'// ' if comment else ''}{line}\n}}\n"
    made = gradle.standins({"build.gradle": script.encode()})
    assert artifacts(made) == (set() if comment else {f"{group}:{artifact}:{version}"})


@settings(max_examples=20, deadline=None)
@given(ids=st.lists(NAMES.filter(lambda n: "." in n), min_size=1, max_size=3, unique=True), version=VERSIONS)
def test_plugins_sharing_an_implementation_share_one_jar_with_every_descriptor(ids, version):
    tree = portal.generate({"plugins": [{"id": i, "version": version, "implementation": f"org.impl:impl:{version}",
                                         "class": True} for i in ids]}).trees["plugins"]
    jar = zipfile.ZipFile(io.BytesIO(tree[f"org/impl/impl/{version}/impl-{version}.jar"]))
    assert {f"META-INF/gradle-plugins/{i}.properties" for i in ids} <= set(jar.namelist())
    assert "airgap/standin/Plugin.class" in jar.namelist()


def test_the_fixture_plugin_is_generated_as_before_without_a_class():
    [marker, jar] = portal.plugin_artifacts([{"id": "org.airgap.fixture.hello", "version": "1.0.0",
                                              "implementation": "org.airgap.fixture:hello-gradle-plugin:1.0.0"}])
    assert jar["files"] == {"META-INF/gradle-plugins/org.airgap.fixture.hello.properties":
                            "implementation-class=airgap.fixture.Plugin\n"}
    assert marker["packaging"] == "pom"


@pytest.mark.parametrize("script, name", [
    ('dependencies {\n    implementation("com.acme:corp-core:${property("corpVersion")}")\n'
     '    implementation("com.acme:corp-util:${project.property("corpVersion")}")\n'
     '    implementation("com.acme:corp-json:${extra["jsonVersion"]}")\n}\n', "build.gradle.kts"),
    ("dependencies {\n    implementation \"com.acme:corp-core:${property('corpVersion')}\"\n"
     "    implementation \"com.acme:corp-util:${project.property(\"corpVersion\")}\"\n"
     "    implementation \"com.acme:corp-json:${ext['jsonVersion']}\"\n}\n", "build.gradle"),
])
def test_a_template_with_quotes_inside_its_braces_resolves(script, name):
    """`"g:a:${property("v")}"`: the quotes inside ${...} do not end the string (Kotlin and Groovy alike)."""
    made = gradle.standins({name: script.encode(), "gradle.properties": b"corpVersion=2.4.1\njsonVersion=1.7\n"})
    assert artifacts(made) == {"com.acme:corp-core:2.4.1", "com.acme:corp-util:2.4.1", "com.acme:corp-json:1.7"}
    assert not any("not found" in note for note in made.notes), made.notes


def test_the_repositories_the_scripts_name_and_a_proxy_in_gradle_properties_are_named():
    """Found by a project sweep: Maven listed its repositories, Gradle named none, nor a systemProp proxy."""
    script = ('pluginManagement { repositories { gradlePluginPortal(); maven { url = uri("https://plugins.corp.example.com/m2") } } }\n'
              "repositories {\n  mavenCentral()\n  google()\n  maven(\"https://jitpack.io\")\n"
              "  maven { setUrl(\"https://repo.corp.example.com/releases\") }\n"
              "  maven { url 'https://ci:S3cretQQ@nexus.corp.example.com/m2' }\n  ivy { url = uri(\"https://ivy.corp.example.com/\") }\n}\n"
              "// maven { url 'https://commented.example.com/' }\n")
    made = gradle.standins({"build.gradle": script.encode(), "gradle.properties": b"systemProp.https.proxyHost=proxy.corp\n"})
    note = next(n for n in made.notes if n.startswith("repositories the scripts name"))
    for shown in ("https://plugins.corp.example.com/m2", "https://jitpack.io", "https://repo.corp.example.com/releases",
                  "https://nexus.corp.example.com/m2", "https://ivy.corp.example.com/", "mavenCentral()", "google()",
                  "gradlePluginPortal()"):
        assert shown in note
    assert "commented" not in note and "S3cretQQ" not in "\n".join(made.notes)
    assert any("systemProp.https.proxyHost: Gradle sends its requests through that proxy" in n for n in made.notes)


def test_urls_outside_repositories_blocks_and_publishing_repositories_are_not_named():
    """A pom's url, an scm url and publishing's repositories were listed as repositories the init script replaces
    (found by a review): only `repositories { }` blocks outside `publishing { }` are."""
    script = (b"repositories { mavenCentral(); maven { url 'https://jitpack.io' } }\npublishing {\n"
              b"  publications { maven(MavenPublication) { pom { url = 'https://github.com/acme/w'; scm { url = 'https://github.com/acme/w.git' } } } }\n"
              b"  repositories { maven { url = 'https://nexus.corp.example.com/releases' } }\n}\n")
    note = next(n for n in gradle.standins({"build.gradle": script}).notes if n.startswith("repositories the scripts name"))
    assert "https://jitpack.io" in note and "mavenCentral()" in note
    assert "github.com" not in note and "nexus.corp.example.com" not in note
