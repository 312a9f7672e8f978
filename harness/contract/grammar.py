"""The value grammar: what each kind of proxy-config value may be, why not, how clients read it, how it is shown.

One place for the rules that lint, plan, the stack's endpoints and preamble-check apply to a value.
Rule ids, severities, what the build does and examples are data (grammar.yaml); the URL patterns
there are POSIX EREs that the reference preamble uses too (preamble/lib/catalog.sh is generated from
them), so "lint has no error" and "the preamble accepts it" are the same question.

Messages never hold a secret: a credential's value is never quoted back, and a URL's or registry
value's user-info password is masked (`mask`).
"""

import functools
import ipaddress
import re
import urllib.parse
from pathlib import Path

from harness.infra.records import record
from harness.infra.yamltext import load_yaml

MAX_PORT = 65535
DEFAULT_PORTS = {"http": 80, "https": 443}
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # what XML 1.0 cannot carry (besides \t \n \r)
_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


@record
class Rule:
    id: str
    severity: str  # error | warning | info
    build: str  # stops | ignores | proceeds
    summary: str
    accepted: str
    refused: tuple[str, ...] = ()
    client: dict | None = None  # a client limit: {managers, families, with?} (grammar.yaml explains)
    examples: tuple[str, ...] = ()  # values a client limit catches


@record
class Violation:
    rule: str
    message: str  # safe to print: no secret, user-info masked
    accepted: str | None = None  # a value that would be accepted, when one can be computed

    @property
    def text(self) -> str:
        hint = self.accepted or RULES[self.rule].accepted
        return f"{self.message} (accepted: {hint})" if hint else self.message


@record
class Kind:
    """What a key's value is: family `oci-mirror` | `image-override` | `package-proxy` | `username` |
    `password` | `token`, and for package URLs and their credentials the manager."""

    family: str
    manager: str | None = None

    @property
    def secret(self) -> bool:
        return self.family in ("password", "token")

    @property
    def credential(self) -> bool:
        return self.family in ("username", "password", "token")


@record
class PathToken:
    """A hosted registry whose URLs carry an access token as a path segment (grammar.yaml `path_tokens`)."""

    host: str  # text the lowercased value holds wherever `before` matches
    before: str  # an ERE for the lowercased value up to the token
    not_tokens: tuple[str, ...] = ()  # segments there that are no token
    more: bool = False  # another segment must follow the token


def _load() -> tuple[dict[str, Rule], dict[str, str], dict[str, tuple[str, ...]], tuple[PathToken, ...], tuple[str, ...]]:
    text = Path(__file__).with_name("grammar.yaml").read_text(encoding="utf-8")  # beside this module, as packaged
    data = load_yaml(text)
    rules = {rid: Rule(rid, r["severity"], r["build"], r["summary"], r["accepted"], tuple(r.get("refused", ())),
                       r.get("client"), tuple(r.get("examples", ())))
             for rid, r in data["rules"].items()}
    clients = {name: tuple(managers) for name, managers in data["clients"].items()}
    path_tokens = tuple(PathToken(t["host"], t["before"], tuple(t.get("not", ())), bool(t.get("more")))
                        for t in data["path_tokens"])
    return rules, data["patterns"], clients, path_tokens, tuple(data["token_shapes"])


RULES, PATTERN_TEXTS, CLIENTS, PATH_TOKENS, TOKEN_SHAPES = _load()


@functools.cache
def _pattern(name: str) -> re.Pattern:
    """Compiled when first used: compiling all five took about 6 ms of each `airgap plan` start (measured on a
    loaded machine), and a URL with a host name never needs the IPv4 one."""
    return re.compile(PATTERN_TEXTS[name])


def _matches(name: str, value: str) -> bool:
    return _pattern(name).fullmatch(value) is not None


# --- masking -----------------------------------------------------------------------------------

