"""The preamble's escaping helpers, made linear (issue 8, item 7), give exactly the escaping they define.

pc_percent_encode, pc__escape_c0, pc_json_string, pc_groovy_string, pc_xml_text and pc__npm_no_env
used to loop byte by byte or rescan the rest of the value (quadratic in bash: a 64 KiB credential cost
about 13 s per manager, minutes for npm); they now work on 4 KiB blocks, on the pieces between npm's
'${', and for a long percent-encoded value with one od (pc_percent_decode was written that way: 4 KiB blocks,
one printf each). Each is compared here, byte for byte, with a
Python definition of the same escaping, on generated values: all of Unicode but NUL (C0 and C1
controls, non-characters, line separators, astral characters), values long enough to cross the 4 KiB
blocks, 64 KiB worst cases like benchmarks/cli.py's, and bytes that are not UTF-8. One bash process
sources the library and escapes a whole batch of values (NUL-separated), so the test stays fast. It
asserts no times: `python benchmarks/cli.py --only credential` prints them.

Examples: AIRGAP_ESCAPING_EXAMPLES (default 200 batches of up to 40 values; a quarter of that for bytes).
"""

import json
import os
import random
import re
import shutil
import subprocess
import urllib.parse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import PROXY_CONFIG_LIB as LIB

EXAMPLES = int(os.environ.get("AIRGAP_ESCAPING_EXAMPLES", "200"))
FUNCTIONS = ("pc_percent_encode", "pc_percent_decode", "pc__escape_c0", "pc_json_string", "pc_groovy_string", "pc_xml_text", "pc__npm_no_env")

# Sourced the way a build step sources the preamble (set -euo pipefail), then every function on every
# value: "<status>\0<result>\0" per call (`FUNCTION result VALUE`). A hostile caller's shell state must not change the results.
BATCH = r"""
set -euo pipefail
source "$1"
if [[ ${2:-} == hostile ]]; then set -f; shopt -s extglob nullglob; IFS=$'{}$\\ %\xff'; fi
while IFS= read -r -d '' value; do
    for function in "${@:3}"; do
        result='' status=0
        "$function" result "$value" || status=$?
        printf '%s\0%s\0' "$status" "$result"
    done
done
"""


# --- The definitions, on bytes (the helpers work byte by byte, with LC_ALL=C) ------------------

def percent_encode(value: bytes) -> bytes:
    return urllib.parse.quote(value, safe="-._~").encode()


def percent_decode(value: bytes) -> bytes | None:
    """User-info as the grammar accepts it (every '%' starts %HH, no '\\'), decoded; None (refused) otherwise,
    and for a NUL byte, which no bash variable holds."""
    if b"\\" in value or re.search(rb"%(?![0-9A-Fa-f]{2})", value):
        return None
    decoded = urllib.parse.unquote_to_bytes(value)
    return None if b"\0" in decoded else decoded


def escape_c0(value: bytes) -> bytes:
    return re.sub(rb"[\x01-\x1f]", lambda m: b"\\u%04x" % m[0][0], value)


def json_string(value: bytes) -> bytes:
    for raw, escaped in [(b"\\", b"\\\\"), (b'"', b'\\"'), (b"\n", b"\\n"), (b"\r", b"\\r"), (b"\t", b"\\t")]:
        value = value.replace(raw, escaped)
    return b'"' + escape_c0(value) + b'"'


def groovy_string(value: bytes) -> bytes:
    for raw, escaped in [(b"\\", b"\\\\"), (b"'", b"\\'"), (b"\n", b"\\n"), (b"\r", b"\\r"), (b"\t", b"\\t")]:
        value = value.replace(raw, escaped)
    return b"'" + escape_c0(value) + b"'"


def xml_text(value: bytes) -> bytes | None:
    """None: XML 1.0 cannot carry the value (C0 controls but tab, LF, CR; U+FFFE, U+FFFF)."""
    if re.search(rb"[\x01-\x08\x0b\x0c\x0e-\x1f]|\xef\xbf[\xbe\xbf]", value):
        return None
    for raw, escaped in [(b"&", b"&amp;"), (b"<", b"&lt;"), (b">", b"&gt;"), (b'"', b"&quot;"), (b"'", b"&apos;"),
                         (b"\t", b"&#9;"), (b"\n", b"&#10;"), (b"\r", b"&#13;")]:
        value = value.replace(raw, escaped)
    return value


