"""Stand-ins for a Composer project: every package its composer.lock (or, without one, its composer.json) names.

`composer install` with a lock installs exactly the lock's packages (`packages` and, by default,
`packages-dev`) and downloads each from the dist URL the lock records, not from a repository: a lock made
against Packagist names GitHub zipballs (api.github.com, codeload.github.com), and those are where Composer
goes whatever repository the build configures (harness/scenarios/leak_causes.yaml: composer-dist-code-host).
So each locked package is stood in for on the simulated repo.packagist.org (its metadata giving the lock's
dist URL, as Packagist's does), and the zip is also served at the lock's own dist URL when that is on another
host, so the client meets the same URLs as with the real packages. A lock's non-empty `shasum` pins the zip:
the build's copy has the stand-ins' sha1 (an empty one, as Packagist's GitHub dists have, stays empty).

Without a lock, composer.json's requirements are resolved against the repository (the mirror): each gets a
stand-in at one version its constraint allows, with no requirements of its own. Repositories the project
adds (vcs, path, package, another composer repository) are the customer's setting and kept; what cannot be
stood in for is a note.
"""

import hashlib
import json
import re
from urllib.parse import unquote, urlsplit

from harness.customer.project import StandIns, json_object_of, own_port, own_port_note, safe_url
from harness.infra.errors import UserError
from harness.infra.textsafe import printable
from harness.stack.content import composer as generator
from harness.stack.content.archives import sha1_hex

MANIFEST, LOCKFILE = "composer.json", "composer.lock"
MANAGER = "composer"
PACKAGIST_HOSTS = {"repo.packagist.org", "packagist.org"}
NAME = re.compile(r"^[a-z0-9](?:[_.-]?[a-z0-9]+)*/[a-z0-9](?:(?:[_.]|-{1,2})?[a-z0-9]+)*$")
# the keys of composer.json that make up the lock's content-hash (Composer\Package\Locker::getContentHash)
HASHED_KEYS = ("name", "version", "require", "require-dev", "conflict", "replace", "provide", "minimum-stability",
               "prefer-stable", "repositories", "extra")
_SHASUM = re.compile(r'(?<!\\)"shasum"\s*:\s*"([^"\\]*)"')
# a version as Composer writes it: 1.2.3, v1.2.3, 2.0.0-RC1, 1.x-dev, dev-main, dev-feature/login
_VERSION_TEXT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*(?:/[A-Za-z0-9._+-]+)*$")
_HOST = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$")



def platform_package(name: str) -> bool:
    """php, ext-*, lib-*, composer-plugin-api...: what the platform provides, never downloaded."""
    return "/" not in name


def _mapping(document: dict, key: str, path: str) -> dict:
    value = document.get(key) or {}
    if isinstance(value, list) and not value:
        return {}  # PHP writes an empty object as []
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise UserError(f"{path}: {key}: expected an object of package name -> version constraint")
    return value


# --- content-hash ----------------------------------------------------------------------------------------------

