"""YAML parsed once per content: the catalog, grammar and profile are read on every command, and importing and
running a YAML parser took most of `airgap plan`'s time (issue 12, item 5).

A document's parsed form is kept in the user's cache, in `marshal` form, which holds exactly YAML's safe types
(mappings, lists, strings, numbers, booleans, null) and loads without importing anything. An entry is named
by the CRC-32 and length of the text and holds the text too: it is used only for that very text (no hash
library to import, no collision to fear). A document with other types (a timestamp, a set) or a cache that cannot be written is parsed each
time, with libyaml when PyYAML has it. Text that is not YAML raises YAMLSyntaxError, with PyYAML's message.
"""

import marshal
import os
import zlib
from pathlib import Path

CACHE_VERSION = 2  # 2: documents with a key given twice or an alias bomb are refused, so not cached


class YAMLSyntaxError(ValueError):
    """Text that is not YAML; the message is PyYAML's, with the line and column."""  # part of each entry's name: a change of format leaves old entries unused


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "airgap-harness" / "parsed-yaml"


MAX_EXPANDED_NODES = 1_000_000  # values a document holds with its aliases expanded: a hand-written file has thousands


def _parse(text: str | bytes):
    """The document, composed once and checked before it is built: a key given twice in one mapping is an
    error (YAML says keys are unique; PyYAML keeps the last silently), and so are aliases that expand to more
    than MAX_EXPANDED_NODES values (a few hundred bytes of nested aliases make a billion, which every reader
    that walks the document then walks)."""
    import yaml  # only when a document is not in the cache: the import alone costs ~25 ms

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check(node, yaml)
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        raise YAMLSyntaxError(str(error)) from None
    finally:
        loader.dispose()


def _check(root, yaml) -> None:
    sizes: dict[int, int] = {}  # node id -> values it holds, aliases expanded (each node counted once: linear)
    open_nodes: set[int] = set()  # nodes whose children are being counted: the path from the root, depth first
    pending = [(root, False)]
    while pending:
        node, children_done = pending.pop()
        if id(node) in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[id(node)] = 1
            continue
        children = ([n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else list(node.value))
        if not children_done:
            if id(node) in open_nodes:  # reached again from inside itself: `&a [*a]`
                raise YAMLSyntaxError(f"an alias refers to a node it is part of (line {node.start_mark.line + 1}): "
                                      "a document of values cannot hold itself")
            open_nodes.add(id(node))
            if isinstance(node, yaml.MappingNode):
                _unique_keys(node, yaml)
            pending.append((node, True))
            pending += [(child, False) for child in children if id(child) not in sizes]
            continue
        open_nodes.discard(id(node))
        sizes[id(node)] = 1 + sum(sizes.get(id(child), 1) for child in children)
        if sizes[id(node)] > MAX_EXPANDED_NODES:
            raise YAMLSyntaxError(f"aliases expand to more than {MAX_EXPANDED_NODES} values (line "
                                  f"{node.start_mark.line + 1}): a document written by hand holds far fewer")


def _unique_keys(node, yaml) -> None:
    seen = set()
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.value == "<<":
            continue  # a merge key may repeat; a complex key is left to the reader
        if (key.tag, key.value) in seen:
            raise YAMLSyntaxError(f"the key {key.value[:80]!r} is given twice in one mapping (line "
                                  f"{key.start_mark.line + 1}); YAML keys are unique")
        seen.add((key.tag, key.value))


def load_yaml(text: str | bytes):
    """yaml.safe_load, remembered: the same document for the same text."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    entry = _cache_dir() / f"{zlib.crc32(data):08x}-{len(data)}.v{CACHE_VERSION}.marshal"
    try:
        cached_text, document = marshal.loads(entry.read_bytes())
        if cached_text == data:
            return document
    except (OSError, EOFError, ValueError, TypeError):
        pass  # not cached yet (or an unreadable entry): parse it
    document = _parse(text)
    try:
        encoded = marshal.dumps((data, document))
    except ValueError:
        return document  # a type marshal does not hold (a timestamp): not cached
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        partial = entry.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(encoded)
        os.replace(partial, entry)  # whole or absent: a reader never sees half an entry
    except OSError:
        pass  # a read-only home: parsing each time is only slower
    return document
