"""Stand-ins for a byoc project's Dockerfile: every base image its FROM lines name, and a copy it can build.

The simulated registries serve one-layer stand-in images that hold a single file and no shell, so the project's
RUN steps cannot run in them. What the mirrors decide is where each FROM is pulled from; the build runs on
Dockerfile.airgap-standin: the same ARGs and FROM lines (so podman resolves every base image as it would), each
stage's instructions left out, and the last stage copying a file from every other stage so no stage is skipped.
"""

import json
import platform
import re
import shlex

from harness.contract import reference
from harness.contract.grammar import mask
from harness.customer.project import DOCKERFILE, STANDIN_DOCKERFILE, StandIns, text_of
from harness.infra.errors import UserError
from harness.infra.textsafe import printable

# $NAME, ${NAME}, ${NAME:-default} and ${NAME:+alternative}, a default holding ${...} of its own; each part bounded
# (a hostile line of 8 MiB must not take quadratic time)
_INNER_VARIABLE = r"\$\{\w+(?::?[-+][^{}]{0,256})?\}"
_VARIABLE = re.compile(rf"\$(?:\{{(\w+)(?::?([-+])((?:{_INNER_VARIABLE}|[^}}$]|\$(?!\{{)){{0,256}}))?\}}|(\w+))")
# The ARGs BuildKit and podman define in the global scope without an ARG line: the platform of the build here
_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
AUTOMATIC_ARGS = {f"{side}{what}": value for side in ("TARGET", "BUILD")
                  for what, value in (("PLATFORM", f"linux/{_ARCH}"), ("OS", "linux"), ("ARCH", _ARCH), ("VARIANT", ""))}
_FROM = re.compile(r"FROM\s+((?:--\S+\s+)*)(\S+)(?:\s+AS\s+(\S+))?\s*$", re.I)
_ARG = re.compile(r"ARG\s+(.+)$", re.I)
_ARG_WORD = re.compile(r"(\w+)(?:=(.*))?$", re.S)
# images a stage's instructions pull besides FROM: COPY --from=IMAGE, RUN --mount=...,from=IMAGE
_COPY_FROM = re.compile(r"COPY\s+(?:--\S+\s+)*?--from=(\S+)", re.I)
_MOUNT = re.compile(r"--mount=(\S+)", re.I)
_MOUNT_FROM = re.compile(r"(?:^|,)from=([^,]+)", re.I)
# what ADD fetches itself: a URL or a git remote (BuildKit), from no mirror the proxy-config names
_ADD_REMOTE = re.compile(r"(?:https?|git|ssh)://[^\s\"']+|git@[^\s\"']+", re.I)  # RFC 3986 user-info may hold , and ]
MARKER_FILE = "/airgap-fixture/image.txt"  # the one file of every stand-in image (harness/stack/content/oci.py)


# A here-document opens where a shell word of a RUN, COPY or ADD line (or ONBUILD's) is `<<NAME`, `<<-NAME` or
# `2<<"NAME"`, as BuildKit's parser reads it: `cat<<EOF`, `$((1<<2))` and `<<<` open none.
_SHELL_WORD = re.compile(r"""(?:[^\s'"\\]|\\.?|'[^']*'?|"(?:[^"\\]|\\.)*"?)+""", re.S)
_HEREDOC_WORD = re.compile(r"\d*<<(-?)([^<]+)")
_HEREDOC_INSTRUCTIONS = ("RUN", "COPY", "ADD")


_DIRECTIVE = re.compile(r"#\s*([A-Za-z][A-Za-z0-9]*)\s*=\s*(.*?)\s*$")


def directives(lines: list[str]) -> dict[str, str]:
    """The parser directives at the top (`# syntax=...`, `# escape=...`; names in lower case), read only before
    the first comment, empty line or instruction, as Docker reads them."""
    found = {}
    for line in lines:
        directive = _DIRECTIVE.match(line.strip())
        if not directive:
            break
        found.setdefault(directive[1].lower(), directive[2])
    return found


