"""npm packages as the public registry's files (the simulated registry.npmjs.org serves them as they are) and
projects with a package-lock.json or yarn.lock whose `resolved` URLs name a public registry, as real
lockfiles do.
"""

import base64
import hashlib
import tarfile

from harness.stack.content import Generated
from harness.stack.content.archives import EPOCH_ISO, json_bytes, sha1_hex, tgz_bytes

PUBLIC_REGISTRY = "https://registry.npmjs.org/"
INSTALL_SCRIPTS = {"preinstall", "install", "postinstall"}


def tarball_name(name: str, version: str) -> str:
    """The tarball's file name as the registry names it (a scoped package's without its scope)."""
    return f"{name.rpartition('/')[2]}-{version}.tgz"


# package.json fields a definition may carry as they are, besides dependencies and scripts: a customer's
# lockfile records them for its packages (harness/customer/npm.py); without them a stand-in's optional edges
# would be required ones, and a project's lifecycle script would find no bin to run.
PASSED_FIELDS = ("optionalDependencies", "bin")


def manifest(pkg: dict) -> dict:
    manifest = {"name": pkg["name"], "version": pkg["version"], "main": "index.js", "license": "MIT",
                "description": f"airgap-harness fixture {pkg['name']}"}
    if pkg.get("dependencies"):
        manifest["dependencies"] = dict(pkg["dependencies"])
    if pkg.get("scripts"):  # lifecycle scripts (a postinstall download)
        manifest["scripts"] = dict(pkg["scripts"])
    for name in PASSED_FIELDS:
        if pkg.get(name):
            manifest[name] = pkg[name]
    return manifest


def tarball(pkg: dict) -> bytes:
    files = {f"package/{path}": text.encode() for path, text in pkg.get("files", {}).items()}
    files["package/package.json"] = json_bytes(manifest(pkg))
    return tgz_bytes(files, fmt=tarfile.USTAR_FORMAT)


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def packument(name: str, versions: list[dict], tarball_url) -> tuple[bytes, dict[str, bytes]]:
    """A package's registry document, and its tarballs by the URL it gives them: each version's manifest with
    its `dist` (the tarball at `tarball_url(pkg, data)`, as the registry names it), the `latest` dist-tag."""
    document = {"_id": name, "name": name, "dist-tags": {}, "versions": {},
                "time": {"created": EPOCH_ISO, "modified": EPOCH_ISO}}
    tarballs = {}
    for pkg in versions:
        data = tarball(pkg)
        url = tarball_url(pkg, data)
        tarballs[url] = data
        document["versions"][pkg["version"]] = manifest(pkg) | {"_id": f"{name}@{pkg['version']}", "dist": {
            "shasum": sha1_hex(data), "integrity": integrity(data), "tarball": url}}
        document["time"][pkg["version"]] = EPOCH_ISO
    document["dist-tags"]["latest"] = latest([p["version"] for p in versions])
    return json_bytes(document), tarballs


def registry_files(packages: list[dict]) -> dict[str, bytes]:
    """The public registry's files as the simulated internet serves them: `<name>/index.json` answers
    `/<name>` (the edge's static server tries it; npm asks `/@scope%2fname`, which the edge decodes), each
    tarball at `/<name>/-/<file>`, the absolute URL registry.npmjs.org writes into its documents."""
    tree: dict[str, bytes] = {}
    by_name: dict[str, list[dict]] = {}
    for pkg in packages:
        by_name.setdefault(pkg["name"], []).append(pkg)
    for name, versions in sorted(by_name.items()):
        document, tarballs = packument(
            name, versions, lambda pkg, _: f"{PUBLIC_REGISTRY}{name}/-/{tarball_name(name, pkg['version'])}")
        tree |= {url.removeprefix(PUBLIC_REGISTRY): data for url, data in tarballs.items()}
        tree[f"{name}/index.json"] = document
    return tree


def version_key(version: str) -> tuple:
    """SemVer 2.0 precedence (build metadata ignored): 1.0.0-beta.2 < 1.0.0-beta.11 < 1.0.0 < 1.0.1, so that
    a customer's prerelease stand-ins (1.0.0-rc.1, 0.0.0-insiders.abc) sort as their registry sorts them.
    Numeric identifiers sort below alphanumeric ones, a release above its prereleases."""
    core, _, prerelease = version.partition("+")[0].partition("-")
    numbers = tuple(int(part) for part in core.split("."))
    if not prerelease:
        return numbers, 1, ()
    return numbers, 0, tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in prerelease.split("."))


def latest(versions: list[str]) -> str:
    """The `latest` dist-tag as the public registry sets it on publish: the highest release, or the highest
    prerelease of a package that has only prereleases."""
    releases = [v for v in versions if "-" not in v.partition("+")[0]]
    return max(releases or versions, key=version_key)


