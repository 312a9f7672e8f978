"""Maven repository layout (pom, jar, maven-metadata.xml, checksums) for repo.maven.apache.org/maven2 (and for
the Gradle plugin portal, whose plugin markers are plain Maven poms: content/gradle.py).
"""

import hashlib

from harness.stack.content import Generated
from harness.stack.content.archives import zip_bytes

CHECKSUMS = {"md5": hashlib.md5, "sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}


def coordinates(gav: str) -> tuple[str, str, str]:
    parts = gav.split(":")
    if len(parts) != 3:
        raise ValueError(f"{gav!r} is not group:artifact:version")
    return parts[0], parts[1], parts[2]


def _gav_xml(gav: str) -> str:
    group, artifact, version = coordinates(gav)
    return f"<groupId>{group}</groupId><artifactId>{artifact}</artifactId><version>{version}</version>"


def _pom(group: str, artifact: str, version: str, dependencies: list[str], packaging: str,
         extensions: list[str] = (), repositories: dict[str, str] | None = None) -> bytes:
    repos = ""
    for section, element in (("repositories", "repository"), ("pluginRepositories", "pluginRepository")):
        listed = "".join(f"    <{element}><id>{rid}</id><url>{url}</url></{element}>\n"
                         for rid, url in (repositories or {}).items())
        repos += f"  <{section}>\n{listed}  </{section}>\n" if listed else ""
    deps = "".join(f"    <dependency>{_gav_xml(gav)}</dependency>\n" for gav in dependencies)
    build = ""
    if extensions:
        listed = "".join(f"      <extension>{_gav_xml(gav)}</extension>\n" for gav in extensions)
        build = f"  <build>\n    <extensions>\n{listed}    </extensions>\n  </build>\n"
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<project xmlns="http://maven.apache.org/POM/4.0.0">\n  <modelVersion>4.0.0</modelVersion>\n'
            f"  <groupId>{group}</groupId>\n  <artifactId>{artifact}</artifactId>\n  <version>{version}</version>\n"
            f"  <packaging>{packaging}</packaging>\n"
            f"{repos}  <dependencies>\n{deps}  </dependencies>\n{build}</project>\n").encode()


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


def layout(artifacts: list[dict]) -> dict[str, bytes]:
    """Repository-relative paths for artifacts {group, artifact, version, dependencies?, packaging?, files?}."""
    tree: dict[str, bytes] = {}
    versions: dict[tuple[str, str], list[str]] = {}
    for item in artifacts:
        group, artifact, version = item["group"], item["artifact"], item["version"]
        packaging = item.get("packaging", "jar")
        base = f"{group.replace('.', '/')}/{artifact}/{version}/{artifact}-{version}"
        _with_checksums(tree, f"{base}.pom", _pom(group, artifact, version, item.get("dependencies", []), packaging))
        if packaging == "jar":
            files = {"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\r\nCreated-By: airgap-harness\r\n\r\n",
                     f"{artifact}.txt": f"{group}:{artifact}:{version}\n".encode()}
            files |= {path: text.encode() for path, text in item.get("files", {}).items()}
            _with_checksums(tree, f"{base}.jar", zip_bytes(files))
        versions.setdefault((group, artifact), []).append(version)
    for (group, artifact), listed in versions.items():
        listed.sort(key=lambda v: [int(p) if p.isdigit() else p for p in v.split(".")])
        _with_checksums(tree, f"{group.replace('.', '/')}/{artifact}/maven-metadata.xml",
                        _metadata(group, artifact, listed))
    return tree


def project(definition: dict) -> dict[str, bytes]:
    """A pom.xml whose fixture dependencies are also build extensions: Maven core resolves extensions (and
    their dependencies) itself, so `mvn validate` downloads them without any plugin from Maven Central.
    `repositories` (id -> URL) are declared in the pom, as projects that need JitPack or a vendor do, both
    as repositories and as plugin repositories (build extensions resolve from the latter)."""
    deps = definition["dependencies"]
    pom = _pom("org.airgap.app", "app", "1.0.0", deps, "pom", extensions=deps,
               repositories=definition.get("repositories"))
    return {"pom.xml": pom}


def generate(definition: dict) -> Generated:
    """The Maven slice's content: the repository (`repository`) and the project."""
    return Generated(trees={"repository": layout(definition["maven"])}, project=project(definition["project"]),
                     make_project=project)
