"""pip: stand-ins for what a customer's requirements files and pyproject.toml name.

The files are read as pip reads them (pip's requirements-file format: `\\` continuations, `#` comments, `-r` and
`-c` files relative to the file naming them, option lines, per-requirement `--hash` options; CRLF or LF), so the
stand-ins are what `pip download -r requirements.txt` (or `pip download .`) asks the index for:

- every requirement and constraint names a distribution (names compared as PEP 503 normalises them); a pin
  (`==`, `===`) is stood in for at that version, a range by one version that satisfies every range and
  constraint on that name (`standin_version`), so pip's resolver picks the stand-in;
- a pip-compile file's `# via X` comments are the only record of the dependency graph a requirements file has:
  X's stand-in requires the annotated distribution (with that line's environment marker), so pip walks the same
  graph, which `--require-hashes` mode then checks against the file;
- `--hash` options are rewritten on the build's copy to the stand-in wheel's hash (the generator's own wheel);
- `--index-url`, `--extra-index-url` and `--find-links` lines are kept: they are the customer's settings, and an
  index they name on another host is served on that host (fixtures/content/leaks.yaml's shape), with the
  distributions pip can only find there: all of them for `--index-url`, which replaces PyPI; for an extra index
  or a links page those with a local version (`2.2.1+cpu`), which PyPI never accepts. The query of another host
  is a leak the report explains (harness/scenarios/leak_causes.yaml);
- pyproject.toml [project] dependencies and optional-dependencies; when pip builds the project itself (no
  requirements.txt, or a requirements line naming its directory), its [build-system] requires too (pip's
  defaults without one), the one providing the build backend standing in for it (python.py's PROJECT_BACKEND).

VCS, URL and path requirements that cannot be stood in for are notes. `packaging` parses the requirements: it is
not a dependency of the harness (pyproject.toml), but pip, which every Python environment has, vendors it.
"""

import configparser
import hashlib
import html
import posixpath
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

try:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version
except ImportError:  # not a dependency of the harness (pyproject.toml): pip's vendored copy
    from pip._vendor.packaging.requirements import InvalidRequirement, Requirement
    from pip._vendor.packaging.specifiers import SpecifierSet
    from pip._vendor.packaging.utils import canonicalize_name
    from pip._vendor.packaging.version import InvalidVersion, Version

from harness.customer.project import StandIns, missing_from_copy, own_port, own_port_note, text_of
from harness.infra.errors import UserError
from harness.infra.textsafe import printable
from harness.stack import slices
from harness.stack.content import python as generator

MANAGER = "python"
TOP_REQUIREMENTS = re.compile(r"requirements[^/]*\.txt")  # requirements*.txt at the project's top
BUILT_BY_REQUIREMENTS = "requirements.txt"  # the slice's first `customer: builds:` file; else `pip download .`
PYPROJECT = "pyproject.toml"
# What Google's Python buildpack (the platform's buildpack builds) does with a project that has pyproject.toml and no
# requirements.txt (GoogleCloudPlatform/buildpacks pkg/python/pyproject.go): pip builds it only when told to
# (GOOGLE_PYTHON_PACKAGE_MANAGER=pip); else uv or Poetry, clients that read neither pip.conf nor PIP_INDEX_URL.
PYPROJECT_BUILDPACK = (
    "pyproject.toml without requirements.txt: Google's Python buildpack installs it with {tool} ({why}) where it "
    "builds pyproject.toml projects (every Python version since its January 2026 release; before, Python 3.13 and "
    "later only, and nothing from it below), which reads neither pip.conf nor PIP_INDEX_URL{reach} (pip only with "
    "GOOGLE_PYTHON_PACKAGE_MANAGER=pip). This build runs `pip download .`, which shows what pip would fetch; "
    "{tool} is not in the builder")
