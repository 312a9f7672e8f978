"""The proxy-config Secret in and out of a directory: render, import, mount.

render: what `kubectl create secret generic NAME --from-file=DIR [-n NS] --dry-run=client -o yaml`
prints, byte for byte (kubectl v1.32 by default; from v1.34 on the only change is that
`creationTimestamp: null` is gone). kubectl marshals through sigs.k8s.io/yaml, i.e. go-yaml v2, so
harness.secret.goyaml carries the few go-yaml v2 rules that matter for the strings a Secret can hold here: how a
plain scalar resolves (bool, int, float, timestamp, null: those get double quotes), when plain style is
not allowed (single quotes), mapping keys over 128 characters (the `? key` form) and go-yaml's
"natural" key order. Names and namespaces are limited to what the API server accepts (DNS-1123), so
every scalar is plain, single- or double-quoted ASCII without spaces and nothing else is needed.

import: a `kubectl get secret -o yaml|json` back into one file per key. mount: a directory laid out the
way kubelet's AtomicWriter fills a Secret volume.
"""

import base64
import binascii
import codecs
import difflib
import json
import os
import random
import re
import stat
import sys
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from harness.contract.config import ProxyConfig, display_name, key_problems, read_config, split_key_name
from harness.infra.files import read_regular_file
from harness.infra.errors import UserError
from harness.infra.textsafe import has_lone_surrogate, printable
from harness.secret import DEFAULT_KUBECTL_VERSION, DEFAULT_MOUNT_MODE, DEFAULT_NAME  # noqa: F401 (re-exported)
from harness.secret.goyaml import (check_name, check_namespace, go_quote, go_yaml_key_order, go_yaml_scalar,
                                   invalid_key_message, kubectl_reads_as_text)

LAST_KUBECTL_WITH_NULL_TIMESTAMP = (1, 33)  # Kubernetes 1.34 omits a zero creationTimestamp (PR 130989)

# Bounds on what a hostile file can cost. Kubernetes keeps an object in etcd only up to 1.5 MiB
# (--max-request-bytes) and a Secret's data up to 1 MiB; as YAML or JSON, base64 makes that at most
# about 2 MiB, so 4 MiB is every real Secret manifest with room to spare. The pure-Python YAML parser
# takes up to about 17 s for 4 MiB of the slowest text (one plain scalar of 2 million words, on 2 cores at
# medium speed; a real manifest's 4 MiB, mostly base64, much less); nodes are what cost memory (about 0.7 kB
# each), so their number is bounded too: a Secret has a few per key.
MAX_SECRET_FILE_BYTES = 4 * 1024 * 1024
MAX_YAML_NODES = 20_000
MAX_YAML_DEPTH = 64
MAX_SECRET_DATA_BYTES = 1024 * 1024  # the API server refuses a Secret whose data holds more (MaxSecretSize)
MAX_KEYS = 5_000  # a proxy-config has a few hundred keys at most (every key, scoped to every strategy); JSON too
PULL_SECRET_TYPES = ("kubernetes.io/dockerconfigjson", "kubernetes.io/dockercfg")

# --- render ------------------------------------------------------------------------------------------


@dataclass
class DirectoryData:
    """What `kubectl create secret --from-file=DIR` takes from DIR, and what it passes over."""

    data: dict[str, bytes] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (entry name, what it is)


def _entry_kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "directory"
    return "special file"


def _existing_directory(directory: str | os.PathLike) -> Path:
    directory = Path(directory)
    if not directory.is_dir():
        shown = printable(directory)
        raise UserError(f"{shown}: not a directory" if directory.exists() else f"{shown}: no such directory")
    return directory


def _read_stdin(limit: int = MAX_SECRET_FILE_BYTES) -> bytes:
    """`-`: the Secret piped in (`kubectl get secret NAME -o yaml | airgap secret import - OUT`), bounded."""
    data = sys.stdin.buffer.read(limit + 1)
    if len(data) > limit:
        raise UserError(f"stdin: too large (over {limit} bytes, more than a Secret can hold)")
    return data


