"""Stand-ins for a customer's Maven project: pom.xml and its modules, .mvn/ (extensions.xml, maven.config) and
the Maven wrapper.

No real plugin can run here (a stand-in jar has no classes) and Central's plugins are not served, so the build
is `mvn validate`, which runs no plugin of the default lifecycle. What validate resolves by itself is the
parent and every BOM a pom imports (while Maven builds the model) and build extensions. So the build's copy of
the top pom.xml lists the project's dependencies and its plugins (with their dependencies) also as build
extensions (`rewritten`, with a note): Maven then downloads every one of them, through the same mirrors as a
real build, with the pom's own <parent>, BOM imports and ${...} properties. (Maven fetches build extensions
from the plugin repositories, not <repositories>; under the preamble's mirrorOf * both are the mirror.)

Maven has no lockfile, so the versions come from the poms: explicit, ${...} from <properties> (the pom's and
its parents' in the project, and -D in .mvn/maven.config), or managed by a dependencyManagement in the project.
A version managed outside the project (by an imported BOM or a parent that is not in it) is not known: the
stand-in of that BOM or parent manages it at the BOM's (or parent's) own version, and a note says so. Every
stand-in has no dependencies of its own: without a lockfile the real artifacts' transitive ones are unknown.

Plugin stand-ins carry a descriptor (META-INF/maven/plugin.xml) naming the goals the poms execute, bound to no
phase, so Maven reads it and runs nothing; an execution the pom binds to validate itself would run a plugin
with no code, so the copy binds it to none (rewritten, with a note).

The Maven wrapper (.mvn/wrapper/maven-wrapper.properties + mvnw) downloads the distribution named by
distributionUrl before Maven runs, reading no settings.xml (leak cause maven-wrapper): that URL gets a stand-in
distribution whose bin/mvn runs the build image's Maven, and a distributionSha256Sum is rewritten to its hash.
"""

import posixpath
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from xml.etree import ElementTree
from xml.parsers import expat
from xml.sax.saxutils import escape

from harness.customer.project import StandIns, missing_from_copy, not_utf8, own_port, safe_url, text_of, wide_encoding
from harness.infra.errors import UserError
from harness.infra.textsafe import printable
from harness.stack.content.archives import sha256_hex, zip_bytes

MANAGER = "maven"
TOP_POM = "pom.xml"
EXTENSIONS_XML = ".mvn/extensions.xml"
MAVEN_CONFIG = ".mvn/maven.config"
WRAPPER_PROPERTIES = ".mvn/wrapper/maven-wrapper.properties"
WRAPPER_JAR = ".mvn/wrapper/maven-wrapper.jar"
CENTRAL_HOSTS = ("repo.maven.apache.org", "repo1.maven.org")
MAX_XML_DEPTH = 256  # elements nested in a pom (a real one: under 10); deeper ones cost quadratic time in _spans
MAX_INTERPOLATED = 64 << 10  # one value after ${...} substitution (properties naming each other many times over)
DEFAULT_PLUGIN_GROUP = "org.apache.maven.plugins"
NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")  # a groupId or artifactId
VERSION = re.compile(r"^[A-Za-z0-9_.\-+]+$")  # a version a stand-in can be served under
PROPERTY = re.compile(r"\$\{([^}]+)\}")
JAR_TYPES = ("jar", "bundle", "ejb", "maven-plugin")  # dependency types whose file is the artifact's jar
# Plugins Maven 3.8's lifecycle bindings give a default version (a versionless one is not looked up at validate).
LIFECYCLE_PLUGINS = {"maven-clean-plugin", "maven-resources-plugin", "maven-compiler-plugin", "maven-surefire-plugin",
                     "maven-jar-plugin", "maven-war-plugin", "maven-ear-plugin", "maven-ejb-plugin", "maven-rar-plugin",
                     "maven-install-plugin", "maven-deploy-plugin", "maven-site-plugin", "maven-plugin-plugin"}
STANDIN_MOJO = "airgap.standin.Mojo"  # named by a stand-in plugin's descriptor; no such class exists


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_xml(path: str, data: bytes) -> ElementTree.Element:
    """The document's root with namespaces dropped from every tag (poms are written with and without one)."""
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        raise UserError(f"{path}: not well-formed XML ({error})") from None
    except (LookupError, ValueError) as error:  # an encoding its declaration names that Python cannot decode
        raise UserError(f"{path}: declares an encoding this reader cannot decode ({error})") from None
    for element in root.iter():
        if isinstance(element.tag, str):
            element.tag = _local(element.tag)
    return root


def _text(element: ElementTree.Element | None, name: str, default: str | None = None) -> str | None:
    found = element.find(name) if element is not None else None
    if found is None or found.text is None or not found.text.strip():
        return default
    return found.text.strip()


@dataclass
class Pom:
    """One pom.xml of the project, as written (nothing interpolated)."""

    path: str
    root: ElementTree.Element
    group: str | None
    artifact: str
    version: str | None
    parent: tuple[str, str, str] | None
    parent_path: str | None  # where Maven looks for the parent in the project (relativePath)
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def directory(self) -> str:
        return self.path.rpartition("/")[0]


def _join(directory: str, relative: str) -> str | None:
    """`relative` from `directory`, normalised ("" for the project's own directory); None for a path leaving the
    project."""
    parts = [p for p in directory.split("/") if p]
    for part in relative.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts)


