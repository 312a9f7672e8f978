"""Stand-ins for a Bundler project: every gem its Gemfile.lock (or, without one, its Gemfile) names.

Gemfile.lock is the graph Bundler installs, so it is the source of truth: each spec of a GEM section whose
remote is rubygems.org becomes a stand-in of the same name, version and platform (1.16.2-x86_64-linux is a
precompiled gem, its own file on rubygems.org) whose dependencies are the lock's indented lines under it, so
Bundler finds the lock consistent and installs the same graph. A Gemfile is Ruby, read here only by the
patterns Gemfiles use (source, gem, git:/github:/path: options, ruby): without a lock its gems get stand-ins at
a version their requirements allow, with no dependencies of their own. What cannot be stood in for (gems from
git, from a path outside the project, from another gem server) is a note; so is BUNDLED WITH, which makes
Bundler fetch another Bundler (harness/scenarios/leak_causes.yaml: bundler-version-switch).

The lock's CHECKSUMS section (Bundler 2.5+) pins each gem's sha256: the build's copy has the stand-ins'.
"""

import re
from urllib.parse import urlsplit

from harness.customer.project import StandIns, missing_from_copy, safe_url, text_of
from harness.infra.errors import UserError
from harness.infra.textsafe import printable
from harness.stack.content import rubygems as generator
from harness.stack.content.archives import sha256_hex

GEMFILE, LOCKFILE = "Gemfile", "Gemfile.lock"
MANAGER = "rubygems"
RUBYGEMS_HOSTS = {"rubygems.org", "index.rubygems.org"}  # the hosts the simulated rubygems.org answers on
SECTIONS = {"GEM", "GIT", "PATH", "PLUGIN SOURCE", "PLATFORMS", "DEPENDENCIES", "RUBY VERSION", "BUNDLED WITH",
            "CHECKSUMS"}
NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"
VERSION = r"[0-9]+(?:\.[0-9A-Za-z]+)*"
# "    name (version[-platform])": Bundler's own pattern splits the platform off at the first "-"
_SPEC = re.compile(rf"^    ({NAME}) \(({VERSION})(?:-([A-Za-z0-9_.-]+))?\)$")
_DEPENDENCY = re.compile(rf"^      ({NAME})(?: \(([^()]*)\))?$")
_CHECKSUM = re.compile(rf"^  ({NAME}) \(({VERSION})(?:-([A-Za-z0-9_.-]+))?\)(?: (.*))?$")
_SHA256 = re.compile(r"sha256=[0-9a-fA-F]{64}")
_CLAUSE = re.compile(rf"^\s*(=|!=|>=|<=|>|<|~>)?\s*({VERSION})\s*$")
# Gemfile lines: a quoted string, and `key: value` / `:key => value` options
_STRING = r"""(?:"([^"]*)"|'([^']*)')"""
_GEM = re.compile(rf"^gem\s*\(?\s*{_STRING}(.*)$")
_SOURCE = re.compile(rf"^source\s*\(?\s*(?:{_STRING}|:(\w+))")
_RUBY = re.compile(rf"^ruby\s*\(?\s*(?:{_STRING}|file:\s*{_STRING})")
_OPTION = re.compile(rf""":?(\w+)(?::|\s*=>)\s*(?:{_STRING}|(%[iw]\[[^\]]*\]|\[[^\]]*\]|:\w+|\w+))""")
_REQUIREMENT = re.compile(rf"\s*,\s*{_STRING}")  # matched at a position (rest of a gem line)
_REQUIREMENTS_ARRAY = re.compile(r"""\s*,\s*\[((?:\s*+(?:"[^"]*"|'[^']*')\s*+,?)*+)\]""")  # possessive: linear  # gem "pg", [">= 1.1", "< 2"]
MAX_REQUIREMENTS = 64  # version requirements of one gem (a real one has one to three); each is checked against each
SOURCE_OPTIONS = ("git", "github", "gitlab", "bitbucket", "path", "gist")


def is_rubygems(remote: str) -> bool:
    try:
        return (urlsplit(remote).hostname or "") in RUBYGEMS_HOSTS
    except ValueError:
        return False



# --- Gemfile.lock --------------------------------------------------------------------------------------------