def _read_file(path: Path, limit: int = MAX_SECRET_FILE_BYTES) -> bytes:
    """A regular file's bytes, at most `limit` of them (harness/infra/files.py)."""
    try:
        return read_regular_file(path, limit, ", more than a Secret can hold")
    except FileNotFoundError:
        raise UserError(f"{printable(path)}: cannot be read: No such file or directory") from None


def read_directory(directory: str | os.PathLike) -> DirectoryData:
    """Regular files only, as kubectl's os.ReadDir loop does: symlinks, directories, FIFOs are skipped."""
    directory = _existing_directory(directory)
    result, total = DirectoryData(), 0
    try:
        names = sorted(os.listdir(directory), key=os.fsencode)
    except OSError as error:
        raise UserError(f"{printable(directory)}: cannot list the directory: {error.strerror}") from None
    for name in names:
        path = directory / name
        try:
            mode = os.lstat(path).st_mode
        except OSError as error:
            raise UserError(f"{printable(path)}: {error.strerror}") from None
        if not stat.S_ISREG(mode):
            result.skipped.append((display_name(name), _entry_kind(mode)))
            continue
        raw = _read_file(path, MAX_SECRET_DATA_BYTES)
        problems = key_problems(name)
        if problems:
            raise UserError(f"{printable(directory)}: {invalid_key_message(name, problems)}")
        result.data[name] = raw
        total += len(raw)
        if total > MAX_SECRET_DATA_BYTES:
            raise UserError(f"{printable(directory)}: its files hold over {MAX_SECRET_DATA_BYTES >> 20} MiB in all; "
                            "Kubernetes refuses a Secret whose data holds more")
    return result


def render_secret(data: dict[str, bytes], name: str = DEFAULT_NAME, namespace: str | None = None,
                  kubectl_version: tuple[int, int] = DEFAULT_KUBECTL_VERSION) -> str:
    """The Secret YAML exactly as that kubectl version prints it for `--dry-run=client -o yaml`."""
    check_name(name)
    if namespace:
        check_namespace(namespace)
    lines = ["apiVersion: v1"]
    if data:
        lines.append("data:")
        for key in go_yaml_key_order(data)[0]:
            value = go_yaml_scalar(base64.b64encode(data[key]).decode("ascii"))
            if len(key) > 128:  # go-yaml writes longer keys in the explicit `? key` form
                lines += [f"  ? {go_yaml_scalar(key)}", f"  : {value}"]
            else:
                lines.append(f"  {go_yaml_scalar(key)}: {value}")
    lines += ["kind: Secret", "metadata:"]
    if kubectl_version <= LAST_KUBECTL_WITH_NULL_TIMESTAMP:
        lines.append("  creationTimestamp: null")
    lines.append(f"  name: {go_yaml_scalar(name)}")
    if namespace:
        lines.append(f"  namespace: {go_yaml_scalar(namespace)}")
    return "\n".join(lines) + "\n"


# --- import ------------------------------------------------------------------------------------------


class _OwnYAMLError(yaml.constructor.ConstructorError):
    """A refusal of _TextLoader: its problem names no value of the document, so it is shown as is."""


def _yaml_error(problem: str, mark) -> yaml.MarkedYAMLError:
    return _OwnYAMLError(None, None, problem, mark)


