"""Go: stand-ins for the modules a customer's go.mod and go.sum name.

go.sum is the lockfile: every module version it lists (a zip line, a /go.mod line or both) gets a stand-in on the
simulated proxy.golang.org under the same path and version, and so does every requirement of go.mod and every
module a `replace` directive substitutes. The stand-ins require nothing: go.sum does not record the graph, and
since Go 1.17 go.mod lists every module the build needs, so the build list is the same. A stand-in is a module
with its go.mod only (no code), which is why the build downloads (`go mod download -x`) and does not compile.

go.sum is rewritten on the build's copy: each hash becomes the stand-in's (the generator's own Hash1, what the
proxy serves), and the lines `go mod download` checks but go.sum lacks are added: the go command would look
them up in the checksum database, and the simulated one is not signed with sum.golang.org's key (a note says so).
go.mod is kept byte for byte (go and toolchain lines included: GOTOOLCHAIN is the preamble's business).
Directory replacements (`=> ./lib`) are notes: the directory is the project's own code.
"""

import posixpath
import re

from harness.customer.project import StandIns, text_of
from harness.infra.errors import UserError
from harness.infra.textsafe import printable
from harness.stack.content import go as generator

MANAGER = "go"
GO_MOD, GO_SUM = "go.mod", "go.sum"
# modfile's lexer: a quoted string, '=>', '(' and ')' (tokens of their own: `require(` opens a block), a word
TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`|=>|[()]|[^\s"`()]+')
# a module path as Go allows it (golang.org/x/mod/module.CheckPath, simplified): elements of letters, digits and
# -._~, none empty or starting with a dot
MODULE_PATH = re.compile(r"^[A-Za-z0-9_~-][A-Za-z0-9._~-]*(/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*$")
VERSION = re.compile(r"^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+incompatible)?$")
MOD_SUFFIX = "/go.mod"


def _unquote(token: str) -> str:
    return token[1:-1] if token[:1] in ('"', "`") else token


def _is_local(path: str) -> bool:
    """A replacement by a directory (modfile.IsDirectoryPath): ./x, ../x, an absolute or Windows path."""
    return path.startswith(("./", "../", "/", ".\\", "..\\")) or path in (".", "..") or bool(
        re.match(r"^[A-Za-z]:[\\/]", path))


def _module(path: str, where: str) -> str:
    if not MODULE_PATH.match(path) or ".." in path.split("/"):
        raise UserError(f"{where}: {printable(path)!r} is not a module path")
    return path


def _version(version: str, where: str) -> str:
    if not VERSION.match(version):
        raise UserError(f"{where}: {printable(version)!r} is not a canonical module version (vX.Y.Z)")
    return version


def parse_go_mod(text: str):
    """(requires [(path, version, where)], replacements [(path, version or None, new path, new version or None,
    where)]) of a go.mod (golang.org/x/mod/modfile syntax: verbs, blocks, // comments, quoted strings)."""
    requires, replaces, block = [], [], None
    for number, raw in enumerate(text.splitlines(), 1):
        where = f"{GO_MOD} line {number}"
        tokens = [t for t in TOKEN.findall(raw.split("//")[0])]
        if not tokens:
            continue
        if block is not None:
            if tokens == [")"]:
                block = None
                continue
            verb, args = block, tokens
        else:
            verb, args = tokens[0], tokens[1:]
            if args == ["("]:
                block = verb
                continue
            if args == ["(", ")"]:
                continue  # an empty block
        args = [_unquote(a) if a != "=>" else a for a in args]
        if verb == "require":
            if len(args) != 2:
                raise UserError(f"{where}: require needs a module path and a version")
            requires.append((_module(args[0], where), args[1], where))
        elif verb == "replace":
            if "=>" not in args:
                raise UserError(f"{where}: replace needs '=>'")
            old, new = args[:args.index("=>")], args[args.index("=>") + 1:]
            if len(old) not in (1, 2) or len(new) not in (1, 2):
                raise UserError(f"{where}: replace: expected 'path [version] => path [version]'")
            if len(new) == 1 and not _is_local(new[0]):
                raise UserError(f"{where}: replace by a module needs its version (a directory starts with ./ or ../)")
            replaced = (_module(old[0], where), old[1] if len(old) == 2 else None)
            target = (new[0], new[1] if len(new) == 2 else None)
            twice = next((r for r in replaces if r[:2] == replaced and r[2:4] != target), None)
            if twice:  # go: "multiple replacements for"
                raise UserError(f"{where}: {printable(' '.join(old))} is replaced again, differently ({twice[4]}): Go "
                                "stops on it")
            replaces.append((*replaced, *target, where))
        # module, go, toolchain, exclude, retract, godebug, tool, ignore and newer verbs: nothing to stand in for
    if block is not None:
        raise UserError(f"{GO_MOD}: a '{block} (' block is not closed with ')'")
    return requires, replaces