NPM_NAME = re.compile(rb"[^${}]+\}")


def npm_no_env(value: bytes) -> bytes:
    """Each `${NAME}` (NAME: no '$', '{' or '}'), scanning from the left, gets its run of preceding
    backslashes doubled plus one, so npm reads it back literally; every other byte stays."""
    out, position = [], 0
    while (start := value.find(b"${", position)) >= 0:
        head = value[position:start]
        run = len(head) - len(head.rstrip(b"\\"))
        name = NPM_NAME.match(value, start + 2)
        if name:
            out.append(head + b"\\" * (run + 1) + value[start:name.end()])
            position = name.end()
        else:
            out.append(head + b"${")
            position = start + 2
    return b"".join(out) + value[position:]


DEFINITIONS = {"pc_percent_encode": percent_encode, "pc_percent_decode": percent_decode, "pc__escape_c0": escape_c0, "pc_json_string": json_string,
               "pc_groovy_string": groovy_string, "pc_xml_text": xml_text, "pc__npm_no_env": npm_no_env}


# --- Running the helpers ------------------------------------------------------------------------

def run_helpers(values: list[bytes], locale: str = "C.UTF-8", caller: str = "plain",
                path: str | None = None) -> list[dict[str, tuple[int, bytes]]]:
    """Every helper on every value, in one bash: [{function: (status, result)}] in the order of `values`."""
    done = subprocess.run([shutil.which("bash"), "-c", BATCH, "bash", str(LIB), caller, *FUNCTIONS],
                          input=b"".join(v + b"\0" for v in values), capture_output=True, timeout=600,
                          env={"PATH": path or os.environ["PATH"], "LC_ALL": locale})
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    fields = done.stdout.split(b"\0")[:-1]
    assert len(fields) == 2 * len(FUNCTIONS) * len(values), done.stderr.decode(errors="replace")
    pairs = iter(zip(fields[0::2], fields[1::2]))
    return [{function: (int(status), result) for function, (status, result) in zip(FUNCTIONS, pairs)} for _ in values]


def check(values: list[bytes], locale: str = "C.UTF-8", caller: str = "plain", path: str | None = None) -> None:
    for value, results in zip(values, run_helpers(values, locale, caller, path)):
        for function, (status, result) in results.items():
            expected = DEFINITIONS[function](value)
            shown = repr(value[:80]) + ("..." if len(value) > 80 else "")
            if expected is None:
                assert status == 1, f"{function} accepted {shown}"
            else:
                assert (status, result) == (0, expected), f"{function} on {shown} (len {len(value)})"


# --- Generated values ---------------------------------------------------------------------------

# Every character but NUL (and lone surrogates, which have no UTF-8 form); C0 and C1 controls included.
any_character = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
SPECIAL = list("${}\\%\"'&<>~-._/:@#?+= \n\r\t") + ["\x01", "\x08", "\x0b", "\x1b", "\x1f", "\x7f", "\x80", "\x85",
                                                    "\x9f", "\xa0", "é", "€", "\u2028", "\ufeff", "\ufffe", "\uffff",
                                                    "\U0001f600", "\U0010ffff"]
special_text = st.text(st.sampled_from(SPECIAL), max_size=30)
# npm's `${NAME}` with and without backslashes before it, empty names, names cut by '$' or '{'.
TOKENS = ["${", "$", "{", "}", "\\", "\\\\", "a", "é", "${a}", "${}", "\\${b}", "${\\}", "\x01", "%", "'", '"', "&", "\n"]
token_text = st.lists(st.sampled_from(TOKENS), max_size=20).map("".join)
# Runs that make the helpers' 4 KiB blocks end inside escapes, multibyte characters, backslash runs and `${NAME}`.
LONG_PIECES = ["${a}", "${", "\\" * 1030, "x" * 4093, "%" * 1500, "\x01" * 700, "€" * 1400, "${" + "n" * 1100 + "}",
               "-" * 4100 + "/", "&<>\"'\\\t\n\r" * 520]
long_text = st.lists(st.one_of(special_text, token_text, st.text(any_character, max_size=20), st.sampled_from(LONG_PIECES)),
                     max_size=12).map("".join)