def _satisfies(version: str, spec: str) -> bool:
    """Enough of npm's ranges for fixtures: exact, ^x.y.z, ~x.y.z."""
    have = version_key(version)
    if spec[0] in "^~":
        want = version_key(spec[1:])
        same = 1 if spec[0] == "^" else 2
        return have[0][:same] == want[0][:same] and have >= want
    return have == version_key(spec)


def _resolve(name: str, spec: str, packages: list[dict]) -> dict:
    candidates = [p for p in packages if p["name"] == name and _satisfies(p["version"], spec)]
    if not candidates:
        raise ValueError(f"fixtures/content/npm.yaml: no package satisfies {name}@{spec}")
    return max(candidates, key=lambda p: version_key(p["version"]))


def _lock_entries(dependencies: dict, packages: list[dict], registry: str) -> dict[tuple[str, str], dict]:
    """(name, spec) -> the resolved package, its tarball URL on `registry` and integrity (one version per name)."""
    entries, pending = {}, list(dependencies.items())
    while pending:
        name, spec = pending.pop()
        if (name, spec) in entries:
            continue
        pkg = _resolve(name, spec, packages)
        entries[(name, spec)] = {"pkg": pkg, "data": tarball(pkg),
                                 "resolved": f"{registry}{name}/-/{tarball_name(name, pkg['version'])}"}
        pending.extend(pkg.get("dependencies", {}).items())
    return entries


def _package_lock(definition: dict, manifest: dict, entries: dict) -> bytes:
    """lockfileVersion 3 (flat: one version per name)."""
    locked = {"": {k: v for k, v in manifest.items() if k not in ("private", "scripts")}}
    for (name, _), entry in sorted(entries.items()):
        pkg = entry["pkg"]
        locked[f"node_modules/{name}"] = {"version": pkg["version"], "resolved": entry["resolved"],
                                          "integrity": integrity(entry["data"]), "license": "MIT"}
        if set(pkg.get("scripts", {})) & INSTALL_SCRIPTS:  # npm ci runs a locked package's scripts only then
            locked[f"node_modules/{name}"]["hasInstallScript"] = True
        if pkg.get("dependencies"):
            locked[f"node_modules/{name}"]["dependencies"] = dict(pkg["dependencies"])
    return json_bytes({"name": definition["name"], "version": definition["version"], "lockfileVersion": 3,
                  "requires": True, "packages": locked})


def _yarn_lock(entries: dict) -> bytes:
    """yarn.lock v1, as Yarn classic writes it (`resolved` carries the tarball's sha1 after `#`)."""
    text = "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n"
    for (name, spec), entry in sorted(entries.items()):
        pkg = entry["pkg"]
        text += (f'\n"{name}@{spec}":\n  version "{pkg["version"]}"\n'
                 f'  resolved "{entry["resolved"]}#{sha1_hex(entry["data"])}"\n'
                 f'  integrity {integrity(entry["data"])}\n')
        if pkg.get("dependencies"):
            text += "  dependencies:\n" + "".join(f'    {dep} "{dep_spec}"\n'
                                                  for dep, dep_spec in sorted(pkg["dependencies"].items()))
    return text.encode()


def project(definition: dict, packages: list[dict]) -> dict[str, bytes]:
    """package.json and its lockfile: package-lock.json, or with `lockfile: yarn` a yarn.lock. `resolved`
    URLs name `registry` (default: the public npm registry), as real lockfiles do."""
    manifest = {"name": definition["name"], "version": definition["version"], "private": True,
                "dependencies": dict(definition["dependencies"])}
    if definition.get("scripts"):  # the project's own lifecycle scripts (npm ci runs preinstall and the rest)
        manifest["scripts"] = dict(definition["scripts"])
    entries = _lock_entries(definition["dependencies"], packages, definition.get("registry", PUBLIC_REGISTRY))
    if definition.get("lockfile", "npm") == "yarn":
        return {"package.json": json_bytes(manifest), "yarn.lock": _yarn_lock(entries)}
    return {"package.json": json_bytes(manifest), "package-lock.json": _package_lock(definition, manifest, entries)}


def generate(definition: dict) -> Generated:
    """The npm slice's content: the registry's files of the fixture packages (`registry`) and the project."""
    packages = definition["packages"]
    make = lambda project_definition: project(project_definition, packages)  # noqa: E731
    return Generated(trees={"registry": registry_files(packages)}, project=make(definition["project"]), make_project=make,
                     project_fields=('name', 'version', 'dependencies', 'scripts', 'registry', 'lockfile'))