PYPROJECT_REACH = {  # how pkg-python-url reaches each tool
    "uv": ": the reference preamble hands the build UV_DEFAULT_INDEX, a preamble that sets pip's settings only does "
          "not redirect it",
    "Poetry": ", and takes its sources from the project (PyPI unless its [[tool.poetry.source]] say otherwise): "
              "pkg-python-url does not redirect it",
}
# pip without [build-system] (PEP 517/518 defaults, pip 23): these requires and the legacy setuptools backend
DEFAULT_BUILD = {"requires": ["setuptools>=40.8.0", "wheel"], "build-backend": "setuptools.build_meta:__legacy__"}
PYPI_ALIASES = ("pypi.python.org",)  # an old name of PyPI (redirects to pypi.org): not another index
COMMENT = re.compile(r"(^|\s+)#.*$")  # pip's COMMENT_RE
HASH = re.compile(r"--hash(?:=|\s+)([A-Za-z0-9]+):([0-9A-Fa-f]+)")
STRONG_HASHES = ("sha256", "sha384", "sha512")  # what pip's --hash accepts
MAX_INCLUDE_DEPTH = 100  # -r/-c files nested in one another (pip has no limit; a real project nests two or three)
VIA_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
ARCHIVES = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar")
HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
# options of a requirements file that take a value (pip's requirements-file format), by what they do here
VALUED = {"-r": "requirement", "--requirement": "requirement", "-c": "constraint", "--constraint": "constraint",
          "-e": "editable", "--editable": "editable", "-i": "index", "--index-url": "index",
          "--extra-index-url": "extra", "-f": "find-links", "--find-links": "find-links",
          "--no-binary": "no-binary", "--only-binary": "only-binary", "--trusted-host": None, "--use-feature": None,
          "--global-option": None, "--config-settings": None, "--hash": None}
MAX_SPECIFIERS = 256  # different specifiers of one name; each candidate version is checked against them
FALLBACK_VERSION = "1.0.0"  # a name with no version constraint at all
OPTIONS = {"index": "--index-url", "extra": "--extra-index-url", "find-links": "--find-links"}


@dataclass
class Named:
    """One requirement or constraint as a file names it."""

    where: str  # "requirements.txt line 4", for messages
    path: str  # the file (project path)
    requirement: Requirement
    constraint: bool
    hashes: list = field(default_factory=list)  # (start, end, algorithm): the hex digits' span in the file's text

    @property
    def name(self) -> str:
        return canonicalize_name(self.requirement.name)