def _userinfo_span(text: str, masking: bool = True) -> tuple[int, int] | None:
    """Where the user-info of a URL (`scheme://…@`) or registry value (`…@host`) is, if it has one.

    A password may hold '/', '?', '#' or '@' (generated passwords often do): such a value is no valid
    URL, but it must still be masked. So unless the authority up to the first '/?#' is a plain
    host[:port], the user-info runs to the last '@' that does not start a path segment (npm scopes
    are `/@scope/`). A value whose scheme is mistyped (`https:/u:p@h`, `https//u:p@h`, `https:///u:p@h`)
    is exactly what lint reports, so it is masked too: its user-info runs from its start to that '@'.
    A scheme-relative value (`//u:p@h`) has its user-info after the `//`. A first segment that is no host a
    mirror has (no '.', no ':', not localhost) before a later '@' is a token holding '/', '?' or '#' written as
    the user name (`https://ab/cd@h`): masked up to the last '@' that neither starts a path segment nor a digest
    (`name@sha256:`). For masking (not for has_userinfo, which decides what the build does, as the preamble's
    check of the authority does), a password that starts with digits and then holds a '/' reads as a port
    (`https://ci:2024/x@nexus:8081/`): after a port, the user-info runs to that same last '@'. Masking too much is
    safe; too little is a leak.
    """
    # a scheme only where the first '://' ends a first word (no '/', '?', '#', '@' or white space before it): in
    # `u:p@h/simple https://h2/` the '://' is a second URL's, and the user-info is the value's own
    scheme = re.match(r"[^/?#@ \t\n\v\f\r]*://", text)
    start = scheme.end() if scheme else 2 if text.startswith("//") else 0
    rest = text[start:]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    after_host = authority.partition("]")[2] if authority.startswith("[") else authority
    ends = []
    if "@" in authority or (":" in after_host and re.search(r"[^0-9]", after_host.split(":", 1)[1])):
        # `https://@h/`: an empty user-info is one to the build (the preamble's `*@*` test of the authority);
        # masking has nothing in it to hide
        ends = [i for i in range(1 if masking else 0, len(rest)) if rest[i] == "@" and (i == 0 or rest[i - 1] != "/")]
    elif authority and ((not re.search(r"[.:\[]", authority) and authority.lower() != "localhost")
                        or (masking and ":" in after_host)):
        ends = [i for i in range(1, len(rest)) if rest[i] == "@" and rest[i - 1] != "/"
                and not rest.startswith(("sha256:", "sha384:", "sha512:"), i + 1)]
    if ends:
        return start, start + ends[-1]
    if re.match(r"[A-Za-z]+(?::[^0-9]|//)", text) and not re.match(r"[A-Za-z][A-Za-z0-9+.-]*://[^/]", text):
        ends = [i for i in range(1, len(text)) if text[i] == "@" and text[i - 1] != "/"]
        return (0, ends[-1]) if ends else None
    return None


def mask(text: str) -> str:
    """The value with the secret of its user-info replaced by `***`: the password (`https://u:p@h/` ->
    `https://u:***@h/`), or all of it when it has no password (`https://TOKEN@h/` -> `https://***@h/`: a
    token is often written as the user name); then the token a hosted registry takes as a path segment
    (`https://dl.cloudsmith.io/TOKEN/org/repo/` -> `https://dl.cloudsmith.io/***/org/repo/`). A value shaped like
    a well-known access token (grammar.yaml token_shapes: a token pasted into a URL key), but for a byte-order mark
    or white space around it, is masked whole. Last,
    what follows the first '?', '#' or ASCII white space (`https://h/npm/?auth=TOKEN` -> `https://h/npm/?***`): no
    valid value has a query, a fragment or a space, and one that does often carries a token there, or a second URL
    with its own user-info (`https://h/simple https://u:p@other/simple`, an index and an extra index pasted into
    one key)."""
    # fullmatch without the ERE's ^...$: Python's `$` would also match before a final line break, bash's does not;
    # tried on the value without a leading byte-order mark and surrounding white space (a token saved with a CRLF
    # line ending, by Notepad's UTF-8 with BOM, or pasted with a trailing space is still that token)
    core = text.removeprefix("\ufeff").strip(" \t\n\v\f\r")
    if any(core.startswith(start) and _compiled(shape.removeprefix("^").removesuffix("$")).fullmatch(core)
           for start, shape in _TOKEN_STARTS):
        return "***"
    span = _userinfo_span(text)
    if span is not None:
        start, at = span
        userinfo = text[start:at]
        shown = f"{userinfo.split(':', 1)[0]}:***" if ":" in userinfo else "***"
        text = f"{text[:start]}{shown}{text[at:]}"
    return _mask_query(_mask_path_token(text))


def _mask_query(text: str) -> str:
    cut = _TAIL.search(text)
    return f"{text[:cut.start() + 1]}***" if cut else text


def _mask_path_token(text: str) -> str:
    """The first path_tokens entry whose `before` matches: its token segment replaced by `***`."""
    span = _path_token_span(text)
    return f"{text[:span[0]]}***{text[span[1]:]}" if span else text


def _path_token_span(text: str) -> tuple[int, int] | None:
    lowered = text.translate(_ASCII_LOWER)  # ASCII only, as bash's ${v,,} under LC_ALL=C: offsets stay the same
    for entry in PATH_TOKENS:
        found = entry.host in lowered and _compiled(entry.before).match(lowered)
        if not found:
            continue
        start = found.end()
        end = start + len(re.match(r"[^/?#]*", text[start:])[0])
        rest = text[end:]
        if end == start or lowered[start:end] in entry.not_tokens or (entry.more and not re.match(r"/[^/?#]", rest)):
            continue
        return start, end
    return None