def read_pom(path: str, data: bytes, chosen: tuple[frozenset, frozenset] = (frozenset(), frozenset())) -> Pom:
    """`chosen`: the profiles .mvn/maven.config's -P turns on and off (_profile_options)."""
    root = parse_xml(path, data)
    if root.tag != "project":
        raise UserError(f"{path}: not a pom (its top element is <{root.tag}>, not <project>)")
    artifact = _text(root, "artifactId")
    if not artifact:
        raise UserError(f"{path}: <project> has no <artifactId>")
    parent_element = root.find("parent")
    parent = parent_path = None
    if parent_element is not None:
        coords = tuple(_text(parent_element, name) for name in ("groupId", "artifactId", "version"))
        if not all(coords):
            raise UserError(f"{path}: <parent> needs groupId, artifactId and version")
        parent = coords
        written = parent_element.find("relativePath")  # <relativePath/>: from the repository only
        relative = "../pom.xml" if written is None else (written.text or "").strip()
        if relative:
            target = _join(path.rpartition("/")[0], relative)
            # a directory (`..`, `../parent`) stands for its pom.xml, the project's own directory too
            parent_path = None if target is None else target if target.endswith(".xml") else _join(target, "pom.xml")
    properties = {}
    for element in [root.find("properties")] + [p.find("properties") for p in _profiles(root, chosen)[0]]:
        if element is not None:  # an active profile's properties override the pom's, as Maven merges them
            properties |= {child.tag: (child.text or "").strip() for child in element if isinstance(child.tag, str)}
    return Pom(path, root, _text(root, "groupId") or (parent[0] if parent else None), artifact,
               _text(root, "version") or (parent[2] if parent else None), parent, parent_path, properties)


def _user_properties(files: dict[str, bytes]) -> dict[str, str]:
    """-Dname=value of .mvn/maven.config (CI-friendly versions: ${revision}); they override the poms'."""
    if MAVEN_CONFIG not in files:
        return {}
    text = text_of(MAVEN_CONFIG, files[MAVEN_CONFIG])
    found = re.findall(r"(?:^|\s)-D([^=\s]+)=(\S*)", text)
    return {name: value.strip("\"'") for name, value in found}


QUOTES = "\"'"
_PROFILE_OPTION = re.compile(r"(?:^|\s)(?:-P|--activate-profiles)(?:=|\s*)(\S+)")


def _profile_options(files: dict[str, bytes]) -> tuple[frozenset, frozenset]:
    """The profiles .mvn/maven.config's -P turns on and off (`-Pci,!slow`; `-` or `!` before an id: off)."""
    on, off = set(), set()
    if MAVEN_CONFIG in files:
        for written in _PROFILE_OPTION.findall(text_of(MAVEN_CONFIG, files[MAVEN_CONFIG])):
            for name in (part.strip() for part in written.strip(QUOTES).split(",")):
                if name[:1] in ("!", "-"):
                    off.add(name[1:])
                elif name:
                    on.add(name.removeprefix("+"))
    return frozenset(on), frozenset(off)


_SETTINGS_OPTION = re.compile(r"(?:^|\s)(-s|--settings|-gs|--global-settings)(?:=|\s+)(\S+)")


def _settings_options(files: dict[str, bytes]) -> list[tuple[str, str]]:
    """The (option, path) pairs of .mvn/maven.config that name a settings file."""
    if MAVEN_CONFIG not in files:
        return []
    return [(option, path.strip(QUOTES)) for option, path in
            _SETTINGS_OPTION.findall(text_of(MAVEN_CONFIG, files[MAVEN_CONFIG]))]


def _config_notes(files: dict[str, bytes]) -> list[str]:
    """.mvn/maven.config options that take the build past the preamble's settings: `-s FILE` replaces the user
    settings.xml the preamble writes (its mirrorOf * with pkg-maven-url), so the project's own mirrors win; the
    mirrors that file declares are named."""
    notes = []
    for option, path in _settings_options(files):
        read = ("instead of the user settings.xml the preamble writes" if option in ("-s", "--settings")
                else "as its global settings")
        notes.append(f"{MAVEN_CONFIG}: {option} {printable(path)}: Maven reads that settings "
                     f"file {read}: its mirrors and servers apply to the build")
        name = posixpath.normpath(path.removeprefix("${maven.multiModuleProjectDirectory}/"))
        missing = missing_from_copy(name, files)
        if missing:  # Maven stops: "The specified user settings file does not exist"
            notes.append(f"{MAVEN_CONFIG}: {option} {printable(path)}: {missing}: Maven stops on the missing file")
        if name not in files:
            continue
        for mirror in parse_xml(name, files[name]).iter("mirror"):
            notes.append(f"{printable(name)}: mirror {printable(_text(mirror, 'id', '?'))} of "
                         f"{printable(_text(mirror, 'mirrorOf', '?'))} -> {safe_url(_text(mirror, 'url', ''))}: a "
                         "repository it does not cover (!id, external:*) is fetched from its own URL")
    return notes


