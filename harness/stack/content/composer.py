"""Composer v2 repository (packages.json + p2/VENDOR/NAME.json) with zip dists on repo.packagist.org.

Dist URLs are absolute, as on Packagist; a mirror has to rewrite them to itself (the nginx mirror does).
A package may give its own `dist_url` on a code host, as most Packagist packages do (GitHub zipballs):
the mirror leaves those alone, so only a mirror that proxies the code host too keeps them in.
"""


from harness.stack.content import Generated
from harness.stack.content.archives import json_bytes, sha1_hex, zip_bytes

SITE = "https://repo.packagist.org"


def _namespace(name: str) -> str:
    return "\\".join(part.title().replace("-", "") for part in name.split("/")) + "\\"


def dist_zip(pkg: dict) -> bytes:
    top = pkg["name"].replace("/", "-") + f"-{pkg['version']}"
    manifest = {"name": pkg["name"], "type": "library", "license": "MIT",
                "autoload": {"psr-4": {_namespace(pkg["name"]): "src/"}}}
    if pkg.get("require"):
        manifest["require"] = dict(pkg["require"])
    php = f"<?php\nnamespace {_namespace(pkg['name']).rstrip(chr(92))};\n\nfinal class Fixture {{ const VERSION = '{pkg['version']}'; }}\n"
    return zip_bytes({f"{top}/composer.json": json_bytes(manifest), f"{top}/src/Fixture.php": php.encode()})


def repository_layout(packages: list[dict]) -> dict[str, bytes]:
    tree: dict[str, bytes] = {}
    metadata: dict[str, list[dict]] = {}
    for pkg in packages:
        data = dist_zip(pkg)
        path = f"dists/{pkg['name']}/{pkg['name'].replace('/', '-')}-{pkg['version']}.zip"
        tree[path] = data
        metadata.setdefault(pkg["name"], []).append({
            "name": pkg["name"], "version": pkg["version"], "version_normalized": f"{pkg['version']}.0",
            "type": "library", "license": ["MIT"], "time": "2024-01-01T00:00:00+00:00",
            "dist": {"type": "zip", "url": pkg.get("dist_url", f"{SITE}/{path}"),
                     "reference": sha1_hex(data), "shasum": sha1_hex(data)},
            "require": dict(pkg.get("require", {})),
            "autoload": {"psr-4": {_namespace(pkg["name"]): "src/"}},
        })
    for name, versions in metadata.items():
        tree[f"p2/{name}.json"] = json_bytes({"packages": {name: versions}})
        tree[f"p2/{name}~dev.json"] = json_bytes({"packages": {name: []}})
    tree["packages.json"] = json_bytes({"packages": [], "metadata-url": "/p2/%package%.json",
                                   "available-packages": sorted(metadata)})
    return tree


def project(definition: dict) -> dict[str, bytes]:
    return {"composer.json": json_bytes({"name": definition["name"], "require": dict(definition["require"]),
                                    "config": {"allow-plugins": False}})}


def generate(definition: dict) -> Generated:
    """The Composer slice's content: the repository (`repository`) and the project."""
    return Generated(trees={"repository": repository_layout(definition["packages"])},
                     project=project(definition["project"]), make_project=project)