_TAIL = re.compile(r"[?# \t\n\v\f\r].", re.S)  # what mask cuts at: bash's [?#[:space:]] under LC_ALL=C


def hidden_parts(text: str) -> list[str]:
    """The parts of a value `mask` hides (the whole value, the user-info's secret, a path token, the tail after a
    query, fragment or space), for masking a message that quotes a piece of the value (a parser's)."""
    if mask(text) == "***":
        return [text]
    parts = [userinfo_password(text) or ""]
    span = _path_token_span(text)
    cut = _TAIL.search(text)
    parts += [text[span[0]:span[1]] if span else "", text[cut.start() + 1:] if cut else ""]
    return sorted((part for part in parts if part), key=len, reverse=True)


# each token shape with the literal it starts with (a value not starting so never needs the shape compiled)
_TOKEN_STARTS = tuple((re.match(r"\^([A-Za-z0-9_-]*)", shape)[1], shape) for shape in TOKEN_SHAPES)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


_compiled = functools.cache(re.compile)  # the masking patterns, each compiled once and only when first needed


def userinfo_password(text: str) -> str | None:
    """The part of a value's user-info that `mask` hides (its password, or all of it), or None."""
    span = _userinfo_span(text)
    if span is None:
        return None
    userinfo = text[span[0]:span[1]]
    return userinfo.split(":", 1)[1] if ":" in userinfo else userinfo


def has_userinfo(text: str) -> bool:
    return _userinfo_span(text, masking=False) is not None


SHOWN_MAX = 120


def quoted(value: str) -> str:
    """A value as messages quote it: user-info password masked, control characters escaped by repr,
    and cut to SHOWN_MAX characters (a 64 KiB value must not flood a terminal)."""
    text = mask(value)
    if len(text) > SHOWN_MAX:
        return repr(text[:SHOWN_MAX]) + f"… ({len(value)} characters)"
    return repr(text)


def shown(value: str, kind: Kind) -> str:
    """How a value may appear in a message: never a secret's text, and URLs with user-info masked."""
    return "" if kind.credential else quoted(value)


# --- package URLs ------------------------------------------------------------------------------

@record
class PackageUrl:
    """A package URL that the grammar accepts, split; `host` is lowercase, as clients and DNS use it."""

    scheme: str
    userinfo: str | None
    host: str  # without brackets for IPv6
    port: int
    explicit_port: bool
    path: str

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.explicit_port and self.port != DEFAULT_PORTS[self.scheme] else host


def _path(url: str) -> str:
    """A URL's path after its authority, without the leading '/' (query and fragment are refused before)."""
    return url.split("://", 1)[-1].partition("/")[2]


def _authority(value: str) -> str:
    rest = value.split("://", 1)[1]
    return re.split(r"[/?#]", rest, maxsplit=1)[0]


def _split_authority(value: str) -> tuple[str | None, str, str]:
    """(user-info, host as written, port text) of a URL the patterns accept."""
    authority = _authority(value)
    userinfo, at, hostport = authority.rpartition("@")
    if hostport.startswith("["):
        host, _, port = hostport[1:].partition("]")
        port = port[1:]
    else:
        host, _, port = hostport.partition(":")
    return (userinfo if at else None), host, port


def _canonical_ipv6(host: str) -> str | None:
    """The RFC 5952 form npm, Go and curl print, or None for a literal the grammar refuses (embedded IPv4)."""
    try:
        address = ipaddress.IPv6Address(host)
    except ValueError:
        return None
    if "." in host:
        return None
    return address.compressed