class Lock:
    """Gemfile.lock read section by section, as Bundler's LockfileParser reads it (unknown sections skipped)."""

    def __init__(self, text: str):
        self.sources: list[dict] = []  # {"type": GEM|GIT|PATH|PLUGIN SOURCE, "remotes": [...], "specs": [...]}
        self.platforms: list[str] = []
        self.dependencies: list[str] = []
        self.bundled_with: str | None = None
        self.checksums = False
        section, source, spec = None, None, None
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.rstrip()
            if not line:
                continue
            where = f"{LOCKFILE}: line {number}"
            if not line.startswith(" "):
                section, source, spec = line, None, None
                if section in ("GEM", "GIT", "PATH", "PLUGIN SOURCE"):
                    source = {"type": section, "remotes": [], "specs": [], "options": {}}
                    self.sources.append(source)
                self.checksums |= section == "CHECKSUMS"
                continue
            if source is not None:
                spec = self._source_line(source, spec, line, where)
            elif section == "PLATFORMS":
                self.platforms.append(line.strip())
            elif section == "DEPENDENCIES":
                self.dependencies.append(line.strip())
            elif section == "BUNDLED WITH":
                self.bundled_with = line.strip()
        if not self.sources and not self.dependencies:
            raise UserError(f"{LOCKFILE}: no GEM, GIT or PATH section and no DEPENDENCIES (is it a Gemfile.lock?)")

    @staticmethod
    def _source_line(source: dict, spec: dict | None, line: str, where: str) -> dict | None:
        if line.startswith("      "):
            found = _DEPENDENCY.match(line)
            if spec is None or not found:
                raise UserError(f"{where}: {printable(line.strip())!r} is not a dependency line of a spec")
            spec["dependencies"][found.group(1)] = ", ".join(_clauses(found.group(2) or "", where))
            return spec
        if line.startswith("    "):
            found = _SPEC.match(line)
            if not found:
                raise UserError(f"{where}: {printable(line.strip())!r} is not a spec line (name (version))")
            spec = {"name": found.group(1), "version": found.group(2), "platform": found.group(3) or generator.RUBY,
                    "dependencies": {}}
            source["specs"].append(spec)
            return spec
        key, _, value = line.strip().partition(":")
        if key == "remote":
            source["remotes"].append(value.strip())
        elif key != "specs":
            source["options"][key] = value.strip()
        return None


def _clauses(requirement: str, where: str) -> list[str]:
    """A requirement's clauses ("~> 1.0", ">= 1.0.2"), each checked; empty: none (any version)."""
    out = []
    for clause in filter(None, (c.strip() for c in requirement.split(","))):
        found = _CLAUSE.match(clause)
        if not found:
            raise UserError(f"{where}: {printable(clause)!r} is not a gem requirement")
        out.append(f"{found.group(1) or '='} {found.group(2)}")
    return out


def _key(name: str, version: str, platform: str | None) -> tuple[str, str, str]:
    return name, version, platform or generator.RUBY