def _php_json(value) -> str:
    """json_encode($value) as PHP writes it without flags: slashes and non-ASCII escaped, an empty object as []."""
    if isinstance(value, dict):
        if not value:
            return "[]"
        return "{" + ",".join(f"{_php_json(str(k))}:{_php_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_php_json(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=True).replace("/", "\\/")
    return json.dumps(value)


def content_hash(manifest: dict) -> str:
    """Composer's content-hash of composer.json: md5 of the JSON of its hashed keys (and config.platform), sorted."""
    relevant = {key: manifest[key] for key in HASHED_KEYS if key in manifest}
    platform = (manifest.get("config") or {}).get("platform") if isinstance(manifest.get("config"), dict) else None
    if platform is not None:
        relevant["config"] = {"platform": platform}
    return hashlib.md5(_php_json(dict(sorted(relevant.items()))).encode()).hexdigest()


# --- repositories ------------------------------------------------------------------------------------------------

def _repositories(manifest: dict, notes: list[str]) -> None:
    repositories = manifest.get("repositories") or []
    entries = repositories.items() if isinstance(repositories, dict) else enumerate(repositories)
    for key, repository in entries:
        if repository is False or (isinstance(repository, dict) and repository and
                                   all(value is False for value in repository.values())):
            continue  # {"packagist.org": false}: the project turns Packagist off itself
        if not isinstance(repository, dict):
            raise UserError(f"{MANIFEST}: repositories: {printable(str(key))}: expected an object")
        kind, url = repository.get("type", "?"), str(repository.get("url", ""))
        where = f"{MANIFEST}: repository {printable(str(kind))} {safe_url(url)}"
        if kind == "composer" and (urlsplit(url).hostname or "") in PACKAGIST_HOSTS:
            continue  # Packagist named again: what the mirror stands for
        if kind == "path":
            if url.startswith("/") or ".." in url.replace("\\", "/").split("/"):
                notes.append(f"{where}: outside the project, not in the build's copy; Composer stops when a "
                             "package needs it")
        elif kind == "composer":
            notes.append(f"{where}: the project's own repository, kept; Composer asks it before the mirror and "
                         "its packages are not stood in")
        elif kind in ("vcs", "git", "github", "gitlab", "bitbucket"):
            notes.append(f"{where}: kept; without a lock Composer reads the repository from its host, with one "
                         "it downloads the lock's dist URL (leak cause composer-dist-code-host on a code host)")
        elif kind == "package":
            notes.append(f"{MANIFEST}: a package repository (inline packages): kept; with a lock its packages are "
                         "stood in at the lock's dist URLs, without one they are not")
        else:
            notes.append(f"{where}: kept; its packages are not stood in")


# --- composer.lock -----------------------------------------------------------------------------------------------

def _packages(lock: dict) -> list[tuple[str, int, dict]]:
    out = []
    for section in ("packages", "packages-dev"):
        entries = lock.get(section)
        entries = [] if entries is None else entries
        if not isinstance(entries, list):
            raise UserError(f"{LOCKFILE}: {section}: expected a list of packages")
        for index, package in enumerate(entries):
            if not isinstance(package, dict) or not isinstance(package.get("name"), str) \
                    or not isinstance(package.get("version"), str):
                raise UserError(f"{LOCKFILE}: {section}[{index}]: expected a package with a name and a version")
            if not NAME.match(package["name"]):
                raise UserError(f"{LOCKFILE}: {section}[{index}]: {printable(package['name'])!r} is not a package name")
            if not _VERSION_TEXT.match(package["version"]) or ".." in package["version"]:
                raise UserError(f"{LOCKFILE}: {section}[{index}]: version {printable(package['version'])!r} is not a "
                                "Composer version")
            out.append((section, index, package))
    return out


def _inside_package(path) -> bool:
    return isinstance(path, str) and not path.startswith("/") and ".." not in path.replace("\\", "/").split("/")


def _checked_autoload(autoload, where: str) -> dict:
    """The lock's autoload, checked: its paths become files of the stand-in's zip, so each stays inside it."""
    if not isinstance(autoload, dict):
        raise UserError(f"{where}: autoload: expected an object")
    for kind, entries in autoload.items():
        if kind in ("psr-4", "psr-0"):
            if not isinstance(entries, dict):
                raise UserError(f"{where}: autoload.{kind}: expected an object of namespace -> path(s)")
            paths = [p for v in entries.values() for p in (v if isinstance(v, list) else [v])]
        elif kind in ("classmap", "files"):
            paths = entries if isinstance(entries, list) else [None]
        else:
            continue
        bad = [p for p in paths if not _inside_package(p)]
        if bad:
            raise UserError(f"{where}: autoload.{kind}: {printable(str(bad[0]))!r} is not a path inside the package")
    return autoload


def _standin(package: dict, where: str) -> dict:
    """A package in the shape of fixtures/content/composer.yaml `packages:`."""
    entry = {"name": package["name"], "version": package["version"]}
    requires = {n: c for n, c in _mapping(package, "require", where).items() if not platform_package(n)}
    if requires:
        entry["require"] = requires
    if isinstance(package.get("type"), str) and package["type"] != "library":
        entry["type"] = package["type"]
    if package.get("autoload"):
        entry["autoload"] = _checked_autoload(package["autoload"], where)
    if package.get("bin"):
        if not isinstance(package["bin"], list) or not all(_inside_package(p) for p in package["bin"]):
            raise UserError(f"{where}: bin: expected paths inside the package")
        entry["bin"] = package["bin"]
    return entry


def _from_lock(lock: dict, notes: list[str]) -> tuple[list[dict], dict, dict]:
    """(stand-ins, elsewhere files, (section, index) -> the stand-in whose zip the lock's dist URL serves)."""
    standins, elsewhere, served, on_packagist, notified = [], [], {}, [], {}
    for section, index, package in _packages(lock):
        if isinstance(package.get("notification-url"), str):
            notified.setdefault(safe_url(package["notification-url"]), []).append(package["name"])
        label = f"{printable(package['name'])} {printable(package['version'])}"
        dist = package.get("dist") if isinstance(package.get("dist"), dict) else None
        source = package.get("source") if isinstance(package.get("source"), dict) else None
        if package.get("type") == "metapackage":
            continue  # no files: nothing to download
        if dist is None:
            where = safe_url(str(source.get("url", ""))) if source else "nowhere"
            notes.append(f"{label}: no dist in the lock, only its source {where}: Composer clones it, not stood in")
            continue
        url = str(dist.get("url", ""))
        parts = urlsplit(url)
        if dist.get("type") == "path":
            if url.startswith("/") or ".." in url.replace("\\", "/").split("/"):
                notes.append(f"{label}: a path dist {printable(url)} outside the project, not in the build's copy")
            continue
        if dist.get("type") != "zip":
            notes.append(f"{label}: a {printable(str(dist.get('type')))} dist, not stood in (stand-ins are zips)")
            continue
        if parts.scheme != "https" or not parts.hostname:
            notes.append(f"{label}: dist URL {safe_url(url)} is not https://, not stood in (the simulated internet "
                         "serves https only; Composer itself refuses http unless the project sets secure-http false)")
            continue
        if not _HOST.match(parts.hostname) or not _inside_package(unquote(parts.path).lstrip("/")):
            raise UserError(f"{LOCKFILE}: {section}[{index}] ({label}): dist URL {safe_url(url)} is not a URL a "
                            "stand-in can be served at")
        entry = _standin(package, f"{LOCKFILE}: {section}[{index}] ({label})")
        if parts.hostname in PACKAGIST_HOSTS:
            entry["dist_url"] = f"{generator.SITE}{parts.path}" + (f"?{parts.query}" if parts.query else "")
            on_packagist.append(label)
            if parts.hostname != urlsplit(generator.SITE).hostname:
                notes.append(f"{label}: dist on {parts.hostname}, served as on {urlsplit(generator.SITE).hostname}")
        elif own_port(parts):
            entry["dist_url"] = url
            notes.append(own_port_note(parts.hostname, own_port(parts), f"{label}: its dist"))
        else:
            entry["dist_url"] = url
            files = {path: data.decode() for path, data in generator.dist_files(entry).items()}
            elsewhere.append({"host": parts.hostname, "path": unquote(parts.path), "kind": "zip", "files": files})
        if generator.dev(package["version"]):
            notes.append(f"{label}: a branch, locked at {printable(str(dist.get('reference', '?')))[:12]}; its "
                         "dist is a code-host snapshot no mirror keeps (stood in at that URL)")
        if package.get("type") == "composer-plugin":
            notes.append(f"{label}: a Composer plugin; the stand-in has no plugin class, and allow-plugins decides "
                         "whether Composer runs it")
        standins.append(entry)
        served[(section, index)] = entry
    if on_packagist:
        named = ", ".join(on_packagist[:3]) + (", ..." if len(on_packagist) > 3 else "")
        notes.append(f"dist URLs on Packagist itself ({named}): "
                     "composer install downloads them from the lock's URL, not through the repository the build "
                     "configures (leak cause packagist)")
    for url, names in notified.items():
        notes.append(f"{len(names)} package(s) with notification-url {url}: after a successful install Composer "
                     "POSTs their install counts there (config notify-on-install false stops it)")
    unique = []
    for entry in standins:
        if entry not in unique:
            unique.append(entry)
    return unique, {"files": elsewhere} if elsewhere else {}, served


def rewritten_lock(data: bytes, lock: dict, served: dict) -> bytes | None:
    """composer.lock with each non-empty dist shasum of a stand-in replaced by the stand-in's sha1; None: nothing
    to change. The text is edited in place (every other byte stays): the n-th "shasum" string of the file is
    the n-th of the document, in order."""
    order = []  # the document's "shasum" strings in order: (section, index) of a package's dist, or None

    def walk(value, where):
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "shasum" and isinstance(item, str):
                    order.append(where if where and where[-1] == "dist" else None)
                walk(item, (*where, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*where, index))

    walk(lock, ())
    text = data.decode("utf-8-sig")
    found = list(_SHASUM.finditer(text))
    if len(found) != len(order):
        raise UserError(f"{LOCKFILE}: its shasum fields cannot be told apart in the text (escaped keys?)")
    out, last, changed = [], 0, False
    for match, where in zip(found, order):
        entry = served.get(where[:2]) if where and len(where) == 3 else None
        if entry is not None and match.group(1):
            digest = sha1_hex(generator.dist_zip(entry))
            out.append(text[last:match.start(1)] + digest)
            last = match.end(1)
            changed |= digest != match.group(1)
    if not changed:
        return None
    bom = "\ufeff" if data.startswith(b"\xef\xbb\xbf") else ""
    return (bom + "".join(out) + text[last:]).encode()


# --- composer.json alone ----------------------------------------------------------------------------------------

_VERSION = re.compile(r"v?\d+(?:\.\d+){0,3}(?:-?(?:stable|beta|b|RC|alpha|a|patch|pl|p)(?:[.-]?\d+)?)?", re.I)


def pick_version(constraint: str) -> str | None:
    """One version a Composer constraint allows, as Packagist would list it: the lowest bound of its first
    alternative (^3.5 -> 3.5.0, v6.4.3 -> v6.4.3, 1.0.* -> 1.0.0, dev-main -> dev-main, * -> 1.0.0); None for
    what has no lower bound to take (<2.0 alone)."""
    first = re.split(r"\s*\|\|?\s*", constraint.strip())[0]
    first = re.sub(r"@\w+", "", first).strip()  # stability flags (^1.0@dev)
    first = re.sub(r"#\S*", "", first)  # dev-master#abc123: Composer compares without the commit
    first = re.sub(r"(\^|~|>=|>|==|=|!=|<=|<)\s+", r"\1", first)  # `> 1.2` is one clause, as Composer splits it
    if first.startswith("dev-"):
        return first.split()[0].split(" as ")[0]
    if first in ("", "*"):
        return "1.0.0"
    for clause in re.split(r"[\s,]+", first):
        op = re.match(r"^(\^|~|>=|>|==|=|!=|<=|<)?", clause).group(1) or ""
        rest = clause[len(op):]
        if op in ("<", "<=", "!=") or rest.endswith("-dev"):
            continue
        rest = re.sub(r"\.[x*]$", ".0", rest.replace(".*", ".0"))
        found = _VERSION.fullmatch(rest)
        if not found:
            continue
        numbers = re.match(r"v?(\d+(?:\.\d+)*)", rest).group(1).split(".")
        if op == ">":
            numbers[-1] = str(int(numbers[-1]) + 1)
        if len(numbers) < 3 and rest == re.match(r"v?[\d.]+", rest).group(0):
            numbers += ["0"] * (3 - len(numbers))
            return ("v" if rest.startswith("v") else "") + ".".join(numbers)
        return rest if op != ">" else ".".join(numbers)
    return None


def _from_manifest(manifest: dict, notes: list[str]) -> list[dict]:
    out = []
    for key in ("require", "require-dev"):
        for name, constraint in _mapping(manifest, key, MANIFEST).items():
            if platform_package(name):
                continue
            version = pick_version(constraint)
            if version is None:
                notes.append(f"{printable(name)} {printable(constraint)}: no version picked for the constraint; "
                             "not stood in")
                continue
            out.append({"name": name, "version": version})
    if out:
        notes.append(f"no {LOCKFILE}: each requirement stood in for at one version its constraint allows, "
                     "without requirements of its own; Composer resolves them through the repository")
    return out


# --- the module's contract -----------------------------------------------------------------------------------

def _install_preference(manifest: dict, notes: list[str]) -> None:
    """config.preferred-install "source" (for all packages or some): Composer clones those from their source
    repositories (git on the code host) instead of downloading the dist zips a mirror serves."""
    config = manifest.get("config")
    preferred = config.get("preferred-install") if isinstance(config, dict) else None
    patterns = ([] if preferred is None else ["*"] if preferred == "source" else
                [str(p) for p, how in preferred.items() if how == "source"] if isinstance(preferred, dict) else [])
    if patterns:
        notes.append(f"{MANIFEST}: config.preferred-install source ({', '.join(map(printable, patterns))}): Composer "
                     "clones those packages from their source repositories on the code host, not the dist zips "
                     "pkg-composer-url serves")


BUILDER_PHP = "Debian's PHP 8.2 with its cli, xml, mbstring, curl and zip packages"  # images/builder/Dockerfile


def _platform_note(manifest: dict | None, lock: dict | None, notes: list[str]) -> None:
    """The platform requirements (php, ext-*, lib-*) Composer checks before it downloads anything, the project's
    and every locked package's (ext-gd of phpspreadsheet): it stops on one the builder's PHP does not meet, so the
    air gap is never reached; say which there are."""
    lock = lock if isinstance(lock, dict) else {}
    locked = [package.get("require") for group in ("packages", "packages-dev")
              for package in (lock.get(group) if isinstance(lock.get(group), list) else []) if isinstance(package, dict)]
    wanted: dict[str, list[str]] = {}
    for source in (lock.get("platform"), lock.get("platform-dev"), (manifest or {}).get("require"), *locked):
        for name, constraint in (source.items() if isinstance(source, dict) else ()):
            if isinstance(name, str) and re.fullmatch(r"php(-64bit)?|ext-[\w.-]+|lib-[\w.-]+", name) \
                    and str(constraint) not in wanted.setdefault(name, []):
                wanted[name].append(str(constraint))
    if wanted:
        shown = ", ".join(f"{printable(name)} {printable(' and '.join(constraints[:3]))[:60]}"
                          for name, constraints in sorted(wanted.items()))
        notes.append(f"platform requirements ({shown}): Composer checks them against the builder's PHP ({BUILDER_PHP}) "
                     "before it downloads anything, and stops on one it does not meet")


def standins(files: dict[str, bytes]) -> StandIns:
    notes: list[str] = []
    manifest = json_object_of(MANIFEST, files[MANIFEST]) if MANIFEST in files else None
    if manifest is not None:
        _repositories(manifest, notes)
        _install_preference(manifest, notes)
    elsewhere, rewritten, lock = {}, {}, None
    config = manifest.get("config") if manifest is not None else None
    lock_off = isinstance(config, dict) and config.get("lock") is False
    if lock_off and LOCKFILE in files:  # Composer 2.5+: "composer.lock is present but ignored"
        notes.append(f"{MANIFEST}: config.lock is false: Composer ignores {LOCKFILE} and resolves {MANIFEST}; so do "
                     "the stand-ins")
    if LOCKFILE in files and not lock_off:
        lock = json_object_of(LOCKFILE, files[LOCKFILE])
        packages, elsewhere, served = _from_lock(lock, notes)
        new = rewritten_lock(files[LOCKFILE], lock, served)
        if new is not None:
            rewritten[LOCKFILE] = new
            notes.append(f"{LOCKFILE}: dist shasum rewritten to the stand-ins' sha1 (empty ones kept empty)")
        if manifest is None:
            notes.append(f"{LOCKFILE} without a {MANIFEST}: Composer stops (it needs composer.json)")
        elif lock.get("content-hash") == content_hash(manifest):
            notes.append(f"{LOCKFILE}: content-hash matches {MANIFEST}: Composer installs without warning")
        else:
            notes.append(f"{LOCKFILE}: content-hash differs from {MANIFEST}'s: Composer warns 'The lock file is not "
                         "up to date with the latest changes in composer.json' and installs the lock")
    elif manifest is not None:
        packages = _from_manifest(manifest, notes)
    else:
        raise UserError(f"no {MANIFEST} or {LOCKFILE} at the project's top")
    _platform_note(manifest, lock, notes)
    return StandIns(MANAGER, definition={"packages": packages} if packages else {}, elsewhere=elsewhere,
                    rewritten=rewritten, notes=tuple(dict.fromkeys(notes)))
