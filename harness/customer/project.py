"""Read a customer's project, find its package managers, and make its stand-ins and its build steps.

Reading is bounded (file size, file count, total size) and skips what a build makes (node_modules/, target/,
.git/ ...): a customer's checkout can be large, and nothing here may hang or fill the memory. A file that
cannot be read is an error naming it.
"""

import fnmatch
import json
import os
import posixpath
import re
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from harness.contract import grammar
from harness.infra.errors import UserError
from harness.infra.modules import module_with
from harness.infra.textsafe import printable
from harness.stack import slices

# Credentials a customer's files may carry, in the forms they take there: a URL's user-info (masked as
# harness/contract/grammar.py `mask` does for proxy-config values: the password, or a token written as the user
# name, also when it holds '/' or '@'), `user:pass@host` without a scheme, `key=value` and `key: value` settings
# (.npmrc's `_authToken=`, `password:`, `api_key=` in a query), Gradle's `password 'x'`, curl's `-u user:pass` and
# Authorization headers (a package.json script), and URLs written with JSON's escaped slashes (`https:\/\/u:p@h`);
# and what a script passes on a command line (`npm config set //h/:_authToken T`, `--password T`, `docker login -p
# T`, `composer config http-basic.h u p`). Each pattern is linear in the text: build output goes through it too
# (benchmarks/scrub.py).
# `mask` also hides the token hosted registries take as a path segment (grammar.yaml path_tokens). Nothing read
# from the project reaches a note, a report or an error without this mask.
# (a scheme starts where no scheme character precedes it: else a long word would be scanned again from each letter)
_URL = re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://[^\s<>]+")
_JSON_URL = re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*:\\/\\/[^\s<>\"]+")
_SECRET_NAMES = r"_authToken|_auth|_password|password|passwd|token|secret|api[_-]?key|apikey|access[_-]?key|sig|ident"
# the words that make a variable, a flag or a header a credential's name, as a whole word of it (AUTH in
# COMPOSER_AUTH and NPM_AUTH_TOKEN, not in authors; token in --token, not in --tokenizer): _credential_named
_CREDENTIAL_WORDS = {"auth", "token", "password", "passwd", "passphrase", "secret", "apikey", "credential",
                     "credentials", "api key", "auth ident", "access key", "art api",
                     # keytool's and jarsigner's -storepass/-keypass (and their src/dest forms), openssl's -passin
                     "storepass", "keypass", "srcstorepass", "deststorepass", "srckeypass", "destkeypass",
                     "passin", "passout"}
# A flag whose name holds one of those words (the pairs with '-' or '_' between): only such a flag takes its value
# with it, so that a flag before it (`gpg --batch --passphrase X`) does not swallow it as its own value.
_CREDENTIAL_FLAG = r"(?=[\w-]*?(?<![A-Za-z0-9])(?:{})(?![A-Za-z0-9]))".format(
    "|".join(word.replace(" ", "[-_]") for word in sorted(_CREDENTIAL_WORDS, key=len, reverse=True)))
