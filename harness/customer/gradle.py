"""Stand-ins for a customer's Gradle build: its build and settings scripts (Groovy .gradle and Kotlin .gradle.kts,
every one in the project: subprojects, buildSrc, applied script files), gradle.properties, the version catalog
gradle/libs.versions.toml, lockfiles, gradle/verification-metadata.xml and the wrapper.

Gradle has no manifest format a parser could read exactly: scripts are programs. What is read is what builds
write in practice: plugins { id '...' version '...' } (and kotlin("..."), alias(libs.plugins...)), the
pluginManagement defaults in settings, `apply plugin:` with buildscript classpath jars, and every string that is
group:artifact:version coordinates (implementation, api, classpath, platform, useModule ...) or map notation
(group: ..., name: ..., version: ...), with ${...} from gradle.properties and ext/extra/def/val assignments. What
cannot be read (a dynamic version, an unknown variable) is a note, never a silent drop.

Where they are served: the preamble's init script replaces every repository of the build (settings, buildscript,
project) by pkg-gradle-url, whose upstream is the plugin portal (plugins.gradle.org/m2), which answers for Maven
Central's artifacts too. So plugins and artifacts alike are stand-ins on the portal (content/gradle.py). Each
plugin jar carries a plugin class that does nothing (the plugins block applies it); its DSL (springBoot { }) is
not there, so a script that configures a plugin's extension stops at it (a note cannot know which do).

The builder has Debian's Gradle 4.4.1: Kotlin DSL, version catalogs, platform(), dependency verification and
later APIs are not in it (notes name those the project uses); the build of a project that needs them stops
there, which the report shows. gradle/verification-metadata.xml is still rewritten to the stand-ins' checksums
(for a platform whose Gradle reads it).
"""

import bisect
import functools
import posixpath
import re
import tomllib
from pathlib import Path

from harness.customer.maven import parse_xml, properties, standin_download, with_property
from harness.customer.project import StandIns, safe_url, text_of
from harness.infra.errors import UserError
from harness.infra.textsafe import printable
from harness.infra.yamltext import YAMLSyntaxError, load_yaml
from harness.stack.content import gradle as portal
from harness.stack.content.maven import CHECKSUMS

MANAGER = "gradle"
PROPERTIES_FILE = "gradle.properties"
CATALOG = "gradle/libs.versions.toml"
VERIFICATION = "gradle/verification-metadata.xml"
WRAPPER_PROPERTIES = "gradle/wrapper/gradle-wrapper.properties"
WRAPPER_JAR = "gradle/wrapper/gradle-wrapper.jar"
# buildSrc's sources: the pre-catalog `object Deps { const val guava = "g:a:1.0" }` that scripts use as Deps.guava
BUILD_SOURCES = re.compile(r"^buildSrc/src/main/(?:kotlin|groovy|java)/.+\.(?:kt|groovy|java)$")
LOCKFILES = re.compile(r"(^|/)([\w.-]*gradle\.lockfile|gradle/dependency-locks/[^/]+\.lockfile)$")
PLUGINS_FILE = Path(__file__).with_name("gradle_plugins.yaml")
STANDIN_GROUP = "airgap.standin"  # the made-up implementation of a plugin gradle_plugins.yaml does not name

# a double-quoted string may hold ${...} with quotes of its own: "g:a:${property("v")}" (bounded: no backtracking blow-up)
_STR = r"'''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\\n])*'|\"(?:\\.|\$\{[^}\n]{0,200}\}|[^\"\\\n])*\""
_TOKEN = re.compile(rf"(?P<comment>//[^\n]*|/\*.*?(?:\*/|\Z))|(?P<string>{_STR})", re.S)
_STRING = re.compile(_STR, re.S)
_VALUE = rf"(?:{_STR}|[A-Za-z_][\w.]*)"
_COORDINATES = re.compile(r"^([\w.\-]+):([\w.\-]+)(?::([^:@\s]*))?(?::([\w.\-]+))?(?:@([\w.\-]+))?$")
_ASSIGN = re.compile(rf"\b([A-Za-z_]\w*)(?:\s*:\s*String)?\s*=\s*({_STR})", re.S)  # Kotlin: val v: String = "1.0"
_EXTRA = (re.compile(rf"\b(?:ext|extra)\s*\[\s*({_STR})\s*\]\s*=\s*({_STR})", re.S),  # ext['x'] = 'v'
          re.compile(rf"\bset\s*\(\s*({_STR})\s*,\s*({_STR})\s*\)", re.S))  # extra.set("x", "v")
