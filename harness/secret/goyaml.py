"""Kubernetes name rules and the go-yaml v2 rules kubectl's output follows, with kubectl's wording.

kubectl marshals through sigs.k8s.io/yaml, i.e. go-yaml v2: how a plain scalar resolves (bool, int,
float, timestamp, null: those get double quotes), when plain style is not allowed (single quotes) and
go-yaml's "natural" key order. harness.secret.convert renders and checks Secrets with these.
"""

import math
import re
from functools import cmp_to_key

from harness.infra.errors import UserError

# --- Kubernetes validation --------------------------------------------------

_DNS_LABEL_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
_DNS_SUBDOMAIN_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")


def invalid_key_message(key: str, problems: list[str]) -> str:
    """kubectl's error text for a bad key name (without its `error: ` prefix)."""
    return f"{go_quote(key)} is not valid key name for a Secret {';'.join(problems)}"


_GO_ESCAPES = {"\a": r"\a", "\b": r"\b", "\f": r"\f", "\n": r"\n", "\r": r"\r", "\t": r"\t", "\v": r"\v"}


def go_quote(text: str) -> str:
    """Go's %q of a file name (undecodable bytes, held as surrogate escapes, shown as \\xNN)."""
    out = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif char.isprintable():
            out.append(char)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        else:
            out.append(f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def check_name(name: str) -> None:
    if len(name) > 253 or not _DNS_SUBDOMAIN_RE.match(name):
        raise UserError(f"Secret name {name!r} is not a valid Kubernetes name "
                        "(DNS-1123 subdomain: lower-case letters, digits, '-' and '.', at most 253 characters)")


def check_namespace(namespace: str) -> None:
    if len(namespace) > 63 or not _DNS_LABEL_RE.match(namespace):
        raise UserError(f"namespace {namespace!r} is not a valid Kubernetes namespace "
                        "(DNS-1123 label: lower-case letters, digits and '-', at most 63 characters)")


# --- go-yaml v2, the parts kubectl's Secret output needs ----------------------------------------------

_YAML_NON_STRINGS = {
    "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON",
    "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF",
    "", "~", "null", "Null", "NULL",
    ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", "<<",
}
_YAML_HINTED = set("+-0123456789yYnNtTfFoO~.")
_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_BASE60_FLOAT = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?\Z")
_GO_DOT_FLOAT = re.compile(r"\.[0-9_]*[0-9][0-9_]*([eE][-+]?[0-9][0-9_]*)?\Z")  # ParseFloat's syntax
_SIMPLE_SCALAR = re.compile(r"[-._a-zA-Z0-9+/=]*\Z")  # every string this module emits
_INT64_MIN, _INT64_MAX, _UINT64_MAX = -(1 << 63), (1 << 63) - 1, (1 << 64) - 1


def _go_parse_uint(text: str, base: int) -> int | None:
    """strconv.ParseUint's syntax (base 0 means Go literal prefixes); None on a syntax error."""
    if not text:
        return None
    if base == 0:
        base = 10
        if text[0] == "0":
            prefix = text[1:2].lower()
            if len(text) >= 3 and prefix in ("b", "o", "x"):
                base, text = {"b": 2, "o": 8, "x": 16}[prefix], text[2:]
            else:
                base, text = 8, text[1:]
    value = 0
    for char in text.lower():
        digit = int(char, 36) if char.isascii() and char.isalnum() else 99
        if digit >= base:
            return None
        value = value * base + digit
    return value


def _go_int_fits(text: str, base: int) -> bool:
    """strconv.ParseInt or ParseUint (64 bit) accepts `text`."""
    sign = text[:1] if text[:1] in ("+", "-") else ""
    value = _go_parse_uint(text[len(sign):], base)
    if value is None:
        return False
    signed = -value if sign == "-" else value
    return _INT64_MIN <= signed <= _INT64_MAX or (not sign and value <= _UINT64_MAX)


def _go_underscores_ok(text: str) -> bool:
    """strconv's underscoreOK: underscores only between digits (or after a base prefix)."""
    saw, i = "^", 0
    if text[:1] in ("+", "-"):
        text = text[1:]
    is_hex = False
    if len(text) >= 2 and text[0] == "0" and text[1].lower() in "box":
        i, saw, is_hex = 2, "0", text[1].lower() == "x"
    for char in text[i:]:
        if char.isdigit() or (is_hex and char.lower() in "abcdef"):
            saw = "0"
        elif char == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
    return saw != "_"


def _finite_float(text: str) -> bool:
    return not math.isinf(float(text.replace("_", "")))


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _is_date(text: str) -> bool:
    """Go time.Parse("2006-1-2", text): the one go-yaml timestamp form without ':' or spaces."""
    match = re.fullmatch(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})", text)
    if not match:
        return False
    year, month, day = (int(part) for part in match.groups())
    return 1 <= month <= 12 and 1 <= day <= _days_in_month(year, month)