def _is_dotted_quad(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


def _idna_host(host: str) -> str | None:
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None


def _suggested_url(value: str) -> str | None:
    """What a value would look like written as clients normalise it, when that is easy to say."""
    if re.search(r"[\x00-\x20\x7f]", value.strip()):
        return None  # urlsplit would silently drop tabs and newlines: no honest suggestion
    try:
        parts = urllib.parse.urlsplit(value.strip())
        host = parts.hostname or ""
        if not host:
            return None
        ascii_host = _idna_host(host) if not host.isascii() else host.lower()
        if ascii_host is None:
            return None
        if ":" in ascii_host:
            ascii_host = f"[{_canonical_ipv6(ascii_host) or ascii_host}]"
        port = parts.port
    except ValueError:
        return None
    netloc = ascii_host + (f":{port}" if port and port != DEFAULT_PORTS.get(parts.scheme.lower()) else "")
    path = urllib.parse.quote(_remove_dot_segments(parts.path), safe="/-._~!$&'()*+,;=:@%")
    return f"{parts.scheme.lower() or 'https'}://{netloc}{path or '/'}"


def _remove_dot_segments(path: str) -> str:
    out: list[str] = []
    for segment in path.split("/"):
        lowered = segment.lower().replace("%2e", ".")
        if lowered == ".":
            continue
        if lowered == "..":
            if len(out) > 1:
                out.pop()
            continue
        out.append(segment)
    result = "/".join(out)
    if path.endswith(("/.", "/..")) or path.lower().endswith(("/%2e", "/%2e%2e", "/.%2e", "/%2e.")):
        result += "/"
    return result


def _invalid_reason(value: str) -> str:
    """Why a URL with a lowercase http(s) scheme and printable ASCII does not fit the grammar."""
    if re.search(r"[?#]", value):
        return "has a query or fragment ('?' or '#'), which clients drop or mangle when they append their paths"
    authority = _authority(value)
    hostport = authority.rpartition("@")[2]
    if "@" in value.split("://", 1)[1] and "@" not in authority:
        return "holds user-info whose password has '/', '?' or '#'; put it in the -password key instead"
    if not hostport:
        return "has no host"
    if hostport.startswith("["):
        host, bracket, port = hostport[1:].partition("]")
        if not bracket:
            return "has an IPv6 literal without its closing ']'"
        if "%" in host:
            return f"has a zone index in the IPv6 literal [{host}], which holds only for this machine's own links"
        if _canonical_ipv6(host) != host:
            canonical = _canonical_ipv6(host)
            return (f"writes the IPv6 address [{host}] as [{canonical}], its normal form" if canonical
                    else f"has [{host}], which is not an IPv6 address in the form clients print")
    else:
        host, _, port = hostport.partition(":")
        if "]" in host or "[" in host:
            return f"has a '[' or ']' in the host {quoted(host)}"
        if not re.fullmatch(r"[-A-Za-z0-9_.]+", host):
            return f"has a host {quoted(host)} with characters a host name cannot hold"
        labels = (host[:-1] if host.endswith(".") else host).split(".")
        if "" in labels:
            return f"has an empty label in the host {quoted(host)} (two dots in a row, or a leading dot)"
        if any(label.startswith("-") or label.endswith("-") for label in labels):
            return f"has a label starting or ending with '-' in the host {quoted(host)}"
        if host.rstrip(".").rsplit(".", 1)[-1][:1].isdigit() and not _is_dotted_quad(host):
            return f"has {quoted(host)}, which clients read as an IPv4 address only in full dotted form (a.b.c.d, 0-255, no leading zeros)"
    if ":" in hostport.rpartition("]")[2]:
        port = hostport.rpartition("]")[2].rpartition(":")[2] if hostport.startswith("[") else hostport.partition(":")[2]
        if not port.isdigit() or port.startswith("0") or int(port) > MAX_PORT:
            return f"has the port {quoted(port)}, not a number from 1 to {MAX_PORT} without leading zeros"
    path = value.split("://", 1)[1][len(authority):]
    bad = sorted(set(re.sub(r"[-A-Za-z0-9._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2}", "", path)))
    if bad:
        return f"has {quoted(''.join(bad))} in its path, which must be percent-encoded"
    userinfo = authority.rpartition("@")[0]
    if re.sub(r"[-A-Za-z0-9._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2}", "", userinfo):
        return "has user-info with characters that must be percent-encoded; put the credentials in the -username/-password keys instead"
    return "is not a URL clients can use"


def _port_in_range(value: str) -> bool:
    port = _split_authority(value)[2]
    return not port or int(port) <= MAX_PORT


def _url_fits(value: str) -> bool:
    if not (_matches("package-url", value) or _matches("package-url-ipv4", value) or _matches("package-url-ipv6", value)):
        return False
    host = _split_authority(value)[1]
    if _matches("package-url-ipv6", value) and _canonical_ipv6(host) != host:
        return False
    return _port_in_range(value)


def package_url_violation(value: str, manager: str | None = None) -> Violation | None:
    """The first rule a pkg-*-url value breaks, in the order the preamble checks them, or None. Its accepted
    value is the URL mended where one can be computed, else an example URL for `manager` (the rule's own
    example is npm's, no example for pkg-rubygems-url)."""
    found = _package_url_violation(value, manager)
    if found is not None and manager and (found.accepted is None
                                          or _package_url_violation(found.accepted, manager) is not None):
        # none computed, or the value mended for this rule breaks another (https://[::0001]/, for Go: the ',')
        return found._replace(accepted=example_package_url(manager))
    return found


def example_package_url(manager: str) -> str:
    return f"https://nexus.example.com/repository/{manager}/"


def _package_url_violation(value: str, manager: str | None) -> Violation | None:
    suggestion = _suggested_url(value)
    if not _matches("url-character", value):
        return Violation("pkg-url-character", f"holds a space, a control character or a character that is not ASCII: "
                         f"{quoted(value)}", _acceptable(suggestion, value))
    if not re.match(r"https?://", value):
        if re.match(r"(?i)https?://", value):
            return Violation("pkg-url-scheme", f"must start with https:// or http:// in lowercase: {quoted(value)}",
                             _acceptable(suggestion, value))
        return Violation("pkg-url-scheme", f"must start with https:// (or http://): {quoted(value)}",
                         _acceptable(_suggested_url("https://" + value), value) if _BARE_HOST_URL.fullmatch(value) else None)
    if not _url_fits(value):
        return Violation("pkg-url-invalid", f"{_invalid_reason(value)}: {quoted(value)}", _acceptable(suggestion, value))
    if _matches("dot-segment", value):
        return Violation("pkg-url-dot-segment", f"has a '.' or '..' path segment, which clients resolve differently: "
                         f"{quoted(value)}", _acceptable(suggestion, value))
    if manager in CLIENTS["list-valued-url"] and re.search(r"[,|]", value):
        return Violation("go-proxy-list", f"holds ',' or '|', which makes GOPROXY a list that Go falls through: "
                         f"{quoted(value)}")
    if manager in CLIENTS["decoded-userinfo"] and "%00" in (_split_authority(value)[0] or ""):
        return Violation("userinfo-nul-escape", "holds %00 in its user-info, which the Maven wrapper would take, "
                         "decoded, from an environment variable: none can hold a NUL byte")
    return None


# A URL written without its scheme (`nexus.example.com/npm/`): a dotted host name, an optional port and path, nothing
# that could be user-info, a mistyped scheme or a token (no '@', no ':' before the port, no '_').
_BARE_HOST_URL = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::\d{1,5})?(?:/[^@\s]*)?")