@dataclass
class Reader:
    files: dict
    named: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    texts: dict = field(default_factory=dict)  # project path -> its text, for the files read
    read_as_requirements: set = field(default_factory=set)  # files read through -r (texts: through -r or -c)
    indexes: list = field(default_factory=list)  # (option kind, URL, the file naming it)
    built: list = field(default_factory=list)  # project directories pip builds ("" is the top)
    via: dict = field(default_factory=dict)  # name -> names whose stand-ins require it (pip-compile's `# via`)
    markers: dict = field(default_factory=dict)  # name -> the marker of its requirement line (for `# via`)
    backends: dict = field(default_factory=dict)  # name -> the backend module it provides
    url_hashes: list = field(default_factory=list)  # (wheel URL, file, --hash spans) of a requirement by URL
    projects: set = field(default_factory=set)  # (pyproject.toml, built) read
    include_depth: int = 0  # -r/-c files being read inside one another
    # --no-binary and --only-binary (pip's FormatControl): names, or :all:
    formats: dict = field(default_factory=lambda: {"no-binary": set(), "only-binary": set()})
    no_index: str = ""  # where --no-index is given: pip asks no index, only --find-links
    # False while a requirements file the build does not read is read (requirements-dev.txt): its pins still
    # choose the stand-ins' versions, but its options (--no-index, --index-url ...) change nothing pip does
    options_apply: bool = True

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # --- requirements files ---------------------------------------------------------------------------------
    def requirements(self, path: str, constraint: bool, parent: str = "") -> None:
        if path in self.read_as_requirements or (constraint and path in self.texts):
            return  # read already as it is now (pip would read it again; what it names is the same)
        if not constraint:  # a file read first through -c and then through -r: pip installs what it names
            self.read_as_requirements.add(path)
        if path not in self.files:
            self.note(f"{parent}: {printable(path)}: not in the project as read (missing, or in a skipped directory); "
                      "what it names has no stand-ins")
            return
        text = text_of(path, self.files[path])
        self.texts[path] = text
        last = None  # the name of the last requirement line, which a `# via` comment annotates
        via_block = False
        for number, joined, pieces in logical_lines(text):
            where = f"{printable(path)} line {number}"
            line = COMMENT.sub("", joined).strip()
            if not line:
                via_block = self._via(pieces, last, via_block)
                continue
            via_block = False
            spans = _hash_spans(pieces, where)
            if line.startswith("-"):
                self._options(line, path, where)
                last = None
                continue
            args = break_args_options(line)
            named = self.requirement(args, path, where, constraint, spans)
            last = named.name if named else None
            if spans and named is None:
                if self.indexes and self.indexes[-1][0] == "wheel" and self.indexes[-1][2] == where:
                    self.url_hashes.append((self.indexes[-1][1], path, spans))
                else:
                    self.note(f"{where}: --hash of a requirement not stood in for, left as it is")

    def _via(self, pieces, last, via_block: bool) -> bool:
        """pip-compile's annotations: `# via X`, or `# via` and one `#   X` line per parent."""
        comment = " ".join(body for _, body in pieces).strip()
        if not comment.startswith("#") or last is None or not self.options_apply:
            return False  # a file the build does not read (a lock for another Python) says nothing of this build's
        words = comment.lstrip("#").strip()
        if words == "via":
            return True
        if words.startswith("via "):
            parents, via_block = words[4:].split(","), False
        elif via_block and comment.startswith("#  "):
            parents = [words]
        else:
            return False
        for parent in parents:
            parent = parent.strip().split("[")[0]
            if VIA_NAME.match(parent):
                self.via.setdefault(last, set()).add(canonicalize_name(parent))
        return via_block

    def _options(self, line: str, path: str, where: str) -> None:
        try:
            tokens = shlex.split(line)
        except ValueError as error:
            raise UserError(f"{where}: cannot be split like a shell line ({error})") from None
        index = 0
        while index < len(tokens):
            token, value = tokens[index], None
            if token.startswith("--") and "=" in token:
                token, value = token.split("=", 1)
            elif token in VALUED:
                if index + 1 >= len(tokens):
                    raise UserError(f"{where}: {token} needs a value")
                index, value = index + 1, tokens[index + 1]
            elif token[:2] in VALUED and not token.startswith("--"):
                token, value = token[:2], token[2:]
            index += 1
            kind = VALUED.get(token)
            if not self.options_apply and (token == "--no-index" or kind in ("index", "extra", "find-links")):
                self.note(f"{where}: {token}: in a file the build does not read (it reads {BUILT_BY_REQUIREMENTS} "
                          "or pyproject.toml), so it changes nothing pip does there")
                continue
            if token == "--no-index":
                self.no_index = self.no_index or where
            if kind in ("requirement", "constraint"):
                self._include(value, path, where, kind == "constraint")
            elif kind == "editable":
                self.direct(value, where, editable=True)
            elif kind in ("index", "extra", "find-links"):
                self.indexes.append((kind, value, where))
            elif kind in ("no-binary", "only-binary") and self.options_apply:
                self._format_control(kind, value)

    def _format_control(self, kind: str, value: str) -> None:
        """--no-binary/--only-binary NAMES as pip's FormatControl takes them: :all: empties both sets, :none:
        the one named, a name moves to it from the other."""
        target, other = self.formats[kind], self.formats["only-binary" if kind == "no-binary" else "no-binary"]
        for name in (part.strip() for part in value.split(",")):
            if name == ":all:":
                other.clear()
                target.clear()
                target.add(":all:")
            elif name == ":none:":
                target.clear()
            elif name:
                other.discard(canonicalize_name(name))
                target.add(canonicalize_name(name))

    def source_only(self, name: str) -> bool:
        """Whether pip takes only an sdist of `name` (FormatControl.get_allowed_formats)."""
        no, only = self.formats["no-binary"], self.formats["only-binary"]
        return name not in only and (name in no or (":all:" not in only and ":all:" in no))

    def _include(self, value: str, path: str, where: str, nested_constraint: bool) -> None:
        """-r and -c, relative to the file naming them (pip: -r in a constraints file names requirements)."""
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", value):
            self.note(f"{where}: {'-c' if nested_constraint else '-r'} {_host_of(value)}: a file on another host, "
                      "not read; what it names has no stand-ins")
            return
        target = posixpath.normpath(posixpath.join(posixpath.dirname(path), value))
        if value.startswith("/") or target.startswith("../") or target == "..":
            self.note(f"{where}: {printable(value)}: outside the project; what it names has no stand-ins")
            return
        self.include_depth += 1  # each -r reads its file inside this call: a chain of them is as deep
        if self.include_depth > MAX_INCLUDE_DEPTH:
            raise UserError(f"{where}: -r/-c includes nested more than {MAX_INCLUDE_DEPTH} files deep")
        try:
            self.requirements(target, nested_constraint, where)
        finally:
            self.include_depth -= 1

    def requirement(self, spec: str, path: str, where: str, constraint: bool, spans=()) -> Named | None:
        """A requirement line's requirement (or a pyproject dependency): a name, or a URL or path (a note)."""
        head = spec.split(";")[0].strip()
        if _is_url(head) or _is_path(head):  # pip: a URL or a path, not a name (`name @ URL` is a name)
            self.direct(spec, where)
            return None
        try:
            requirement = Requirement(spec)
        except InvalidRequirement as error:
            raise UserError(f"{where}: {spec!r} is not a requirement pip reads ({error})") from None
        if requirement.url:
            self.direct(spec, where, requirement)
            return None
        named = Named(where, path, requirement, constraint, list(spans))
        self.named.append(named)
        if requirement.marker and not constraint:
            self.markers.setdefault(named.name, str(requirement.marker))
        return named

    def direct(self, spec: str, where: str, requirement: Requirement | None = None, editable: bool = False) -> None:
        """A requirement by URL or path: a directory of the project pip builds (its pyproject.toml is read), a
        wheel at an https URL (served there), anything else a note."""
        location = (requirement.url if requirement else spec.split(";")[0].strip()).removeprefix("file:")
        kind = "-e " if editable else ""
        if re.match(r"^(git|hg|svn|bzr)\+", location):
            self.note(f"{where}: {kind}{location.split('+')[0]} requirement on {_host_of(location.split('+', 1)[1])}: "
                      "pip clones it from there; not stood in for (publish it to the index the mirror serves)")
            return
        if _is_url(location):
            name = posixpath.basename(unquote(urlsplit(location).path))
            if urlsplit(location).scheme in ("http", "https") and name.endswith(".whl"):
                self.indexes.append(("wheel", location, where))
                return
            self.note(f"{where}: {kind}a direct URL on {_host_of(location)}: not stood in for")
            return
        directory = posixpath.normpath(location.split("#")[0].split("[")[0])
        directory = "" if directory == "." else directory
        if directory.startswith(("/", "../")) or directory == "..":
            self.note(f"{where}: {kind}{printable(location)}: outside the project; not stood in for")
        elif posixpath.join(directory, PYPROJECT) in self.files:
            if directory not in self.built:
                self.built.append(directory)
            self.pyproject(directory, built=True)
        elif missing := missing_from_copy(directory, self.files):
            self.note(f"{where}: {kind}{printable(location)}: {missing}: pip does "
                      "not find it in the build")
        elif not self.setup_cfg(directory):  # one there (setuptools' declarative setup.cfg) is read in passing
            self.note(f"{where}: {kind}{printable(location)}: a path pip reads from the project's copy (no "
                      "pyproject.toml there to read its dependencies from); not stood in for")

    # --- pyproject.toml -------------------------------------------------------------------------------------
    def pyproject(self, directory: str, built: bool) -> None:
        path = posixpath.join(directory, PYPROJECT) if directory else PYPROJECT
        if (path, built) in self.projects or (path, True) in self.projects:
            return
        self.projects.add((path, built))
        try:
            data = tomllib.loads(text_of(path, self.files[path]))
        except tomllib.TOMLDecodeError as error:
            raise UserError(f"{printable(path)}: not valid TOML ({error})") from None
        except RecursionError:
            raise UserError(f"{printable(path)}: nested too deeply to read") from None
        project = _table(data, "project", path)
        if project is None and not built:
            return  # tool settings only: the requirements files build
        if project is None and self.setup_cfg(directory):
            project = {}  # setuptools' setup.cfg: the stand-in backend reads it as setuptools does
        elif project is None:
            self.note(f"{printable(path)}: no [project] table ([tool.poetry] or setup.py): its dependencies are not "
                      "read; the stand-in build backend makes a project without dependencies")
            project = {}
        if "dependencies" in project.get("dynamic", []):
            self.note(f"{printable(path)}: dependencies are dynamic (computed by its build backend): not read")
        for dep in _strings(project, "dependencies", path):
            self.requirement(dep, path, f"{printable(path)} [project] dependencies", False)
        optional = project.get("optional-dependencies", {})
        if not isinstance(optional, dict):
            raise UserError(f"{printable(path)}: [project] optional-dependencies: expected a table of lists")
        for extra in sorted(optional):
            for dep in _strings(optional, extra, path):
                self.requirement(dep, path, f"{printable(path)} [project.optional-dependencies] {extra}", False)
        if built:
            self._build_system(_table(data, "build-system", path), path)
        if built and not directory:
            tools = data.get("tool") if isinstance(data.get("tool"), dict) else {}
            poetry = "poetry" in tools or "poetry.lock" in self.files
            tool, why = ("Poetry", "poetry.lock or [tool.poetry]") if poetry else ("uv", "its default, or uv.lock")
            self.note(PYPROJECT_BUILDPACK.format(tool=tool, why=why, reach=PYPROJECT_REACH[tool]))

    def setup_cfg(self, directory: str) -> bool:
        """The [options] install_requires of the directory's setup.cfg (setuptools' declarative configuration),
        read as setuptools reads them; whether there is one."""
        path = posixpath.join(directory, "setup.cfg") if directory else "setup.cfg"
        if path not in self.files:
            return False
        try:
            _, _, requires = generator.read_setup_cfg(text_of(path, self.files[path]))
        except configparser.Error as error:
            raise UserError(f"{printable(path)}: not an INI file setuptools reads ({str(error).splitlines()[0]})") from None
        for spec in requires:
            self.requirement(spec, path, f"{printable(path)} [options] install_requires", False)
        return True

    def _build_system(self, table: dict | None, path: str) -> None:
        table = table if table is not None else DEFAULT_BUILD
        requires = _strings(table, "requires", path) if "requires" in table else DEFAULT_BUILD["requires"]
        backend = table.get("build-backend", DEFAULT_BUILD["build-backend"])
        if not isinstance(backend, str):
            raise UserError(f"{printable(path)}: [build-system] build-backend: expected a string")
        where = f"{printable(path)} [build-system] requires"
        named = [n for n in (self.requirement(spec, path, where, False) for spec in requires) if n is not None]
        if "backend-path" in table:
            self.note(f"{printable(path)}: its build backend {backend} is the project's own code (backend-path): "
                      "it runs as written, with stand-ins for what it imports")
            return
        provider = backend_provider(backend, [n.name for n in named])
        if provider is None:
            self.note(f"{printable(path)}: no [build-system] requires provides {backend}: no stand-in backend")
        else:
            self.backends[provider] = backend