def _from_lock(lock: Lock, notes: list[str], tree) -> list[dict]:
    gems: dict[tuple[str, str, str], dict] = {}
    for source in lock.sources:
        remotes = ", ".join(safe_url(r) for r in source["remotes"]) or "no remote"
        names = ", ".join(printable(s["name"]) for s in source["specs"])
        if source["type"] == "GEM" and any(is_rubygems(r) for r in source["remotes"]):
            for remote in source["remotes"]:
                if not is_rubygems(remote):
                    notes.append(f"GEM remote {safe_url(remote)} beside rubygems.org: its gems are stood in for on "
                                 "rubygems.org; Bundler may ask that server first (a leak the trap records)")
                elif urlsplit(remote).scheme != "https":
                    notes.append(f"GEM remote {safe_url(remote)}: not https, so Bundler's mirror of "
                                 "https://rubygems.org/ does not apply to it (use https://rubygems.org/)")
            for spec in source["specs"]:
                gems.setdefault(_key(spec["name"], spec["version"], spec["platform"]), spec)
        elif source["type"] == "GEM":
            notes.append(f"gems from {remotes} ({names}): another gem server, not stood in; Bundler fetches them "
                         "there (mirror it, or publish them where the mirror reads)")
        elif source["type"] == "GIT":
            notes.append(f"gems from git {remotes} ({names}): not stood in; Bundler clones the repository "
                         "(leak cause bundler-git-source)")
        elif source["type"] == "PATH" and not _inside(source["remotes"]):
            notes.append(f"gems from path {remotes} ({names}): outside the project, so not in the build's copy")
        elif source["type"] == "PATH":
            notes += _path_missing(source["remotes"], names, tree)
        elif source["type"] == "PLUGIN SOURCE":
            notes.append(f"a Bundler plugin source {remotes} ({names}): not stood in")
    if lock.platforms and not any(p == generator.RUBY or "linux" in p for p in lock.platforms):
        notes.append(f"PLATFORMS has neither ruby nor a Linux platform ({', '.join(map(printable, lock.platforms))}): "
                     "Bundler on a Linux builder adds its own and resolves again, for gems the lock (and so the "
                     "stand-ins) may not have for it")
    bundled = {spec["name"] for s in lock.sources for spec in s["specs"]}
    missing = [d.split()[0].rstrip("!") for d in lock.dependencies if d.split()[0].rstrip("!") not in bundled]
    if missing:
        notes.append(f"DEPENDENCIES without a spec in the lock ({', '.join(printable(m) for m in missing)}): gems "
                     "for other platforms (a Gemfile platforms: option); Bundler skips them here, not stood in")
    return [_definition_entry(spec) for spec in gems.values()]


def _inside(remotes: list[str]) -> bool:
    return all(not r.startswith("/") and ".." not in r.replace("\\", "/").split("/") for r in remotes)


def _path_missing(paths: list[str], names: str, tree) -> list[str]:
    """A note for each path gem's directory inside the project that the build's copy lacks: Bundler stops there
    ("The path ... does not exist")."""
    return [f"gems from path {printable(path)} ({names}): {missing}; Bundler stops there (the path does not exist)"
            for path in paths if (missing := missing_from_copy(path, tree))]


def _definition_entry(spec: dict) -> dict:
    """A gem in the shape of fixtures/content/rubygems.yaml `gems:`."""
    entry = {"name": spec["name"], "version": spec["version"]}
    if spec["platform"] != generator.RUBY:
        entry["platform"] = spec["platform"]
    if spec["dependencies"]:
        entry["dependencies"] = {name: requirement or ">= 0" for name, requirement in spec["dependencies"].items()}
    return entry


def _bundled_with(lock: Lock, notes: list[str]) -> None:
    if lock.bundled_with:
        notes.append(f"BUNDLED WITH {printable(lock.bundled_with)}: a Bundler 2.3+ of another version asks the gem "
                     "source for that Bundler to restart with it (leak cause bundler-version-switch where the source "
                     "is not mirrored); the stand-ins have no bundler gem, so it goes on with its own version")


def rewritten_lock(data: bytes, gems: list[dict]) -> bytes | None:
    """Gemfile.lock with each CHECKSUMS sha256 of a stand-in replaced by the stand-in's; None: nothing to change.
    Every other byte (line ends, order, entries of gems not stood in for) stays."""
    sums = {_key(g["name"], g["version"], g.get("platform")): sha256_hex(generator.gem_file(g)) for g in gems}
    out, section, changed = [], None, False
    for line in data.decode("utf-8-sig").splitlines(keepends=True):
        body = line.rstrip("\r\n")
        if body and not body.startswith(" "):
            section = body.rstrip()
        elif section == "CHECKSUMS" and (found := _CHECKSUM.match(body.rstrip())):
            digest = sums.get(_key(*found.groups()[:3]))
            if digest and found.group(4):
                new = body[:found.start(4)] + _SHA256.sub(f"sha256={digest}", found.group(4)) + body[found.end(4):]
                changed |= new != body
                line = new + line[len(body):]
        out.append(line)
    if not changed:
        return None
    bom = "\ufeff" if data.startswith(b"\xef\xbb\xbf") else ""
    return (bom + "".join(out)).encode()


# --- Gemfile -------------------------------------------------------------------------------------------------

def _code(line: str) -> str:
    """The line without its comment (a # outside quotes)."""
    quote = None
    for index, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#":
            return line[:index]
    return line


def _string(match: re.Match, first: int = 1) -> str:
    return match.group(first) if match.group(first) is not None else match.group(first + 1)