_QUOTED_OR_WORD = r"""(?:'[^']*'|"[^"]*"|[^\s'"]+)"""
# A shell command's rest after a credential setting's name (`npm config set //h/:_authToken T`, `yarn config set
# npmAuthToken T`, `composer config http-basic.h user pass`, `bundle config set h user:pass`): its words, quoted
# ones whole (a ';' or '&' inside quotes ends nothing), an unclosed quote to the line's end.
_WORD = r"""(?:'[^']*'|"[^"]*"|[^\s;&|'"]+|['"][^\n]*)"""
_COMMAND_REST = rf"{_WORD}+(?:[ \t]+{_WORD}+)*"
_CREDENTIALS = (
    (re.compile(r"(?<=://)[^/\s@]+@"), "***@"),
    (re.compile(r"(?<![^\s/@\"])[^\s/@\"]+@(?!sha(?:256|384|512):)(?=[\w.-])"), lambda m: _schemeless_userinfo(m)),
    # a quoted value of a variable named like a credential, whole: COMPOSER_AUTH='{"github-oauth": {...}}'
    (re.compile(r"""\b([A-Za-z0-9_]++=)('[^']*'|"[^"]*")"""), lambda m: f"{m[1]}***" if _credential_named(m[1]) else m[0]),
    (re.compile(rf"\b(BUNDLE_(?:[A-Z0-9]|_(?!_))++__[A-Z0-9_]++=){_QUOTED_OR_WORD}"), r"\1***"),  # Bundler's, per host
    (re.compile(rf"\b((?:(?:npm|yarn|pnpm|composer)\s+config|p?npm\s+set)\s+(?:set\s+)?(?:[^\s;&|]+\s+){{0,8}}?"
                rf"(?=[^\s=;&|]*?(?:{_SECRET_NAMES}|http-basic\.|bearer\.|github-oauth\.|gitlab-oauth\.|gitlab-token\.|"
                r"bitbucket-oauth\.))[^\s=;&|]++\s+)" + _COMMAND_REST, re.I), r"\1***"),
    (re.compile(r"\b(bundle\s+config\s+(?:set\s+)?(?:--[\w-]+\s+)*(?!build\.)[\w-]+\.[\w.-]+\s+)" + _COMMAND_REST),
     r"\1***"),
    # a command-line flag named like a credential, its value after a space or '=': --password X, --http-password=X
    (re.compile(rf"((?:^|\s)--?{_CREDENTIAL_FLAG}([\w-]++)(?<!-stdin)(?<!-file)(?:\s+|=)){_QUOTED_OR_WORD}", re.I),
     lambda m: f"{m[1]}***" if _credential_named(m[2]) else m[0]),
    # -p X of docker login, twine upload, sshpass and the MySQL clients' -pX (elsewhere -p is mkdir's, a port, ...)
    (re.compile(rf"(\b(?:login|upload|sshpass|mysql|mysqldump|mysqladmin|mariadb)\b[^;&|\n]{{0,200}}?\s-p\s*)"
                rf"{_QUOTED_OR_WORD}"), r"\1***"),
    # Maven's settings.xml and the like: the element's text, CDATA too, up to its end tag (at most 4 KiB: linear)
    (re.compile(r"(<(password|passphrase|privateKey|token|secret)\b[^<>]*>)(?:[^<]|<(?!/)){0,4096}", re.I), r"\1***"),
    (re.compile(r"((?<![\w-])X-([\w-]++)\s*:\s*)[^\s'\"]+", re.I),  # X-JFrog-Art-Api, X-Api-Key, X-Auth-Token
     lambda m: f"{m[1]}***" if _credential_named(m[2]) or _credential_named(m[2], {"api", "key"}) else m[0]),
    (re.compile(rf"((?:{_SECRET_NAMES})\"?\s*[=:]\s*\"?)[^\s\"&]+", re.I), r"\1***"),
    (re.compile(rf"((?:{_SECRET_NAMES})\s+)(['\"])[^'\"\n]*\2", re.I), r"\1\2***\2"),
    # curl's -u user:pass (or -uuser:pass), the password quoted or not, or the whole pair quoted
    (re.compile(r"""((?:^|\s)(?:-u\s*|--user(?:\s+|=)))(?:'([^':]*):[^']*'|"([^":]*):[^"]*"|([^\s:'"]*):"""
                rf"{_QUOTED_OR_WORD})"),
     lambda m: f"{m[1]}{next(u for u in (m[2], m[3], m[4]) if u is not None)}:***"),
    (re.compile(r"((?:authorization)\s*:\s*(?:(?:bearer|basic|token|bot)\s+)?)[^\s'\"]+", re.I), r"\1***"),
    (re.compile(r"(\bbearer\s+)[A-Za-z0-9._~+/=-]+", re.I), r"\1***"),
    # a query parameter named like a credential: presigned URLs' X-Amz-Signature/X-Amz-Credential, SAS's sig=, ?auth=
    (re.compile(r"([?&;](?=[\w.-]*?(?:signature|credential|token|key|auth|secret|password)|sig=)[\w.-]++=)"
                r"[^&\s#\"'<>(),;:]+", re.I),
     r"\1***"),
)