class Model:
    """The project's poms: the reactor from the top pom.xml through <modules>, and their parents in it."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.poms: dict[str, Pom] = {}
        self.user = _user_properties(files)
        self.chosen = _profile_options(files)
        self.missing: list[str] = []  # modules the poms name that the project does not have
        pending = [TOP_POM]
        while pending:
            path = pending.pop(0)
            if path in self.poms:
                continue
            if path not in files:
                self.missing.append(path)
                continue
            pom = self.poms[path] = read_pom(path, files[path], self.chosen)
            active = _profiles(pom.root, self.chosen)[0]  # an active profile's <modules> are the reactor's too
            for module in pom.root.findall("modules/module") + [m for p in active for m in p.findall("modules/module")]:
                written = (module.text or "").strip()
                target = _join(pom.directory, written)
                if target:  # not the project's own directory (a module of itself) nor outside it
                    pending.append(target if target.endswith(".xml") else _join(target, "pom.xml"))
                elif written:  # ../outside: not in the copy the build gets, so Maven stops at it there too
                    self.missing.append(f"{pom.directory + '/' if pom.directory else ''}{written}")
            if pom.parent_path and pom.parent_path in files and pom.parent_path not in pending:
                pending.append(pom.parent_path)
        self.own = {(p.group, p.artifact) for p in self.poms.values()}
        self.by_coordinates = {}  # (group, artifact) -> the project's pom (the first read: the reactor's order)
        for each in self.poms.values():
            self.by_coordinates.setdefault((each.group, each.artifact), each)

    def _same_version(self, candidate: Pom, version: str | None) -> bool:
        """${revision} and the like: both read with the candidate's own properties (its parents' are not needed
        for a CI-friendly version, and reading them here would recurse)."""
        values = candidate.properties | self.user
        expand = lambda text: PROPERTY.sub(lambda m: values.get(m.group(1), m.group(0)), text or "")  # noqa: E731
        return expand(candidate.version) == expand(version)

    def in_project(self, coordinates: tuple[str, str, str]) -> Pom | None:
        """The project's pom with these coordinates: Maven takes a parent or an imported BOM from the reactor
        before any repository, wherever it lies."""
        candidate = self.by_coordinates.get(tuple(coordinates[:2]))
        return candidate if candidate is not None and self._same_version(candidate, coordinates[2]) else None

    def parent_of(self, pom: Pom) -> Pom | None:
        """The parent when the project has it: where its relativePath points (same coordinates), else in the
        reactor; else Maven downloads it."""
        if pom.parent is None:
            return None
        candidate = self.poms.get(pom.parent_path or "")
        if candidate is not None and (candidate.group, candidate.artifact) == pom.parent[:2] \
                and self._same_version(candidate, pom.parent[2]):
            return candidate
        found = self.in_project(pom.parent)
        return found if found is not pom else None

    def chain(self, pom: Pom) -> list[Pom]:
        """The pom and its parents in the project, nearest first."""
        out = [pom]
        while (parent := self.parent_of(out[-1])) is not None and parent not in out:
            out.append(parent)
        return out

    def properties(self, pom: Pom) -> dict[str, str]:
        values: dict[str, str] = {}
        for member in reversed(self.chain(pom)):
            values |= member.properties
        parent = pom.parent or (None, None, None)
        builtins = {"project.groupId": pom.group, "project.artifactId": pom.artifact, "project.version": pom.version,
                    "project.parent.groupId": parent[0], "project.parent.artifactId": parent[1],
                    "project.parent.version": parent[2]}
        for name, value in list(builtins.items()):
            builtins[name.replace("project.", "pom.", 1)] = value
        builtins |= {"groupId": pom.group, "artifactId": pom.artifact, "version": pom.version}
        return values | {k: v for k, v in builtins.items() if v is not None} | self.user

    def interpolate(self, pom: Pom, text: str) -> str:
        """`text` with ${...} replaced as far as the project defines them (an unknown one stays)."""
        values = self.properties(pom)
        for _ in range(10):  # properties naming properties; a cycle stays unresolved
            replaced = PROPERTY.sub(lambda m: values.get(m.group(1), m.group(0)), text)
            if replaced == text:
                break
            if len(replaced) > MAX_INTERPOLATED:
                raise UserError(f"{pom.path}: ${{...}} properties that name one another expand past "
                                f"{MAX_INTERPOLATED >> 10} KiB in one value")
            text = replaced
        return text


@dataclass
class Source:
    """A pom outside the project that manages versions: an imported BOM or a parent Maven downloads."""

    gav: tuple[str, str, str]
    kind: str  # "BOM" or "parent"
    assigned: list[str] = field(default_factory=list)  # "g:a" whose versions its stand-in manages


def _shared_prefix(group: str, other: str) -> int:
    count = 0
    for mine, theirs in zip(group.split("."), other.split(".")):
        if mine != theirs:
            break
        count += 1
    return count


class Collector:
    """Stand-ins by coordinates, the extensions the copy adds, and the notes."""

    def __init__(self, model: Model):
        self.model = model
        self.items: dict[tuple[str, str, str], dict] = {}
        self.extensions: list[tuple[str, str, str]] = []
        self.notes: list[str] = []
        self.sources: dict[tuple[str, str, str], Source] = {}
        self.unversioned_plugins: list[str] = []
        self.not_served: list[str] = []  # a classifier or a type the stand-ins do not have
        self.pom_only: list[str] = []  # <type>pom</type>: stood in for, but no extension can fetch it

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def coordinates(self, pom: Pom, group: str | None, artifact: str | None, version: str | None,
                    what: str) -> tuple[str, str, str] | None:
        """Interpolated coordinates a stand-in can have, or None with a note saying why not."""
        group = self.model.interpolate(pom, group or "")
        artifact = self.model.interpolate(pom, artifact or "")
        version = self.model.interpolate(pom, version or "")
        shown = printable(f"{group}:{artifact}:{version}")
        if not NAME.match(group) or not NAME.match(artifact):
            self.note(f"{printable(pom.path)}: {what} {shown}: not group:artifact coordinates; not stood in for")
            return None
        if "${" in version:
            self.note(f"{printable(pom.path)}: {what} {shown}: a property the project does not define (its parent "
                      "outside the project, the environment?); not stood in for")
            return None
        if version.startswith(("[", "(")) or not VERSION.match(version):
            self.note(f"{printable(pom.path)}: {what} {shown}: a version range or an odd version; Maven would read "
                      "maven-metadata.xml and pick one; not stood in for")
            return None
        if version.endswith("-SNAPSHOT"):
            self.note(f"{printable(pom.path)}: {what} {shown}: a SNAPSHOT, which Central does not serve (a snapshot "
                      "repository of its own); not stood in for")
            return None
        return group, artifact, version

    def add(self, gav: tuple[str, str, str], packaging: str = "jar", managed: list[str] = (),
            goals: set[str] = (), managed_plugins: list[str] = ()) -> None:
        """One stand-in per coordinates: a pom (BOM, parent) that is also a jar dependency is a jar with the
        managed versions in its pom; a plugin is a jar with a descriptor of every goal executed."""
        item = self.items.setdefault(gav, {"group": gav[0], "artifact": gav[1], "version": gav[2],
                                           "packaging": packaging, "managed": set(), "managed_plugins": set(),
                                           "goals": set()})
        rank = ("pom", "jar", "maven-plugin")
        item["packaging"] = max(item["packaging"], packaging, key=rank.index)
        item["managed"] |= set(managed)
        item["managed_plugins"] |= set(managed_plugins)
        item["goals"] |= set(goals)

    def extension(self, gav: tuple[str, str, str]) -> None:
        if gav not in self.extensions:
            self.extensions.append(gav)


def _dependency_key(element: ElementTree.Element) -> tuple[str, str]:
    return _text(element, "groupId", ""), _text(element, "artifactId", "")


def _managed(model: Model, pom: Pom, seen: set[str] | None = None
             ) -> tuple[dict[tuple[str, str], str], list[tuple[Pom, ElementTree.Element]]]:
    """The versions the project's dependencyManagement gives `pom` (nearest parent wins), and its BOM imports
    (its own first, then its parents'), each with the pom that declares it."""
    versions: dict[tuple[str, str], str] = {}
    imports, reactor_boms = [], []
    for member in model.chain(pom):
        for element in member.root.findall("dependencyManagement/dependencies/dependency"):
            if _text(element, "scope") == "import" and _text(element, "type") == "pom":
                written = tuple(model.interpolate(pom, _text(element, n, "")) for n in ("groupId", "artifactId", "version"))
                bom = model.in_project(written)
                if bom is not None:
                    reactor_boms.append(bom)
                else:
                    imports.append((member, element))
                continue
            key = tuple(model.interpolate(pom, part) for part in _dependency_key(element))
            if key not in versions and _text(element, "version"):
                versions[key] = _text(element, "version")
    # a BOM of the reactor: its own managed versions (read with its properties) after the pom's, in order
    seen = seen if seen is not None else {pom.path}
    for bom in reactor_boms:
        if bom.path in seen:
            continue
        seen.add(bom.path)
        bom_versions, bom_imports = _managed(model, bom, seen)
        for key, version in bom_versions.items():
            versions.setdefault(key, model.interpolate(bom, version))
        imports += bom_imports
    return versions, imports


def _plugin_versions(model: Model, pom: Pom) -> dict[tuple[str, str], str]:
    versions = {}
    for member in model.chain(pom):
        for element in member.root.findall("build/pluginManagement/plugins/plugin"):
            key = (model.interpolate(pom, _text(element, "groupId", DEFAULT_PLUGIN_GROUP)),
                   model.interpolate(pom, _text(element, "artifactId", "")))
            if key not in versions and _text(element, "version"):
                versions[key] = _text(element, "version")
    return versions


def _sources(model: Model, pom: Pom, imports, collect: Collector) -> list[Source]:
    """The poms outside the project that may manage `pom`'s versions: its top parent when Maven downloads
    it, then the BOMs imported from outside the project."""
    found = []
    top = model.chain(pom)[-1]
    if top.parent is not None:
        gav = collect.coordinates(top, *top.parent, "parent")
        if gav:
            collect.add(gav, "pom")
            found.append(collect.sources.setdefault(gav, Source(gav, "parent")))
    for member, element in imports:
        gav = collect.coordinates(pom, *(_text(element, n) for n in ("groupId", "artifactId", "version")),
                                  "imported BOM")
        if gav is None or gav[:2] in model.own:
            continue  # a BOM of the reactor: Maven reads it from the project
        collect.add(gav, "pom")
        found.append(collect.sources.setdefault(gav, Source(gav, "BOM")))
    return found


def _dependency(model: Model, pom: Pom, element, managed, sources, collect: Collector, what: str) -> None:
    group, artifact = (model.interpolate(pom, part) for part in _dependency_key(element))
    if (group, artifact) in model.own:
        return  # a module of the project: Maven takes it from the reactor
    scope, kind = _text(element, "scope", "compile"), _text(element, "type", "jar")
    classifier = _text(element, "classifier")
    if scope == "system":
        collect.note(f"{printable(pom.path)}: {printable(group)}:{printable(artifact)}: scope system (a file on "
                     "the build machine); not stood in for")
        return
    version = _text(element, "version") or managed.get((group, artifact))
    if version is None:
        if not sources:
            collect.note(f"{printable(pom.path)}: {printable(group)}:{printable(artifact)}: no version, and "
                         "nothing in the project manages it; not stood in for (Maven stops at it)")
            return
        # The pom outside the project that manages it is not known: the likeliest by group, else the first.
        source = max(sources, key=lambda s: (_shared_prefix(group, s.gav[0]), -sources.index(s)))
        version = source.gav[2]
        source.assigned.append(f"{group}:{artifact}")
        collect.add(source.gav, "pom", managed=[f"{group}:{artifact}:{version}"])
    gav = collect.coordinates(pom, group, artifact, version, what)
    if gav is None:
        return
    if classifier or kind not in JAR_TYPES + ("pom",):
        collect.not_served.append(":".join(gav + ((classifier,) if classifier else ())) + f" ({printable(kind)})")
    elif kind == "pom":
        collect.add(gav, "pom")
        collect.pom_only.append(":".join(gav))
    else:
        collect.add(gav, "jar")
        collect.extension(gav)


def _plugins(model: Model, pom: Pom, sources: list[Source], collect: Collector,
             base: ElementTree.Element | None = None) -> None:
    """Plugins with a version, and those without one that a parent outside the project may manage: that
    parent's stand-in manages them at its own version (a BOM manages no plugin). A plugin of Maven's lifecycle
    takes Maven's default version; any other Maven would look up in maven-metadata.xml. `base`: the element
    holding <build> (the pom's root, or a profile active by default)."""
    versions = _plugin_versions(model, pom)
    parents = [source for source in sources if source.kind == "parent"]
    for section in ("build/plugins/plugin", "build/pluginManagement/plugins/plugin"):
        for element in (pom.root if base is None else base).findall(section):
            group = model.interpolate(pom, _text(element, "groupId", DEFAULT_PLUGIN_GROUP))
            artifact = model.interpolate(pom, _text(element, "artifactId", ""))
            version = _text(element, "version") or versions.get((group, artifact))
            goals = {(goal.text or "").strip() for goal in element.findall("executions/execution/goals/goal")}
            if version is None and section.startswith("build/plugins") and artifact not in LIFECYCLE_PLUGINS:
                if parents:
                    version = parents[0].gav[2]
                    parents[0].assigned.append(f"{group}:{artifact}")
                    collect.add(parents[0].gav, "pom", managed_plugins=[f"{group}:{artifact}:{version}"])
                else:
                    collect.unversioned_plugins.append(f"{group}:{artifact}")
            # a plugin's dependencies are fetched with it, whatever gives its version (Maven's lifecycle for
            # maven-surefire-plugin written without one)
            for dependency in element.findall("dependencies/dependency"):
                _dependency(model, pom, dependency, {}, [], collect, "plugin dependency")
            if version is None:
                continue
            gav = collect.coordinates(pom, group, artifact, version, "plugin")
            if gav is None:
                continue
            collect.add(gav, "maven-plugin", goals={g for g in goals if g and "${" not in g})
            collect.extension(gav)


def _extensions(model: Model, pom: Pom, collect: Collector) -> None:
    for element in pom.root.findall("build/extensions/extension"):
        gav = collect.coordinates(pom, *(_text(element, n) for n in ("groupId", "artifactId", "version")),
                                  "build extension")
        if gav:
            collect.add(gav, "jar")


def _core_extensions(files: dict[str, bytes], collect: Collector) -> None:
    """.mvn/extensions.xml: core extensions Maven resolves at start, through the settings' mirrors."""
    if EXTENSIONS_XML not in files:
        return
    root = parse_xml(EXTENSIONS_XML, files[EXTENSIONS_XML])
    for element in root.findall("extension"):
        coords = [_text(element, n) for n in ("groupId", "artifactId", "version")]
        shown = printable(":".join(c or "?" for c in coords))
        if not all(coords) or not NAME.match(coords[0]) or not NAME.match(coords[1]) or not VERSION.match(coords[2]):
            collect.note(f"{EXTENSIONS_XML}: {shown}: not group:artifact:version; not stood in for")
            continue
        collect.add(tuple(coords), "jar")


def _descriptor(group: str, artifact: str, version: str, goals: set[str]) -> str:
    """A plugin.xml Maven can read: the goals the poms execute, bound to no phase, so none of them runs."""
    prefix = re.sub(r"-?maven-?|-?plugin-?", "", artifact) or artifact
    mojos = "".join(f"    <mojo>\n      <goal>{escape(goal)}</goal>\n      <implementation>{STANDIN_MOJO}"
                    f"</implementation>\n      <language>java</language>\n      <requiresProject>false"
                    f"</requiresProject>\n    </mojo>\n" for goal in sorted(goals))
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<plugin>\n  <name>airgap stand-in</name>\n'
            f"  <groupId>{group}</groupId>\n  <artifactId>{artifact}</artifactId>\n  <version>{version}</version>\n"
            f"  <goalPrefix>{escape(prefix)}</goalPrefix>\n  <mojos>\n{mojos}  </mojos>\n  <dependencies/>\n"
            "</plugin>\n")