def logical_lines(text: str):
    """(first line number, the logical line, [(offset, physical line)]): pip's join_lines, with each physical
    line's offset in `text`, so an option's span can be rewritten in place."""
    pending, offset = [], 0
    for number, raw in enumerate(text.splitlines(keepends=True), 1):
        body = (raw.splitlines() or [""])[0]
        start, offset = offset, offset + len(raw)
        if number == 1 and body.startswith("\ufeff"):
            body, start = body[1:], start + 1
        comment = COMMENT.match(body) is not None
        if not body.endswith("\\") or comment:
            pending.append((number, start, body, " " + body if comment else body))
            yield pending[0][0], "".join(p[3] for p in pending), [(p[1], p[2]) for p in pending]
            pending = []
        else:
            pending.append((number, start, body, body.strip("\\")))
    if pending:
        yield pending[0][0], "".join(p[3] for p in pending), [(p[1], p[2]) for p in pending]


def break_args_options(line: str) -> str:
    """The requirement of a requirement line: its words before the first option (pip's break_args_options)."""
    args = []
    for token in line.split(" "):
        if token.startswith("-"):
            break
        args.append(token)
    return " ".join(args)


def _hash_spans(pieces, where: str) -> list:
    spans = []
    for start, body in pieces:
        cut = COMMENT.search(body)
        for match in HASH.finditer(body[:cut.start() if cut else len(body)]):
            algorithm = match.group(1).lower()
            if algorithm not in STRONG_HASHES:
                raise UserError(f"{where}: --hash={algorithm}:...: pip takes only {', '.join(STRONG_HASHES)}")
            spans.append((start + match.start(2), start + match.end(2), algorithm))
    return spans