def _acceptable(suggestion: str | None, source: str) -> str | None:
    """A suggestion only when the grammar accepts it, masked (never a secret: suggestions drop user-info, and a
    hosted registry's path token shows as ***), and only when it holds nothing that masking `source`, the value it
    is made from, hides (`http://@[::1]/0@`: what mask reads as a password, a suggestion would read as a path)."""
    if (suggestion and not has_userinfo(suggestion) and _matches("url-character", suggestion) and _url_fits(suggestion)
            and not _matches("dot-segment", suggestion) and not any(part in suggestion for part in hidden_parts(source))):
        return mask(suggestion)
    return None


def split_package_url(value: str) -> PackageUrl | None:
    """The parts of a package URL the grammar accepts, or None for one it refuses."""
    if package_url_violation(value) is not None:
        return None
    scheme = value.split("://", 1)[0]
    userinfo, host, port = _split_authority(value)
    path = value.split("://", 1)[1][len(_authority(value)):]
    return PackageUrl(scheme, userinfo, host.lower(), int(port) if port else DEFAULT_PORTS[scheme], bool(port), path)


def client_url(manager: str, url: str) -> str:
    """The URL as the preamble writes it for the manager's client (grammar.yaml `clients`): a
    directory-base client gets a trailing '/', so that no path segment of the mirror is dropped; a plus-is-space
    client gets a user-info '+' as %2B, so that it is not read as a space."""
    if manager in CLIENTS["directory-base"] and not url.endswith("/"):
        url += "/"
    if manager in CLIENTS["plus-is-space"] and "://" in url:
        start = url.index("://") + 3
        at = _authority(url).rfind("@")
        if at > 0:
            url = url[:start] + url[start:start + at].replace("+", "%2B") + url[start + at:]
    return url


def npm_token_key(url: str) -> str:
    """The `.npmrc` key npm looks a registry's token up under: `//host[:port]/path/` as npm normalises it
    (lowercase host, default port dropped, no user-info; the path up to its last '/')."""
    parts = split_package_url(url)
    if parts is None:
        raise ValueError("not a package URL the grammar accepts")
    return "//" + parts.netloc + parts.path.rpartition("/")[0] + "/"


# --- every value ------------------------------------------------------------------------------