def resolves_to_string(text: str) -> bool:
    """go-yaml v2 `resolve("", text)` gives !!str, so it may go unquoted: what kubectl_reads_as_text says, and no date
    nor base-60 number either (a YAML 1.1 reader of the output would take them as such)."""
    if _BASE60_FLOAT.match(text) or (text[4:5] == "-" and text[:1].isdigit() and _is_date(text)):
        return False
    return kubectl_reads_as_text(text)


def kubectl_reads_as_text(text: str) -> bool:
    """go-yaml v2, decoding a plain scalar into interface{} as kubectl's YAML reader does, gives a string: not a
    boolean, null or number; a timestamp stays a string there (decode.go, for backward compatibility), and it has
    no base-60 numbers (`1:20`)."""
    if text[:1] not in _YAML_HINTED and text != "":
        return True
    if text in _YAML_NON_STRINGS:
        return False
    if text[0] == ".":
        return not (_GO_DOT_FLOAT.match(text) and _go_underscores_ok(text) and _finite_float(text))
    if text[0] in "+-0123456789":
        plain = text.replace("_", "")
        if _go_int_fits(plain, 0):
            return False
        if _YAML_STYLE_FLOAT.match(plain) and _finite_float(plain):
            return False
        if plain.startswith("0b") and _go_int_fits(plain[2:], 2):
            return False
        if plain.startswith("-0b") and _go_int_fits("-" + plain[3:], 2):
            return False
    return True


def go_yaml_scalar(text: str) -> str:
    """One scalar as go-yaml v2 writes it (for the character set of keys, DNS names and base64)."""
    if not _SIMPLE_SCALAR.match(text):
        raise ValueError(f"no go-yaml emitter rule here for {text!r}")
    if not resolves_to_string(text):
        return f'"{text}"'
    if text == "-" or text.startswith(("---", "...")):  # block indicators: plain style not allowed
        return f"'{text}'"
    return text


def _wrap_int64(value: int) -> int:
    return (value + (1 << 63)) % (1 << 64) - (1 << 63)


def _go_yaml_key_less(a: str, b: str) -> bool:
    """go-yaml v2 keyList.Less for two string keys: letters after other characters, digit runs by value."""
    for i in range(min(len(a), len(b))):
        if a[i] == b[i]:
            continue
        a_letter, b_letter = a[i].isalpha(), b[i].isalpha()
        if a_letter and b_letter:
            return a[i] < b[i]
        if a_letter or b_letter:
            return b_letter
        a_num = b_num = 0
        if a[i] == "0" or b[i] == "0":
            j = i - 1
            while j >= 0 and a[j].isdigit():
                if a[j] != "0":
                    a_num = b_num = 1
                    break
                j -= 1
        a_end = i
        while a_end < len(a) and a[a_end].isdigit():
            a_num = _wrap_int64(a_num * 10 + int(a[a_end]))
            a_end += 1
        b_end = i
        while b_end < len(b) and b[b_end].isdigit():
            b_num = _wrap_int64(b_num * 10 + int(b[b_end]))
            b_end += 1
        if a_num != b_num:
            return a_num < b_num
        if a_end != b_end:
            return a_end < b_end
        return a[i] < b[i]
    return len(a) < len(b)


def _key_compare(a: str, b: str) -> int:
    return -1 if _go_yaml_key_less(a, b) else (1 if _go_yaml_key_less(b, a) else 0)


MAX_CHECKED_DIGIT_KEYS = 300  # the pairwise check is quadratic: 300 keys about 0.6 s, 1,000 keys 6.7 s


def go_yaml_key_order(keys) -> tuple[list[str], bool | None]:
    """Keys in go-yaml's order, and whether that order is well defined (None: not checked, too many keys).

    go-yaml's Less is not transitive for some digit patterns (`1e5` < `08` < `0x1f` < `1e5`, `2` < `10` < `1A`
    < `2`); Go then sorts in whatever order the map iteration happened to give, so kubectl's output varies run
    to run. Between two keys one of which has no digit, Less compares character by character in one fixed order,
    so a key without a digit can be in a cycle only beside a digit run that wraps int64 (19 digits or more:
    `-` < `0` < `010000000000000000000` < `-`). So only the keys holding a digit are checked pair by pair, every
    key when one holds such a run, and not over MAX_CHECKED_DIGIT_KEYS of them.
    """
    ordered = sorted(keys, key=cmp_to_key(_key_compare))
    checked = ordered if any(_WRAPPING_RUN.search(key) for key in ordered) else [
        key for key in ordered if any(char.isdigit() for char in key)]
    if len(checked) > MAX_CHECKED_DIGIT_KEYS:
        return ordered, None
    return ordered, _consistent(checked)


_WRAPPING_RUN = re.compile(r"[0-9]{19}")  # a digit run whose value can wrap Go's int64


def _consistent(ordered: list[str]) -> bool:
    """Whether every pair of the sorted keys is in Less's order (none equal, no cycle)."""
    return all(_go_yaml_key_less(first, second) and not _go_yaml_key_less(second, first)
               for i, first in enumerate(ordered) for second in ordered[i + 1:])