_BY_EXTRA = re.compile(rf"\bval\s+(\w+)\s+by\s+extra\s*\(\s*({_STR})\s*\)", re.S)  # val x by extra("v")
_LOOSE_COORDINATES = re.compile(r"^[^:\s/]+:[^:\s/]+:[^:\s/]+$")
_MAP_ASSIGN = re.compile(r"\b([A-Za-z_]\w*)\s*=\s*\[([^\[\]]*)\]")
_MAP_ENTRY = re.compile(rf"([A-Za-z_][\w-]*|{_STR})\s*:\s*({_STR})", re.S)
_GSTRING = re.compile(r"\$\{([^}]*)\}|\$([A-Za-z_][\w.]*)")
# a dependency's map notation, its keys in any order (`name: 'gson', group: '...', version: '...'`)
_MAP_KEYS = "group|name|version|classifier|ext"
_MAP_NOTATION = re.compile(rf"(?:\b(?:{_MAP_KEYS})\s*[:=]\s*{_VALUE}(?:\s*,\s*|(?=\s*[)}}\n]|\s*\Z))){{2,5}}", re.S)
_MAP_KEY = re.compile(rf"\b({_MAP_KEYS})\s*[:=]\s*({_VALUE})", re.S)
_PLUGIN = re.compile(rf"\bid\s*\(?\s*({_STR})\s*\)?|\bkotlin\s*\(\s*({_STR})\s*\)|\balias\s*\(\s*([\w.]+)\s*\)")
# ` version "1.0"`, ` version("1.0")` or Kotlin's `.version("1.0")`, then `apply false` or `.apply(false)`
_PLUGIN_TAIL = re.compile(rf"\s*(?:\.?\s*version\s*\(?\s*({_VALUE})\s*\)?)?\s*(?:\.?\s*apply\s*\(?\s*(true|false)\s*\)?)?")
_INCLUDE_BUILD = re.compile(rf"\bincludeBuild\s*\(?\s*({_STR})")
_INCLUDE = re.compile(rf"\binclude\s*\(?\s*((?:{_STR}\s*,?\s*)+)")
_ROOT_NAME = re.compile(rf"\brootProject\.name\s*=\s*({_STR})")
_GROUP = re.compile(rf"\bgroup\s*=\s*({_STR})")
# a version catalog built in settings (versionCatalogs { create("libs") { ... } }, Groovy's `libs { ... }`)
_CATALOG_NAME = re.compile(rf"(?:\bcreate\s*\(\s*({_STR})\s*\)|\b([A-Za-z_]\w*))\s*\{{")
_CATALOG_VERSION = re.compile(rf"\bversion\s*\(\s*({_STR})\s*,\s*({_STR})\s*\)")
_CATALOG_ENTRY = re.compile(rf"\b(library|plugin)\s*\(\s*({_STR})\s*,\s*({_STR})(?:\s*,\s*({_STR}))?\s*\)"
                            rf"(?:\s*\.\s*(version|versionRef)\s*\(\s*({_STR})\s*\))?")
_KOTLIN_MODULE = re.compile(rf"\bkotlin\s*\(\s*({_STR})\s*(?:,\s*({_VALUE})\s*)?\)")  # kotlin("stdlib", "1.9.21")
_APPLY = re.compile(rf"\bapply\s*\(?\s*(plugin|from)\s*[:=]\s*({_STR})")
_PRECEDING = re.compile(r"([A-Za-z_]\w*)\s*\(?\s*$")
# Words before a string that make it something other than a dependency (a task path, a URL, a file...).
NOT_DEPENDENCIES = {"url", "uri", "id", "from", "file", "files", "include", "includeBuild", "println", "print",
                    "task", "named", "register", "exec", "commandLine", "args", "dependsOn", "mustRunAfter",
                    "description", "group", "name", "version", "setUrl", "mainClass", "mainClassName"}
PLATFORM_WORDS = {"platform", "enforcedPlatform", "mavenBom"}  # a BOM: its pom is fetched, no jar
# What a script may use that Debian's Gradle 4.4.1 does not have: (pattern in the code, what, since).
LATER_GRADLE = ((re.compile(r"\bdependencyResolutionManagement\b"), "dependencyResolutionManagement", "6.8"),
                (re.compile(r"\b(?:enforcedPlatform|platform)\s*\("), "platform()", "5.0"),
                (re.compile(r"\bannotationProcessor\b"), "annotationProcessor", "4.6"),
                (re.compile(r"\btasks\.(?:named|register)\b"), "tasks.named/register", "4.9"),
                (re.compile(r"\btoolchain\s*\{"), "Java toolchains", "6.7"),
                (re.compile(r"\buseJUnitPlatform\b"), "useJUnitPlatform", "4.6"),
                (re.compile(r"(?<![\w.])java\s*\{"), "the java { } extension", "4.10"))


# a repository a script names: maven { url ... }, maven(url = ...), maven("..."), ivy { url ... }; and the shorthands
_REPOSITORY_URL = re.compile(r"""(?:\b(?:url|setUrl\s*\()\s*(?:=\s*)?(?:uri\s*\(\s*)?|\bmaven\s*\(\s*(?:url\s*=\s*)?(?:uri\s*\(\s*)?)["']([^"'\s]+)["']""")
_REPOSITORY_SHORTHAND = re.compile(r"\b(google|mavenCentral|jcenter|gradlePluginPortal|mavenLocal)\s*\(\s*\)")