def text_violations(value: str, kind: Kind) -> list[Violation]:
    """Rules every value obeys (the build goes on with such a value, as written)."""
    show = shown(value, kind)
    suffix = f": {show}" if show else ""
    found = []
    if value == "":
        return [Violation("empty-value", "empty: counts as unset; remove the file or give it a value")]
    if not value.strip():
        found.append(Violation("whitespace-only", "holds only whitespace, which the build uses as the value"))
    if "\r" in value:
        found.append(Violation("carriage-return", "contains a carriage return (CRLF line ending?); only trailing "
                               "newlines are trimmed" + suffix))
    if "\n" in value:
        found.append(Violation("newline-in-value", "contains a line break inside the value" + suffix))
    if value.strip() and value != value.strip(" \t"):
        found.append(Violation("surrounding-whitespace", "starts or ends with spaces or tabs, which are kept as part "
                               "of the value" + suffix))
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        found.append(Violation("quoted-value", "is wrapped in quotes, which are kept as part of the value" + suffix))
    return found


def _escape_not_utf8(url: str) -> bool:
    path = _path(url)
    try:
        urllib.parse.unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _userinfo_escape_not_utf8(url: str) -> bool:
    try:
        urllib.parse.unquote_to_bytes(_split_authority(url)[0] or "").decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _ipv6_host(url: str) -> bool:
    parts = split_package_url(url)
    return parts is not None and ":" in parts.host


# The check of each client limit (rule ids of grammar.yaml with a `client` entry; a test holds the two together).
CLIENT_CHECKS = {
    "client-credential-not-ascii": lambda value: not value.isascii(),
    "client-username-slash": lambda value: "/" in value,
    "client-path-escape-not-utf8": _escape_not_utf8,
    "client-userinfo-escape-not-utf8": _userinfo_escape_not_utf8,
    "client-path-parenthesis": lambda url: bool(re.search(r"[()]", _path(url))),
    "client-ipv6-credentials": _ipv6_host,
    "client-npm-path-equals": lambda url: "=" in _path(url),
    "client-userinfo-escape": lambda url: "%" in (_split_authority(url)[0] or ""),
    "client-userinfo-dropped": lambda url: bool(_split_authority(url)[0]),
    "client-host-underscore": lambda url: "_" in (_split_authority(url)[1] or ""),
    "client-http-credentials": lambda url: url[:7].lower() == "http://",
}


def client_violations(value: str, kind: Kind, with_credentials: bool = False) -> list[Violation]:
    """The client limits a value runs into (the build goes on; the manager's client then fails).
    Rules that matter only with credentials are checked when `with_credentials` says they are in effect."""
    found = []
    for rule in RULES.values():
        limit = rule.client
        if not limit or kind.manager not in limit["managers"] or kind.family not in limit["families"]:
            continue
        if limit.get("with") == "credentials" and not with_credentials:
            continue
        if limit.get("with") == "any-credentials" and not (with_credentials or has_userinfo(value)):
            continue
        if CLIENT_CHECKS[rule.id](value):
            found.append(Violation(rule.id, f"{rule.summary}; the build goes on with it"))
    return found


def source_violations(manager: str, url: str, auth: str, credential_keys: list[str],
                      credential_values: list[str]) -> list[tuple[str, Violation]]:
    """Rules on a package URL together with its credentials, as (the key at fault: "url" or "password",
    violation): plan stops on the `stops` ones, lint reports them all. The URL must pass stop_violation."""
    found = []
    if manager == "go" and auth == "basic":
        too_long = go_environment_violation(url, *credential_values)
        if too_long:
            found.append(("password", too_long))
    if manager in CLIENTS["jvm-constants"]:  # the init script holds each in a Groovy string constant
        values = [("url", url)] + (list(zip(("username", "password"), credential_values)) if auth == "basic" else [])
        found += [(which, Violation("gradle-literal-limit", f"is {_jvm_constant_bytes(value)} bytes as a JVM string "
                                    f"constant (modified UTF-8); a class file holds at most {JVM_CONSTANT_MAX}"))
                  for which, value in values if _jvm_constant_bytes(value) > JVM_CONSTANT_MAX]
    if auth != "none" and has_userinfo(url):
        # Two sources of credentials for one request: the build cannot tell which one is meant.
        found.append(("url", Violation("url-credentials-conflict", f"the URL holds credentials and "
                                       f"{', '.join(credential_keys)} are set too: the build stops; keep one")))
    if auth != "none":
        found += [("url", v) for v in client_violations(url, Kind("package-proxy", manager), with_credentials=True)]
    return found


JVM_CONSTANT_MAX = 65535  # a class file's string constant, in modified UTF-8 bytes (JVMS 4.4.7)


def _jvm_constant_bytes(text: str) -> int:
    """Modified UTF-8: as UTF-8, but a character outside the BMP is two 3-byte surrogates (6, not 4)."""
    return len(text.encode("utf-8", "surrogatepass")) + 2 * sum(1 for c in text if ord(c) > 0xFFFF)


ENVIRONMENT_ENTRY_MAX = 131072  # Linux MAX_ARG_STRLEN: one "NAME=value" of the environment, its NUL included


