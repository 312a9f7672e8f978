"""Fixture content for the simulated internet, generated from the small definitions in fixtures/content/.

`build()` is pure: the same definitions give byte-identical trees (fixed timestamps, sorted entries), so a
run can compare digests across the public source, the mirror and the client's download.
"""

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.infra.errors import UserError
from harness.stack.content import composer, gomod, maven, npm, nuget, oci, python, rubygems, sumdb
from harness.stack.content.archives import tgz_bytes, zip_bytes
from harness.infra import paths

Tree = dict[str, bytes]


@dataclass(frozen=True)
class Content:
    images: tuple[oci.ImageRef, ...]  # every fixture image and the simulated host serving it
    registry: Tree  # registry:2 storage (relative to its rootdirectory)
    verdaccio: Tree  # verdaccio storage directory
    python: Tree  # file name -> wheel/sdist to upload to the simulated PyPI
    static: Tree  # "<host>/<url path>" -> bytes, served as files by the simulated internet
    projects: dict[str, Tree]  # ecosystem (or leak project) -> a client project consuming the fixtures
    go_sumdb_key: str = sumdb.VERIFIER_KEY  # GOSUMDB value under which the simulated sum.golang.org verifies


def _load(directory: Path, name: str) -> dict:
    path = directory / name
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as error:
        raise UserError(f"fixture content {path}: cannot be read ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise UserError(f"fixture content {path}: not valid YAML ({error})") from None
    if not isinstance(document, dict):
        raise UserError(f"fixture content {path}: expected a mapping at the top level")
    return document


def _under(prefix: str, tree: Tree) -> Tree:
    return {f"{prefix}/{path}": data for path, data in tree.items()}


def _placeholder(entry: dict) -> bytes:
    files = {path: text.encode() for path, text in entry.get("files", {}).items()}
    kinds = {"text": lambda: entry["content"].encode(), "zip": lambda: zip_bytes(files), "tgz": lambda: tgz_bytes(files)}
    if entry.get("kind") not in kinds:
        raise UserError(f"fixtures/content/static.yaml: {entry.get('path')}: kind must be one of {sorted(kinds)}")
    return kinds[entry["kind"]]()


def fixtures_dir() -> Path:
    """The content definitions: fixtures/content in the checkout."""
    return paths.fixtures_dir() / "content"


@functools.lru_cache(maxsize=4)
def build(directory: Path | None = None) -> Content:
    """Generate every fixture tree from the definitions in `directory` (default: fixtures_dir())."""
    directory = directory or fixtures_dir()
    try:
        return _build(directory)
    except (KeyError, ValueError, TypeError) as error:
        raise UserError(f"fixture content in {directory}: {error}") from None


def _build(directory: Path) -> Content:
    images_def = _load(directory, "oci-images.yaml")
    refs = tuple(oci.parse_ref(r, images_def.get("registry_hosts", {})) for r in images_def["images"])
    npm_def, py_def, mvn_def = (_load(directory, n) for n in ("npm.yaml", "python.yaml", "maven.yaml"))
    go_def, gem_def, php_def = (_load(directory, n) for n in ("go.yaml", "rubygems.yaml", "composer.yaml"))
    nuget_def, static_def = _load(directory, "nuget.yaml"), _load(directory, "static.yaml")

    go_tree, go_sums = gomod.proxy_layout(go_def["modules"])
    gem_tree = rubygems.index_layout(gem_def["gems"])
    static: Tree = {}
    static |= _under("repo.maven.apache.org/maven2", maven.layout(mvn_def["maven"]))
    static |= _under("plugins.gradle.org/m2", maven.layout(maven.plugin_artifacts(mvn_def.get("gradle_plugins", []))))
    static |= _under("proxy.golang.org", go_tree)
    # the checksum database, also under the proxy's /sumdb/ (the go command asks its GOPROXY first)
    sums_tree = sumdb.layout(go_sums)
    static |= _under("sum.golang.org", sums_tree)
    static |= _under("proxy.golang.org/sumdb/sum.golang.org", sums_tree | {"supported": b""})
    static |= _under("rubygems.org", gem_tree)
    static |= _under("repo.packagist.org", composer.repository_layout(php_def["packages"]))
    static |= _under("api.nuget.org", nuget.feed_layout(nuget_def["packages"]))
    for entry in static_def["files"]:
        static[f"{entry['host']}{entry['path']}"] = _placeholder(entry)

    projects = {
        "npm": npm.project(npm_def["project"], npm_def["packages"]),
        "python": python.project(py_def["project"]),
        "maven": maven.project(mvn_def["project"]),
        "gradle": maven.gradle_project(mvn_def.get("gradle_plugins", [])),
        "go": gomod.project(go_def["project"], go_def["modules"], go_sums),
        "rubygems": rubygems.project(gem_def["project"], gem_def["gems"]),
        "composer": composer.project(php_def["project"]),
    }
    # projects built to show one known leak each (scenarios/leak-*.yaml), named in the ecosystem's file
    for definition, make in ((mvn_def, maven.project), (py_def, python.project), (php_def, composer.project),
                             (go_def, lambda d: gomod.project(d, go_def["modules"], go_sums)),
                             (npm_def, lambda d: npm.project(d, npm_def["packages"]))):
        projects |= {name: make(leak) for name, leak in definition.get("leak_projects", {}).items()}
    return Content(images=refs, registry=oci.registry_storage(list(refs)),
                   verdaccio=npm.verdaccio_storage(npm_def["packages"]),
                   python=python.distributions(py_def["distributions"]), static=static, projects=projects)
