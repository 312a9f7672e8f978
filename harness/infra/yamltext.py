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

CACHE_VERSION = 1


class YAMLSyntaxError(ValueError):
    """Text that is not YAML; the message is PyYAML's, with the line and column."""  # part of each entry's name: a change of format leaves old entries unused


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "airgap-harness" / "parsed-yaml"


def _parse(text: str | bytes):
    import yaml  # only when a document is not in the cache: the import alone costs ~25 ms

    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as error:
        raise YAMLSyntaxError(str(error)) from None


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