# --- the copy: positions of elements in the pom's bytes --------------------------------------------------------


def _spans(path: str, data: bytes) -> dict[str, list[tuple[int, int]]]:
    """Element path (project/build/...) -> [(offset of its start tag, offset of its end tag)] in the bytes (of a
    pom the copy rewrites: ASCII-compatible, since the lines it adds are UTF-8)."""
    if wide_encoding(data):
        raise not_utf8(path, data)
    parser = expat.ParserCreate()
    stack: list[tuple[str, int]] = []
    spans: dict[str, list[tuple[int, int]]] = {}

    def start(name, _attributes):
        if len(stack) >= MAX_XML_DEPTH:
            raise UserError(f"{path}: elements nested more than {MAX_XML_DEPTH} deep; a pom nests a few levels")
        stack.append((_local(name.split(":")[-1]), parser.CurrentByteIndex))

    def end(_name):
        where = "/".join(name for name, _ in stack)
        spans.setdefault(where, []).append((stack[-1][1], parser.CurrentByteIndex))
        stack.pop()

    parser.StartElementHandler, parser.EndElementHandler = start, end
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        raise UserError(f"{path}: not well-formed XML ({error})") from None
    return spans


def _newline(data: bytes) -> bytes:
    return b"\r\n" if b"\r\n" in data else b"\n"