def _credential_named(name: str, words=_CREDENTIAL_WORDS) -> bool:
    """Whether a variable's, flag's or header's name holds a credential word (or two, as `API_KEY`) as whole
    words, its words cut at '_', '-' and '='."""
    parts = [part for part in re.split(r"[-_=]", name.lower()) if part]
    return any(part in words for part in parts) or any(f"{a} {b}" in words for a, b in zip(parts, parts[1:]))


def _schemeless_userinfo(run: re.Match) -> str:
    """`user:pass@` without a scheme in a run of characters up to an '@' (no whitespace, '/', '"' or '@' in it),
    masked from the leftmost user name: one that starts after no word character or '/' and runs, with no ':',
    "'" or '=' in it, to a ':' a password follows. One pass over the run (a regular expression trying every start
    took quadratic time on a long word of a build's output)."""
    text, begin = run.string, run.start()
    user_start = None
    for i, char in enumerate(run.group()[:-1]):
        if char in ":'=":
            if char == ":" and user_start is not None and i + 1 < run.end() - begin - 1:
                return run.group()[:user_start] + "***@"
            user_start = None
        elif user_start is None and not re.match(r"[\w/]", text[begin + i - 1] if begin + i else " "):
            user_start = i
    return run.group()


def scrub(text: str) -> str:
    """`text` with every credential form of _URL and _CREDENTIALS masked."""
    from harness.contract.grammar import mask

    text = _URL.sub(lambda url: mask(url.group()), text)
    text = _JSON_URL.sub(lambda url: mask(url.group().replace("\\/", "/")).replace("/", "\\/"), text)
    for pattern, replacement in _CREDENTIALS:
        text = pattern.sub(replacement, text)
    return text


MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_FILES = 5000
MAX_TOTAL_BYTES = 128 * 1024 * 1024
# What a build or an editor makes, never part of the source a build starts from.
SKIPPED_DIRECTORIES = {".git", ".hg", ".svn", "node_modules", ".gradle", "vendor", "__pycache__",
                       ".venv", "venv", ".idea", ".vscode", ".yarn/cache", ".m2/repository", ".m2/wrapper"}
# A build's output directory is skipped only beside the build file that writes it: a Maven reactor module may be
# named build, and a Go package target.
OUTPUT_DIRECTORIES = {"target": ("pom.xml",),
                      "build": ("build.gradle", "build.gradle.kts", "settings.gradle", "settings.gradle.kts", "package.json")}
MAX_DEPTH = 64  # directories within directories; os.walk itself recurses
DOCKERFILE = "Dockerfile"
# Project files of a manager the contract names that --project does not build (no NuGet client in the builder)
NOT_BUILT = ("*.csproj", "*.fsproj", "*.vbproj", "*.sln", "nuget.config", "packages.config")
NOT_BUILT_WHY = ("a .NET project: --project does not read or build NuGet projects (the builder has no NuGet "
                 "client), so pkg-nuget-url is not exercised by it")
STEP_PREFIX = "customer-"  # a customer step's project name: customer-<manager>, customer-dockerfile


@dataclass(frozen=True)
class StandIns:
    """What one manager's module (harness/customer/<manager>.py) makes of the project's files."""

    manager: str
    definition: dict = field(default_factory=dict)  # additions to fixtures/content/<manager>.yaml (same shape)
    elsewhere: dict = field(default_factory=dict)  # additions to fixtures/content/leaks.yaml: files on other hosts
    images: tuple[str, ...] = ()  # image references to serve (host/repository:tag), as oci-images.yaml lists them
    rewritten: dict = field(default_factory=dict)  # project path -> the copy's bytes (hashes of the stand-ins; new files)
    notes: tuple[str, ...] = ()  # what is not stood in for, and why

    @property
    def count(self) -> int:
        """How many packages (or images) it stands in for, for the report."""
        lists = [v for v in self.definition.values() if isinstance(v, list)]
        lists += [v for v in self.elsewhere.values() if isinstance(v, list)]
        # an index elsewhere (leaks.yaml `python:`) holds its distributions; any other entry is one package or file
        return sum(len(e["distributions"]) if isinstance(e, dict) and "distributions" in e else 1
                   for v in lists for e in v) + len(self.images)


