"""Composer v2 repository (packages.json + p2/VENDOR/NAME.json) with zip dists on repo.packagist.org.

Dist URLs are absolute, as on Packagist; a mirror has to rewrite them to itself (the nginx mirror does).
A package may give its own `dist_url` on a code host, as most Packagist packages do (GitHub zipballs):
the mirror leaves those alone, so only a mirror that proxies the code host too keeps them in (a `dist_url`
on repo.packagist.org itself places the zip at that path).

A customer's composer.lock brings what the fixtures do not have: versions as Composer writes them (v1.2.3,
2.0.0-RC1, dev-main, listed under p2/NAME~dev.json as Packagist lists branches), and a package's `type`,
`autoload` and `bin`, whose files the zip then holds (Composer's autoload dump scans classmap paths and
links bin files from the installed package).
"""

import re

from harness.stack.content import Generated
from harness.stack.content.archives import json_bytes, sha1_hex, zip_bytes

SITE = "https://repo.packagist.org"


def _namespace(name: str) -> str:
    return "\\".join(part.title().replace("-", "") for part in name.split("/")) + "\\"


def _autoload(pkg: dict) -> dict:
    return pkg.get("autoload") or {"psr-4": {_namespace(pkg["name"]): "src/"}}


def _paths(pkg: dict) -> list[tuple[str, bytes]]:
    """Files for the paths the package's autoload and bin name, that Composer reads when it installs it."""
    stub = f"<?php\n// airgap-harness stand-in for {pkg['name']} {pkg['version']}\n".encode()
    out = []
    for kind, entries in sorted(pkg.get("autoload", {}).items()):
        if kind in ("psr-4", "psr-0"):
            paths = [p for value in entries.values() for p in ([value] if isinstance(value, str) else value)]
        elif kind in ("classmap", "files"):
            paths = list(entries)
        else:
            continue
        for path in paths:
            path = path.strip("/")
            out.append((path if kind == "files" or path.endswith(".php") else f"{path}/AirgapStandin.php".lstrip("/"),
                        stub))
    out += [(path.strip("/"), b"#!/usr/bin/env php\n" + stub) for path in pkg.get("bin", [])]
    return out


def dist_files(pkg: dict) -> dict[str, bytes]:
    """The files of a package's dist zip (under one top directory, as code-host zipballs have them)."""
    top = pkg["name"].replace("/", "-") + f"-{pkg['version']}"
    manifest = {"name": pkg["name"], "type": pkg.get("type", "library"), "license": "MIT", "autoload": _autoload(pkg)}
    if pkg.get("require"):
        manifest["require"] = dict(pkg["require"])
    if pkg.get("bin"):
        manifest["bin"] = list(pkg["bin"])
    php = f"<?php\nnamespace {_namespace(pkg['name']).rstrip(chr(92))};\n\nfinal class Fixture {{ const VERSION = '{pkg['version']}'; }}\n"
    files = {f"{top}/{path}": data for path, data in _paths(pkg)}
    return files | {f"{top}/composer.json": json_bytes(manifest), f"{top}/src/Fixture.php": php.encode()}


def dist_zip(pkg: dict) -> bytes:
    return zip_bytes(dist_files(pkg))


def normalized(version: str) -> str:
    """Composer's version_normalized: four numeric parts and the stability (v1.2 -> 1.2.0.0, 2.0.0-RC1 ->
    2.0.0.0-RC1), a branch as it is (dev-main) or with 9999999 parts (1.x-dev -> 1.9999999.9999999.9999999-dev)."""
    if version.startswith("dev-"):
        return version
    branch = re.fullmatch(r"v?(\d+(?:\.\d+)*)\.[xX*]-dev", version)
    if branch:
        parts = branch.group(1).split(".")
        return ".".join(parts + ["9999999"] * (4 - len(parts))) + "-dev"
    found = re.fullmatch(r"v?(\d+(?:\.\d+){0,3})(?:[-.]?(.+))?", version)
    if not found:
        return version
    parts = found.group(1).split(".")
    suffix = found.group(2)
    stability = re.fullmatch(r"(?i)(stable|beta|b|RC|alpha|a|patch|pl|p)[.-]?(\d+)?", suffix or "")
    if suffix and stability:
        name = {"b": "beta", "a": "alpha", "pl": "patch", "p": "patch"}.get(stability.group(1).lower(),
                                                                           stability.group(1))
        name = "RC" if name.lower() == "rc" else name.lower()
        suffix = name + (stability.group(2) or "")
    return ".".join(parts + ["0"] * (4 - len(parts))) + (f"-{suffix}" if suffix else "")


def dev(version: str) -> bool:
    """A branch, which Packagist lists in p2/NAME~dev.json."""
    return version.startswith("dev-") or version.endswith("-dev")


def dist_path(pkg: dict) -> str:
    """Where the zip is on repo.packagist.org: its `dist_url`'s path when that is on the site, else dists/..."""
    if pkg.get("dist_url", "").startswith(f"{SITE}/"):
        return pkg["dist_url"][len(SITE) + 1:].partition("?")[0]
    return f"dists/{pkg['name']}/{pkg['name'].replace('/', '-')}-{pkg['version']}.zip"


def repository_layout(packages: list[dict]) -> dict[str, bytes]:
    tree: dict[str, bytes] = {}
    metadata: dict[str, list[dict]] = {}
    for pkg in packages:
        data = dist_zip(pkg)
        path = dist_path(pkg)
        tree[path] = data
        entry = {
            "name": pkg["name"], "version": pkg["version"], "version_normalized": normalized(pkg["version"]),
            "type": pkg.get("type", "library"), "license": ["MIT"], "time": "2024-01-01T00:00:00+00:00",
            "dist": {"type": "zip", "url": pkg.get("dist_url", f"{SITE}/{path}"),
                     "reference": sha1_hex(data), "shasum": sha1_hex(data)},
            "require": dict(pkg.get("require", {})),
            "autoload": _autoload(pkg),
        }
        if pkg.get("bin"):
            entry["bin"] = list(pkg["bin"])
        metadata.setdefault(pkg["name"], []).append(entry)
    for name, versions in metadata.items():
        tree[f"p2/{name}.json"] = json_bytes({"packages": {name: [v for v in versions if not dev(v["version"])]}})
        tree[f"p2/{name}~dev.json"] = json_bytes({"packages": {name: [v for v in versions if dev(v["version"])]}})
    tree["packages.json"] = json_bytes({"packages": [], "metadata-url": "/p2/%package%.json",
                                   "available-packages": sorted(metadata)})
    return tree


def project(definition: dict) -> dict[str, bytes]:
    return {"composer.json": json_bytes({"name": definition["name"], "require": dict(definition["require"]),
                                    "config": {"allow-plugins": False}})}


def generate(definition: dict) -> Generated:
    """The Composer slice's content: the repository (`repository`) and the project."""
    return Generated(trees={"repository": repository_layout(definition["packages"])},
                     project=project(definition["project"]), make_project=project,
                     project_fields=('name', 'require'))