class _TextLoader(yaml.SafeLoader):
    """YAML where every scalar stays the text it was written as (only null is null): `on` stays "on" (marked
    _NotTextToKubectl when unquoted: kubectl reads it as a boolean).

    Bounded, since the file may come from anywhere: no aliases (a Secret never needs one, and nested
    aliases, the "billion laughs", expand to any size), at most MAX_YAML_NODES nodes nested at most
    MAX_YAML_DEPTH deep (PyYAML composes recursively), no tags but string, null, sequence and mapping,
    and mapping keys that are scalars.
    """

    yaml_implicit_resolvers = {}
    yaml_constructors = {tag: yaml.SafeLoader.yaml_constructors[tag] for tag in (
        "tag:yaml.org,2002:str", "tag:yaml.org,2002:null", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map", None)}

    def __init__(self, stream):
        super().__init__(stream)
        self.node_count = 0
        self.depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in self.anchors:  # the name is not shown: it may be an unquoted password
                raise _yaml_error("an alias (`*name`) of no anchor (a value starting with * must be quoted)",
                                  event.start_mark)
            raise _yaml_error("an alias (`*name`): kubectl would expand it, import does not (an alias can multiply a "
                              "document without bound); write the value out, or export the Secret again with "
                              "`kubectl get secret NAME -o yaml`", event.start_mark)
        self.node_count += 1
        if self.node_count > MAX_YAML_NODES:
            raise _yaml_error(f"more than {MAX_YAML_NODES} values; far more than a Secret holds", event.start_mark)
        if self.depth >= MAX_YAML_DEPTH:
            raise _yaml_error(f"nested more than {MAX_YAML_DEPTH} levels deep", event.start_mark)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _yaml_error("a sequence or mapping as a mapping key (`? [a, b]`); keys are strings",
                                  key_node.start_mark)
            if key_node.value in seen:
                raise _yaml_error(f"duplicate key {_shown_key(key_node.value)}", key_node.start_mark)
            seen.add(key_node.value)
        return super().construct_mapping(node, deep)


_TextLoader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"(?:~|null|Null|NULL|)\Z"),
                                  ["~", "n", "N", ""])


class _NotTextToKubectl(str):
    """A plain scalar go-yaml v2 (kubectl's YAML reader) resolves to a number or a boolean (`0755`, `true`,
    `on`): text here, but the API server refuses it where a string must be (a Secret's data and stringData)."""


def _construct_text(loader: _TextLoader, node) -> str:
    text = loader.construct_scalar(node)
    return _NotTextToKubectl(text) if node.style is None and not kubectl_reads_as_text(text) else text


_TextLoader.yaml_constructors["tag:yaml.org,2002:str"] = _construct_text


# the fields of a Secret (core/v1) and of its metadata (ObjectMeta), as the API server's strict field
# validation knows them: any other is refused there (kubectl apply), and import would drop it unread
SECRET_FIELDS = ("apiVersion", "kind", "metadata", "data", "stringData", "type", "immutable")
METADATA_FIELDS = ("name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
                   "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
                   "ownerReferences", "finalizers", "managedFields", "clusterName")  # clusterName: before 1.25
# a duplicate of one of these (or of a List's items) is shown in the error
_OBJECT_FIELDS = frozenset({*SECRET_FIELDS, *METADATA_FIELDS, "items"})


def _shown_key(key: str) -> str:
    """A duplicate key as an error may show it: a contract key's name or a field of the object, else not at all
    (`{k:v, k:v}` makes the value part of the key; a ',' in an unquoted flow value makes its tail a key)."""
    if key in _OBJECT_FIELDS or split_key_name(key)[1] in _contract_key_names():
        return repr(key)
    return "(not shown: it may be part of a value, as in `k:value` without a space; quote the values)"


def _json_pairs(pairs):
    counts = Counter(key for key, _ in pairs)
    duplicates = sorted(key for key, count in counts.items() if count > 1)
    if duplicates:
        raise ValueError(f"duplicate key {_shown_key(duplicates[0])}")
    return dict(pairs)


# what PyYAML's messages quote that is its own wording, not the document's: '<block end>', ':', '\t'
_YAML_FIXED = re.compile(r"""'(?:<[a-z ]+>|\\[tnr]|[^A-Za-z0-9\s'"\\])'""")


MAX_TAB_SPACES = 64  # separating tabs turned into spaces (each costs a parse): more is an error, as before
TAB_PARSE_BUDGET = 2 * 1024 * 1024  # characters parsed again for them: a large manifest gets fewer (seconds, not minutes)