# Percent-encoded text as URL user-info holds it (what pc_percent_decode accepts), long enough to cross blocks.
encoded_text = st.lists(st.one_of(st.binary(max_size=40), st.sampled_from([b"\0", b"%", b"\xff" * 2100, b"a" * 4095])),
                        max_size=6).map(lambda parts: urllib.parse.quote_from_bytes(b"".join(parts), safe="!$&'()*+,;=:"))
values = st.one_of(st.text(any_character, max_size=40), special_text, token_text, long_text, encoded_text)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True)
@given(st.lists(values, min_size=1, max_size=40))
def test_helpers_escape_unicode_text_exactly_as_defined(batch):
    check([value.encode() for value in batch])


@settings(max_examples=max(EXAMPLES // 4, 25), deadline=None, derandomize=True)
@given(st.lists(st.one_of(st.binary(max_size=60), st.lists(st.sampled_from([b"\xff", b"\xfe", b"\xfd", b"\xfc", b"${a}", b"${",
                                                                             b"}", b"\\", b"\x01", b"%"]),
                                                         max_size=30).map(b"".join)).map(lambda b: b.replace(b"\0", b"")),
                min_size=1, max_size=40))
def test_helpers_escape_bytes_that_are_not_utf8_exactly_as_defined(batch):
    """pc__read_file refuses such values, but the helpers stay byte-wise: npm's cut byte \\xff is encoded around."""
    check(batch, locale="C")


def worst_cases() -> dict[str, bytes]:
    """64 KiB values (the most a value may hold) where every byte, or nearly, needs an escape somewhere;
    the first six are those benchmarks/cli.py times."""
    n = 65536
    mix, size, rng = [], 0, random.Random(8)
    while size < n - 4:
        char = chr(rng.choice([rng.randint(1, 0x7f), rng.randint(0x80, 0x7ff), rng.randint(0x800, 0xd7ff),
                               rng.randint(0xe000, 0xffff), rng.randint(0x10000, 0x10ffff)]))
        mix.append(char)
        size += len(char.encode())
    return {"percent": b"%" * n, "c0": b"\x01" * n, "utf8": "\u20ac".encode() * (n // 3), "unicode-mix": "".join(mix).encode(),
            "npm-expansions": b"${a}" * (n // 4), "backslashes": b"\\" * (n - 4) + b"${a}",
            "dollar-braces": b"${" * (n // 2), "braces": b"{" * (n - 4) + b"${a}", "closing": b"${a}" + b"}" * (n - 4),
            "long-name": b"${" + b"n" * (n - 3) + b"}", "dollars": b"$" * (n - 4) + b"${a}",
            "backslash-expansions": b"\\\\\\${a}x" * (n // 8), "all-bytes": bytes(range(1, 256)) * 256 + b"${a}",
            "dash-first": b"-" * (n - 1) + b"%", "markup": b"a&b<c>d\"e'f\tg\nh\ri\\j" * (n // 20),
            "encoded": urllib.parse.quote_from_bytes(bytes(range(1, 256)) * 103).encode()}  # 64 993 bytes, 19 364 escapes


@pytest.mark.parametrize("locale, caller", [("C.UTF-8", "plain"), ("C", "hostile")])
def test_helpers_on_the_64_kib_worst_cases(locale, caller):
    """The strings that cost minutes before (every byte escaped, 16 384 expansions, a 64 KiB backslash run)."""
    cases = worst_cases()
    if locale != "C":  # bytes that are not UTF-8 are read back only in the C locale
        cases = {name: value for name, value in cases.items() if name != "all-bytes"}
    check(list(cases.values()), locale, caller)


def test_without_od_long_values_are_escaped_the_blocks_way(tmp_path):
    """pc_percent_encode asks od for the byte codes of a value over 4 KiB; with no od on PATH it still
    gives the same bytes."""
    cases = worst_cases()
    check([cases["unicode-mix"], cases["dash-first"], b"a/" * 3000, "€%é".encode() * 1000], path=str(tmp_path))


def test_a_hostile_caller_changes_nothing():
    check([b"x${a}y", b"\\${a}", b"${a\\b}", b"{${}${", b"% /\x01\xe2\x82\xac", b"a*b?[c]"], caller="hostile")


def test_json_output_is_json_for_any_text():
    text = "".join(SPECIAL) + "".join(map(chr, range(1, 0x250)))
    (results,) = run_helpers([text.encode()])
    assert json.loads(results["pc_json_string"][1]) == text