def go_environment_violation(url: str, username: str, password: str) -> Violation | None:
    """Go takes its proxy from the environment; the longest entry the preamble exports is GOSUMDB,
    `sum.golang.org <proxy with percent-encoded user-info>/sumdb/sum.golang.org`."""
    def encoded(text: str) -> int:
        return len(urllib.parse.quote(text.encode(), safe="-._~"))

    proxy = len(url.rstrip("/")) + encoded(username) + encoded(password) + 2
    entry = len("GOSUMDB=sum.golang.org ") + proxy + len("/sumdb/sum.golang.org") + 1
    if entry > ENVIRONMENT_ENTRY_MAX:
        return Violation("go-environment-limit", f"with the credentials percent-encoded, GOSUMDB would be {entry} bytes; "
                         f"Linux passes at most {ENVIRONMENT_ENTRY_MAX} to a program")
    return None


# what Maven's settings interpolation replaces (plexus RegexBasedInterpolator: \$\{(.+?)\}); bash: values.sh
MAVEN_EXPRESSION_RE = re.compile(r"\$\{[^}]+\}")
ENVIRONMENT_REFERENCE_RE = re.compile(r"%[A-Za-z_][A-Za-z0-9_]*%")  # NuGet expands it (ExpandEnvironmentVariables)


def credential_format_violation(value: str, kind: Kind) -> Violation | None:
    """Maven's settings.xml and NuGet.Config are XML; Maven also trims element text."""
    if kind.manager not in CLIENTS["xml-credentials"] or kind.family not in ("username", "password"):
        return None
    if CONTROL_RE.search(value):
        return Violation("credential-format", f"holds a character {kind.manager}'s XML configuration cannot carry "
                         "(a control character, U+FFFE or U+FFFF)")
    if kind.manager in CLIENTS["interpolated-credentials"] and value != value.strip(" \t\n\r"):
        return Violation("credential-format", "starts or ends with whitespace, which Maven trims from settings.xml")
    if kind.manager in CLIENTS["interpolated-credentials"] and MAVEN_EXPRESSION_RE.search(value):
        return Violation("credential-format", "holds ${...}, which Maven replaces in settings.xml (by a system property "
                         "or an environment variable) before it sends the credential: the mirror gets another one")
    if kind.manager in CLIENTS["env-expanded-credentials"] and ENVIRONMENT_REFERENCE_RE.search(value):
        return Violation("credential-format", "holds %NAME%, which NuGet replaces in NuGet.Config by an environment "
                         "variable before it sends the credential: the mirror gets another one")
    return None


def _without_secret(message: str, value: str) -> str:
    """A parser's message about `value` with what `mask` hides in it masked: the parser quotes parts of the value
    (a repository name), which may hold its user-info, a path token or a query, also cut short of its tag
    (`NODE?sig=TOKEN` of `...NODE?sig=TOKEN:20`) or normalised (`library/Node?sig=TOKEN` of `Node?sig=TOKEN:20`)."""
    for part in hidden_parts(value):
        pieces = [part] + [part[:i] for i, char in enumerate(part) if char in ":@"]  # the parser cuts a tag off
        for piece in sorted(pieces, key=len, reverse=True):
            if len(piece) >= 4:  # a shorter one would mangle the message's own words
                message = message.replace(piece, "***")
    # a quoted piece of the value (or a name made of it: no white space, so no wording of the parser's own)
    return re.sub(r"\(([^()]*)\)",
                  lambda quoted: f"({mask(quoted[1])})" if quoted[1] in value or not re.search(r"\s", quoted[1])
                  else quoted[0], message)


@functools.lru_cache(maxsize=4096)
def stop_violation(value: str, kind: Kind) -> Violation | None:
    """The rule the reference preamble stops the build on for this value, if any (value-level rules only).
    Remembered: plan and lint ask it of the same values for every strategy."""
    from harness.contract import reference

    if value == "":
        return None
    if kind.family == "package-proxy":
        return package_url_violation(value, kind.manager)
    if kind.family == "oci-mirror":
        try:
            reference.split_mirror(value)
        except reference.ReferenceError as problem:
            rule = "oci-url-scheme" if "://" in value else "oci-url-invalid"
            return Violation(rule, f"{_without_secret(str(problem), value)}: {quoted(value)}")
        return None
    if kind.family == "image-override":
        try:
            reference.parse_normalized(value)
        except reference.ReferenceError as problem:
            return Violation("image-override-invalid",
                             f"not a valid image reference ({_without_secret(str(problem), value)}): {quoted(value)}")
        return None
    return credential_format_violation(value, kind)


