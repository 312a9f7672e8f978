"""Maven repository layout (pom, jar, maven-metadata.xml, checksums) for repo.maven.apache.org/maven2 (and for
the Gradle plugin portal, whose plugin markers are plain Maven poms: content/gradle.py).
"""

import hashlib

from harness.infra import paths
from harness.stack.content import Generated
from harness.stack.content.archives import zip_bytes

CHECKSUMS = {"md5": hashlib.md5, "sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
JAR_PACKAGINGS = ("jar", "maven-plugin")  # packagings whose artifact is a jar (a plugin's too)
WRAPPER_SCRIPT = "projects/maven-wrapper/mvnw"  # under fixtures/: the stand-in ./mvnw the fixture projects commit


def coordinates(gav: str) -> tuple[str, str, str]:
    parts = gav.split(":")
    if len(parts) != 3:
        raise ValueError(f"{gav!r} is not group:artifact:version")
    return parts[0], parts[1], parts[2]


def _gav_xml(gav: str) -> str:
    group, artifact, version = coordinates(gav)
    return f"<groupId>{group}</groupId><artifactId>{artifact}</artifactId><version>{version}</version>"


def _pom(group: str, artifact: str, version: str, dependencies: list[str], packaging: str,
         extensions: list[str] = (), repositories: dict[str, str] | None = None, managed: list[str] = (),
         managed_plugins: list[str] = ()) -> bytes:
    repos = ""
    for section, element in (("repositories", "repository"), ("pluginRepositories", "pluginRepository")):
        listed = "".join(f"    <{element}><id>{rid}</id><url>{url}</url></{element}>\n"
                         for rid, url in (repositories or {}).items())
        repos += f"  <{section}>\n{listed}  </{section}>\n" if listed else ""
    deps = "".join(f"    <dependency>{_gav_xml(gav)}</dependency>\n" for gav in dependencies)
    management = ""
    if managed:  # a BOM's or a parent's managed versions (stand-ins for a customer's BOM imports and parents)
        listed = "".join(f"      <dependency>{_gav_xml(gav)}</dependency>\n" for gav in managed)
        management = (f"  <dependencyManagement>\n    <dependencies>\n{listed}    </dependencies>\n"
                      "  </dependencyManagement>\n")
    build = ""
    if managed_plugins:  # a parent's plugin versions (a stand-in for a customer's parent outside the project)
        listed = "".join(f"        <plugin>{_gav_xml(gav)}</plugin>\n" for gav in managed_plugins)
        build += f"    <pluginManagement>\n      <plugins>\n{listed}      </plugins>\n    </pluginManagement>\n"
    if extensions:
        listed = "".join(f"      <extension>{_gav_xml(gav)}</extension>\n" for gav in extensions)
        build += f"    <extensions>\n{listed}    </extensions>\n"
    build = f"  <build>\n{build}  </build>\n" if build else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<project xmlns="http://maven.apache.org/POM/4.0.0">\n  <modelVersion>4.0.0</modelVersion>\n'
            f"  <groupId>{group}</groupId>\n  <artifactId>{artifact}</artifactId>\n  <version>{version}</version>\n"
            f"  <packaging>{packaging}</packaging>\n"
            f"{repos}  <dependencies>\n{deps}  </dependencies>\n{management}{build}</project>\n").encode()


def _metadata(group: str, artifact: str, versions: list[str]) -> bytes:
    listed = "".join(f"      <version>{v}</version>\n" for v in versions)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<metadata>\n  <groupId>{group}</groupId>\n'
            f"  <artifactId>{artifact}</artifactId>\n  <versioning>\n    <latest>{versions[-1]}</latest>\n"
            f"    <release>{versions[-1]}</release>\n    <versions>\n{listed}    </versions>\n"
            f"    <lastUpdated>20240101000000</lastUpdated>\n  </versioning>\n</metadata>\n").encode()


def _with_checksums(tree: dict[str, bytes], path: str, data: bytes) -> None:
    tree[path] = data
    for ext, algorithm in CHECKSUMS.items():
        tree[f"{path}.{ext}"] = algorithm(data).hexdigest().encode()


def _version_key(version: str) -> list[tuple]:
    """Numeric parts before words, so any two versions compare (32.1.3-jre against 32.1.2)."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in version.split(".")]


def layout(artifacts: list[dict]) -> dict[str, bytes]:
    """Repository-relative paths for artifacts {group, artifact, version, dependencies?, packaging?, files?,
    managed?, managed_plugins?}: `managed` lists the versions a pom's dependencyManagement manages (a BOM, a
    parent), `managed_plugins` those of its pluginManagement (a parent); `files`
    are the jar's files besides its manifest (text, or bytes for a class file). A later entry of the same
    coordinates replaces an earlier one."""
    tree: dict[str, bytes] = {}
    versions: dict[tuple[str, str], list[str]] = {}
    for item in artifacts:
        group, artifact, version = item["group"], item["artifact"], item["version"]
        packaging = item.get("packaging", "jar")
        base = f"{group.replace('.', '/')}/{artifact}/{version}/{artifact}-{version}"
        _with_checksums(tree, f"{base}.pom", _pom(group, artifact, version, item.get("dependencies", []), packaging,
                                                  managed=item.get("managed", ()),
                                                  managed_plugins=item.get("managed_plugins", ())))
        if packaging in JAR_PACKAGINGS:
            files = {"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\r\nCreated-By: airgap-harness\r\n\r\n",
                     f"{artifact}.txt": f"{group}:{artifact}:{version}\n".encode()}
            files |= {path: data.encode() if isinstance(data, str) else data
                      for path, data in item.get("files", {}).items()}
            _with_checksums(tree, f"{base}.jar", zip_bytes(files))
        versions.setdefault((group, artifact), [])
        if version not in versions[(group, artifact)]:
            versions[(group, artifact)].append(version)
    for (group, artifact), listed in versions.items():
        listed.sort(key=_version_key)
        _with_checksums(tree, f"{group.replace('.', '/')}/{artifact}/maven-metadata.xml",
                        _metadata(group, artifact, listed))
    return tree


def project(definition: dict) -> dict[str, bytes]:
    """A pom.xml whose fixture dependencies are also build extensions: Maven core resolves extensions (and
    their dependencies) itself, so `mvn validate` downloads them without any plugin from Maven Central.
    `repositories` (id -> URL) are declared in the pom, as projects that need JitPack or a vendor do, both
    as repositories and as plugin repositories (build extensions resolve from the latter). With `wrapper` (a
    distributionUrl) the project commits a Maven wrapper, as most Java projects do: ./mvnw downloads that
    Maven before it runs (the Java buildpacks build with it)."""
    deps = definition["dependencies"]
    pom = _pom("org.airgap.app", "app", "1.0.0", deps, "pom", extensions=deps,
               repositories=definition.get("repositories"))
    files = {"pom.xml": pom}
    if "wrapper" in definition:
        files["mvnw"] = (paths.fixtures_dir() / WRAPPER_SCRIPT).read_bytes()
        files[".mvn/wrapper/maven-wrapper.properties"] = (
            f"wrapperVersion=3.3.2\ndistributionType=only-script\ndistributionUrl={definition['wrapper']}\n".encode())
    return files


def generate(definition: dict) -> Generated:
    """The Maven slice's content: the repository (`repository`) and the project."""
    return Generated(trees={"repository": layout(definition["maven"])}, project=project(definition["project"]),
                     make_project=project,
                     project_fields=('dependencies', 'repositories', 'wrapper'))