def _block_spans(code: str, name: str) -> list[tuple[int, int]]:
    """Where each `name { ... }` block of the code is (braces counted; strings are rarely braces); an unclosed
    one runs to the end. Every brace is matched in one pass: walking from each block to its end took time
    growing with the square of a script of many blocks."""
    closing = _closing_braces(code, r"[{}]")
    return [(found.start(), closing.get(found.end() - 1, len(code))) for found in re.finditer(rf"\b{name}\s*\{{", code)]


def _outermost(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans (in order of their start) not inside another: a block inside one of the same name is in its text."""
    kept: list[tuple[int, int]] = []
    for start, end in spans:
        if not kept or start >= kept[-1][1]:
            kept.append((start, end))
    return kept


def _blocks(code: str, name: str) -> list[str]:
    return [code[start:end] for start, end in _outermost(_block_spans(code, name))]


def _without_blocks(code: str, name: str) -> str:
    kept, at = [], 0
    for start, end in _outermost(_block_spans(code, name)):
        kept.append(code[at:start])
        at = end
    return "".join(kept) + code[at:]


def code_of(text: str) -> str:
    """The script with its comments blanked (same length, lines kept) and its strings as they are."""
    return _TOKEN.sub(lambda m: re.sub(r"[^\n]", " ", m.group()) if m.group("comment") else m.group(), text)


def _literal(token: str) -> tuple[str, bool]:
    """A string token's text and whether Gradle interpolates it (double quotes)."""
    body = token[3:-3] if token[:3] in ("'''", '"""') else token[1:-1]
    return re.sub(r"\\(.)", r"\1", body), token[0] == '"'


def _closing_braces(code: str, tokens: str) -> dict[int, int]:
    """Each '{' offset -> the end of the '}' that closes it, in one pass over `tokens` (braces, and what to step
    over whole: strings)."""
    closing, opened = {}, []
    for token in re.finditer(tokens, code, re.S):
        if token.group() == "{":
            opened.append(token.start())
        elif token.group() == "}" and opened:
            closing[opened.pop()] = token.end()
    return closing


def block_spans(code: str, name: str) -> list[tuple[int, int]]:
    """(start of `name {`, end of its closing brace) for every such block, strings skipped."""
    closing = _closing_braces(code, rf"{_STR}|[{{}}]")
    return [(found.start(), closing[found.end() - 1]) for found in re.finditer(rf"\b{name}\s*\{{", code)
            if found.end() - 1 in closing]


class Values:
    """What ${...} and a bare name in a script may stand for: gradle.properties, ext/extra/def/val assignments
    (every script's, as one name space: a build's are mostly unique), maps of them, and the catalog's versions."""

    def __init__(self):
        self.values: dict[str, str] = {}

    def read_script(self, code: str) -> None:
        for name, token in _ASSIGN.findall(code):
            self.values[name] = _literal(token)[0]
        for pattern in _EXTRA:
            for key, token in pattern.findall(code):
                self.values[_literal(key)[0]] = _literal(token)[0]
        for name, token in _BY_EXTRA.findall(code):
            self.values[name] = _literal(token)[0]
        for name, body in _MAP_ASSIGN.findall(code):
            for key, token in _MAP_ENTRY.findall(body):
                key = _literal(key)[0] if key[0] in "'\"" else key
                self.values[f"{name}.{key}"] = _literal(token)[0]

    def lookup(self, expression: str) -> str | None:
        expression = expression.strip()
        found = re.fullmatch(r"(?:\w+\.)*(?:findProperty|property)\s*\(\s*['\"]([^'\"]+)['\"]\s*\)(?:\s*\?:.*)?",
                             expression) or re.fullmatch(r"(?:\w+\.)*(?:ext|extra|properties)\s*\[\s*['\"]([^'\"]+)"
                                                         r"['\"]\s*\]", expression)
        if found:
            return self.values.get(found.group(1))
        found = re.fullmatch(r"libs\.versions\.([\w.]+?)(?:\.get\(\))?", expression)
        if found:
            return self.values.get(f"libs.versions.{_alias(found.group(1))}")
        while True:
            stripped = re.sub(r"^(?:rootProject|project|ext|extra|properties)\.", "", expression)
            if stripped == expression:
                break
            expression = stripped
        # Versions.jackson: a constant of a buildSrc object, read by its own name
        return self.values.get(expression) or (self.values.get(expression.rpartition(".")[2]) if "." in expression
                                                else None)

    def text(self, token: str) -> str:
        """A string token's value; an unknown ${...} stays as written (and the caller notes it)."""
        text, interpolates = _literal(token)
        if not interpolates:
            return text
        return _GSTRING.sub(lambda m: self.lookup(m.group(1) or m.group(2)) or m.group(0), text)

    def value(self, written: str | None) -> str | None:
        if written is None:
            return None
        return self.text(written) if written[0] in "'\"" else self.lookup(written) or "${" + written + "}"


def _alias(name: str) -> str:
    """A catalog alias as libs.<alias> accessors see it: -, _ and . all separate."""
    return re.sub(r"[-_.]", ".", name)


@functools.lru_cache(maxsize=1)
def implementations() -> dict[str, str]:
    try:
        return load_yaml(PLUGINS_FILE.read_text())
    except (OSError, YAMLSyntaxError) as error:
        raise UserError(f"{PLUGINS_FILE}: cannot be read ({error})") from None


class Found:
    """Stand-ins by coordinates, plugins by id and version, and the notes."""

    def __init__(self):
        self.artifacts: dict[tuple[str, str, str], str] = {}  # coordinates -> packaging (jar, pom)
        self.management_plugins = False  # a pluginManagement { plugins { } } (Gradle 5.6)
        self.plugins: dict[tuple[str, str], dict] = {}
        self.plugin_defaults: dict[str, str] = {}
        self.legacy_ids: list[str] = []
        self.kotlin_modules: list[tuple[str, str, str | None]] = []  # (where, module, version) of kotlin("module")
        self.substituted: dict[tuple[str, str], str] = {}  # (group, name) -> the included build that builds it
        self.classpath: list[tuple[str, str, str]] = []
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def artifact(self, where: str, group: str, name: str, version: str | None, packaging: str = "jar",
                 classifier: str | None = None) -> tuple[str, str, str] | None:
        shown = printable(f"{group}:{name}" + (f":{version}" if version else ""))
        if version and "!!" in version:  # strictly: 1.0!! is 1.0; [1.0,2.0[!!1.5 prefers 1.5 (Gradle 6.0)
            strict, _, preferred = version.partition("!!")
            version = preferred or strict
        if not version:
            self.note(f"{where}: {shown}: no version (a platform or a plugin manages it); not stood in for")
            return None
        if "$" in version:
            self.note(f"{where}: {shown}: a variable not found in the project; not stood in for")
            return None
        if "+" in version or version.startswith(("latest.", "[", "(", "]")) or not re.fullmatch(r"[\w.\-]+", version):
            self.note(f"{where}: {shown}: a dynamic version or a range; Gradle would read maven-metadata.xml "
                      "and pick one; not stood in for")
            return None
        if classifier:
            self.note(f"{where}: {shown}:{printable(classifier)}: a classifier or an extension; the stand-ins "
                      "are a jar and a pom; not stood in for")
            return None
        gav = (group, name, version)
        # a platform's pom that is also a jar dependency somewhere is a jar (with its pom)
        self.artifacts[gav] = "jar" if "jar" in (packaging, self.artifacts.get(gav)) else "pom"
        return gav

    def plugin(self, where: str, plugin_id: str, version: str | None) -> None:
        version = version or self.plugin_defaults.get(plugin_id)
        if in_core_namespace(plugin_id) and not version:
            return  # a core plugin: in Gradle itself (which refuses a version on one)
        if not version:
            self.note(f"{where}: plugin {printable(plugin_id)}: no version (from buildSrc, an included build or "
                      "a settings plugin); not stood in for")
            return
        if "$" in version or not re.fullmatch(r"[\w.\-]+", version):
            self.note(f"{where}: plugin {printable(plugin_id)} version {printable(version)}: not a version this "
                      "can read; not stood in for")
            return
        self.plugins.setdefault((plugin_id, version), {"id": plugin_id, "version": version})


def in_core_namespace(plugin_id: str) -> bool:
    """Whether Gradle looks for the plugin among its own first (java, application, org.gradle.java-library): its
    namespace (before the last '.') is empty or exactly org.gradle. Gradle goes on to the portal for one it does
    not have (org.gradle.test-retry, with a version); org.gradle.toolchains.foojay-resolver-convention is never
    core."""
    return plugin_id.rpartition(".")[0] in ("", "org.gradle")


def _is_settings(path: str) -> bool:
    return path.rsplit("/", 1)[-1].startswith("settings.gradle")


def _script(path: str, code: str, values: Values, found: Found, catalog: dict) -> None:
    """One script's plugins and dependencies; `code` is its text without comments (code_of)."""
    management = block_spans(code, "pluginManagement")
    for start, end in block_spans(code, "plugins"):
        defaults = any(m_start < start < m_end for m_start, m_end in management)
        block = code[start:end]
        for match in _PLUGIN.finditer(block):
            tail = _PLUGIN_TAIL.match(block, match.end())
            version = values.value(tail.group(1)) if tail and tail.group(1) else None
            if match.group(1):
                plugin_id = values.text(match.group(1))
            elif match.group(2):
                plugin_id = f"org.jetbrains.kotlin.{values.text(match.group(2))}"
            else:
                entry = catalog.get("plugins", {}).get(_alias(match.group(3).removeprefix("libs.plugins.")))
                if entry is None:
                    found.note(f"{printable(path)}: alias({printable(match.group(3))}): not in {CATALOG}; not "
                               "stood in for")
                    continue
                plugin_id, version = entry
            if defaults:
                found.management_plugins = True
                if version:
                    found.plugin_defaults[plugin_id] = version
            else:
                found.plugin(printable(path), plugin_id, version)
    plugin_blocks = _outermost(sorted(block_spans(code, "plugins")))
    block_starts = [start for start, _ in plugin_blocks]
    for match in _KOTLIN_MODULE.finditer(code):
        index = bisect.bisect_right(block_starts, match.start()) - 1
        if index < 0 or match.start() >= plugin_blocks[index][1]:  # in a plugins block: the Kotlin plugin
            found.kotlin_modules.append((printable(path), values.text(match.group(1)), values.value(match.group(2))))
    for kind, token in _APPLY.findall(code):
        value = values.text(token)
        if kind == "plugin" and not in_core_namespace(value):
            found.legacy_ids.append(value)
        elif kind == "from" and re.match(r"https?://", value):
            found.note(f"{printable(path)}: apply from: {printable(value)}: a script Gradle downloads from that "
                       "host while it configures the build; not stood in for")
    for match in _STRING.finditer(code):
        value = values.text(match.group())
        parts = _COORDINATES.match(value)
        if not parts and "$" in value and _LOOSE_COORDINATES.match(value):
            found.note(f"{printable(path)}: {printable(value)}: a variable not found in the project; not stood in for")
        if not parts or "/" in value:
            continue
        word = _PRECEDING.search(code[max(0, match.start() - 60):match.start()])
        word = word.group(1) if word else None
        if word in NOT_DEPENDENCIES or (parts.group(3) is None and word is None):
            continue
        group, name, version, classifier, extension = parts.groups()
        packaging = "pom" if word in PLATFORM_WORDS else "jar"
        gav = found.artifact(printable(path), group, name, version, packaging,
                             classifier or (extension if extension not in (None, "jar", "pom") else None))
        if gav and word == "classpath":
            found.classpath.append(gav)
    for match in _MAP_NOTATION.finditer(code):
        entries = dict(_MAP_KEY.findall(match.group()))
        group, name, version = (values.value(entries.get(key)) for key in ("group", "name", "version"))
        if group and name and "$" not in group + name:
            extra = next((key for key in ("classifier", "ext") if key in entries), None)
            found.artifact(printable(path), group, name, version, classifier=f"({extra})" if extra else None)


def _catalog(files: dict[str, bytes], found: Found, values: Values) -> dict:
    """gradle/libs.versions.toml: its libraries and plugins stood in for; {"plugins": alias -> (id, version)}."""
    if CATALOG not in files:
        return {}
    try:
        document = tomllib.loads(files[CATALOG].decode())
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise UserError(f"{CATALOG}: not TOML ({error})") from None
    except RecursionError:
        raise UserError(f"{CATALOG}: nested too deeply to read") from None
    for table in ("versions", "libraries", "plugins", "bundles"):
        if not isinstance(document.get(table, {}), dict):
            raise UserError(f"{CATALOG}: [{table}] is not a table")
    def rich(where: str, version: dict) -> str | None:
        """A rich version's strictly, require or prefer (Gradle takes strings only: anything else names it)."""
        for kind in ("strictly", "require", "prefer"):
            if version.get(kind) is not None and not isinstance(version[kind], str):
                raise UserError(f"{CATALOG}: {where}: {kind} is not a string (a version in quotes)")
        return version.get("strictly") or version.get("require") or version.get("prefer")

    versions = {}
    for name, version in document.get("versions", {}).items():
        if isinstance(version, dict):
            version = rich(f"versions.{name}", version)
        if isinstance(version, str):
            versions[name] = version
            values.values[f"libs.versions.{_alias(name)}"] = version

    def version_of(where: str, entry: dict) -> str | None:
        """version = "1.0", version.ref = "name" (TOML: {"version": {"ref": ...}}) or a rich version."""
        version = entry.get("version")
        if isinstance(version, dict):
            if "ref" in version:
                return versions.get(version["ref"]) if isinstance(version["ref"], str) else None
            return rich(where, version)
        return version if isinstance(version, str) else None

    for alias, entry in document.get("libraries", {}).items():
        if isinstance(entry, str):
            parts = entry.split(":")
            group, name, version = (parts + [None])[:3] if len(parts) >= 2 else (None, None, None)
        elif isinstance(entry, dict):
            module = entry.get("module", "")
            module = module if isinstance(module, str) else ""
            group, name = module.split(":", 1) if ":" in module else (entry.get("group"), entry.get("name"))
            group, name = (part if isinstance(part, str) else None for part in (group, name))
            version = version_of(f"libraries.{alias}", entry)
        else:
            group = name = version = None
        if not group or not name:
            raise UserError(f"{CATALOG}: libraries.{alias}: not group:artifact[:version] coordinates")
        found.artifact(CATALOG, group, name, version)
    plugins = {}
    for alias, entry in document.get("plugins", {}).items():
        if isinstance(entry, str):
            plugin_id, _, version = entry.partition(":")
        elif isinstance(entry, dict) and isinstance(entry.get("id"), str) and entry["id"]:
            plugin_id, version = entry["id"], version_of(f"plugins.{alias}", entry)
        else:
            raise UserError(f"{CATALOG}: plugins.{alias}: needs an id")
        plugins[_alias(alias)] = (plugin_id, version or None)
    found.note(f"{CATALOG}: version catalogs came in Gradle 7.0; Debian's Gradle 4.4.1 does not read it (a "
               "script using libs. stops there)")
    return {"plugins": plugins}


def _settings_catalogs(codes: dict[str, str], values: Values, found: Found, catalog: dict) -> None:
    """Version catalogs a settings script builds (versionCatalogs { create("libs") { version(...); library(...)
    .versionRef(...); plugin(...).version(...) } }): their libraries stood in for, the `libs` catalog's versions
    and plugins known to the scripts as those of libs.versions.toml are."""
    for path, code in codes.items():
        if not _is_settings(path):
            continue
        for start, end in block_spans(code, "versionCatalogs"):
            body = code[start:end]
            opened = [(m.end(), values.text(m.group(1)) if m.group(1) else m.group(2))
                      for m in _CATALOG_NAME.finditer(body)]  # where each catalog's block opens, and its name
            starts = [at for at, _ in opened]
            own = {}
            for match in _CATALOG_VERSION.finditer(body):
                own[values.text(match.group(1))] = values.text(match.group(2))
            for match in _CATALOG_ENTRY.finditer(body):
                index = bisect.bisect_right(starts, match.start())  # the block the entry is in: the last opened
                name = opened[index - 1][1] if index else "libs"
                kind, alias = match.group(1), values.text(match.group(2))
                written = match.group(6) and values.text(match.group(6))
                version = own.get(written) if match.group(5) == "versionRef" else written
                if name == "libs":
                    for key, value in own.items():
                        values.values.setdefault(f"libs.versions.{_alias(key)}", value)
                if kind == "plugin":
                    if name == "libs":
                        catalog.setdefault("plugins", {})[_alias(alias)] = (values.text(match.group(3)), version or None)
                    continue
                if match.group(4):  # library("alias", "group", "artifact")
                    group, artifact = values.text(match.group(3)), values.text(match.group(4))
                else:  # library("alias", "group:artifact:version")
                    group, artifact, *rest = values.text(match.group(3)).split(":") + [""]
                    version = version or (rest[0] or None)
                found.artifact(printable(path), group, artifact, version)
            found.note(f"{printable(path)}: versionCatalogs came in Gradle 7.0; Debian's Gradle 4.4.1 does not "
                       "read it (a script using libs. stops there)")


def _included_builds(codes: dict[str, str], values: Values, found: Found) -> None:
    """The projects of the builds a settings script includes (includeBuild, a composite build): Gradle builds
    them and substitutes them for a dependency on their group:name, which is then never fetched."""
    for path, code in codes.items():
        if not _is_settings(path):
            continue
        for token in _INCLUDE_BUILD.findall(code):
            directory = posixpath.normpath(posixpath.join(posixpath.dirname(path), values.text(token)))
            names = {posixpath.basename(directory)}
            for settings in (f"{directory}/settings.gradle", f"{directory}/settings.gradle.kts"):
                included = codes.get(settings, "")
                root = _ROOT_NAME.search(included)
                names = {values.text(root.group(1))} if root else names
                names |= {values.text(t).rpartition(":")[2] for m in _INCLUDE.finditer(included)
                          for t in _STRING.findall(m.group(1))}
            groups = {values.text(token) for script, script_code in codes.items()
                      if script.startswith(directory + "/") and not BUILD_SOURCES.match(script)
                      for token in _GROUP.findall(script_code)}
            found.substituted |= {(group, name): directory for group in groups for name in names}


def _kotlin_modules(found: Found) -> None:
    """kotlin("stdlib") and kotlin("reflect", "1.9.21"): org.jetbrains.kotlin:kotlin-<module>, at the version
    written, else at the Kotlin plugin's (as the plugin sets it)."""
    plugin = next((version for (plugin_id, version) in sorted(found.plugins)
                   if plugin_id.startswith("org.jetbrains.kotlin.")), None)
    for where, module, version in found.kotlin_modules:
        found.artifact(where, "org.jetbrains.kotlin", f"kotlin-{module}", version or plugin)


def _lockfiles(files: dict[str, bytes], found: Found) -> None:
    """gradle.lockfile (and the older per-configuration lockfiles): every locked module, transitive ones too."""
    for path in sorted(p for p in files if LOCKFILES.search(p)):
        for number, line in enumerate(files[path].decode(errors="replace").splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#") or line.startswith("empty="):
                continue
            parts = line.split("=", 1)[0].split(":")
            if len(parts) != 3:
                raise UserError(f"{path}: line {number}: not group:artifact:version")
            found.artifact(printable(path), *parts)


def _verification_components(files: dict[str, bytes]) -> list[tuple[str, str, str, list[str]]]:
    """(group, name, version, artifact file names) of gradle/verification-metadata.xml."""
    root = parse_xml(VERIFICATION, files[VERIFICATION])
    if root.tag != "verification-metadata":
        raise UserError(f"{VERIFICATION}: not Gradle dependency verification metadata (top element <{root.tag}>)")
    out = []
    for component in root.findall("components/component"):
        coords = [component.get(name) for name in ("group", "name", "version")]
        if not all(coords):
            raise UserError(f"{VERIFICATION}: a <component> needs group, name and version")
        out.append((*coords, [artifact.get("name", "") for artifact in component.findall("artifact")]))
    return out


_COMPONENT = re.compile(r"(<component\b([^>]*)>)(.*?)(</component>)", re.S)
_ARTIFACT = re.compile(r"(<artifact\b([^>]*)>)(.*?)(</artifact>)", re.S)
_CHECKSUM = re.compile(r"(<(md5|sha1|sha256|sha512)\b[^>]*?\bvalue=\")([0-9a-fA-F]*)(\")")


def _attributes(text: str) -> dict[str, str]:
    return dict(re.findall(r"([\w-]+)\s*=\s*\"([^\"]*)\"", text))


def rewrite_verification(data: bytes, tree: dict[str, bytes]) -> tuple[bytes, int, int]:
    """verification-metadata.xml with each checksum of a file the stand-ins serve replaced by that file's, every
    other byte as it was; how many checksums were replaced, and how many files listed are not served."""
    text = text_of(VERIFICATION, data)
    count = unserved = 0

    def component(match: re.Match) -> str:
        attributes = _attributes(match.group(2))
        base = f"{attributes.get('group', '').replace('.', '/')}/{attributes.get('name')}/{attributes.get('version')}"

        def artifact(inner: re.Match) -> str:
            nonlocal unserved
            served = tree.get(f"{base}/{_attributes(inner.group(2)).get('name')}")
            if served is None:
                unserved += 1
                return inner.group(0)

            def checksum(found: re.Match) -> str:
                nonlocal count
                count += 1
                return found.group(1) + CHECKSUMS[found.group(2)](served).hexdigest() + found.group(4)
            return inner.group(1) + _CHECKSUM.sub(checksum, inner.group(3)) + inner.group(4)
        return match.group(1) + _ARTIFACT.sub(artifact, match.group(3)) + match.group(4)

    return _COMPONENT.sub(component, text).encode("utf-8"), count, unserved


def _wrapper(files: dict[str, bytes], found: Found) -> tuple[list[dict], dict[str, bytes]]:
    """A stand-in for the distribution ./gradlew downloads, and its distributionSha256Sum rewritten."""
    if WRAPPER_PROPERTIES not in files:
        if "gradlew" in files:
            found.note("gradlew without gradle/wrapper/gradle-wrapper.properties: it cannot start")
        return [], {}
    data = files[WRAPPER_PROPERTIES]
    values = properties(WRAPPER_PROPERTIES, data)
    url = values.get("distributionUrl")
    if not url:
        raise UserError(f"{WRAPPER_PROPERTIES}: no distributionUrl")
    if "gradlew" in files and WRAPPER_JAR not in files:
        found.note(f"gradlew without {WRAPPER_JAR}: it cannot start (a repository commits the jar)")
    name = url.rsplit("/", 1)[-1]
    distribution = re.fullmatch(r"(gradle-[\w.\-]+?)-(?:bin|all)\.zip", name)
    if not distribution:
        found.note(f"{WRAPPER_PROPERTIES}: distributionUrl {printable(url)}: not a gradle-*-bin.zip or -all.zip; "
                   "not stood in for")
        return [], {}
    home = distribution.group(1)
    script = f"#!/bin/sh\necho 'airgap stand-in {home}: no Gradle in it'\nexit 1\n"
    entry, served, problem = standin_download(url, "distributionUrl", {f"{home}/bin/gradle": script})
    if problem:
        found.note(f"{WRAPPER_PROPERTIES}: {problem}")
    if served is not None:
        found.note(f"{WRAPPER_PROPERTIES}: the stand-in {home} distribution has no Gradle in it: if its "
                   "download got through, ./gradlew would stop at it")
    new = data
    if served is not None and "distributionSha256Sum" in values:
        new = with_property(data, "distributionSha256Sum", CHECKSUMS["sha256"](served).hexdigest())
    return ([entry] if entry else []), ({WRAPPER_PROPERTIES: new} if new != data else {})


def _definition(found: Found) -> dict:
    """The additions to fixtures/content/gradle.yaml: plugins (with the stand-in class) and artifacts."""
    plugins = []
    for (plugin_id, version), _ in sorted(found.plugins.items()):
        known = implementations().get(plugin_id)
        implementation = f"{known}:{version}" if known else f"{STANDIN_GROUP}:{plugin_id}:{version}"
        if not known:
            found.note(f"plugin {printable(plugin_id)}: the implementation its marker names is not known here; "
                       f"the stand-in marker names {implementation}")
        plugins.append({"id": plugin_id, "version": version, "implementation": implementation, "class": True})
    taken = {tuple(p["implementation"].split(":")) for p in plugins} | {
        (p["id"], f"{p['id']}.gradle.plugin", p["version"]) for p in plugins}
    artifacts = []
    legacy = sorted(set(found.legacy_ids))
    for gav in sorted(found.artifacts):
        if gav in taken:
            continue
        if gav[:2] in found.substituted:
            found.note(f"{printable(':'.join(gav))}: a project of the included build {printable(found.substituted[gav[:2]])}: "
                       "Gradle builds it instead of fetching it; not stood in for")
            continue
        item = {"group": gav[0], "artifact": gav[1], "version": gav[2]}
        if found.artifacts[gav] == "pom":
            item["packaging"] = "pom"
        if legacy and gav in found.classpath:
            item["plugins"] = legacy  # `apply plugin: 'id'` finds its descriptor on the buildscript classpath
        artifacts.append(item)
    if legacy and not found.classpath:
        found.note(f"apply plugin: {', '.join(printable(i) for i in legacy)}: no buildscript classpath stood in "
                   "for carries them; the build stops where they are applied")
    return {key: value for key, value in (("plugins", plugins), ("artifacts", artifacts)) if value}


def standins(files: dict[str, bytes]) -> StandIns:
    found = Found()
    values = Values()
    if PROPERTIES_FILE in files:
        values.values |= properties(PROPERTIES_FILE, files[PROPERTIES_FILE])
    catalog = _catalog(files, found, values)
    codes = {path: code_of(text_of(path, files[path]))  # each script without its comments, read once
             for path in sorted(p for p in files if p.endswith((".gradle", ".gradle.kts")) or BUILD_SOURCES.match(p))}
    for code in codes.values():
        values.read_script(code)
    _settings_catalogs(codes, values, found, catalog)
    for path in sorted(codes, key=lambda path: not _is_settings(path)):  # settings first: pluginManagement versions
        _script(path, codes[path], values, found, catalog)
    _kotlin_modules(found)
    _included_builds(codes, values, found)
    _lockfiles(files, found)
    rewritten: dict[str, bytes] = {}
    if VERIFICATION in files:
        if re.search(rb"<verify-signatures>\s*true", files[VERIFICATION]):
            found.note(f"{VERIFICATION}: verify-signatures: the stand-ins are not signed, so a Gradle that verifies "
                       "(6.2 and later) would refuse them, and fetch the keys from key servers")
        for group, name, version, artifacts in _verification_components(files):
            if name == f"{group}.gradle.plugin":
                found.plugin(VERIFICATION, group, version)
            elif any(a.endswith(".jar") for a in artifacts):
                found.artifact(VERIFICATION, group, name, version)
            elif any(a.endswith(".pom") for a in artifacts):
                found.artifact(VERIFICATION, group, name, version, "pom")
    downloads, rewritten_wrapper = _wrapper(files, found)
    rewritten |= rewritten_wrapper
    definition = _definition(found)
    if VERIFICATION in files:
        tree = portal.generate({"plugins": definition.get("plugins", []),
                                "artifacts": definition.get("artifacts", [])}).trees["plugins"]
        new, count, unserved = rewrite_verification(files[VERIFICATION], tree)
        if new != files[VERIFICATION]:
            rewritten[VERIFICATION] = new
        found.note(f"{VERIFICATION}: {count} checksums rewritten to the stand-ins'"
                   + (f", those of {unserved} files no stand-in has (.module, a classifier) left as they were"
                      if unserved else "") + "; Debian's Gradle 4.4.1 does not verify dependencies (Gradle 6.2 does)")
    code = "\n".join(codes.values())
    later = [f"{what} ({since})" for pattern, what, since in LATER_GRADLE if pattern.search(code)]
    if found.management_plugins:
        later.insert(0, "pluginManagement { plugins { } } (5.6)")
    if any(path.endswith(".kts") for path in codes):
        later.insert(0, "the Kotlin DSL (.gradle.kts)")
    if later:
        found.note(f"Debian's Gradle 4.4.1 has none of what the scripts use of later Gradle: {', '.join(later)}: "
                   "the build stops at the first it meets")
    blocks = "\n".join(_blocks(_without_blocks(code, "publishing"), "repositories"))  # what the init script replaces
    named = list(dict.fromkeys([*_REPOSITORY_URL.findall(blocks), *(f"{m}()" for m in _REPOSITORY_SHORTHAND.findall(blocks))]))
    if named:
        found.note(f"repositories the scripts name ({', '.join(safe_url(url) for url in named)}): the preamble's init "
                   "script replaces them all by pkg-gradle-url")
    if definition:
        found.note("the stand-ins are served on the plugin portal (plugins.gradle.org/m2, pkg-gradle-url's "
                   "upstream) only, not on the repositories the scripts name; without a lockfile's edges each has "
                   "no dependencies of its own")
    settings = properties(PROPERTIES_FILE, files[PROPERTIES_FILE]) if PROPERTIES_FILE in files else {}
    proxy = sorted(key for key in settings if re.fullmatch(r"systemProp\.https?\.proxyHost", key))
    if proxy:
        found.note(f"{PROPERTIES_FILE}: {', '.join(proxy)}: Gradle sends its requests through that proxy, mirror "
                   "requests included")
    return StandIns(manager=MANAGER, definition=definition, elsewhere={"files": downloads} if downloads else {},
                    rewritten=rewritten, notes=tuple(found.notes))