def violations(value: str, kind: Kind) -> list[Violation]:
    """Every value-level rule the value breaks: the text rules, the first build-stopping rule, the warnings."""
    found = text_violations(value, kind)
    if value == "":
        return found
    stop = stop_violation(value, kind)
    if stop:
        found.append(stop)
    if stop is None:
        found += client_violations(value, kind)
    if kind.credential and stop is None:
        invisible = _invisible_characters(value)
        if invisible:
            found.append(Violation("credential-invisible-character", f"holds {invisible}, which the build sends as "
                                   "part of the credential (pasted from an editor or a chat?)"))
    if kind.family == "username" and ":" in value:
        found.append(Violation("credential-username-colon", "holds ':': HTTP Basic authentication ends the user name "
                               "at the first ':', so the mirror reads another user and answers 401"))
    if kind.credential and _PERCENT_ESCAPE.search(value):
        found.append(Violation("credential-percent-encoded", "looks percent-encoded; the seed says not to encode "
                               "credentials: the build uses the value exactly as written"))
    if kind.family in ("oci-mirror", "image-override", "package-proxy") and stop is None and _loopback_host(value):
        found.append(Violation("mirror-loopback", f"names {_loopback_host(value)}: in the build pod that is the pod "
                               "itself, so only a sidecar of the build pod could answer there"))
    if kind.family == "image-override" and stop is None:
        from harness.contract import reference

        name = value.split("@", 1)[0]
        if "/" not in name and "." in name.split(":", 1)[0]:
            found.append(Violation("image-override-host-only", f"has no '/', so it names the Docker Hub image "
                                   f"{quoted(str(reference.parse_normalized(value)))}, although it looks like a registry "
                                   "host: an override names registry/repository[:tag]"))
    if kind.family == "package-proxy" and stop is None:
        if value.startswith("http://"):
            found.append(Violation("pkg-url-http", f"uses plain http://: credentials and packages travel unencrypted: "
                                   f"{quoted(value)}", _acceptable(_suggested_url("https://" + value[len("http://"):]), value)))
        if has_userinfo(value):
            found.append(Violation("url-credentials", "carries credentials in the URL; use the matching "
                                   "-username/-password (or -token) keys"))
        path = _path(value)
        if "//" in path:
            collapsed = value[:len(value) - len(path)] + re.sub("/{2,}", "/", path)
            found.append(Violation("pkg-url-empty-segment", f"has '//' in its path: Maven, Gradle and Go drop the "
                                   f"empty segment, npm, pip, gem and Composer keep it: {quoted(value)}",
                                   _acceptable(_suggested_url(collapsed), value)))
    return found


def host_of(value: str) -> str:
    """The host a package URL, OCI mirror or image reference names, lowercased: after its user-info, without an
    IPv6 literal's brackets or a port ("" when it names none). Lint and the plan compare mirrors by it."""
    rest = value.split("://", 1)[1] if "://" in value else value
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0].rsplit("@", 1)[-1]
    return (authority[1:authority.find("]")] if authority.startswith("[") else authority.split(":", 1)[0]).lower()


def _loopback_host(value: str) -> str | None:
    """The host of a URL, mirror or image reference when it is loopback (localhost, 127.0.0.0/8, ::1), else None."""
    host = host_of(value)
    try:
        return host if host.rstrip(".") == "localhost" or ipaddress.ip_address(host).is_loopback else None
    except ValueError:
        return None


def _invisible_characters(value: str) -> str:
    """The characters of a credential no one types on purpose, named (`U+FEFF ZERO WIDTH NO-BREAK SPACE`):
    controls but the tab and line breaks other rules name, format characters (byte-order mark, zero-width
    and bidi marks) and spaces other than ' '. Empty when there are none."""
    import unicodedata

    names = []
    for char in dict.fromkeys(value):
        category = unicodedata.category(char)
        if (category == "Cc" and char not in "\t\n\r") or category == "Cf" or (category in ("Zs", "Zl", "Zp") and char != " "):
            names.append(f"U+{ord(char):04X} {unicodedata.name(char, 'control character')}")
    return ", ".join(names)


def kind_of(catalog, bare: str) -> Kind | None:
    """The kind of value a key (without its strategy prefix) holds, or None for a name that is no key."""
    key = catalog.keys.get(bare)
    if key is not None:
        return Kind(key.family, key.manager)
    owner = catalog.credential_owner.get(bare)
    if owner is None:
        return None
    key = catalog.keys[owner]
    family = "username" if bare == key.username else "password" if bare == key.password else "token"
    return Kind(family, key.manager)


@functools.lru_cache(maxsize=None)
def rules_by_build(build: str) -> tuple[str, ...]:
    return tuple(rid for rid, rule in RULES.items() if rule.build == build)