def _insert(data: bytes, span: tuple[int, int], name: bytes, lines: list[tuple[int, bytes]], nl: bytes) -> bytes:
    """`lines` ((depth, text)) added as the last children of the element at `span` (one written <name/>
    included), indented from its end tag's indentation with the file's unit (a tab, or two spaces)."""
    start, end = span
    line_start = data.rfind(b"\n", 0, start) + 1
    indent = data[line_start:start] if not data[line_start:start].strip() else b""
    unit = b"\t" if b"\t" in indent or b"\n\t<" in data else b"  "
    body = b"".join(indent + unit * (depth + 1) + text + nl for depth, text in lines)
    tag_end = data.index(b">", start) + 1
    if data[:tag_end].rstrip(b">").endswith(b"/"):  # an empty element written <name/>: the tag becomes a pair
        return data[:start] + b"<" + name + b">" + nl + body + indent + b"</" + name + b">" + data[tag_end:]
    line_start = data.rfind(b"\n", 0, end) + 1
    if data[line_start:end].strip():  # the end tag follows other text on its line
        return data[:end] + nl + body + indent + data[end:]
    return data[:line_start] + body + data[line_start:]


def with_extensions(path: str, data: bytes, gavs: list[tuple[str, str, str]]) -> bytes:
    """The pom with `gavs` added as build extensions, everything else byte for byte as it was."""
    nl = _newline(data)
    spans = _spans(path, data)
    lines = [(0, b"<!-- airgap-harness: the project's dependencies and plugins as build extensions, so `mvn "
                 b"validate` resolves them without running a plugin -->")]
    lines += [(0, f"<extension><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{escape(v)}</version>"
                  f"</extension>".encode()) for g, a, v in gavs]
    if "project/build/extensions" in spans:
        return _insert(data, spans["project/build/extensions"][0], b"extensions", lines, nl)
    lines = [(0, b"<extensions>")] + [(depth + 1, text) for depth, text in lines] + [(0, b"</extensions>")]
    if "project/build" in spans:
        return _insert(data, spans["project/build"][0], b"build", lines, nl)
    lines = [(0, b"<build>")] + [(depth + 1, text) for depth, text in lines] + [(0, b"</build>")]
    return _insert(data, spans["project"][0], b"project", lines, nl)


