"""User text (file names, paths) made safe to print on a terminal or in a report.

A file name may hold anything but `/` and NUL: an escape sequence that recolours or clears the
terminal, a newline that forges a line of output, bytes that are not UTF-8 (which Python holds as
surrogate escapes and cannot encode back to UTF-8 text).
"""

import os

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(name: str | bytes | os.PathLike) -> str:
    """`name` with every character that is not printable shown as a visible escape.

    Undecodable bytes become `\\xNN` (as `config.display_name` shows them, so a name it already
    converted comes out unchanged); control characters, line and paragraph separators and format
    characters (bidi overrides) become `\\n`, `\\xNN`, `\\uNNNN` or `\\UNNNNNNNN`. The result is UTF-8
    encodable and prints on one line.
    """
    text = os.fsdecode(name)
    if text.isprintable():
        return text
    out = []
    for char in text:
        code = ord(char)
        if char in _NAMED:
            out.append(_NAMED[char])
        elif 0xDC80 <= code <= 0xDCFF:  # an undecodable byte (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif char.isprintable():
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


def has_lone_surrogate(text: str) -> bool:
    """Whether `text` holds a UTF-16 surrogate on its own (JSON's "\\ud800" escape): no character, and no UTF-8
    text can carry it."""
    return not text.isascii() and any(0xD800 <= ord(char) <= 0xDFFF for char in text)


def printable_lines(text: str) -> str:
    """`text` as `printable` shows it, its line breaks and tabs kept: a build's output in a report (ANSI colours
    shown as \\x1b[..., which XML could not hold and a terminal would act on)."""
    return "\n".join("\t".join(printable(part) for part in line.split("\t")) for line in text.split("\n"))