def _table(data: dict, name: str, path: str) -> dict | None:
    value = data.get(name)
    if value is not None and not isinstance(value, dict):
        raise UserError(f"{printable(path)}: [{name}]: expected a table")
    return value


def _strings(table: dict, name: str, path: str) -> list[str]:
    value = table.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UserError(f"{printable(path)}: {name}: expected a list of requirement strings")
    return value


def _is_url(text: str) -> bool:
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", text) is not None and not re.match(r"^[A-Za-z]:[\\/]", text)


def _is_path(text: str) -> bool:
    return "@" not in text and ("/" in text or "\\" in text or text.startswith(".") or text.lower().endswith(ARCHIVES))


def _host_of(url: str) -> str:
    """A URL's host only: a URL in a customer's file may carry a token (userinfo, path)."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    return printable(host) if HOST.match(host) else "an unreadable host"


# Backend modules whose distribution is not named after them (the others are: hatchling.build, flit_core.buildapi)
BACKEND_DISTRIBUTIONS = {"mesonpy": "meson-python", "sipbuild": "sip"}


def backend_provider(backend: str, names: list[str]) -> str | None:
    """Which of the build requirements provides the backend module: the one whose name is the module's leading
    part (setuptools.build_meta: setuptools, poetry.core.masonry.api: poetry-core) or BACKEND_DISTRIBUTIONS
    gives (mesonpy: meson-python), else the only one."""
    known = BACKEND_DISTRIBUTIONS.get(backend.split(":")[0].split(".")[0])
    if known in names:
        return known
    parts = backend.split(":")[0].split(".")
    for end in range(len(parts), 0, -1):
        wanted = canonicalize_name("-".join(parts[:end]))
        if wanted in names:
            return wanted
    return names[0] if len(names) == 1 else None


# --- versions -------------------------------------------------------------------------------------------------
def pinned(specifier: SpecifierSet) -> str | None:
    """The version an `==`/`===` specifier pins (normalised), or None."""
    for spec in specifier:
        if spec.operator in ("==", "===") and not spec.version.endswith(".*"):
            try:
                return str(Version(spec.version))
            except InvalidVersion:
                return None
    return None


def _release(version: Version, release: tuple) -> str:
    return (f"{version.epoch}!" if version.epoch else "") + ".".join(str(part) for part in release)


def _candidates(sets: list[SpecifierSet]) -> list[str]:
    """Versions worth trying, most natural first: those the specifiers name, then one past each, one before each,
    one a component deeper, and 0."""
    named = []
    for specifier in sets:
        for spec in specifier:
            try:
                named.append(Version(spec.version.removesuffix(".*")))
            except InvalidVersion:
                continue
    named = sorted(set(named), reverse=True)
    after = [_release(v, v.release[:-1] + (v.release[-1] + 1,)) for v in named]
    before = []
    for v in named:
        release = list(v.release)
        nonzero = [i for i, part in enumerate(release) if part]
        if nonzero:
            release[nonzero[-1]] -= 1
            before.append(_release(v, tuple(release)))
    deeper = [_release(v, v.release + (1,)) for v in named]
    return list(dict.fromkeys([str(v) for v in named] + after + before + deeper + ["0"]))


def standin_version(sets: list[SpecifierSet]) -> str | None:
    """One version satisfying every specifier set (the first final release that does, else the first pre-release),
    or None. A specifier that refuses a candidate is asked first about the next one: a sorted list of bounds then
    costs about one check per candidate."""
    specs = list({str(spec): spec for specifier in sets for spec in specifier}.values())
    if not specs:
        return FALLBACK_VERSION
    prerelease = None
    for candidate in _candidates(sets):
        version = Version(candidate)
        refusing = next((i for i, spec in enumerate(specs) if not spec.contains(version, prereleases=True)), None)
        if refusing is not None:
            specs.insert(0, specs.pop(refusing))
        elif not version.is_prerelease:
            return candidate
        elif prerelease is None:
            prerelease = candidate
    return prerelease


def _versions(named: list[Named]) -> tuple[list[str], list[str]]:
    """The stand-in versions for one name and the notes: each version a requirement pins, and one satisfying the
    ranges no pin satisfies (a pin whose marker leaves out the builder's Python, a pin of a file the build does not
    read: pip still looks for a version in the range); else (or a constraint's pin) one satisfying every range."""
    written = {str(spec) for n in named for spec in n.requirement.specifier}
    if len(written) > MAX_SPECIFIERS:
        raise UserError(f"{named[0].where}: {named[0].name}: more than {MAX_SPECIFIERS} different version specifiers "
                        "across the requirements files (a real project writes a few)")
    required = [n for n in named if not n.constraint]
    pins = list(dict.fromkeys(v for v in (pinned(n.requirement.specifier) for n in required) if v))
    if pins:
        ranges = {str(n.requirement.specifier): n.requirement.specifier for n in required
                  if not pinned(n.requirement.specifier)}  # each written range once
        unmet = [spec for spec in ranges.values() if not any(spec.contains(pin, prereleases=True) for pin in pins)]
        extra = standin_version(unmet) if unmet else None
        return pins + ([extra] if extra and extra not in pins else []), []
    constraint_pins = list(dict.fromkeys(v for v in (pinned(n.requirement.specifier) for n in named) if v))
    if constraint_pins:
        return constraint_pins[:1], []
    sets = [n.requirement.specifier for n in named]
    version = standin_version(sets)
    if version is not None:
        return [version], []
    versions = list(dict.fromkeys(v for v in (standin_version([s]) for s in sets) if v))
    if versions:
        return versions, []
    return [], [f"{named[0].where}: no version satisfies {', '.join(str(s) for s in sets)}: not stood in for"]


# --- stand-ins --------------------------------------------------------------------------------------------------
def _pypi_hosts() -> set[str]:
    hosts = {host for piece in slices.load() if piece.manager == MANAGER for host in piece.hosts}
    return hosts | set(PYPI_ALIASES)


def _distributions(reader: Reader) -> dict[tuple[str, str], dict]:
    by_name: dict[str, list[Named]] = {}
    for named in reader.named:
        by_name.setdefault(named.name, []).append(named)
    required = {named.name for named in reader.named if not named.constraint}
    dists = {}
    for name in sorted(required):
        versions, notes = _versions(by_name[name])
        for text in notes:
            reader.note(text)
        extras = sorted({canonicalize_name(e) for n in by_name[name] for e in n.requirement.extras})
        requires = sorted({child + (f"; {reader.markers[child]}" if child in reader.markers else "")
                           for child, parents in reader.via.items() if name in parents and child in required})
        for version in versions:
            # --no-binary: pip takes only an sdist of it (which the stand-in's own backend builds offline)
            dist = {"name": name, "version": version, "kind": "sdist" if reader.source_only(name) else "wheel",
                    "module": generator.normalized(name)}
            if name in reader.backends:
                dist |= {"kind": "backend", "backend_module": reader.backends[name]}
            dist |= ({"extras": extras} if extras else {}) | ({"requires": requires} if requires else {})
            dists[(name, version)] = dist
    return dists


def _link_page(links: list[tuple[str, str]]) -> str:
    anchors = "".join(f'    <a href="{html.escape(href)}">{html.escape(text)}</a><br/>\n' for href, text in links)
    return f"<!DOCTYPE html>\n<html>\n  <body>\n{anchors}  </body>\n</html>\n"


def _elsewhere(reader: Reader, dists: dict) -> tuple[dict, set]:
    """Indexes, links pages and wheel URLs on hosts other than PyPI (leaks.yaml's shape), and the stand-ins PyPI
    cannot have (a local version) when another index serves them."""
    pypi, python, files, off_pypi = _pypi_hosts(), [], [], set()
    local = [d for d in dists.values() if Version(d["version"]).local]
    for kind, url, where in reader.indexes:
        parts = urlsplit(url)
        host = (parts.hostname or "") if parts.scheme in ("http", "https") else ""
        if kind == "wheel":
            _wheel_url(reader, url, where, files, dists)
            continue
        option = OPTIONS[kind]
        if not host:
            shown = _host_of(url) if _is_url(url) else printable(url)
            variables = re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", url)
            why = (f"pip takes it from the environment variable{'s' if len(variables) > 1 else ''} "
                   f"{', '.join(variables)} (it expands ${{VAR}} in requirements files), unknown here"
                   if variables else "not an http(s) URL")
            reader.note(f"{where}: {option} {shown}: {why}; kept, not stood in for")
            continue
        if host in pypi:
            continue
        if not HOST.match(host):
            reader.note(f"{where}: an index URL whose host is not a name ({printable(host)}): kept, not stood in for")
            continue
        if own_port(parts):
            reader.note(f"{where}: " + own_port_note(host, own_port(parts), f"{option} and its packages"))
            continue
        served = list(dists.values()) if kind == "index" else local
        shown = ", ".join(f"{d['name']} {d['version']}" for d in served) or "no stand-ins"
        if kind == "find-links":
            page = unquote(parts.path) or "/"
            page_file = page + "index.html" if page.endswith("/") else page
            folder = posixpath.dirname(page_file)
            links = []
            for dist in served:
                filename, contents = generator.wheel_files(dist)
                files.append({"host": host, "path": posixpath.join(folder, filename), "kind": "zip",
                              "files": {p: data.decode() for p, data in contents.items()}})
                digest = hashlib.sha256(generator.wheel(dist)[1]).hexdigest()
                links.append((f"{quote(filename)}#sha256={digest}", filename))
            files.append({"host": host, "path": page_file, "kind": "text", "content": _link_page(sorted(links))})
        else:
            index = "/" + unquote(parts.path).strip("/") + "/" if parts.path.strip("/") else "/"
            python.append({"host": host, "index": index, "distributions": served})
        off_pypi |= {(d["name"], d["version"]) for d in served if d in local}
        reader.note(f"{where}: {option} on {host} kept (the customer's setting): pip asks it "
                    f"{'instead of' if kind == 'index' else 'besides'} the configured index; served there: {shown}")
    for dist in local:
        if (dist["name"], dist["version"]) not in off_pypi:
            reader.note(f"{dist['name']} {dist['version']}: a local version, which PyPI does not take; stood in for "
                        "on PyPI as no other index is named")
    return ({"python": python} if python else {}) | ({"files": files} if files else {}), off_pypi


def _wheel_url(reader: Reader, url: str, where: str, files: list, dists: dict) -> None:
    """`name @ https://host/path/name-1.0-py3-none-any.whl`: a stand-in wheel at that URL."""
    parts = urlsplit(url)
    if own_port(parts):
        reader.note(f"{where}: " + own_port_note(parts.hostname or "", own_port(parts), "a wheel URL and its wheel"))
        return
    path = unquote(parts.path)
    filename = posixpath.basename(path)
    pieces = filename[:-len(".whl")].split("-")
    try:
        name, version = canonicalize_name(pieces[0]), str(Version(pieces[1]))
    except (IndexError, InvalidVersion):
        reader.note(f"{where}: a wheel URL on {_host_of(url)} whose file name is not a wheel's: not stood in for")
        return
    if not HOST.match(parts.hostname or ""):
        reader.note(f"{where}: a wheel URL whose host is not a name: not stood in for")
        return
    dist = {"name": name, "version": version, "kind": "wheel", "module": generator.normalized(name)}
    _, contents = generator.wheel_files(dist)
    files.append({"host": parts.hostname, "path": path, "kind": "zip",
                  "files": {p: data.decode() for p, data in contents.items()}})
    dists.setdefault(("@" + url, version), dist)  # its --hash, if any, is this wheel's
    reader.note(f"{where}: {name} {version} by URL on {parts.hostname}: pip downloads it there (served there)")


def _rewritten(reader: Reader, dists: dict) -> dict[str, bytes]:
    """Each file whose --hash options name a stand-in, with the stand-in's hashes (its wheel's, or its sdist's
    under --no-binary) in place."""
    by_name: dict[str, list[dict]] = {}
    for (name, _), dist in dists.items():
        by_name.setdefault(name, []).append(dist)
    wheels: dict[int, bytes] = {}
    edits: dict[str, list] = {}
    for named in reader.named:
        if not named.hashes:
            continue
        version = pinned(named.requirement.specifier)
        dist = dists.get((named.name, version)) or (by_name.get(named.name) or [None])[0]
        if dist is None:
            continue
        data = wheels.setdefault(id(dist), generator.archive(dist)[1])
        edits.setdefault(named.path, []).extend(
            (start, end, hashlib.new(algorithm, data).hexdigest()) for start, end, algorithm in named.hashes)
    for url, path, spans in reader.url_hashes:
        dist = next((d for (key, _), d in dists.items() if key == "@" + url), None)
        if dist is not None:
            data = wheels.setdefault(id(dist), generator.archive(dist)[1])
            edits.setdefault(path, []).extend((s, e, hashlib.new(a, data).hexdigest()) for s, e, a in spans)
    out = {}
    for path, changes in edits.items():
        text = reader.texts[path]
        for start, end, digest in sorted(changes, reverse=True):
            text = text[:start] + digest + text[end:]
        if text != reader.texts[path]:
            out[path] = text.encode("utf-8")
    return out


def read(files: dict[str, bytes]) -> Reader:
    """The project's requirements as pip's build reads them (the top requirements*.txt files, what they include,
    pyproject.toml)."""
    reader = Reader(files)
    tops = sorted(p for p in files if TOP_REQUIREMENTS.fullmatch(p))
    for path in sorted(tops, key=lambda top: top != BUILT_BY_REQUIREMENTS):  # what the build reads first
        reader.options_apply = path == BUILT_BY_REQUIREMENTS
        reader.requirements(path, constraint=False, parent=path)
    reader.options_apply = True
    if PYPROJECT in files:
        built = BUILT_BY_REQUIREMENTS not in files  # then the build is `pip download .`
        if built and "" not in reader.built:
            reader.built.append("")
        reader.pyproject("", built=built)
    return reader


def standins(files: dict[str, bytes]) -> StandIns:
    reader = read(files)
    if reader.no_index and not any(kind == "find-links" and urlsplit(url).scheme in ("http", "https")
                                   for kind, url, _ in reader.indexes):
        # pip asks no index and finds every wheel in the project's own folders: nothing to fetch, and the
        # --hash lines are those of the customer's wheels, which stay as they are
        reader.note(f"{reader.no_index}: --no-index with local --find-links only: pip installs from the project's "
                    "own files; nothing is stood in for and no hash is rewritten")
        for _, location, where in [index for index in reader.indexes if index[0] == "find-links"]:
            if missing := missing_from_copy(location.removeprefix("file://").removeprefix("file:"), files):
                reader.note(f"{where}: --find-links {printable(location)}: {missing}: pip finds nothing there in the build")
        return StandIns(manager=MANAGER, notes=tuple(reader.notes))
    dists = _distributions(reader)
    elsewhere, off_pypi = _elsewhere(reader, dists)
    on_pypi = [d for key, d in sorted(dists.items()) if key not in off_pypi and not key[0].startswith("@")]
    return StandIns(manager=MANAGER, definition={"distributions": on_pypi} if on_pypi else {}, elsewhere=elsewhere,
                    rewritten=_rewritten(reader, dists), notes=tuple(reader.notes))