@dataclass(frozen=True)
class CustomerProject:
    """A customer's project as read once: its files, how each of its managers builds, and its stand-ins."""

    root: str  # the directory as the user named it (for messages)
    files: tuple[tuple[str, bytes], ...]  # (path relative to the root, bytes), as read
    builds: tuple[tuple[str, str], ...]  # (manager, the command that builds it), in catalog order
    standins: tuple[StandIns, ...]
    dockerfile: bool  # a Dockerfile at its top (what byoc builds)
    notes: tuple[str, ...] = ()  # what of the project was left out when read (read_project), and why

    @property
    def managers(self) -> tuple[str, ...]:
        return tuple(manager for manager, _ in self.builds)

    @property
    def rewritten(self) -> tuple[str, ...]:
        """The project paths the build's copy changes (sorted)."""
        return tuple(sorted({path for s in self.standins for path in s.rewritten}))

    def copy(self) -> tuple[tuple[str, bytes], ...]:
        """The files the build runs on: the project's, with the rewritten ones replaced."""
        changed = {path: data for s in self.standins for path, data in s.rewritten.items()}
        return tuple(sorted(({path: data for path, data in self.files} | changed).items()))

    def steps(self, strategy: str, recipe: list[dict]) -> list[dict]:
        """The strategy's recipe with its project steps building this project instead: a fixture project of a
        manager the project uses becomes the project's build with that manager; one of a manager it does not use
        is left out (the customer's build has only its own); byoc's Dockerfile step builds the project's."""
        builds = dict(self.builds)
        out, built = [], False
        for step in recipe:
            if "project" in step:
                manager = step.get("manager")
                if manager in builds and not any(s.get("manager") == manager for s in out if "run" in s):
                    out.append({"project": STEP_PREFIX + manager, "manager": manager, "run": builds[manager]})
                    built = True
            elif "dockerfile" in step:
                if self.dockerfile:  # its build context is the project; the file, the copy dockerfile.py makes
                    out.append({"dockerfile": DOCKERFILE, "context": STEP_PREFIX + "dockerfile",
                                "file": STANDIN_DOCKERFILE})
                    built = True
            else:
                out.append(step)
        if not built:
            uses = ", ".join(self.managers + ((DOCKERFILE,) if self.dockerfile else ())) or "no package manager"
            builds_of = sorted(DOCKERFILE if name == "dockerfile" else name for name in built_by(recipe))
            raise UserError(f"--project {self.root}: the project uses {uses}; strategy {strategy} builds "
                            f"{', '.join(builds_of) or 'no project'} (pick the strategy that builds it)")
        return out

    def summary(self, steps=()) -> dict:
        """For reports: what the build's `steps` (CustomerProject.steps) built of it, what was stood in for
        and rewritten. Without steps: every manager the project uses."""
        built = [step["manager"] for step in steps if step.get("project", "").startswith(STEP_PREFIX)]
        return {"path": self.root, "managers": built if steps else list(self.managers),
                "dockerfile": any("context" in step for step in steps) if steps else self.dockerfile,
                "standins": {s.manager: s.count for s in self.standins}, "rewritten": list(self.rewritten),
                "notes": [scrub(f"project: {note}") for note in self.notes]
                + [scrub(f"{s.manager}: {note}") for s in self.standins for note in s.notes]}