def _yaml_documents(text: str) -> list:
    """The documents, as go-yaml (kubectl's reader) reads them: it takes a tab between tokens on a line (after a key's
    ':', before a comment, at a line's end) as white space, where PyYAML refuses it; such a tab becomes a space. One
    that indents a line stays refused, as go-yaml refuses it; tabs inside scalars are theirs and never reach here."""
    for _ in range(min(MAX_TAB_SPACES, TAB_PARSE_BUDGET // max(len(text), 1))):
        try:
            return list(yaml.load_all(text, Loader=_TextLoader))
        except yaml.scanner.ScannerError as error:
            at = error.problem_mark.index if error.problem_mark else -1
            line_start = text.rfind("\n", 0, at) + 1
            if not (0 <= at < len(text) and text[at] == "\t" and text[line_start:at].strip(" \t")):
                raise
            text = text[:at] + " " + text[at + 1:]
    return list(yaml.load_all(text, Loader=_TextLoader))


def _load_document(text: str, source: str):
    """JSON when it starts with `{` (as Kubernetes' YAMLOrJSONDecoder decides), else YAML.

    Error messages give the position and the parser's complaint, never document text (it holds secrets).
    """
    text = text.removeprefix("\ufeff")  # a byte-order mark (an editor on Windows) before JSON or YAML
    if text.lstrip().startswith("{"):
        try:
            # numbers as floats: no field of a Secret needs an exact one, and int() refuses over 4300 digits
            return json.loads(text, object_pairs_hook=_json_pairs, parse_int=float)
        except RecursionError:
            raise UserError(f"{source}: not valid JSON: nested too deeply") from None
        except ValueError as error:
            where = f" at line {error.lineno}, column {error.colno}" if hasattr(error, "lineno") else ""
            raise UserError(f"{source}: not valid JSON{where}: {getattr(error, 'msg', error)}") from None
    try:
        every = _yaml_documents(text)
        documents = [doc for doc in every if doc is not None]
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = error.problem or "unreadable"
        if not isinstance(error, _OwnYAMLError):  # PyYAML's own quote the text it stumbled on: '!S3cret' as a tag
            # from its first quote to its last, whatever is between: a quoted tag may hold escaped quotes ('!a\\'b"c');
            # what is PyYAML's own wording stays: a token's name ('<scalar>'), one punctuation or white space character
            fixed = _YAML_FIXED.findall(problem)
            count = iter(range(len(fixed)))
            problem = _YAML_FIXED.sub(lambda _: f"\0{next(count)}\0", problem)
            problem = re.sub(r"\([^)]*\)", "(…)", re.sub(r"['\"].*['\"]", "(…)", problem, flags=re.S))
            problem = re.sub("\0([0-9]+)\0", lambda m: fixed[int(m[1])], problem)
            if "'\\t'" in problem:
                problem += " (a tab: YAML allows only spaces there; replace it by a space)"
            if re.search(r"tag|alias|anchor", problem):
                problem += " (a value starting with !, * or & must be quoted)"
        raise UserError(f"{source}: not valid YAML{where}: {problem}") from None
    except yaml.reader.ReaderError as error:  # a character YAML does not allow: say where and which, not the text
        line = text.count("\n", 0, error.position) + 1
        raise UserError(f"{source}: not valid YAML at line {line}: the character U+{error.character:04X} is not "
                        "allowed in YAML (a control character or NUL: a binary value belongs in data, base64)") from None
    except yaml.YAMLError as error:
        raise UserError(f"{source}: not valid YAML ({type(error).__name__})") from None
    if len(documents) != 1:  # helm template, kustomize build: say which document is the Secret (kinds not shown)
        secrets = [str(n) for n, document in enumerate(every, 1)  # counted as written, empty ones too (`# Source:`)
                   if isinstance(document, dict) and document.get("kind") == "Secret"]
        hint = (f"document {secrets[0]} is the Secret: keep only it" if len(secrets) == 1 else
                f"documents {', '.join(secrets)} are Secrets: keep one" if secrets else "none is a Secret")
        empty = len(every) - len(documents)
        counted = f" and {empty} empty one(s), counted below as written" if empty and secrets else ""
        raise UserError(f"{source}: holds {len(documents)} YAML documents{counted}; import takes one Secret ({hint})")
    return documents[0]


def _the_secret(document, source: str) -> dict:
    if not isinstance(document, dict):
        raise UserError(f"{source}: not a Kubernetes object (expected a mapping with kind: Secret)")
    kind = document.get("kind")
    if kind == "List":
        items = document.get("items")
        items = items if isinstance(items, list) else []
        secrets = [item for item in items if isinstance(item, dict) and item.get("kind") == "Secret"]
        if len(secrets) != 1:
            raise UserError(f"{source}: a List holding {len(secrets)} Secrets; import takes exactly one "
                            "(`kubectl get secret NAME -o yaml`)")
        _check_fields(secrets[0], source)
        return secrets[0]
    if kind != "Secret":
        shown = "missing" if kind is None else repr(kind[:60]) if isinstance(kind, str) else "not a string"
        raise UserError(f"{source}: not a Secret (kind: {shown})")
    _check_fields(document, source)
    return document


def _check_fields(secret: dict, source: str) -> None:
    """Refuse a field a Secret does not have (`stringdata:`, `data:` indented under metadata), as the API server's
    strict validation does: its keys would be dropped unread. Only a name-shaped field is shown."""
    metadata = secret.get("metadata")
    unknown = [(field, SECRET_FIELDS) for field in secret if field not in SECRET_FIELDS]
    if isinstance(metadata, dict):
        unknown += [(field, METADATA_FIELDS) for field in metadata if field not in METADATA_FIELDS]
    if unknown:
        field, fields = unknown[0]
        where = "" if fields is SECRET_FIELDS else "metadata "
        if isinstance(field, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]{0,62}", field):
            close = difflib.get_close_matches(field, fields, n=1, cutoff=0.6) or [
                name for name in fields if name.lower() == field.lower()]
            shown = f"{where}{field!r}" + (f" (did you mean {where}{close[0]!r}?)" if close else "")
        else:
            shown = f"{where}(a field not shown: it may be part of a value)"
        owner = "a Secret" if fields is SECRET_FIELDS else "a Secret's metadata"
        raise UserError(f"{source}: unknown field {shown}: {owner} has {', '.join(fields)}; the API server refuses "
                        "any other (strict field validation) and its keys would not be read")


def _section(secret: dict, field_name: str, source: str) -> dict:
    section = secret.get(field_name)
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise UserError(f"{source}: {field_name} is not a mapping of key to value")
    previous = None
    for key, value in section.items():
        if key is None:
            raise UserError(f"{source}: {field_name} has a null key (`~` or nothing before the ':'): keys are names")
        if value is None and isinstance(key, str) and split_key_name(key)[1] not in _contract_key_names():
            # `{k: a,b}` in flow style makes `b` a key without a value: part of a value, so it is not shown
            after = f" after key {previous!r}" if previous else ""
            raise UserError(f"{source}: {field_name} has a key without a value{after}: `k:v` without a space, or a "
                            "',' inside an unquoted flow-style value (`{k: a,b}`) that splits it; the key is not shown, "
                            "as it may be part of a secret: quote the value")
        problems = key_problems(key) if isinstance(key, str) else ["not a string"]
        if problems:
            # `k:value`, `k=value` or `k value` is one key holding the value: show the key's name-shaped start only
            name = re.match(r"[-._a-zA-Z0-9]*", str(key))[0]
            shown = go_quote(name) + (" (and what follows it, not shown)" if name != str(key) else "")
            raise UserError(f"{source}: {field_name} key {shown} is not a valid Secret key: " + "; ".join(problems))
        if value is None:
            raise UserError(f"{source}: {field_name} key {key!r} has no value (null): write '' for an empty one")
        if not isinstance(value, str):
            raise UserError(f"{source}: {field_name} key {key!r}: the value is not a string")
        if isinstance(value, _NotTextToKubectl):  # the value is not shown: it may be a secret
            raise UserError(f"{source}: {field_name} key {key!r}: the value, unquoted, is a number or a boolean "
                            "to kubectl (YAML 1.1: 0755, true, on), not a string, so the API server refuses the "
                            "Secret; quote it")
        previous = key
        if has_lone_surrogate(value):
            raise UserError(f"{source}: {field_name} key {key!r}: the value holds an escaped UTF-16 surrogate "
                            "(\\uD800-\\uDFFF) on its own, which is no character")
    return section


_STD_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def _contract_key_names() -> set[str]:
    """The contract's key names: a key without a value that is one of them is shown in the error (an empty value,
    or `&anchor` on nothing), any other may be a piece of a value."""
    from harness.contract.catalog import load_catalog

    return set(load_catalog().all_key_names())


def _decode_base64(value: str, key: str, source: str) -> bytes:
    """Decode as Go's base64.StdEncoding does for the API server: padding required where a block is short and
    nowhere else (Python alone takes `QUJD=`), CR/LF ignored."""
    text = value.replace("\r", "").replace("\n", "")
    try:
        if not _STD_BASE64.fullmatch(text):
            raise ValueError("not standard base64")
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise UserError(f"{source}: data key {key!r} is not valid base64 (value not shown)") from None


def load_secret_file(path: str | os.PathLike) -> dict[str, bytes]:
    """The key values of a Secret manifest file (`kubectl get secret -o yaml|json`), with clear errors."""
    return read_secret_file(path)[0]


def read_secret_file(path: str | os.PathLike) -> tuple[dict[str, bytes], list[str]]:
    """The key values of a Secret manifest file, and notices on what it is (secret_notices)."""
    source = "stdin" if str(path) == "-" else printable(path)
    data = _read_stdin() if str(path) == "-" else _read_file(Path(path))
    # UTF-16 with its byte-order mark: what Windows PowerShell 5.1's `kubectl get secret ... > file` writes
    encoding = "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8"
    if encoding == "utf-8" and b"\0" in data[:2]:  # `{` or `k` then NUL, or the reverse: no manifest starts so
        raise UserError(f"{source}: UTF-16 without a byte-order mark, it seems: save it as UTF-8")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise UserError(f"{source}: not {encoding.upper()} text, so neither YAML nor JSON") from None
    document = _load_document(text, source)
    secret = _the_secret(document, source)
    return _values(secret, source), _list_notices(document, source) + secret_notices(secret, source)


def _list_notices(document, source: str) -> list[str]:
    """A List's items besides its one Secret are not read: say which kinds, so none is dropped unseen."""
    if not (isinstance(document, dict) and document.get("kind") == "List" and isinstance(document.get("items"), list)):
        return []
    others = [item.get("kind") if isinstance(item, dict) else None for item in document["items"]]
    others = [kind if isinstance(kind, str) and re.fullmatch(r"[A-Za-z]{1,63}", kind) else "an item without kind"
              for kind in others if kind != "Secret"]
    if not others:
        return []
    return [f"{source}: the List also holds {len(others)} item(s) besides the Secret ({', '.join(sorted(set(others)))}): "
            "not read"]


def parse_secret(text: str, source: str) -> dict[str, bytes]:
    """Key → bytes of a Secret document; stringData wins over data for a key in both, as on the server."""
    return _values(_the_secret(_load_document(text, source), source), source)


def _values(secret: dict, source: str) -> dict[str, bytes]:
    values = {key: _decode_base64(value, key, source) for key, value in _section(secret, "data", source).items()}
    values.update({key: value.encode("utf-8") for key, value in _section(secret, "stringData", source).items()})
    if len(values) > MAX_KEYS:
        raise UserError(f"{source}: {len(values)} keys; a proxy-config Secret has at most {MAX_KEYS}")
    return values


def secret_notices(secret: dict, source: str) -> list[str]:
    """What makes a Secret that imports cleanly still not the one the build reads: an image pull secret's type,
    another name than the one the build mounts (a copy under another name never reaches it)."""
    notices = []
    data, string_data = secret.get("data"), secret.get("stringData")
    if isinstance(data, dict) and isinstance(string_data, dict) and set(data) & set(string_data):
        both = ", ".join(repr(key) for key in sorted(set(data) & set(string_data)))
        notices.append(f"{source}: {both} in both data and stringData: stringData's value is taken, as the API server "
                       "takes it")
    kind = secret.get("type")
    if kind in PULL_SECRET_TYPES:
        notices.append(f"{source}: type {kind}: an image pull secret, not the proxy-config Secret the build mounts "
                       f"(one file per key, e.g. oci-dockerhub-url)")
    metadata = secret.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if isinstance(name, str) and name != DEFAULT_NAME:
        notices.append(f"{source}: named '{printable(name[:253])}'; the build mounts the Secret named {DEFAULT_NAME}")
    return notices


def _write_new_file(path: Path, raw: bytes, mode: int) -> None:
    """Create `path` (never through a symlink) with exactly `mode`, whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as file:
        os.fchmod(fd, mode)
        file.write(raw)


@contextmanager
def _writing(out_dir: Path):
    """An OSError while filling OUT_DIR (a parent that is a file, /proc, a full disk) as a UserError."""
    try:
        yield
    except OSError as error:
        where = f" ({printable(error.filename)})" if error.filename and Path(error.filename) != out_dir else ""
        raise UserError(f"cannot write OUT_DIR {printable(out_dir)}: {error.strerror}{where}") from None


def _prepare_out_dir(out_dir: Path, force: bool) -> None:
    if out_dir.exists() or out_dir.is_symlink():
        if not out_dir.is_dir():
            raise UserError(f"{printable(out_dir)}: exists and is not a directory")
        if any(out_dir.iterdir()) and not force:
            raise UserError(f"{printable(out_dir)}: exists and is not empty (use --force to write into it)")
    else:
        out_dir.mkdir(parents=True)


def write_key_files(values: dict[str, bytes], out_dir: str | os.PathLike, force: bool = False) -> list[str]:
    """One file per key, mode 0600; returns entries already in OUT_DIR that the Secret does not hold."""
    out_dir = Path(out_dir)
    with _writing(out_dir):
        _prepare_out_dir(out_dir, force)
        for key in values:
            path = out_dir / key
            if path.exists() and not path.is_symlink() and not path.is_file():
                raise UserError(f"{printable(path)}: exists and is not a file (key {key!r} cannot be written)")
        for key, raw in values.items():
            path = out_dir / key
            if path.is_symlink() or path.exists():
                path.unlink()
            _write_new_file(path, raw, 0o600)
        return sorted(display_name(name) for name in os.listdir(out_dir) if name not in values)


# --- mount -------------------------------------------------------------------------------------------


def read_for_mount(directory: str | os.PathLike) -> dict[str, bytes]:
    """Key → bytes of a proxy-config directory (plain or mounted); any unusable entry is an error."""
    return values_for_mount(read_config(_existing_directory(directory)))


def values_for_mount(config: ProxyConfig) -> dict[str, bytes]:
    """Key → bytes of a proxy-config already read (from an existing directory); any unusable entry is an error."""
    directory = _existing_directory(config.path)
    entries = config.entries
    bad = [f"{printable(directory / name)}: {entry.problem}" for name, entry in entries.items() if entry.problem]
    if bad:
        raise UserError("cannot mount: " + "; ".join(bad))
    return {name: entry.raw for name, entry in entries.items()}


def mount_layout(values: dict[str, bytes], out_dir: str | os.PathLike, mode: int = DEFAULT_MOUNT_MODE) -> Path:
    """Lay `values` out as kubelet's AtomicWriter does; returns the timestamped data directory.

    OUT_DIR/..2026_11_29_14_00_54.<random>/KEY (mode `mode`), OUT_DIR/..data -> that directory,
    OUT_DIR/KEY -> ..data/KEY.
    """
    out_dir = Path(out_dir)
    with _writing(out_dir):
        _prepare_out_dir(out_dir, force=False)
        stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime())
        data_dir = out_dir / f"{stamp}{random.getrandbits(32)}"
        data_dir.mkdir()
        os.chmod(data_dir, 0o755)
        for key, raw in values.items():
            _write_new_file(data_dir / key, raw, mode)
        os.symlink(data_dir.name, out_dir / "..data_tmp")
        os.rename(out_dir / "..data_tmp", out_dir / "..data")
        for key in values:
            os.symlink(f"..data/{key}", out_dir / key)
    return data_dir
