"""What the leak scenarios' projects fetch from public hosts outside the contract (fixtures/content/leaks.yaml).

`generate(definition)` makes the files the simulated internet's edge serves for them ("<host>/<URL path>" ->
bytes, merged into Content.static) and their images (merged into Content.images: one registry serves every
host); `static_hosts` and `registry_hosts` name the hosts, which harness/stack/servers/internet.py serves
besides the catalog's. Each kind is laid out as its real host lays it out, generated like the rest of the
content (fixed timestamps, sorted archives).
"""

import re

from harness.stack.content import npm, oci, python
from harness.stack.content.archives import sha256_hex

FIELDS = ("files", "npm", "python", "images")
Tree = dict[str, bytes]


def _check(definition: dict) -> dict:
    unknown = sorted(set(definition) - set(FIELDS))
    if unknown:
        raise ValueError(f"fixtures/content/leaks.yaml: unknown field(s) {', '.join(unknown)} (fields: {', '.join(FIELDS)})")
    return definition


def static_hosts(definition: dict) -> tuple[str, ...]:
    """The hosts whose files the edge serves: single downloads, npm registries, Python indexes."""
    definition = _check(definition)
    hosts = ([entry["host"] for entry in definition.get("files", [])]
             + [pkg["registry"] for pkg in definition.get("npm", [])]
             + [index["host"] for index in definition.get("python", [])])
    return tuple(dict.fromkeys(hosts))


def registry_hosts(definition: dict) -> tuple[str, ...]:
    """The registry hosts of its images."""
    return tuple(dict.fromkeys(ref.host for ref in images(definition)))


def images(definition: dict) -> tuple[oci.ImageRef, ...]:
    return tuple(oci.parse_ref(reference, {}) for reference in _check(definition).get("images", []))


def github_packages(packages: list[dict]) -> Tree:
    """npm packages as GitHub Packages serves them: the packument at /<name> (npm asks /@scope%2fname, which the
    edge decodes to that path), each tarball at /download/<name>/<version>/<sha256>."""
    tree: Tree = {}
    by_name: dict[tuple[str, str], list[dict]] = {}
    for pkg in packages:
        by_name.setdefault((pkg["registry"], pkg["name"]), []).append(pkg)
    for (registry, name), versions in sorted(by_name.items()):
        document, tarballs = npm.packument(
            name, versions, lambda pkg, data: f"https://{registry}/download/{name}/{pkg['version']}/{sha256_hex(data)}")
        tree |= {url.removeprefix("https://"): data for url, data in tarballs.items()}
        tree[f"{registry}/{name}"] = document
    return tree


def _page(title: str, links: list[tuple[str, str]]) -> bytes:
    anchors = "".join(f'    <a href="{href}">{text}</a><br/>\n' for href, text in links)
    return f"<!DOCTYPE html>\n<html>\n  <head><title>{title}</title></head>\n  <body>\n{anchors}  </body>\n</html>\n".encode()


def simple_index(index: dict) -> Tree:
    """A PEP 503 simple index under `index` on `host`, as PyTorch's: a root page, one page per project linking its
    files by absolute path with their sha256, the files beside the pages."""
    host, root = index["host"], index["index"]
    if not (root.startswith("/") and root.endswith("/")):
        raise ValueError(f"fixtures/content/leaks.yaml: python: {host}: index {root!r} must start and end with '/'")
    tree: Tree = {}
    projects: dict[str, list[tuple[str, str]]] = {}
    for dist in index["distributions"]:
        filename, data = python.distributions([dist]).popitem()
        tree[f"{host}{root}{filename}"] = data
        project = re.sub(r"[-_.]+", "-", dist["name"]).lower()
        projects.setdefault(project, []).append((f"{root}{filename}#sha256={sha256_hex(data)}", filename))
    for project, links in sorted(projects.items()):
        tree[f"{host}{root}{project}/index.html"] = _page(f"Links for {project}", sorted(links))
    tree[f"{host}{root}index.html"] = _page("Simple index", [(f"{p}/", p) for p in sorted(projects)])
    return tree


def generate(definition: dict) -> Tree:
    """The files of every host of the definition ("<host>/<URL path>" -> bytes); its images: `images()`."""
    from harness.stack.content import _placeholder  # the single downloads are made as static.yaml's are

    definition = _check(definition)
    tree: Tree = {f"{entry['host']}{entry['path']}": _placeholder(entry) for entry in definition.get("files", [])}
    tree |= github_packages(definition.get("npm", []))
    for index in definition.get("python", []):
        tree |= simple_index(index)
    return tree
