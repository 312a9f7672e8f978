"""The Gradle plugin portal (plugins.gradle.org/m2): each plugin as a marker pom (id -> implementation
artifact) and its jar, in the Maven repository layout (content/maven.py), and a build.gradle that fetches them.

A customer project's stand-ins (harness/customer/gradle.py) add two things the fixtures do not need:
`artifacts:` (Maven artifacts the portal serves besides plugins, as the real portal answers for Maven Central's:
the preamble's init script sends every repository of a build to pkg-gradle-url, whose upstream is the portal)
and `class: true` on a plugin (its jar carries a plugin class that does nothing, so a plugins block that applies
it gets past applying it; the fixture plugins carry a descriptor only and are resolved, never applied).
"""

import struct

from harness.stack.content import Generated
from harness.stack.content.maven import coordinates, layout

STANDIN_CLASS = "airgap/standin/Plugin"  # the do-nothing org.gradle.api.Plugin of a stand-in plugin jar


def plugin_class() -> bytes:
    """A Java 8 class file: `public class airgap.standin.Plugin implements org.gradle.api.Plugin` with a public
    no-argument constructor and an `apply(Object)` that returns. Written byte by byte (no compiler here)."""
    utf8 = lambda text: b"\x01" + struct.pack(">H", len(text)) + text.encode()  # noqa: E731
    pool = [b"\x0a\x00\x02\x00\x03",              # 1 Methodref java/lang/Object.<init>:()V
            b"\x07\x00\x04",                      # 2 Class java/lang/Object
            b"\x0c\x00\x05\x00\x06",              # 3 NameAndType <init>:()V
            utf8("java/lang/Object"), utf8("<init>"), utf8("()V"),  # 4, 5, 6
            b"\x07\x00\x08", utf8(STANDIN_CLASS),  # 7 Class this, 8
            b"\x07\x00\x0a", utf8("org/gradle/api/Plugin"),  # 9 Class the interface, 10
            utf8("Code"), utf8("apply"), utf8("(Ljava/lang/Object;)V")]  # 11, 12, 13

    def method(name: int, descriptor: int, max_stack: int, max_locals: int, code: bytes) -> bytes:
        body = struct.pack(">HHI", max_stack, max_locals, len(code)) + code + struct.pack(">HH", 0, 0)
        return struct.pack(">HHHHHI", 0x0001, name, descriptor, 1, 11, len(body)) + body

    constructor = method(5, 6, 1, 1, b"\x2a\xb7\x00\x01\xb1")  # aload_0; invokespecial #1; return
    apply = method(12, 13, 0, 2, b"\xb1")  # return
    return (b"\xca\xfe\xba\xbe" + struct.pack(">HHH", 0, 52, len(pool) + 1) + b"".join(pool)
            + struct.pack(">HHHHHHH", 0x0021, 7, 2, 1, 9, 0, 2) + constructor + apply + struct.pack(">H", 0))


def _descriptors(ids: list[str], with_class: bool) -> dict:
    """A plugin jar's files: one descriptor per plugin id, and the stand-in class when it is to be applied."""
    implementation = STANDIN_CLASS.replace("/", ".") if with_class else "airgap.fixture.Plugin"
    files: dict = {f"META-INF/gradle-plugins/{pid}.properties": f"implementation-class={implementation}\n"
                   for pid in ids}
    if with_class:
        files[f"{STANDIN_CLASS}.class"] = plugin_class()
    return files


def plugin_artifacts(plugins: list[dict]) -> list[dict]:
    """Each Gradle plugin as the portal publishes it: a marker pom and its implementation jar (one jar for every
    plugin id that names the same implementation, as a real plugin jar carries all its ids)."""
    artifacts, jars = [], {}
    for plugin in plugins:
        group, artifact, version = coordinates(plugin["implementation"])
        artifacts.append({"group": plugin["id"], "artifact": f"{plugin['id']}.gradle.plugin",
                          "version": plugin["version"], "packaging": "pom",
                          "dependencies": [plugin["implementation"]]})
        jar = jars.get(plugin["implementation"])
        if jar is None:
            jar = jars[plugin["implementation"]] = {"group": group, "artifact": artifact, "version": version,
                                                    "files": {}}
            artifacts.append(jar)
        jar["files"] |= _descriptors([plugin["id"]], bool(plugin.get("class")))
    return artifacts


def artifacts_of(listed: list[dict]) -> list[dict]:
    """`artifacts:` entries as content/maven.py lays them out; `plugins: [id]` on one (a buildscript classpath
    jar a build applies with `apply plugin:`) gives it those ids' descriptors and the stand-in class."""
    out = []
    for entry in listed:
        item = {key: value for key, value in entry.items() if key != "plugins"}
        if entry.get("plugins"):
            item["files"] = {**entry.get("files", {}), **_descriptors(entry["plugins"], True)}
        out.append(item)
    return out


def gradle_project(plugins: list[dict]) -> dict[str, bytes]:
    """A build.gradle resolving each plugin through its marker, from the portal or `-PpluginRepo=URL`."""
    deps = "".join(f"  fx '{p['id']}:{p['id']}.gradle.plugin:{p['version']}'\n" for p in plugins)
    text = ("repositories { maven { url(project.findProperty('pluginRepo') ?: 'https://plugins.gradle.org/m2/') } }\n"
            f"configurations {{ fx }}\ndependencies {{\n{deps}}}\n"
            "task fetch { doLast { configurations.fx.files.each { println 'FETCHED ' + it.name } } }\n")
    return {"build.gradle": text.encode()}


def generate(definition: dict) -> Generated:
    """The Gradle slice's content: the plugin portal (`plugins`, and `artifacts` it serves besides them; a plugin's
    own jar wins over an artifact of the same coordinates) and the project resolving every plugin."""
    plugins = definition.get("plugins", [])
    portal = layout(artifacts_of(definition.get("artifacts", [])) + plugin_artifacts(plugins))
    return Generated(trees={"plugins": portal}, project=gradle_project(plugins))