def _opens_block(line: str) -> bool:
    """A line opening a block its `end` closes: `... do`, or a Ruby statement (`if`, `unless`, `case` ... at the
    line's start; `x if y` is a modifier and opens none)."""
    return bool(re.search(r"\sdo(\s*\|[^|]*\|)?$", line)
                or re.match(r"^(if|unless|case|while|until|begin|def|class|module)\b", line))


# `git "URL" do`, `github "org/repo" do`, `path "dir" do`: the gems inside take that option, as Bundler gives it
_OPTION_BLOCK = re.compile(rf"^({'|'.join(SOURCE_OPTIONS)})\s*\(?\s*{_STRING}")
_GIT_SOURCE = re.compile(r"^git_source\s*\(?\s*:(\w+)")  # a custom git source, used as `gem "x", NAME: "..."`


def _statements(text: str):
    """(line number, code) of each statement: comments cut, a line ending in ',' or '\\' joined with the next (a gem's
    requirements written on the lines below it), as Ruby reads the expression on."""
    pieces, start = [], 0  # the lines of the statement so far, joined once it ends (joining each time: quadratic)
    for number, raw in enumerate(text.splitlines(), 1):
        line = _code(raw).strip()
        if not line and not pieces:
            continue
        start = start if pieces else number
        if line.endswith((",", "\\")):
            pieces.append(line.removesuffix("\\"))
            continue
        yield start, " ".join(pieces + [line]) if line else " ".join(pieces)
        pieces = []
    if pieces:
        yield start, " ".join(pieces)


def read_gemfile(text: str) -> tuple[list[dict], list[str]]:
    """The Gemfile's gem lines ({name, requirements, source, options}) and notes on its sources and Ruby."""
    gems, notes = [], []
    blocks: list[dict] = []  # each open block: the options it gives its gems ({source: URL}, {git: URL} ...)
    git_sources: list[str] = []  # git_source(:name) names
    for number, line in _statements(text):
        url, given = None, {}  # the source this line names; the options a block it opens gives its gems
        if found := _SOURCE.match(line):
            url = "https://rubygems.org" if found.group(3) else _string(found)
            if not is_rubygems(url):
                notes.append(f"{GEMFILE}: source {safe_url(url)}: another gem server; its gems are not stood in")
            elif urlsplit(url).scheme != "https":
                notes.append(f"{GEMFILE}: source {safe_url(url)}: not https, so Bundler's mirror of "
                             "https://rubygems.org/ does not apply to it")
        elif found := _GEM.match(line):
            rest, at, requirements = found.group(3), 0, []
            if array := _REQUIREMENTS_ARRAY.match(rest):
                requirements, at = [_string(m) for m in re.finditer(_STRING, array.group(1))], array.end()
            while (more := _REQUIREMENT.match(rest, at)) is not None:
                requirements.append(_string(more))
                at = more.end()
                if len(requirements) > MAX_REQUIREMENTS:
                    raise UserError(f"{GEMFILE}: line {number}: gem {printable(_string(found))} has more than "
                                    f"{MAX_REQUIREMENTS} version requirements")
            rest = rest[at:]
            for requirement in (r for r in requirements if "," in r):  # Gem::Requirement takes one clause a string
                notes.append(f"{GEMFILE}: line {number}: gem {printable(_string(found))} {printable(requirement)!r}: one "
                             "string of two requirements, which RubyGems refuses (Illformed requirement): Bundler "
                             "stops at it")
            options = {m.group(1): (_string(m, 2) if _string(m, 2) is not None else m.group(4))
                       for m in _OPTION.finditer(rest)}
            for block in reversed(blocks):  # the gem's own options win, then the innermost block's
                options = {**{k: v for k, v in block.items() if k != "source"}, **options}
            options |= {"git": options[name] for name in git_sources  # a custom git source (one not noted already)
                        if name in options and "git" not in options and name not in SOURCE_OPTIONS}
            source = options.get("source") or next((b["source"] for b in reversed(blocks) if "source" in b), None)
            gems.append({"name": _string(found), "requirements": requirements, "options": options,
                         "source": source, "line": number})
        elif re.match(r"^source\b", line):  # not a string: a source Bundler computes when it runs
            notes.append(f"{GEMFILE}: line {number}: a source Bundler computes ({printable(line)}): not read; the gems "
                         "it gives are stood in on rubygems.org, where it sends them is not checked")
        elif found := _RUBY.match(line):
            wanted = _string(found) if _string(found) is not None else f"the one in {_string(found, 3)}"
            notes.append(f"{GEMFILE}: ruby {printable(wanted)}: Bundler stops if the builder's Ruby is another")
        elif re.match(r"^(eval_gemfile|instance_eval)\b", line):
            notes.append(f"{GEMFILE}: line {number}: {printable(line)}: another file's gems are not read here")
        elif re.match(r"^plugin\b", line):
            notes.append(f"{GEMFILE}: line {number}: a Bundler plugin ({printable(line)}): not stood in")
        elif found := _OPTION_BLOCK.match(line):
            given = {found.group(1): _string(found, 2)}
        elif found := _GIT_SOURCE.match(line):
            git_sources.append(found.group(1))
        elif line == "end" and blocks:
            blocks.pop()
        if _opens_block(line):
            blocks.append({"source": url} if url else given)
        if re.match(r"^(gem|platforms?)\b.*[\s:\[]windows\b", line):
            notes.append(f"{GEMFILE}: line {number}: platform windows is Bundler 2.5's name; an older Bundler stops "
                         "('`windows` is not a valid platform'): mingw, mswin and x64_mingw work with both")
    return gems, notes