def escape_character(lines: list[str]) -> str:
    """The line-continuation character: `\\`, or what an `# escape=` parser directive sets (a Windows Dockerfile's
    `# escape=`` ` keeps `\\` for paths)."""
    escape = directives(lines).get("escape", "\\")
    if escape not in ("\\", "`"):
        raise UserError(f"{DOCKERFILE}: the parser directive escape={escape!r} is neither \\ nor `")
    return escape


def _heredocs(instruction: str) -> list[tuple[bool, str]]:
    """The here-documents an instruction opens, in order: (strip leading tabs, terminator)."""
    keyword, rest = (instruction.split(None, 1) + [""])[:2]
    if keyword.upper() == "ONBUILD":
        keyword, rest = (rest.split(None, 1) + ["", ""])[:2]
    if keyword.upper() not in _HEREDOC_INSTRUCTIONS or _json_form(re.sub(r"^\s*(?:--\S+\s+)*", "", rest)):
        return []  # the JSON form holds none
    found = []
    for word in _SHELL_WORD.findall(instruction):
        heredoc = _HEREDOC_WORD.fullmatch(word)
        try:
            name = shlex.split(heredoc[2]) if heredoc else []
        except ValueError:
            continue
        if len(name) == 1:
            found.append((heredoc[1] == "-", name[0]))
    return found


def _json_form(arguments: str) -> bool:
    """Whether an instruction's arguments are its JSON form: a JSON array of strings (else BuildKit reads them as
    a shell command, `RUN [ -x f ] && ...` too)."""
    try:
        parsed = json.loads(arguments) if arguments.lstrip().startswith("[") else None
    except ValueError:
        return False
    return isinstance(parsed, list) and all(isinstance(word, str) for word in parsed)


def instructions(text: str) -> list[str]:
    """The Dockerfile's instructions as BuildKit's parser reads them: comments and blank lines dropped (inside a
    continued instruction too), continuation lines joined as they are written (by the escape character, with
    only spaces or tabs after it, itself not escaped), here-documents (`RUN <<EOF` ... `EOF`, Dockerfile syntax
    1.4) skipped, so a line of their text is never an instruction; one never closed is an error."""
    out, current, continued, heredocs = [], "", False, []  # heredocs: (strip leading tabs, terminator) still open
    lines = text.replace("\r\n", "\n").split("\n")
    escape = re.escape(escape_character(lines))
    continuation = re.compile(rf"(?:(?<=[^{escape}])|^){escape}[ \t]*$")
    for line in lines:
        if heredocs:
            strip_tabs, word = heredocs[0]
            if (line.lstrip("\t") if strip_tabs else line) == word:
                heredocs.pop(0)
            continue
        if not continued:
            line = line.lstrip()
        if line.lstrip().startswith("#") or (continued and not line.strip()):
            continue  # a comment (or a parser directive), or an empty line inside a continued instruction
        continued = bool(continuation.search(line))
        current += continuation.sub("", line)
        if continued or not current.strip():
            continue
        out.append(current.strip())
        current = ""
        heredocs = _heredocs(out[-1])
    if heredocs:
        raise UserError(f"{DOCKERFILE}: the here-document {printable(heredocs[0][1])} of "
                        f"{printable(out[-1].split()[0])} is never closed (no line {printable(heredocs[0][1])})")
    if current.strip():
        out.append(current.strip())
    return out


def _expand(text: str, values: dict[str, str]) -> str:
    def one(match: re.Match) -> str:
        name = match.group(1) or match.group(4)
        value = values.get(name, "")
        if match.group(2) == "-":
            return value or _expand(match.group(3), values)
        if match.group(2) == "+":
            return _expand(match.group(3), values) if value else ""
        return value
    return _VARIABLE.sub(one, text)