def summary_lines(project: dict | None, bullet: str) -> list[str]:
    """A customer project's build (CustomerProject.summary): what was stood in for, which files the build's
    copy changed and what could not be stood in for."""
    if not project:
        return []
    built = project["managers"] + (["Dockerfile"] if project["dockerfile"] else [])
    standins = ", ".join(f"{name} {count}" for name, count in project["standins"].items())
    return ([f"{bullet}project {project['path']}: builds {', '.join(built)}; stand-ins: {standins}",
             f"{bullet}rewritten on the build's copy: {', '.join(project['rewritten']) or 'none'}"]
            + [f"{bullet}note: {note}" for note in project["notes"]])


STANDIN_DOCKERFILE = "Dockerfile.airgap-standin"  # dockerfile.py: the copy whose stages need no shell


def read_tree(root: Path) -> tuple[tuple[str, bytes], ...]:
    """The project's files (relative path, bytes), bounded (read_project)."""
    return read_project(root)[0]


def read_project(root: Path) -> tuple[tuple[tuple[str, bytes], ...], tuple[str, ...]]:
    """The project's files (relative path, bytes), bounded, and a note for each entry left out. A symbolic link
    to a file inside the project is read as that file (a checkout keeps `requirements.txt -> requirements/prod.txt`
    and the build reads through it); one that leaves the project, a link to a directory, and a FIFO, socket or
    device are left out (a link could point anywhere on this machine; a FIFO would hang), each named in a note."""
    if not root.is_dir():
        raise UserError(f"--project {printable(root)}: not a directory")
    real_root = Path(os.path.realpath(root))
    files, notes, total = [], [], 0
    for directory, subdirectories, names in os.walk(root, onerror=_walk_error):
        relative_dir = Path(directory).relative_to(root)
        linked = [d for d in subdirectories if (Path(directory) / d).is_symlink()]
        notes += [f"{printable((relative_dir / d).as_posix())}: a symbolic link to a directory, not followed (left out)"
                  for d in sorted(linked) if d not in SKIPPED_DIRECTORIES]
        subdirectories[:] = sorted(d for d in subdirectories
                                   if not _skipped((*relative_dir.parts, d))
                                   and not set(OUTPUT_DIRECTORIES.get(d, ())) & set(names) and d not in linked)
        if subdirectories and len(relative_dir.parts) >= MAX_DEPTH:
            raise UserError(f"--project {printable(root)}: directories nested more than {MAX_DEPTH} deep "
                            f"({printable(relative_dir.as_posix()[:200])}...)")
        for name in sorted(names):
            relative = (relative_dir / name).as_posix()
            data, left_out = _read(Path(directory) / name, real_root)
            if data is None:
                notes.append(f"{printable(relative)}: {left_out} (left out)")
                continue
            files.append((relative, data))
            total += len(data)
            if len(files) > MAX_FILES or total > MAX_TOTAL_BYTES:
                raise UserError(f"--project {printable(root)}: more than {MAX_FILES} files or {MAX_TOTAL_BYTES >> 20} MiB "
                                "(is it a component's source? build outputs like node_modules/ and target/ are skipped)")
    if not files:
        raise UserError(f"--project {printable(root)}: no files" + "".join(f"; {note}" for note in notes[:5]))
    return tuple(files), tuple(notes)


def _skipped(parts: tuple[str, ...]) -> bool:
    """Whether the directory at these path parts is one the copy skips: by its name (node_modules), or by its
    last parts (.yarn/cache, .m2/repository), at any depth (a module's own backend/.m2/repository)."""
    return parts[-1] in SKIPPED_DIRECTORIES or "/".join(parts[-2:]) in SKIPPED_DIRECTORIES


def skipped_by_copy(directory: str, files) -> str | None:
    """The directory on the way to `directory` (a project path) that read_project skipped, if one was: a setting
    naming a directory there names one the build's copy does not have, and a note should say why."""
    parts = tuple(part for part in directory.split("/") if part not in ("", "."))
    for i in range(len(parts)):
        parent = "/".join(parts[:i])
        if _skipped(parts[:i + 1]) or any(posixpath.join(parent, name) in files for name in OUTPUT_DIRECTORIES.get(parts[i], ())):
            return "/".join(parts[:i + 1])
    return None


