"""Stand-ins for a customer's npm or Yarn classic project: every package its lockfile names, with the
dependencies the lockfile records for it, so `npm ci` / `yarnpkg install --frozen-lockfile` resolve the same
tree from generated packages, and the lockfile's pinned hashes rewritten to those of the stand-ins.

Which file decides is the one the build uses (the slice's `customer: builds:`, first match): yarn.lock,
npm-shrinkwrap.json, package-lock.json (lockfileVersion 1, 2 or 3), else package.json alone. Packages whose
tarball URL is on the public registry (registry.npmjs.org, or Yarn's registry.yarnpkg.com, the same registry
under another name) become additions to fixtures/content/npm.yaml, served by the simulated registry.npmjs.org;
those on another host (a vendor registry) are served at the lockfile's URL on that host (fixtures/content/
leaks.yaml `files:`), where under air-gap only the trap sees them. A git dependency, a local directory, a
bundled one or a dist-tag cannot be stood in for: each gives a note.

The rewrite replaces hash values only (package-lock `integrity`, yarn.lock `integrity` and the `#<sha1>` of
`resolved`), text for text: indentation, key order, CRLF and everything else stay byte-for-byte.
"""

import json
import posixpath
import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from harness.customer.project import (StandIns, json_object_of, missing_from_copy, own_port, own_port_note, skipped_by_copy,
                                      text_of)
from harness.infra.errors import UserError
from harness.infra.textsafe import printable
from harness.stack import content, slices
from harness.stack.content import npm as generator
from harness.stack.content.archives import json_bytes, sha1_hex