def _declare(arguments: str, args: dict[str, str]) -> None:
    """An ARG instruction before the first FROM: one or more `NAME[=default]`, a default quoted or not and
    expanded with the ARGs before it, as BuildKit does."""
    try:
        words = shlex.split(arguments, comments=False, posix=True)
    except ValueError as error:  # the line is not shown: a default may be a credential
        names = " ".join(re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=", arguments)) or "..."
        raise UserError(f"{DOCKERFILE}: ARG {printable(names)}: {error} (the line's text is not shown)") from None
    for word in words:
        found = _ARG_WORD.match(word)
        if not found:
            raise UserError(f"{DOCKERFILE}: ARG {printable(word.split('=', 1)[0][:80])}...: not NAME or NAME=VALUE")
        # without a default: unset, or the value BuildKit gives an automatic platform ARG (TARGETARCH)
        args[found.group(1)] = _expand(found.group(2), args) if found.group(2) is not None else args.get(found.group(1), "")


def _unset_arguments(source: str, written: str, args: dict[str, str]) -> list[str]:
    """The ARGs without a default that leave an image written with them no reference (empty when it is one)."""
    unset = [m.group(1) or m.group(4) for m in _VARIABLE.finditer(source)
             if not args.get(m.group(1) or m.group(4)) and m.group(2) != "-"]
    return unset if unset and not _is_reference(written) else []


def _is_reference(text: str) -> bool:
    try:
        reference.parse_normalized(text)
    except reference.ReferenceError:
        return False
    return True


def _shown(text: str) -> str:
    """Part of a line as an error or a note quotes it: each word's user-info secret masked (a password may hold
    '/'), at most 200 characters."""
    return printable(" ".join(mask(word) for word in text[:200].split(" ")) + ("..." if len(text) > 200 else ""))


def _image_note(written: str, where: str, images: list[str], notes: list[str]) -> None:
    """Add the image `written` to `images` (stood in for), or a note why it cannot be; an error if it is no reference."""
    try:
        named = reference.parse_normalized(written)
    except reference.ReferenceError as error:
        raise UserError(f"{DOCKERFILE}: {where} {_shown(written)}: not an image reference ({_shown(str(error))})") from None
    if named.digest:
        notes.append(f"{where} {written}: pinned by digest; no stand-in can have the real image's digest")
    elif ":" in named.domain:
        notes.append(f"{where} {written}: a registry on a port of its own; the simulated internet serves 443 only")
    else:
        images.append(f"{named.domain}/{named.path}:{named.tag or 'latest'}")


def _stage_sources(instruction: str, args: dict[str, str], stages: list, images: list[str], extra: list[str],
                   notes: list[str]) -> None:
    """What a stage's instruction fetches besides its FROM: an image of COPY --from or RUN --mount from= (pulled
    through registries.conf like a FROM: stood in for, and copied from in the stand-in Dockerfile so the build
    pulls it), a URL or git remote of ADD (fetched by the builder itself: named)."""
    keyword = instruction.split(None, 1)[0].upper()
    named = [m.group(1) for m in _COPY_FROM.finditer(instruction)] if keyword == "COPY" else []
    named += [m.group(1) for mount in _MOUNT.finditer(instruction) for m in _MOUNT_FROM.finditer(mount.group(1))] \
        if keyword == "RUN" else []
    stage_names = {name for _, name, _ in stages if name}
    for source in named:
        if "$" in source:  # moby/buildkit#2412: BuildKit takes --from as written
            flag = "--from" if keyword == "COPY" else "--mount from"
            notes.append(f"{keyword} {flag}={_shown(source)}: BuildKit does not expand variables there (its build "
                         "fails: invalid from flag value); podman does, so the build here goes on with it")
        written = _expand(source.strip("\"'"), args)
        if written.isdigit() or written.lower() in stage_names:
            continue  # an earlier stage
        if _unset_arguments(source, written, args):  # may come from an ARG of the stage: named, not refused
            notes.append(f"{keyword} --from {printable(source)}: an ARG with no default before the first FROM; "
                         "not stood in for")
            continue
        _image_note(written, f"{keyword} from=", images, notes)
        if written not in extra:
            extra.append(written)
    if keyword == "ADD":
        for remote in _ADD_REMOTE.findall(instruction):
            notes.append(f"ADD {printable(mask(remote))}: fetched by the build itself, from no mirror the proxy-config "
                         "names; not stood in for")


def standins(files: dict[str, bytes]) -> StandIns:
    text = text_of(DOCKERFILE, files[DOCKERFILE]).removeprefix("\ufeff")  # BuildKit reads past a byte-order mark
    args = dict(AUTOMATIC_ARGS)
    head, stages, images, notes, extra = [], [], [], [], []
    syntax = directives(text.split("\n")).get("syntax")
    if syntax:
        notes.append(f"# syntax={_shown(syntax)}: BuildKit pulls this frontend image before it reads the Dockerfile; "
                     "podman, which builds it here, ignores the line; not stood in for")
    for instruction in instructions(text):
        if not stages and (arg := _ARG.match(instruction)):
            _declare(arg.group(1), args)
            head.append(instruction)
            continue
        found = _FROM.match(instruction)
        if not found and instruction.split(None, 1)[0].upper() == "FROM":
            raise UserError(f"{DOCKERFILE}: {_shown(instruction)}: not FROM [--platform=...] IMAGE [AS NAME] "
                            "(a comment starts only a line of its own)")
        if found:
            written = _expand(found.group(2), args)
            stage = found.group(3).lower() if found.group(3) else None  # BuildKit matches stage names in any case
            if written.lower() == "scratch" or written.lower() in {name for _, name, _ in stages if name}:
                # no image: an empty base, or an earlier stage (named in lower case in the copy, for podman)
                stages.append((f"FROM {found.group(1)}{written.lower()}" + (f" AS {stage}" if stage else ""), stage, written))
                continue
            stages.append((f"FROM {found.group(1)}{found.group(2)}" + (f" AS {stage}" if stage else ""), stage, written))
            unset = _unset_arguments(found.group(2), written, args)
            if unset:
                raise UserError(f"{DOCKERFILE}: FROM {_shown(found.group(2))}: {', '.join(unset)} has no default "
                                "value (an ARG before the first FROM), so without --build-arg the image is no reference")
            _image_note(written, "FROM", images, notes)
        elif not stages:
            raise UserError(f"{DOCKERFILE}: {printable(instruction.split()[0])} before the first FROM")
        else:
            _stage_sources(instruction, args, stages, images, extra, notes)
    if not stages:
        raise UserError(f"{DOCKERFILE}: no FROM line")
    lines = ["# Written by airgap-harness from Dockerfile: its ARGs and FROM lines; stand-in images have no",
             "# shell, so each stage's instructions are left out (harness/customer/dockerfile.py).", *head]
    for index, (instruction, _, _) in enumerate(stages):
        lines.append(instruction)
    marked: dict[str, bool] = {}  # a stage name -> whether its stage holds the stand-ins' marker file
    has_marker = []  # a stage on scratch, or on a stage on scratch, has none to copy
    for _, stage, written in stages:
        base = written.lower()
        has_marker.append(base != "scratch" and marked.get(base, True))
        if stage:
            marked[stage] = has_marker[-1]
    lines += [f"COPY --from={index} {MARKER_FILE} /airgap-standin/stage-{index}.txt"
              for index in range(len(stages) - 1) if has_marker[index]]
    lines += [f"COPY --from={image} {MARKER_FILE} /airgap-standin/from-{index}.txt" for index, image in enumerate(extra)]
    automatic = sorted(set(re.findall(rf"\$\{{?({'|'.join(AUTOMATIC_ARGS)})\b", "\n".join(lines))))
    if automatic:
        notes.append(f"{', '.join(automatic)}: automatic platform ARGs, read as BuildKit sets them here "
                     f"({AUTOMATIC_ARGS['TARGETPLATFORM']}); podman sets them in FROM only in some versions (podman "
                     "issues 14375, 27158), so the build's own podman decides")
    notes.append(f"{STANDIN_DOCKERFILE}: built instead of {DOCKERFILE}, with its FROM lines and without the "
                 "stages' instructions (stand-in images have no shell)")
    return StandIns("dockerfile", images=tuple(dict.fromkeys(images)),
                    rewritten={STANDIN_DOCKERFILE: ("\n".join(lines) + "\n").encode()}, notes=tuple(notes))