def missing_from_copy(written: str, files) -> str | None:
    """Why the build's copy has no file or directory at the project path a setting names (npm's file:, pip's
    --find-links, Maven's -s), or None when it has (or the path leaves the project: the callers say so): the
    setting fails in the build where the customer's has it."""
    path = posixpath.normpath(written)
    if path.startswith(("/", "~", "$", "..")) or path == "." or any(
            name == path or name.startswith(f"{path}/") for name in files):
        return None
    skipped = skipped_by_copy(path, files)
    return (f"in {printable(skipped)}/, which the build's copy leaves out (build output or tool directory)" if skipped
            else "not in the project as read")


def _walk_error(error: OSError) -> None:
    raise UserError(f"--project: {printable(error.filename)}: cannot be read ({error.strerror})")


def _read(path: Path, real_root: Path) -> tuple[bytes | None, str]:
    """A file's bytes, or None and why it is left out (read_project)."""
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            target = Path(os.path.realpath(path))
            if not target.is_relative_to(real_root):
                return None, "a symbolic link out of the project, not followed"
            inside = target.relative_to(real_root).parts
            if any(_skipped(inside[:i + 1]) for i in range(len(inside) - 1)):
                return None, "a symbolic link into a directory the copy skips (node_modules/, .git/ ...), not followed"
            if not target.exists():
                return None, "a broken symbolic link, or a loop of them"
            info = target.stat()
            path = target
        if not stat.S_ISREG(info.st_mode):
            return None, "not a regular file (a FIFO, socket or device)"
        if info.st_size > MAX_FILE_BYTES:
            raise UserError(f"--project: {printable(path)}: {info.st_size} bytes; a project file is at most "
                            f"{MAX_FILE_BYTES >> 20} MiB")
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise UserError(f"--project: {printable(path)}: cannot be read ({error.strerror})") from None
    if len(data) > MAX_FILE_BYTES:
        raise UserError(f"--project: {printable(path)}: grew past {MAX_FILE_BYTES >> 20} MiB while read")
    return data, ""


DEFAULT_PORTS = {"https": 443, "http": 80}  # the simulated internet answers a host on these ports only


def own_port(parts) -> int | None:
    """The port a URL (urlsplit parts) names other than its scheme's default, else None: a stand-in cannot be
    served there, so a module notes it instead of standing in for it (a bad port raises ValueError)."""
    port = parts.port
    return port if port is not None and port != DEFAULT_PORTS.get(parts.scheme) else None


def own_port_note(host: str, port: int, what: str) -> str:
    return (f"{what} on {printable(host)}:{port}, a port of its own: the simulated internet serves 443 only, so "
            "they are not stood in for and the build cannot fetch them")


# What Windows tools write (PowerShell 5's `>` is UTF-16): the clients read it, the stand-ins take UTF-8 only
_WIDE_TEXT = {b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32", b"\xff\xfe": "UTF-16",
              b"\xfe\xff": "UTF-16"}


def wide_encoding(data: bytes) -> str | None:
    """UTF-16 or UTF-32 when the bytes start with its byte-order mark; "UTF-16 (or binary)" when they hold a
    NUL byte, which no UTF-8 text of a package manager has; else None."""
    found = next((name for start, name in _WIDE_TEXT.items() if data.startswith(start)), None)
    return found or ("UTF-16 (or binary)" if b"\x00" in data else None)


def not_utf8(path: str, data: bytes) -> UserError:
    """The error for a project file the stand-ins need as UTF-8 text."""
    wide = wide_encoding(data)
    if wide:
        return UserError(f"{printable(path)}: not UTF-8 but {wide} text; its client may read it, but the stand-ins "
                         "read and rewrite UTF-8 only: save it as UTF-8")
    try:
        data.decode("utf-8")
        return UserError(f"{printable(path)}: not UTF-8 text")
    except UnicodeDecodeError as error:
        return UserError(f"{printable(path)}: not UTF-8 text (byte {error.start})")