def _gemfile_notes(gems: list[dict], tree) -> list[str]:
    notes = []
    for gem in gems:
        name = printable(gem["name"])
        for option in SOURCE_OPTIONS:
            if option in gem["options"]:
                where = printable(gem["options"][option] or "")
                if option == "path":
                    if where.startswith("/") or ".." in where.split("/"):
                        notes.append(f"gem {name} path: {where}: outside the project, not in the build's copy")
                    else:
                        notes += _path_missing([gem["options"][option] or ""], name, tree)
                else:
                    notes.append(f"gem {name} {option}: {where}: not stood in; Bundler clones it from the code host "
                                 "(leak cause bundler-git-source)")
    return notes


def _version_key(version: str) -> tuple:
    """Gem::Version order: numeric segments as numbers; a letter segment (a prerelease) sorts before them."""
    return tuple((1, int(s), "") if s.isdigit() else (0, 0, s) for s in re.findall(r"[0-9]+|[A-Za-z]+", version))


def _satisfies(version: str, clause: str) -> bool:
    op, _, wanted = clause.partition(" ")
    have, want = _version_key(version), _version_key(wanted)
    # compare with trailing zeros ignored, as Gem::Version does (1.0 == 1.0.0)
    width = max(len(have), len(want))
    have, want = (have + ((1, 0, ""),) * (width - len(have))), (want + ((1, 0, ""),) * (width - len(want)))
    if op == "~>":
        digits = re.findall(r"[0-9]+", wanted)
        upper = [*digits[:-2], str(int(digits[-2]) + 1)] if len(digits) > 1 else [str(int(digits[0]) + 1)]
        return have >= want and _version_key(version) < _version_key(".".join(upper))
    return {"=": have == want, "!=": have != want, ">=": have >= want, "<=": have <= want, ">": have > want,
            "<": have < want}[op]


def _below(version: str) -> str | None:
    """A release just below `version` (4 -> 3, 2.0 -> 1.0, 0.1 -> 0.0), for a `<` bound; None below 0."""
    parts = version.split(".")
    numeric = [i for i, part in enumerate(parts) if part.isdigit() and int(part)]
    if not numeric:
        return None
    parts[numeric[-1]] = str(int(parts[numeric[-1]]) - 1)
    return ".".join(part if part.isdigit() else "0" for part in parts[:numeric[-1] + 1]) or None


def pick_version(requirements: list[str], where: str) -> str | None:
    """A version every requirement allows (the lowest the requirements name, or one above a `>` bound);
    no requirement: 1.0.0. None when the requirements name none that fits."""
    clauses = [c for r in requirements for c in _clauses(r, where)]
    if not clauses:
        return "1.0.0"
    candidates, below = [], []
    for clause in clauses:
        op, _, version = clause.partition(" ")
        if op in ("=", ">=", "~>", "<="):
            candidates.append(version)
        elif op in (">", "!="):
            candidates.append(f"{version}.1")
        elif op == "<" and (lower := _below(version)):
            below.append(lower)  # tried last: a version a lower bound names is the likelier one
    candidates = sorted(candidates, key=_version_key) + sorted(below, key=_version_key)
    return next((v for v in candidates if all(_satisfies(v, c) for c in clauses)), None)