def parse_go_sum(text: str):
    """[(path, version, is the /go.mod line, line index)] of go.sum's lines; blank lines are skipped."""
    out = []
    for index, raw in enumerate(text.splitlines()):
        fields = raw.split()
        if not fields:
            continue
        where = f"{GO_SUM} line {index + 1}"
        if len(fields) != 3:
            raise UserError(f"{where}: expected 'module version hash', got {len(fields)} fields")
        path, version, digest = fields
        is_mod = version.endswith(MOD_SUFFIX)
        version = version.removesuffix(MOD_SUFFIX)
        if not digest.startswith("h1:"):
            raise UserError(f"{where}: the hash is not an h1: hash (golang.org/x/mod/sumdb/dirhash)")
        out.append((_module(path, where), _version(version, where), is_mod, index))
    return out


def _directory(new: str, files: dict) -> str:
    """What a directory replacement is to the build's copy."""
    directory = posixpath.normpath(new.replace("\\", "/"))
    if directory.startswith(("/", "../")) or directory == ".." or re.match(r"^[A-Za-z]:", directory):
        return "a directory outside the project: the build cannot read it"
    if any(path.startswith(directory + "/") for path in files):
        return "a directory of the project, built from its copy"
    return "a directory not in the project as read: the build cannot read it"



def standins(files: dict[str, bytes]) -> StandIns:
    notes = []
    requires, replaces = parse_go_mod(text_of(GO_MOD, files[GO_MOD]))
    sum_text = text_of(GO_SUM, files[GO_SUM]) if GO_SUM in files else None
    sum_lines = parse_go_sum(sum_text) if sum_text is not None else []

    def replacement(path: str, version: str):
        """What the build uses for path@version: a module version, or None for a directory. A replacement of
        path@version wins over one of the whole path, wherever each is written (modload's Replacement)."""
        found = [r for r in replaces if r[0] == path and r[1] == version] or [r for r in replaces if r[0] == path and r[1] is None]
        if not found:
            return path, version
        _, _, new, new_version, where = found[0]
        if _is_local(new):
            return None
        return _module(new, where), _version(new_version, where)

    wanted = {}  # (path, version) -> the go.mod requirement it stands in for (None: go.sum only)
    for path, version, where in requires:
        if not VERSION.match(version):
            notes.append(f"{where}: {path} {printable(version)}: not a canonical version (go asks the proxy to "
                         "resolve it); not stood in for")
            continue
        used = replacement(path, version)
        if used is not None:
            wanted[used] = where
    for old, _, new, _, where in replaces:
        if _is_local(new):
            notes.append(f"{where}: {old} => {printable(new)}: {_directory(new, files)}; not stood in for")
    for path, version, _, _ in sum_lines:
        wanted.setdefault((path, version), None)

    modules = [{"module": path, "version": version} for path, version in sorted(wanted)]
    sums = generator.proxy_layout(modules)[1] if modules else {}
    rewritten = {}
    if sum_text is None:
        if wanted:
            notes.append("no go.sum: go looks every module up in the checksum database, which the simulated one "
                         "cannot answer under sum.golang.org's key; the build stops there")
    else:
        new_text = _rewrite_sum(sum_text, sum_lines, sums, [key for key, where in wanted.items() if where], notes)
        if new_text != sum_text:
            rewritten[GO_SUM] = new_text.encode("utf-8")
    return StandIns(manager=MANAGER, definition={"modules": modules} if modules else {}, rewritten=rewritten,
                    notes=tuple(notes))


def _rewrite_sum(text: str, lines, sums: dict, required: list, notes: list) -> str:
    """go.sum with each hash the stand-in's, and the lines of go.mod's requirements it lacks appended."""
    physical = text.splitlines(keepends=True)
    have = set()
    for path, version, is_mod, index in lines:
        zip_hash, mod_hash = sums[(path, version)]
        fields = physical[index].split()
        body = physical[index].rstrip("\r\n")
        ending = physical[index][len(body):]
        start = body.rindex(fields[2])
        physical[index] = body[:start] + (mod_hash if is_mod else zip_hash) + body[start + len(fields[2]):] + ending
        have.add((path, version, is_mod))
    missing = [(p, v, m) for p, v in sorted(required) for m in (False, True) if (p, v, m) not in have]
    if missing:
        newline = "\r\n" if "\r\n" in text else "\n"
        if physical and not physical[-1].endswith(("\n", "\r")):
            physical[-1] += newline
        for path, version, is_mod in missing:
            zip_hash, mod_hash = sums[(path, version)]
            physical.append(f"{path} {version}{MOD_SUFFIX if is_mod else ''} {mod_hash if is_mod else zip_hash}"
                            + newline)
        notes.append(f"go.sum lacked {len(missing)} line(s) go mod download checks "
                     f"({', '.join(sorted({f'{p} {v}' for p, v, _ in missing})[:3])}{', ...' if len(missing) > 3 else ''}): "
                     "added on the copy, as sum.golang.org would answer them")
    return "".join(physical)
