"""The Gradle plugin portal (plugins.gradle.org/m2): each plugin as a marker pom (id -> implementation
artifact) and its jar, in the Maven repository layout (content/maven.py), and a build.gradle that fetches them.
"""

from harness.stack.content import Generated
from harness.stack.content.maven import coordinates, layout


def plugin_artifacts(plugins: list[dict]) -> list[dict]:
    """Each Gradle plugin as the portal publishes it: a marker pom and its implementation jar."""
    artifacts = []
    for plugin in plugins:
        group, artifact, version = coordinates(plugin["implementation"])
        artifacts.append({"group": plugin["id"], "artifact": f"{plugin['id']}.gradle.plugin",
                          "version": plugin["version"], "packaging": "pom",
                          "dependencies": [plugin["implementation"]]})
        artifacts.append({"group": group, "artifact": artifact, "version": version, "files": {
            f"META-INF/gradle-plugins/{plugin['id']}.properties": "implementation-class=airgap.fixture.Plugin\n"}})
    return artifacts


def gradle_project(plugins: list[dict]) -> dict[str, bytes]:
    """A build.gradle resolving each plugin through its marker, from the portal or `-PpluginRepo=URL`."""
    deps = "".join(f"  fx '{p['id']}:{p['id']}.gradle.plugin:{p['version']}'\n" for p in plugins)
    text = ("repositories { maven { url(project.findProperty('pluginRepo') ?: 'https://plugins.gradle.org/m2/') } }\n"
            f"configurations {{ fx }}\ndependencies {{\n{deps}}}\n"
            "task fetch { doLast { configurations.fx.files.each { println 'FETCHED ' + it.name } } }\n")
    return {"build.gradle": text.encode()}


def generate(definition: dict) -> Generated:
    """The Gradle slice's content: the plugin portal (`plugins`) and the project resolving every plugin."""
    plugins = definition.get("plugins", [])
    return Generated(trees={"plugins": layout(plugin_artifacts(plugins))}, project=gradle_project(plugins))