def _conflict_line(text: str) -> int | None:
    """The line of the first `<<<<<<<` of a merge conflict (followed by `=======` and `>>>>>>>` lines), or None."""
    start, middle = None, False
    for number, line in enumerate(text.split("\n"), 1):
        marker = line.rstrip("\r")
        if marker[:7] == "<" * 7 and marker[7:8] in ("", " ") and start is None:
            start = number
        elif start is not None and marker == "=" * 7:
            middle = True
        elif middle and marker[:7] == ">" * 7 and marker[7:8] in ("", " "):
            return start
    return None


RESOLVES_CONFLICTS = {"yarn.lock"}  # Yarn 1 merges a conflicted lockfile itself ("merge conflict detected")


def safe_url(url: str) -> str:
    """The URL without its user-info (a Gemfile source or a settings.xml mirror may carry a token), printable."""
    try:
        parts = urlsplit(url)
        if parts.username or parts.password:
            parts = parts._replace(netloc=(parts.hostname or "") + (f":{parts.port}" if parts.port else ""))
    except ValueError:  # a port out of range, a bracket left open: shown masked as lint shows values
        return printable(grammar.mask(url))
    return printable(urlunsplit(parts))


def text_of(path: str, data: bytes) -> str:
    """A project file's text for a stand-in module; bytes that are not UTF-8 text are an error naming the file,
    and so is a file left with merge-conflict markers (every client but Yarn's stops at them)."""
    if wide_encoding(data):
        raise not_utf8(path, data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise not_utf8(path, data) from None
    if "<<<<<<<" in text and posixpath.basename(path) not in RESOLVES_CONFLICTS and (line := _conflict_line(text)):
        raise UserError(f"{printable(path)}: merge-conflict markers from line {line}: its client stops at them; "
                        "resolve the conflict first")
    return text


def json_object_of(path: str, data: bytes) -> dict:
    """A project file that holds one JSON object (package.json, composer.lock ...; a byte-order mark allowed)."""
    try:
        document = json.loads(text_of(path, data).removeprefix("\ufeff"))
    except json.JSONDecodeError as error:
        raise UserError(f"{printable(path)}: not valid JSON (line {error.lineno}: {error.msg})") from None
    except RecursionError:
        raise UserError(f"{printable(path)}: JSON nested too deeply to read") from None
    if not isinstance(document, dict):
        raise UserError(f"{printable(path)}: expected a JSON object")
    return document


def standins_module(name: str):
    """harness/customer/<name>.py: `standins(files) -> StandIns` for a manager (or the Dockerfile)."""
    return module_with(__name__.rpartition(".")[0], name, "standins", "customer stand-in module")


class _ReadFiles(dict):
    """The project's files, remembering which ones a stand-in module looked up: an unexpected error names them."""

    def __init__(self, files: dict[str, bytes]) -> None:
        super().__init__(files)
        self.looked_up: dict[str, None] = {}

    def __getitem__(self, path: str) -> bytes:
        self.looked_up[path] = None
        return super().__getitem__(path)

    def get(self, path: str, default=None):
        return self[path] if path in self else default


def _standins(name: str, files: dict[str, bytes], root: str) -> StandIns:
    files = _ReadFiles(files)
    try:
        made = standins_module(name).standins(files)
    except UserError as error:
        raise UserError(scrub(f"--project {root}: {error}")) from None
    except RecursionError:
        raise UserError(f"--project {root}: its {name} files nest too deeply to read") from None
    except (KeyError, ValueError, TypeError, AttributeError, UnicodeDecodeError, json.JSONDecodeError) as error:
        read = f" ({', '.join(map(printable, files.looked_up))})" if files.looked_up else ""
        raise UserError(scrub(f"--project {root}: its {name} files{read} cannot be read: {type(error).__name__}: {error}")) from None
    outside = sorted(p for p in made.rewritten if p.startswith("/") or ".." in p.split("/"))
    if outside:
        raise UserError(f"harness/customer/{name}.py wrote {', '.join(outside)}, outside the project's copy")
    return made


def _with_unread(made: StandIns, piece, files: dict[str, bytes], root: Path) -> StandIns:
    """The stand-ins, with a note for each file at the project's top that the manager's slice names as not
    followed (harness/stack/managers/<manager>.yaml customer.unread): another tool's lock file, a workspace. A
    pattern with a '/' names one path below the top, looked for on disk too: it may lie in a directory the copy
    skips (vendor/modules.txt)."""
    top = sorted(path for path in files if "/" not in path)
    found = []
    for pattern, why in piece.unread:
        if "/" in pattern:
            hits = [pattern] if pattern in files or (root / pattern).exists() else []
        else:
            hits = [path for path in top if fnmatch.fnmatchcase(path, pattern)]
        found += [f"{printable(path)}: {why}" for path in hits]
    return replace(made, notes=tuple(made.notes) + tuple(found)) if found else made


def built_by(recipe: list[dict]) -> set[str]:
    """The managers a strategy's recipe builds a project with, and "dockerfile" if it builds a Dockerfile."""
    return {step["manager"] for step in recipe if "project" in step} | (
        {"dockerfile"} if any("dockerfile" in step for step in recipe) else set())


def load(root: Path, strategy_builds: set[str] | None = None) -> CustomerProject:
    """Read the project at `root` and make its stand-ins (no stack needed: pure, from its files). With
    `strategy_builds` (built_by a strategy's recipe), files of a manager outside it that cannot be read are a note, not an error:
    a Yarn 2+ lockfile beside the Dockerfile byoc builds does not stop byoc."""
    files, read_notes = read_project(root)
    by_path = dict(files)
    pieces = {piece.manager: piece for piece in slices.load()}
    builds = []
    for piece in pieces.values():
        for when, command in piece.builds:
            if when in by_path:
                builds.append((piece.manager, command))
                break
    dockerfile = DOCKERFILE in by_path
    display = printable(root)
    standins, unreadable = [], []
    for name in [manager for manager, _ in builds] + (["dockerfile"] if dockerfile else []):
        try:
            made = _standins(name, by_path, display)
        except UserError as error:
            if strategy_builds is None or name in strategy_builds:
                raise
            unreadable.append((name, str(error)))
            continue
        standins.append(_with_unread(made, pieces[name], by_path, root) if name in pieces else made)
    standins = tuple(standins)
    unsupported = sorted({path for path in by_path if "/" not in path
                          for pattern in NOT_BUILT if fnmatch.fnmatchcase(path.lower(), pattern)})
    if not builds and not dockerfile:
        markers = sorted({when for piece in pieces.values() for when, _ in piece.builds} | {DOCKERFILE})
        left_out = [note for note in read_notes if "/" not in note.split(":", 1)[0]]  # at its top
        left_out += [f"{printable(path)}: {why}" for piece in pieces.values() for pattern, why in piece.unread
                     if "/" not in pattern for path in sorted(by_path) if "/" not in path
                     and fnmatch.fnmatchcase(path, pattern)]  # another tool's files: say why they are not built
        raise UserError(f"--project {display}: no project file of a package manager at its top "
                        f"(looked for {', '.join(markers)})" + (f"; {', '.join(map(printable, unsupported))}: "
                                                                 f"{NOT_BUILT_WHY}" if unsupported else "")
                        + "".join(f"; {scrub(note)}" for note in left_out))
    if unsupported and standins:  # said beside what is built (the first manager's notes)
        first = standins[0]
        standins = (replace(first, notes=first.notes + (f"{', '.join(map(printable, unsupported))}: {NOT_BUILT_WHY}",)),
                    *standins[1:])
    read_notes += tuple(f"{name} not read, as this strategy does not build it: {why.removeprefix(f'--project {display}: ')}"
                        for name, why in unreadable)
    return CustomerProject(display, files, tuple(builds), standins, dockerfile, read_notes)