def _from_gemfile(gems: list[dict], notes: list[str]) -> list[dict]:
    out = []
    for gem in gems:
        if any(option in gem["options"] for option in SOURCE_OPTIONS):
            continue  # a note already says why
        if gem["source"] and not is_rubygems(gem["source"]):
            notes.append(f"gem {printable(gem['name'])}: from {safe_url(gem['source'])}, not stood in")
            continue
        version = pick_version(gem["requirements"], f"{GEMFILE}: line {gem['line']}")
        if version is None:
            notes.append(f"gem {printable(gem['name'])} {', '.join(gem['requirements'])}: no version fits every "
                         "requirement; not stood in")
            continue
        out.append({"name": gem["name"], "version": version})
    if out:
        notes.append(f"no {LOCKFILE}: each Gemfile gem stood in for at one version its requirements allow, without "
                     "dependencies of its own; Bundler resolves and writes a lock")
    return out


# --- the module's contract -----------------------------------------------------------------------------------

GEMS_RB, GEMS_LOCKED = "gems.rb", "gems.locked"  # Bundler's other names: it takes gems.rb before Gemfile


def standins(files: dict[str, bytes]) -> StandIns:
    if GEMS_RB not in files:
        return _standins(files)
    # Bundler.default_gemfile finds gems.rb first (its lock is gems.locked): read under the usual names
    others = [name for name in (GEMFILE, LOCKFILE) if name in files]
    made = _standins({GEMFILE: files[GEMS_RB], **({LOCKFILE: files[GEMS_LOCKED]} if GEMS_LOCKED in files else {})},
                     files)
    note = (f"{GEMS_RB}" + (f" and {GEMS_LOCKED}" if GEMS_LOCKED in files else "") + ": what Bundler reads (before "
            f"a Gemfile), named {GEMFILE} and {LOCKFILE} in these notes" + (
                f"; {' and '.join(others)} not read, as Bundler does not" if others else ""))
    return StandIns(MANAGER, definition=made.definition,
                    rewritten={GEMS_LOCKED if path == LOCKFILE else path: data for path, data in made.rewritten.items()},
                    notes=(note, *made.notes))


def _standins(files: dict[str, bytes], tree=None) -> StandIns:
    """`files`: the Gemfile and its lock under their usual names; `tree`: every file of the project as read
    (default: `files`), where a path gem's directory must be."""
    tree = files if tree is None else tree
    notes: list[str] = []
    gemfile_gems = []
    if GEMFILE in files:
        gemfile_gems, gemfile_notes = read_gemfile(text_of(GEMFILE, files[GEMFILE]).removeprefix("\ufeff"))
        # git: and path: gems: the lock's GIT and PATH sections say it when there is a lock
        notes += gemfile_notes + ([] if LOCKFILE in files else _gemfile_notes(gemfile_gems, tree))
    rewritten = {}
    if LOCKFILE in files:
        lock = Lock(text_of(LOCKFILE, files[LOCKFILE]).removeprefix("\ufeff"))
        gems = _from_lock(lock, notes, tree)
        _bundled_with(lock, notes)
        if lock.checksums:
            new = rewritten_lock(files[LOCKFILE], gems)
            if new is not None:
                rewritten[LOCKFILE] = new
                notes.append(f"{LOCKFILE}: CHECKSUMS rewritten to the stand-ins' sha256 (Bundler 2.5+ checks them; "
                             "older Bundlers skip the section)")
    elif GEMFILE in files:
        gems = _from_gemfile(gemfile_gems, notes)
    else:
        raise UserError(f"no {GEMFILE} or {LOCKFILE} at the project's top")
    if GEMFILE not in files:
        notes.append(f"{LOCKFILE} without a {GEMFILE}: Bundler stops (it needs the Gemfile)")
    return StandIns(MANAGER, definition={"gems": gems} if gems else {}, rewritten=rewritten,
                    notes=tuple(dict.fromkeys(notes)))