MANAGER = "npm"
PUBLIC_HOSTS = ("registry.npmjs.org", "registry.yarnpkg.com")  # Yarn's name for the same registry
YARN_LOCK, MANIFEST, NPMRC, YARNRC = "yarn.lock", "package.json", ".npmrc", ".yarnrc"
OFFLINE_MIRROR = "yarn-offline-mirror"  # .yarnrc: a directory of tarballs Yarn classic installs from, offline
# the tarball's name in an offline mirror, from its URL (Yarn classic's TarballFetcher.getTarballMirrorPath): a
# registry URL's scope and file name (@scope/name/-/name-1.0.0.tgz -> @scope-name-1.0.0.tgz), else the URL's last
# segment
MIRROR_NAME = re.compile(r"/(?:(@[^/]+)(?:/|%2f))?[^/]+/(?:-|_attachments)/(?:@[^/]+/)?([^/]+)$")  # as Yarn's: no re.I
# a .yarnrc line as Yarn classic's lockfile parser reads it: a key (its ':' optional), a value (quoted, or a word
# ending at a space), then a comment; a tab does not end a word there
_YARNRC_LINE = re.compile(r'^ *("(?:[^"\\]|\\.)*"|[^ "#]+?):? +("(?:[^"\\]|\\.)*"|[^ "#]+) *(?:#.*)?$')
# https://semver.org, as npm's registry accepts versions (leading zeros tolerated, as old lockfiles have them)
VERSION = re.compile(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?")
# npm's package names (validate-npm-package-name, old mixed-case names included): never a path out of storage
NAME = re.compile(r"(?:@[A-Za-z0-9~][A-Za-z0-9._~-]*/)?[A-Za-z0-9~][A-Za-z0-9._~-]*")
# What a stand-in carries of what the lockfile records for its package. Not peer dependencies, os or cpu: the
# client takes them from the lockfile (npm) or only warns (Yarn), and what only some lockfile formats record
# would make two projects' stand-ins of one name@version differ (one run serves every project's stand-ins).
DEPENDENCY_FIELDS = ("dependencies", "optionalDependencies")
ROOT_DEPENDENCY_FIELDS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")
ROOT_SCRIPTS = ("preinstall", "install", "postinstall", "prepublish", "prepare")  # npm ci runs the project's own
# a git dependency: git URLs, a code host's shorthand, or (a range only) user/repo
GIT = re.compile(r"^(?:git\+|git://|github:|gitlab:|bitbucket:|gist:|ssh://|git@)|^[\w.-]+/[\w.-]+(?:#.*)?$")
CODE_HOSTS = ("github.com", "codeload.github.com", "gitlab.com", "bitbucket.org")  # a tarball of a git commit
LOCAL = ("file:", "link:", "workspace:", "portal:", "./", "../", "/", "~/")


@dataclass
class Locked:
    """One package a lockfile names, as the stand-in is made of it."""

    name: str  # its real name (an `npm:` alias's target)
    version: str
    fields: dict  # dependencies and the other package.json fields the lockfile records for it
    url: str | None  # where the lockfile fetches it from (None: the registry, by name and version)
    integrity: str | None = None  # the lockfile's, replaced by the stand-in's
    sha1: str | None = None  # yarn.lock: the `#<sha1>` of `resolved`
    where: str = ""  # the lockfile's path or key of it (messages)


@dataclass
class Made:
    """What the module accumulates: definition packages, files elsewhere, hash replacements, notes."""

    packages: dict = field(default_factory=dict)  # (name, version order, version) -> entry (public registry)
    elsewhere: dict = field(default_factory=dict)  # (host, path) -> leaks.yaml `files:` entry
    hashes: dict = field(default_factory=dict)  # (name, version, host) -> (integrity, sha1) of its stand-in
    notes: list = field(default_factory=list)
    npmrc: dict = field(default_factory=dict)  # the project .npmrc's settings
    documents: dict = field(default_factory=dict)  # (host, path) -> a package's metadata on a vendor registry
    offline: str | None = None  # the project directory .yarnrc's yarn-offline-mirror names, when in the project
    files: dict = field(default_factory=dict)  # the project's files (path -> bytes), as read


def standins(files: dict[str, bytes]) -> StandIns:
    """The stand-ins of the project whose `files` (path -> bytes) the build installs."""
    decisive = _decisive(files)
    npmrc = _npmrc(files.get(NPMRC))
    made = Made(npmrc=npmrc, files=files)
    manifest = json_object_of(MANIFEST, files[MANIFEST]) if MANIFEST in files else None
    if decisive != MANIFEST and manifest is None:
        raise UserError(f"{MANIFEST}: missing beside {decisive} (the build needs both)")
    if decisive == YARN_LOCK:
        made.offline, notes = _yarnrc(files)
        made.notes += notes
        rewritten = _yarn(files[YARN_LOCK], made, files)
    elif decisive == MANIFEST:
        rewritten = None
        _manifest_only(manifest, npmrc, made)
    else:
        rewritten = _package_lock(decisive, files[decisive], made)
    _documents(made)
    made.notes[:0] = _npmrc_notes(npmrc) + _script_notes(manifest)
    definition = {"packages": [made.packages[key] for key in sorted(made.packages)]} if made.packages else {}
    elsewhere = {"files": [made.elsewhere[key] for key in sorted(made.elsewhere)]} if made.elsewhere else {}
    return StandIns(manager=MANAGER, definition=definition, elsewhere=elsewhere,
                    rewritten={decisive: rewritten} if rewritten is not None and rewritten != files[decisive] else {},
                    notes=tuple(dict.fromkeys(made.notes)))


def _decisive(files: dict[str, bytes]) -> str:
    """The file the build goes by: the first of the slice's `customer: builds:` the project has."""
    for piece in slices.load():
        if piece.manager == MANAGER:
            for when, _ in piece.builds:
                if when in files:
                    return when
    raise UserError(f"no {MANIFEST} at the project's top")


# --- package-lock.json / npm-shrinkwrap.json ---------------------------------------------------------------


def _package_lock(path: str, data: bytes, made: Made) -> bytes:
    """Stand-ins for every package of a package-lock.json (or npm-shrinkwrap.json, the same format), and the
    file with their integrity. v2 and v3 list packages under `packages` (by node_modules path); v1 only under
    `dependencies` (nested); v2 has both, with the same integrity values, so both are rewritten alike."""
    lock = json_object_of(path, data)
    version = lock.get("lockfileVersion", 1)
    if type(version) is not int or version not in (1, 2, 3):
        raise UserError(f"{path}: lockfileVersion {version!r} (npm writes 1, 2 or 3)")
    packages = lock.get("packages") if version >= 2 else None
    if packages is not None:
        if not isinstance(packages, dict):
            raise UserError(f"{path}: `packages` is not an object")
        locked = _from_packages(path, packages, made)
    else:
        dependencies = lock.get("dependencies") or {}
        if not isinstance(dependencies, dict):
            raise UserError(f"{path}: `dependencies` is not an object")
        locked = _from_dependencies(path, dependencies, "dependencies", made)
    replacements = {}
    for package in locked:
        integrity, _ = _stand_in(package, made)
        if package.integrity and package.integrity != integrity:
            if replacements.setdefault(package.integrity, integrity) != integrity:
                raise UserError(f"{package.where}: the integrity {package.integrity[:24]}... is also that of "
                                "another package")
    return _replace_json_strings(path, data, replacements)


def _from_packages(path: str, packages: dict, made: Made) -> list[Locked]:
    locked, scripts = [], 0
    for key, entry in packages.items():
        if not isinstance(entry, dict):
            raise UserError(f"{path}: packages[{key!r}] is not an object")
        if "node_modules/" not in f"/{key}":
            continue  # the project itself ("") or a workspace's folder: its files are in the project
        alias = key.rpartition("node_modules/")[2]
        name = entry.get("name", alias)
        where = f"packages[{key!r}]"
        if entry.get("link"):
            made.notes.append(_local_note(alias, str(entry.get("resolved", "")), made))
            continue
        if entry.get("inBundle"):
            made.notes.append(f"{alias}: bundled in its parent's tarball, not stood in for on its own")
            continue
        resolved = entry.get("resolved")
        if resolved is not None and not isinstance(resolved, str):
            raise UserError(f"{path}: {where}: `resolved` is not a string")
        if not _from_registry(alias, resolved, made):
            continue
        version = _version(path, where, entry.get("version"))
        fields = {f: entry[f] for f in DEPENDENCY_FIELDS + ("bin",) if entry.get(f)}
        locked.append(Locked(_name(path, where, name), version, _checked_fields(path, where, fields), resolved,
                             _integrity(path, where, entry.get("integrity")), where=f"{path}: {where}"))
        scripts += bool(entry.get("hasInstallScript"))
    if scripts:
        made.notes.append(f"{scripts} package(s) have install scripts (hasInstallScript): their stand-ins have "
                          "none, so what those scripts download (a browser, a native binary) is not reproduced")
    return locked


def _from_dependencies(path: str, dependencies: dict, where: str, made: Made) -> list[Locked]:
    """lockfileVersion 1: `dependencies` by name, each with `version` (a version, `npm:name@version` for an
    alias, or the spec of a git or local dependency), `requires` (its dependencies) and nested `dependencies`."""
    locked = []
    for alias, entry in dependencies.items():
        here = f"{where}[{alias!r}]"
        if not isinstance(entry, dict):
            raise UserError(f"{path}: {here} is not an object")
        nested = entry.get("dependencies") or {}
        if not isinstance(nested, dict):
            raise UserError(f"{path}: {here}.dependencies is not an object")
        locked += _from_dependencies(path, nested, f"{here}.dependencies", made)
        if entry.get("bundled"):
            made.notes.append(f"{alias}: bundled in its parent's tarball, not stood in for on its own")
            continue
        version = entry.get("version")
        if not isinstance(version, str):
            raise UserError(f"{path}: {here}: `version` is not a string")
        name = alias
        if version.startswith("npm:"):
            name, version = alias_target(version)
        resolved = entry.get("resolved")
        if resolved is not None and not isinstance(resolved, str):
            raise UserError(f"{path}: {here}: `resolved` is not a string")
        if not VERSION.fullmatch(version):  # a git URL, file:../x, a tarball URL as the version
            if _from_registry(alias, resolved, made, spec=version):
                raise UserError(f"{path}: {here}: version {printable(version)!r} is neither a version nor a "
                                "git, local or URL dependency")
            continue
        if not _from_registry(alias, resolved, made):
            continue
        requires = entry.get("requires") or {}
        if not isinstance(requires, dict):
            raise UserError(f"{path}: {here}.requires is not an object")
        fields = _checked_fields(path, here, {"dependencies": requires} if requires else {})
        locked.append(Locked(_name(path, here, name), version, fields, resolved,
                             _integrity(path, here, entry.get("integrity")), where=f"{path}: {here}"))
    return locked


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _replace_json_strings(path: str, data: bytes, replacements: dict[str, str]) -> bytes:
    """`data` with each JSON string value "old" of `replacements` made "new": the rest as it was."""
    if not replacements:
        return data
    text = data.decode("utf-8")
    found = set()

    def replaced(match: re.Match) -> str:
        written = match.group(0)
        value = written[1:-1] if "\\" not in written else json.loads(written)  # a JSON writer may escape '/' (\\/)
        if value not in replacements:
            return written
        found.add(value)
        return json.dumps(replacements[value])
    # every JSON string, looked up: one alternation of every old value took 17 s to compile for 8,000 packages
    text = _JSON_STRING.sub(replaced, text)
    missing = sorted(set(replacements) - found)
    if missing:  # not one JSON string of the file (npm would refuse the stand-in)
        raise UserError(f"{path}: the integrity {missing[0][:24]}... is not a JSON string of the file")
    return text.encode("utf-8")


# --- yarn.lock (Yarn classic, v1) --------------------------------------------------------------------------


@dataclass
class YarnEntry:
    specs: list  # the "name@range" specifiers of its header line
    line: int  # its header's line number (1-based, messages)
    fields: dict = field(default_factory=dict)  # version, resolved, integrity -> (value, line index)
    blocks: dict = field(default_factory=dict)  # dependencies, optionalDependencies -> {name: spec}


def _yarnrc(files: dict[str, bytes]) -> tuple[str | None, list[str]]:
    """The offline mirror directory .yarnrc names (a project path), when the project holds it, and notes: on the
    mirror, and on the other settings there, which Yarn classic reads and the stand-ins do not follow."""
    if YARNRC not in files:
        return None, []
    settings = {}
    for line in text_of(YARNRC, files[YARNRC]).splitlines():
        found = _YARNRC_LINE.match(line.rstrip("\r"))
        if found:
            settings[found[1].strip('"')] = found[2].strip('"')
    notes = []
    others = [key for key in settings if key not in (OFFLINE_MIRROR, f"{OFFLINE_MIRROR}-pruning")]
    shown = sorted(key for key in others if re.fullmatch(r"(@[a-z0-9._-]+:)?[a-z][a-z0-9-]*", key))  # a setting's name
    if others:
        hidden = len(others) - len(shown)
        notes.append(f"{YARNRC} sets {', '.join(shown + ([f'{hidden} other key(s), not shown'] if hidden else []))}: "
                     f"not checked (Yarn classic reads them; the stand-ins follow {YARN_LOCK}'s URLs)")
    mirror = settings.get(OFFLINE_MIRROR)
    if not mirror:
        return None, notes
    directory = posixpath.normpath(mirror)
    if posixpath.isabs(directory) or directory == ".." or directory.startswith("../"):
        notes.append(f"{YARNRC} {OFFLINE_MIRROR} {printable(mirror)}: outside the project, so not in the build's "
                     "copy: Yarn fetches every package, as stood in for")
        return None, notes
    directory = "" if directory == "." else directory
    skipped = skipped_by_copy(directory, files)
    if skipped:
        notes.append(f"{YARNRC} {OFFLINE_MIRROR} {printable(mirror)}: in {printable(skipped)}/, which the build's copy "
                     "leaves out (build output or tool directory): Yarn fetches every package, as stood in for")
        return None, notes
    if not any(path.startswith(f"{directory}/" if directory else "") and path != YARNRC for path in files):
        notes.append(f"{YARNRC} {OFFLINE_MIRROR} {printable(mirror)}: no such directory in the project: Yarn fetches "
                     "every package, as stood in for")
        return None, notes
    return directory, notes


def _in_offline_mirror(url: str, made: Made, files: dict[str, bytes]) -> bool:
    """Whether Yarn classic installs the package at `url` from the project's offline mirror (never fetched)."""
    if made.offline is None or not url:
        return False
    path = urlsplit(url).path
    found = MIRROR_NAME.search(path)
    name = (f"{found[1]}-{found[2]}" if found[1] else found[2]) if found else posixpath.basename(path)
    return bool(name) and posixpath.join(made.offline, name) in files


def _yarn(data: bytes, made: Made, files: dict[str, bytes] | None = None) -> bytes:
    """Stand-ins for each entry of a yarn.lock v1, and the file with their sha1 (after `#` in `resolved`)
    and integrity. An entry whose tarball the offline mirror holds is installed from it: left as it is."""
    text = text_of(YARN_LOCK, data).removeprefix("\ufeff")  # Yarn's lockfile parser strips a byte-order mark
    lines = text.splitlines(keepends=True)
    entries = _parse_yarn(lines)
    mirrored = 0
    for entry in entries:
        where = f"line {entry.line}"
        alias, spec = _split_spec(YARN_LOCK, where, entry.specs[0])
        name = alias
        if spec.startswith("npm:"):
            name, spec = alias_target(spec)
        version, _ = entry.fields.get("version", (None, None))
        resolved, resolved_at = entry.fields.get("resolved", (None, None))
        url, _, sha1 = (resolved or "").partition("#")
        if _in_offline_mirror(url, made, files or {}):
            mirrored += 1
            continue
        if not _from_registry(alias, resolved, made, spec=spec):
            continue
        version = _version(YARN_LOCK, where, version)
        integrity, integrity_at = entry.fields.get("integrity", (None, None))
        fields = _checked_fields(YARN_LOCK, where, {k: v for k, v in entry.blocks.items() if v})
        package = Locked(_name(YARN_LOCK, where, name), version, fields, url or None,
                         _integrity(YARN_LOCK, where, integrity), sha1 or None, f"{YARN_LOCK}: {where}")
        new_integrity, new_sha1 = _stand_in(package, made)
        if sha1 and resolved_at is not None:
            lines[resolved_at] = _replace_once(lines[resolved_at], f"#{sha1}", f"#{new_sha1}")
        if integrity and integrity_at is not None:
            lines[integrity_at] = _replace_once(lines[integrity_at], integrity, new_integrity)
    if mirrored:
        made.notes.append(f"{YARN_LOCK}: {mirrored} of {len(entries)} entries are in the offline mirror "
                          f"{made.offline or '.'}/ ({YARNRC} {OFFLINE_MIRROR}): Yarn installs them from it, not stood "
                          "in for, their hashes kept")
    return "".join(lines).encode("utf-8")


def _parse_yarn(lines: list[str]) -> list[YarnEntry]:
    """yarn.lock v1: a header line of specifiers at column 0 ending in ':', fields indented by two spaces
    (`key value`), a `dependencies:` block's entries by four. Comments (#) and blank lines anywhere."""
    entries: list[YarnEntry] = []
    block = None
    for index, raw in enumerate(lines):
        line = raw.rstrip("\r\n")
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        where = f"{YARN_LOCK}: line {index + 1}"
        if indent == 0:
            if not stripped.endswith(":"):
                raise UserError(f"{where}: expected `specifier[, specifier...]:`")
            specs = [_unquote(where, s.strip()) for s in _split_commas(stripped[:-1])]
            if not specs or not all(specs):
                raise UserError(f"{where}: an entry header with an empty specifier (expected `name@range:`)")
            if specs == ["__metadata"]:
                raise UserError(f"{YARN_LOCK}: a Yarn 2+ lockfile (__metadata:); the build's yarnpkg is Yarn "
                                "classic (1.x), which reads only the v1 format")
            entries.append(YarnEntry(specs, index + 1))
            block = None
            continue
        if not entries:
            raise UserError(f"{where}: indented before any entry")
        entry = entries[-1]
        key, value = _key_value(where, stripped)
        if indent == 2:
            block = None
            if value is None:
                block = entry.blocks.setdefault(key, {})
            else:
                entry.fields[key] = (value, index)
        elif indent >= 4 and block is not None and value is not None:
            block[key] = value
        else:
            raise UserError(f"{where}: unexpected indentation")
    return entries


def _split_commas(text: str) -> list[str]:
    return [part for part in re.findall(r'"(?:[^"\\]|\\.)*"|[^,]+', text) if part.strip()]


def _key_value(where: str, text: str) -> tuple[str, str | None]:
    """`key value`, `"key" "value"`, or `key:` (a block: value None)."""
    match = re.fullmatch(r'("(?:[^"\\]|\\.)*"|[^\s"]+)(?:\s+(.*))?', text)
    if not match:
        raise UserError(f"{where}: cannot be read")
    key, value = match.group(1), match.group(2)
    if value is None:
        if not key.endswith(":"):
            raise UserError(f"{where}: `{printable(key)}` has no value")
        return _unquote(where, key[:-1]), None
    return _unquote(where, key), _unquote(where, value.strip())


def _unquote(where: str, text: str) -> str:
    if text.startswith('"'):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise UserError(f"{where}: a quoted string that does not end") from None
        if not isinstance(value, str):
            raise UserError(f"{where}: expected a string")
        return value
    return text


def _split_spec(path: str, where: str, spec: str) -> tuple[str, str]:
    """"name@range" -> (name, range); a scoped name's own '@' is not the separator."""
    at = spec.find("@", 1)
    if at < 0:
        raise UserError(f"{path}: {where}: {printable(spec)!r} is not name@range")
    return spec[:at], spec[at + 1:]


def _replace_once(line: str, old: str, new: str) -> str:
    return line.replace(old, new, 1)


# --- package.json alone ------------------------------------------------------------------------------------


def alias_target(spec: str) -> tuple[str, str]:
    """The package and range of an `npm:` alias: npm:bar@^1 -> (bar, ^1), npm:@scope/qux@1.0 -> (@scope/qux, 1.0);
    without a version (npm:bar, npm:@scope/qux) npm takes the latest."""
    target = spec.removeprefix("npm:")
    at = target.find("@", 1)  # a scope's '@' starts the name
    return (target, "latest") if at < 0 else (target[:at], target[at + 1:])


def _glob(pattern: str) -> re.Pattern:
    """A workspace glob as a regular expression over a directory path: `*` and `?` within one name, `**` across."""
    pattern = posixpath.normpath(pattern.strip()).removeprefix("./")
    parts = re.split(r"(\*\*/?|\*|\?)", pattern)
    return re.compile("".join({"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(part, re.escape(part))
                              for part in parts))


def _workspaces(manifest: dict, files: dict[str, bytes]) -> dict[str, dict]:
    """The manifests (by path) of the workspaces package.json's `workspaces` names: globs of directories (or
    Yarn's {"packages": [...]}, which npm reads too), a `!` glob leaving some out."""
    globs = manifest.get("workspaces", [])
    globs = globs.get("packages", []) if isinstance(globs, dict) else globs
    if not isinstance(globs, list) or not all(isinstance(glob, str) for glob in globs):
        raise UserError(f"{MANIFEST}: `workspaces` is not a list of directory globs")
    included = [_glob(glob) for glob in globs if not glob.startswith("!")]
    excluded = [_glob(glob[1:]) for glob in globs if glob.startswith("!")]
    found = {}
    for path in sorted(files):
        directory, _, name = path.rpartition("/")
        if name == MANIFEST and directory and any(p.fullmatch(directory) for p in included) \
                and not any(p.fullmatch(directory) for p in excluded):
            found[path] = json_object_of(path, files[path])
    return found


def _manifest_only(manifest: dict, npmrc: dict, made: Made) -> None:
    """No lockfile: `npm install` resolves each direct dependency from its registry's metadata, the workspaces'
    too (a workspace itself is linked from the project). A stand-in at the lowest version its range allows,
    without dependencies of its own: nothing records them."""
    workspaces = _workspaces(manifest, made.files)
    linked = {each.get("name") for each in workspaces.values()}
    count = 0
    for path, each in [(MANIFEST, manifest), *workspaces.items()]:
        for group in ROOT_DEPENDENCY_FIELDS:
            dependencies = each.get(group, {})
            if not isinstance(dependencies, dict):
                raise UserError(f"{path}: `{group}` is not an object")
            count += sum(_direct(path, f"{group}[{alias!r}]", alias, spec, npmrc, made)
                         for alias, spec in dependencies.items() if alias not in linked)
    if workspaces:
        made.notes.append(f"no lockfile: the dependencies of {len(workspaces)} workspaces stood in for too; the "
                          "workspaces themselves are linked from the project")
    if count:
        made.notes.append(f"no lockfile: {count} direct dependencies stood in for at the lowest version each "
                          "range allows, without dependencies of their own")


def _direct(path: str, field_name: str, alias: str, spec, npmrc: dict, made: Made) -> bool:
    """A direct dependency of a manifest without a lockfile (`path`'s `field_name`): whether it was stood in for
    (else skipped or noted)."""
    where = f"{path}: {field_name}"
    if not isinstance(spec, str):
        raise UserError(f"{where} is not a string")
    name = alias
    if spec.startswith("npm:"):
        name, spec = alias_target(spec)
    if not _from_registry(alias, None, made, spec=spec):
        return False
    version = lowest(spec)
    if version is None:
        made.notes.append(f"{alias}@{printable(spec)}: a dist-tag other than latest, not stood in for")
        return False
    registry = _registry_of(_name(path, field_name, name), npmrc)
    if "${" in registry:  # .npmrc names it by an environment variable the build may set: no host to serve on
        made.notes.append(f"{alias}: {NPMRC} takes its registry from an environment variable "
                          f"({printable(registry)}): not stood in for")
        return False
    _stand_in(Locked(name, version, {}, registry, where=where), made, from_manifest=True)
    return True


# One comparator of a range: an operator and a version whose parts may be x, X or * (node-semver's grammar).
COMPARATOR = re.compile(r"(<=|>=|<|>|=|\^|~>|~)?\s*v?([0-9]+|[xX*])(?:\.([0-9]+|[xX*]))?(?:\.([0-9]+|[xX*]))?"
                        r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?")


def lowest(spec: str) -> str | None:
    """The lowest version a dependency range allows (in its first `||` alternative), the stand-in to make for
    it: ^1.2.3, ~1.2, >=1.2.0 <2, 1.x, *, 1.0.0-beta.2, 1.2.3 - 2. `latest`: 1.0.0 (the stand-in is the
    latest then). None for another dist-tag (next, beta) or what is not a range."""
    alternative = spec.split("||")[0].strip()
    if alternative == "latest":
        return "1.0.0"
    hyphen = re.fullmatch(r"(\S+)\s+-\s+\S+", alternative)
    if hyphen:
        alternative = hyphen.group(1)
    best = None  # no lower bound: 0.0.0 (a start at 0.0.0 would hide a lower 0.0.0-0)
    position = 0
    for match in COMPARATOR.finditer(alternative):
        if alternative[position:match.start()].strip():
            return None
        position = match.end()
        operator, prerelease = match.group(1), match.group(5) or ""
        parts = [match.group(i) for i in (2, 3, 4)]
        given = next((i for i, part in enumerate(parts) if part is None or not part.isdigit()), 3)
        numbers = [int(part) if i < given else 0 for i, part in enumerate(parts)]
        if operator in ("<", "<="):
            continue  # an upper bound only: what is below it starts at 0.0.0
        if operator == ">":  # the next version above it: 1.2.3 -> 1.2.4, 1.2 -> 1.3.0, 1 -> 2.0.0
            if not prerelease:
                numbers[max(given, 1) - 1] += 1
            prerelease = ""
        elif given < 3:
            prerelease = ""
        candidate = (*numbers, prerelease)
        if best is None or generator.version_key(_format(candidate)) > generator.version_key(_format(best)):
            best = candidate
    if alternative[position:].strip():
        return None
    return _format(best) if best else "0.0.0"


def _format(parts: tuple) -> str:
    return ".".join(str(n) for n in parts[:3]) + (f"-{parts[3]}" if parts[3] else "")


# --- what every lockfile shares ----------------------------------------------------------------------------


def _source(value: str | None, spec: bool) -> str:
    """Where a package comes from, by its resolved URL or (spec) its range: registry, url, git or local."""
    if value is None:
        return "registry"
    if GIT.search(value) and (spec or not re.fullmatch(r"[\w.-]+/[\w.-]+(?:#.*)?", value)):
        return "git"
    if value.startswith(("http://", "https://")):
        return "git" if (urlsplit(value).hostname or "") in CODE_HOSTS else "url"
    if value.startswith(LOCAL) or not spec:
        return "local"
    return "registry"  # a range or a dist-tag


def _from_registry(alias: str, resolved: str | None, made: Made, spec: str | None = None) -> bool:
    """Whether a package can be stood in for: it comes from a registry (public or not) by its range `spec` and
    its `resolved` URL. Otherwise a note says what it is and why it cannot be."""
    for value, is_spec in ((spec, True), (resolved, False)):
        kind = _source(value, is_spec)
        if kind == "git":
            made.notes.append(f"{alias}: a git dependency ({printable(_no_userinfo(value))}): not stood in for; the "
                              "client fetches it from the code host")
            return False
        if kind == "local":
            made.notes.append(_local_note(alias, value, made))
            return False
        if kind == "url" and is_spec:
            made.notes.append(f"{alias}: a tarball URL dependency ({printable(_no_userinfo(value))}): not stood in "
                              "for; the client fetches it from that host")
            return False
    return True


def _local_note(alias: str, target: str, made: Made) -> str:
    protocol = re.match(r"(workspace|portal):", target)
    if protocol:  # pnpm's and Yarn 2+'s: npm and Yarn classic stop on it
        return (f"{alias}: a {protocol[0]} dependency ({printable(target)}): npm and Yarn classic do not know the "
                "protocol and stop on it (EUNSUPPORTEDPROTOCOL; it is pnpm's or Yarn 2+'s)")
    target = target.removeprefix("file:").removeprefix("link:")
    path = posixpath.normpath(target)
    if path.startswith(("/", "~", "..")):
        return f"{alias}: a local path ({printable(target)}) outside the project: the build's copy does not have it"
    missing = missing_from_copy(path, made.files)
    if missing:
        return f"{alias}: a local path ({printable(target)}) {missing}: the build does not find it"
    return f"{alias}: a local path ({printable(target)}) in the project: installed from the build's copy, nothing to fetch"


def _stand_in(package: Locked, made: Made, from_manifest: bool = False) -> tuple[str, str]:
    """Make the stand-in of `package` where the lockfile fetches it and return its (integrity, sha1)."""
    # an entry without `resolved`: npm fetches it from the registry .npmrc gives its scope (or the project's registry=)
    registry = _registry_of(package.name, made.npmrc)
    if "${" in registry or not urlsplit(registry).hostname:  # from an environment variable (noted): unknown here
        registry = generator.PUBLIC_REGISTRY
    written = package.url or f"{registry}{package.name}/-/{generator.tarball_name(package.name, package.version)}"
    url = urlsplit(written)
    host = (url.hostname or "").lower()
    if host in PUBLIC_HOSTS:
        host = "registry.npmjs.org"
        expected = f"/{package.name}/-/{generator.tarball_name(package.name, package.version)}"
        if package.url and not from_manifest and unquote(url.path) != expected:
            made.notes.append(f"{package.name}@{package.version}: its lockfile URL {printable(package.url)} is not "
                              f"the registry's {expected}: the stand-in is served at the latter")
    key = (package.name, package.version, host)
    if key in made.hashes:
        return made.hashes[key]
    entry = _definition(package)
    if host == "registry.npmjs.org":
        data = generator.tarball(entry)
        made.packages[(package.name, generator.version_key(package.version), package.version)] = entry
    else:
        data = _elsewhere(package, entry, host, url, from_manifest, made)
    made.hashes[key] = (generator.integrity(data), sha1_hex(data))
    return made.hashes[key]


def _elsewhere(package: Locked, entry: dict, host: str, url, from_manifest: bool, made: Made) -> bytes:
    """The stand-in on a host outside the contract (a vendor registry): its tarball at the lockfile's URL path
    (no lockfile: below <registry>/download/), and its metadata document at <registry>/<name> where .npmrc
    names a registry on that host for it (what `npm install` and an old lockfile's update ask first)."""
    path = unquote(url.path)
    if not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?", host) or not _safe_path(path):
        shown = package.url or _registry_of(package.name, made.npmrc)  # no `resolved`: where .npmrc sends it
        raise UserError(f"{package.where}: {printable(_no_userinfo(shown))} is not a URL the stand-in can be served at")
    registry = urlsplit(package.url if from_manifest else _registry_of(package.name, made.npmrc))
    prefix = unquote(registry.path).rstrip("/") + "/"
    if from_manifest:
        path = f"{prefix}download/{package.name}/{package.version}/{generator.tarball_name(package.name, package.version)}"
    files = {f"package/{name}": text for name, text in entry.get("files", {}).items()}
    files["package/package.json"] = json_bytes(generator.manifest(entry)).decode()
    tarball = {"host": host, "path": path, "kind": "tgz", "files": files}
    data = content._placeholder(tarball)
    port = own_port(url)
    if port:
        made.notes.append(own_port_note(host, port, "packages resolved"))
        return data
    made.elsewhere[(host, path)] = tarball
    if (registry.hostname or "").lower() == host and _safe_path(prefix):
        document = made.documents.setdefault((host, prefix + package.name), {
            "name": package.name, "dist-tags": {}, "versions": {}})
        document["versions"][package.version] = generator.manifest(entry) | {
            "_id": f"{package.name}@{package.version}",
            "dist": {"integrity": generator.integrity(data), "shasum": sha1_hex(data), "tarball": f"https://{host}{path}"}}
        document["dist-tags"]["latest"] = generator.latest(list(document["versions"]))
    made.notes.append(f"packages resolved on {host}, a host outside the contract: stood in for there")
    return data


def _documents(made: Made) -> None:
    """The metadata documents of the packages elsewhere, as `files:` text entries; one whose path a tarball's
    path goes below (a registry that puts tarballs under <name>/-/) is that directory's index.json, which the
    edge answers for the directory, as it does for the public registry's documents."""
    directories = {(host, directory) for host, path in made.elsewhere for directory in _directories(path)}
    for (host, path), document in sorted(made.documents.items()):
        target = f"{path}/index.json" if (host, path) in directories else path
        made.elsewhere[(host, target)] = {"host": host, "path": target, "kind": "text",
                                          "content": json_bytes(document).decode()}
        directories |= {(host, directory) for directory in _directories(target)}


def _directories(path: str) -> list[str]:
    """Every directory a path goes below: /a/b/c -> /a/b, /a, "" (a path's own parents, without the slash)."""
    parts = path.split("/")
    return ["/".join(parts[:end]) for end in range(len(parts) - 1, 0, -1)]


def _safe_path(path: str) -> bool:
    """A URL path that names a file below the host's directory of the simulated internet, and nothing else."""
    return (path.startswith("/") and not any(segment in (".", "..") for segment in path.split("/"))
            and re.fullmatch(r"[\x21-\x7e]+", path) is not None and "\\" not in path)


def _definition(package: Locked) -> dict:
    """The fixtures/content/npm.yaml entry of a stand-in: its name, version, recorded fields, an index.js and a
    small script for each `bin` the lockfile records (a project's `prepare: husky` then finds it)."""
    files = {"index.js": f"// airgap-harness stand-in for {package.name}@{package.version}\nmodule.exports = {{}};\n"}
    bins = package.fields.get("bin")
    if isinstance(bins, str):
        bins = {package.name.rpartition("/")[2]: bins}
    for target in (bins or {}).values():
        files[target.removeprefix("./")] = "#!/usr/bin/env node\n"
    return {"name": package.name, "version": package.version, **package.fields, "files": files}


def _checked_fields(path: str, where: str, fields: dict) -> dict:
    """The recorded package.json fields, refused where they are not what npm writes (no path out of a tarball)."""
    for name in DEPENDENCY_FIELDS:
        value = fields.get(name)
        if value is not None and not (isinstance(value, dict) and all(isinstance(k, str) for k in value)):
            raise UserError(f"{path}: {where}.{name} is not an object of names")
    for name in DEPENDENCY_FIELDS:
        if any(not isinstance(v, str) for v in (fields.get(name) or {}).values()):
            raise UserError(f"{path}: {where}.{name}: a range that is not a string")
    bins = fields.get("bin")
    targets = [bins] if isinstance(bins, str) else list(bins.values()) if isinstance(bins, dict) else None
    if bins is not None and (targets is None or not all(
            isinstance(t, str) and t and not t.startswith("/") and ".." not in t.split("/") and "\\" not in t
            for t in targets)):
        raise UserError(f"{path}: {where}.bin: expected paths inside the package")
    return fields


def _name(path: str, where: str, name) -> str:
    if not (isinstance(name, str) and NAME.fullmatch(name) and len(name) <= 214):
        raise UserError(f"{path}: {where}: {printable(str(name))!r} is not an npm package name")
    return name


def _version(path: str, where: str, version) -> str:
    if not (isinstance(version, str) and VERSION.fullmatch(version)):
        raise UserError(f"{path}: {where}: version {printable(str(version))!r} is not a semantic version")
    return version


def _integrity(path: str, where: str, integrity) -> str | None:
    if integrity is None:
        return None
    if not (isinstance(integrity, str) and re.fullmatch(r"[a-z0-9]+-[A-Za-z0-9+/=]+(?:\s+[a-z0-9]+-[A-Za-z0-9+/=?]+)*",
                                                       integrity.strip())):
        raise UserError(f"{path}: {where}: integrity {printable(str(integrity))[:40]!r} is not <algorithm>-<base64>")
    return integrity




# --- the project's .npmrc ----------------------------------------------------------------------------------


def _npmrc(data: bytes | None) -> dict[str, str]:
    """The project .npmrc's settings (key -> value; comments and blank lines skipped), as npm's ini reads it."""
    if data is None:
        return {}
    settings = {}
    for line in text_of(NPMRC, data).splitlines():
        line = line.strip()
        if not line or line.startswith((";", "#")) or "=" not in line:
            continue
        key, _, value = line.partition("=")
        settings[_ini_unsafe(key)] = _ini_unsafe(value)
    return settings


def _ini_unsafe(text: str) -> str:
    """A key or value as npm's ini reads it (its `unsafe`): a quoted one as written (a double-quoted one as JSON);
    else up to the first ';' or '#' not escaped by '\\' (an inline comment), `\\;` `\\#` `\\\\` unescaped."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        try:
            return json.loads(text) if text[0] == '"' else text[1:-1]
        except ValueError:
            return text[1:-1]
    out, escaped = [], False
    for char in text:
        if escaped:
            out.append(char if char in "\\;#" else "\\" + char)
            escaped = False
        elif char in ";#":
            break
        elif char == "\\":
            escaped = True
        else:
            out.append(char)
    return ("".join(out) + ("\\" if escaped else "")).strip()


def _registry_of(name: str, npmrc: dict) -> str:
    """The registry URL npm asks for `name` (a scope's line, the project's registry=, else the public one)."""
    scope = name.partition("/")[0] if name.startswith("@") else None
    registry = (scope and npmrc.get(f"{scope}:registry")) or npmrc.get("registry") or generator.PUBLIC_REGISTRY
    return registry if registry.endswith("/") else registry + "/"


def _npmrc_notes(npmrc: dict) -> list[str]:
    notes = []
    for key, value in sorted(npmrc.items()):
        url = urlsplit(value) if key == "registry" or key.endswith(":registry") else None
        host = url.netloc.rpartition("@")[2] if url else ""  # with its port, never the user-info
        if host and url.hostname not in PUBLIC_HOSTS:
            what = "its packages" if key == "registry" else key.removesuffix(":registry")
            notes.append(f"the project's .npmrc sends {printable(what)} to {printable(host)}; it wins over the registry the "
                         "preamble writes to the user .npmrc")
        if "${" in key + value:
            notes.append(f"the project's .npmrc line {printable(key)} reads an environment variable: npm stops "
                         "if it is not set in the build")
    return notes


def _script_notes(manifest: dict | None) -> list[str]:
    scripts = (manifest or {}).get("scripts", {})
    if not isinstance(scripts, dict):
        raise UserError(f"{MANIFEST}: `scripts` is not an object")
    return [f"the project's own {name} script runs in the build, with the stand-ins: {printable(str(scripts[name]))}"
            for name in ROOT_SCRIPTS if name in scripts]


def _no_userinfo(url: str) -> str:
    """A URL without the user:password a lockfile may carry (never shown)."""
    return re.sub(r"//[^/@\s]*@", "//", url)