def without_validate_executions(path: str, data: bytes) -> tuple[bytes, int]:
    """The pom with every plugin execution bound to validate bound to none (a stand-in plugin has no code to
    run), and how many there were."""
    spans = _spans(path, data)
    changed, out, last = 0, b"", 0
    places = [span for where, found in spans.items() if where.endswith("plugin/executions/execution/phase")
              for span in found]
    for start, end in sorted(places):
        body_start = data.index(b">", start) + 1
        if data[body_start:end].strip() == b"validate":
            out += data[last:body_start] + b"none"
            last = end
            changed += 1
    return out + data[last:], changed


# --- the Maven wrapper --------------------------------------------------------------------------------------------


_PROPERTY_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def properties(path: str, data: bytes) -> dict[str, str]:
    """A Java .properties file's keys and values as java.util.Properties reads them: comments, a line ending in an
    odd number of backslashes continued on the next, the key up to the first unescaped `=`, `:` or blank, a key
    with no value, escapes (https\\://, \\uXXXX). Every line is something (Java refuses none), so nothing here
    fails, and no line is ever quoted back (values may be signing keys or passwords). `path` is for the callers'
    messages."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    values: dict[str, str] = {}
    lines = iter(re.split(r"\r\n|\r|\n", text))
    for line in lines:
        logical = line.lstrip(" \t\f")
        if not logical or logical[0] in "#!":
            continue
        while (len(logical) - len(logical.rstrip("\\"))) % 2:  # an odd number of backslashes: continued
            following = next(lines, None)
            logical = logical[:-1] + (following or "").lstrip(" \t\f")
            if following is None:
                break
        found = re.match(r"((?:\\.|[^=:\s\\])*)[ \t\f]*[=:]?[ \t\f]*(.*)$", logical, re.S)
        key, value = (re.sub(r"\\u([0-9a-fA-F]{4})|\\(.)", _unescape, part) for part in found.groups())
        values[key] = value
    return values


def _unescape(found: re.Match) -> str:
    return chr(int(found[1], 16)) if found[1] else _PROPERTY_ESCAPES.get(found[2], found[2])


def with_property(data: bytes, key: str, value: str) -> bytes:
    """The .properties bytes with `key`'s value replaced (its continued lines too: a line ending in an odd number of
    backslashes), every other byte as it was."""
    found = re.search(rb"^([ \t]*" + re.escape(key.encode()) + rb"[ \t]*[=:][ \t]*)", data, re.M)
    if found is None:
        return data
    end = found.end()
    while True:
        line_end = re.compile(rb"\r\n|\r|\n").search(data, end)
        stop = line_end.start() if line_end else len(data)
        trailing = len(data[end:stop]) - len(data[end:stop].rstrip(b"\\"))
        if trailing % 2 == 0 or line_end is None:
            return data[:found.end()] + value.encode() + data[stop:]
        end = line_end.end()


def standin_download(url: str, what: str, files: dict[str, str]) -> tuple[dict | None, bytes | None, str | None]:
    """A single download on the host of `url` (a leaks.yaml `files:` entry), unless fixtures/content/static.yaml
    already serves that URL (its bytes are then the ones served), and a note when it cannot be stood in for."""
    from harness.stack.content import static_download

    parts = urlsplit(url)
    port = own_port(parts)  # an explicit default port (https://host:443/) is the host's; a bad one raises
    if parts.scheme not in ("http", "https") or not parts.hostname or port or parts.query:
        return None, None, f"{what} {printable(url)}: not a plain http(s) URL on its scheme's port; not stood in for"
    served = static_download(parts.hostname, parts.path)
    if served is not None:
        return None, served, None
    entry = {"host": parts.hostname, "path": parts.path, "kind": "zip", "files": files}
    return entry, zip_bytes({path: text.encode() for path, text in files.items()}), None


def _wrapper(files: dict[str, bytes], notes: list[str]) -> tuple[list[dict], dict[str, bytes]]:
    """Stand-ins for what ./mvnw downloads (its Maven distribution, the wrapper jar when the project has none),
    and the properties file with their SHA-256 sums when it pins them."""
    if WRAPPER_PROPERTIES not in files:
        return [], {}
    data = files[WRAPPER_PROPERTIES]
    values = properties(WRAPPER_PROPERTIES, data)
    if "distributionUrl" not in values:
        raise UserError(f"{WRAPPER_PROPERTIES}: no distributionUrl")
    entries, new = [], data
    url = values["distributionUrl"]
    name = url.rsplit("/", 1)[-1]
    if not name.endswith("-bin.zip") or not name.startswith("apache-maven-"):
        notes.append(f"{WRAPPER_PROPERTIES}: distributionUrl {printable(url)}: not an apache-maven-*-bin.zip "
                     "(mvnd, a tar.gz); not stood in for")
    else:
        home = name[: -len("-bin.zip")]
        script = (f"#!/bin/sh\n# airgap-harness stand-in for {home}: runs the build image's Maven\n"
                  f'echo "airgap stand-in {home}: running the image\'s mvn" >&2\nexec /usr/bin/mvn "$@"\n')
        entry, served, problem = standin_download(url, "distributionUrl", {f"{home}/bin/mvn": script})
        if problem:
            notes.append(f"{WRAPPER_PROPERTIES}: {problem}")
        if entry:
            entries.append(entry)
            notes.append(f"{WRAPPER_PROPERTIES}: the stand-in {home} distribution runs the build image's Maven")
        if served is not None and "distributionSha256Sum" in values:
            new = with_property(new, "distributionSha256Sum", sha256_hex(served))
    if "wrapperUrl" in values and WRAPPER_JAR not in files:
        entry, served, problem = standin_download(values["wrapperUrl"], "wrapperUrl",
                                                  {"META-INF/MANIFEST.MF": "Manifest-Version: 1.0\r\n\r\n"})
        if problem:
            notes.append(f"{WRAPPER_PROPERTIES}: {problem}")
        if entry:
            entries.append(entry)
            notes.append(f"{WRAPPER_PROPERTIES}: the stand-in maven-wrapper.jar has no classes: a mvnw that runs "
                         "it stops after downloading it")
        if served is not None and "wrapperSha256Sum" in values:
            new = with_property(new, "wrapperSha256Sum", sha256_hex(served))
    return entries, ({WRAPPER_PROPERTIES: new} if new != data else {})


# --- the stand-ins ------------------------------------------------------------------------------------------------


def _definition_items(collect: Collector) -> list[dict]:
    """The stand-ins as fixtures/content/maven.yaml lists artifacts (jar, the generator's default, unsaid)."""
    items = []
    for gav in sorted(collect.items):
        found = collect.items[gav]
        item = {"group": gav[0], "artifact": gav[1], "version": gav[2]}
        if found["packaging"] != "jar":
            item["packaging"] = found["packaging"]
        if found["managed"]:
            item["managed"] = sorted(found["managed"])
        if found["managed_plugins"]:
            item["managed_plugins"] = sorted(found["managed_plugins"])
        if found["packaging"] == "maven-plugin":
            item["files"] = {"META-INF/maven/plugin.xml": _descriptor(*gav, found["goals"])}
        items.append(item)
    return items


def _profiles(root: ElementTree.Element, chosen: tuple[frozenset, frozenset] = (frozenset(), frozenset())
              ) -> tuple[list, list]:
    """A pom's profiles active in the build, and the others: those `chosen` turns on (-P in .mvn/maven.config),
    and those with activeByDefault unless another profile of the pom is turned on or has an activation that may
    apply (a JDK, an OS, a property, a file: not known here, such profiles are counted inactive); less those
    `chosen` turns off."""
    on, off = chosen
    profiles = root.findall("profiles/profile")
    named = [p for p in profiles if _text(p, "id") in on]
    default = [p for p in profiles if _text(p, "activation/activeByDefault") == "true" and p not in named]
    conditional = [p for p in profiles if p not in default and p not in named and p.find("activation") is not None]
    active = [p for p in named + ([] if conditional or named else default) if _text(p, "id") not in off]
    return active, [p for p in profiles if p not in active]


def standins(files: dict[str, bytes]) -> StandIns:
    notes: list[str] = _config_notes(files)
    downloads, rewritten = _wrapper(files, notes)
    if TOP_POM not in files:
        notes.append(f"no {TOP_POM} at the project's top: Maven has no project to build")
        return StandIns(manager=MANAGER, elsewhere={"files": downloads} if downloads else {},
                        rewritten=rewritten, notes=tuple(notes))
    model = Model(files)
    collect = Collector(model)
    _core_extensions(files, collect)
    repositories = []
    for pom in model.poms.values():
        managed, imports = _managed(model, pom)
        sources = _sources(model, pom, imports, collect)
        for element in pom.root.findall("dependencies/dependency"):
            _dependency(model, pom, element, managed, sources, collect, "dependency")
        _plugins(model, pom, sources, collect)
        _extensions(model, pom, collect)
        for element in [found for where in ("", "profiles/profile/") for found in pom.root.findall(
                f"{where}repositories/repository") + pom.root.findall(f"{where}pluginRepositories/pluginRepository")]:
            url = model.interpolate(pom, _text(element, "url", ""))
            host = urlsplit(url).hostname or url
            if host not in CENTRAL_HOSTS and url not in repositories:
                repositories.append(url)
        active, inactive = _profiles(pom.root, model.chosen)
        for profile in active:
            for element in profile.findall("dependencies/dependency"):
                _dependency(model, pom, element, managed, sources, collect, "dependency")
            _plugins(model, pom, sources, collect, profile)
        if active:
            collect.note(f"{printable(pom.path)}: profile(s) {', '.join(_text(p, 'id', '?') for p in active)} "
                         f"active (by default, or -P in {MAVEN_CONFIG}): their dependencies and plugins are stood in for")
        if any(p.findall("dependencies/dependency") + p.findall("build/plugins/plugin") for p in inactive):
            collect.note(f"{printable(pom.path)}: the dependencies and plugins of its other <profiles> are not stood "
                         "in for (a profile applies only when it is activated)")
    for path in model.missing:
        collect.note(f"{printable(path)}: a module the poms name, not in the project (Maven stops at it)")
    for source in collect.sources.values():
        if source.assigned:
            collect.note(f"{':'.join(source.gav)} ({source.kind} outside the project) manages the versions of "
                         f"{', '.join(sorted(set(source.assigned)))}: not known here, its stand-in manages them at "
                         f"{source.gav[2]}, its own version")
    if collect.unversioned_plugins:
        collect.note("plugins without a version that nothing in the project manages (Maven would take the newest "
                     "release in maven-metadata.xml, not known here): not stood in for, Maven stops at them: "
                     f"{', '.join(sorted(set(collect.unversioned_plugins)))}")
    if collect.not_served:
        collect.note("dependencies with a classifier or a type other than jar or pom: not stood in for (the "
                     f"stand-ins are a jar and a pom): {', '.join(sorted(set(collect.not_served)))}")
    if collect.pom_only:
        collect.note("<type>pom</type> dependencies are stood in for, but `mvn validate` does not fetch them (a "
                     f"build extension is a jar): {', '.join(sorted(set(collect.pom_only)))}")
    if repositories:
        replaced = any(option in ("-s", "--settings") for option, _ in _settings_options(files))
        collect.note(f"repositories the poms declare, their <profiles> included ({', '.join(safe_url(r) for r in repositories)}): the "
                     "stand-ins are served on repo.maven.apache.org only; " +
                     ("the settings file .mvn/maven.config names replaces the preamble's, so its mirrors decide "
                      "where they are read" if replaced else
                      "the preamble's mirrorOf * reads every repository through pkg-maven-url"))
    if collect.extensions:
        rewritten[TOP_POM] = with_extensions(TOP_POM, files[TOP_POM], collect.extensions)
        collect.note(f"{TOP_POM}: the build's copy lists {len(collect.extensions)} dependencies and plugins also "
                     "as build extensions, so `mvn validate` resolves them (no real plugin can run here); Maven "
                     "has no lockfile, so each stand-in has no dependencies of its own")
    if any(item["packaging"] == "maven-plugin" for item in collect.items.values()):
        collect.note("stand-in plugins have no code: their descriptor binds no phase, so no plugin execution runs")
    for pom in model.poms.values():
        data = rewritten.get(pom.path, files[pom.path])
        changed, count = without_validate_executions(pom.path, data)
        if count:
            rewritten[pom.path] = changed
            collect.note(f"{printable(pom.path)}: the copy binds {count} plugin execution(s) from phase validate to "
                         "none (a stand-in plugin has no code to run)")
    definition = {"maven": _definition_items(collect)} if collect.items else {}
    return StandIns(manager=MANAGER, definition=definition, elsewhere={"files": downloads} if downloads else {},
                    rewritten=rewritten, notes=tuple(notes + collect.notes))
