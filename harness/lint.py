"""Lint a proxy-config directory: the mistakes the seed's troubleshooting section describes, and more.

Every finding names the file (key) at fault. Values of credential keys never appear in a message;
URLs are shown with their user-info password masked.
"""

import difflib
import re
from dataclasses import asdict, dataclass

from harness import reference
from harness.catalog import Catalog, Key
from harness.config import ProxyConfig
from harness.plan import mask_url, plan, split_package_url

# rule id -> (severity, what it catches); docs/contract.md and `airgap lint --rules` list these.
RULES = {
    "invalid-key-name": ("error", "a file name that is not a valid Secret key"),
    "unreadable": ("error", "a key file that cannot be read"),
    "not-a-file": ("error", "a directory, FIFO, socket or device where a key file is expected"),
    "broken-symlink": ("error", "a symlink that points nowhere or loops"),
    "value-too-large": ("error", "a value over 64 KiB"),
    "binary-value": ("error", "a value with NUL bytes"),
    "not-utf8": ("error", "a value that is not UTF-8 text"),
    "unknown-key": ("error", "a key the contract does not define"),
    "unknown-strategy": ("error", "a <strategy>.<key> prefix that is not one of the seven strategies"),
    "npm-basic-auth": ("warning", "npm username/password: npm takes pkg-npm-token only"),
    "empty-value": ("warning", "an empty value, which counts as unset"),
    "carriage-return": ("error", "a CR in a value (a CRLF line ending is not trimmed)"),
    "newline-in-value": ("error", "a line break inside a value"),
    "surrounding-whitespace": ("error", "spaces or tabs around a value (only trailing newlines are trimmed)"),
    "quoted-value": ("error", "a value wrapped in quotes (quotes are not removed)"),
    "oci-url-scheme": ("error", "an OCI mirror with a scheme: registry mirrors are bare host[:port][/path]"),
    "oci-url-invalid": ("error", "an OCI mirror value that is not host[:port][/path]"),
    "pkg-url-scheme": ("error", "a package proxy URL without http:// or https://"),
    "pkg-url-http": ("warning", "a package proxy over plain http://"),
    "pkg-url-invalid": ("error", "a package proxy URL without a host, or one clients cannot parse"),
    "url-credentials": ("warning", "credentials inside a URL instead of the -username/-password keys"),
    "credential-percent-encoded": ("warning", "a percent-encoded credential: values are used as written"),
    "credential-unpaired": ("error", "a username without a password, or the reverse"),
    "credential-without-url": ("warning", "credentials for a source whose URL key is not set"),
    "image-override-invalid": ("error", "an image override that is not a valid image reference"),
    "mirror-rewrite-invalid": ("error", "a mirror that turns a default image into an invalid reference"),
    "strategy-scoped-only": ("info", "a <strategy>.<key> without the global key: other strategies stay public"),
    "not-consumed": ("warning", "a key the strategy does not consume (support matrix)"),
    "node-pinned": ("info", "a pinned image without its override: the build keeps the pinned version"),
    "dockerhub-login": ("warning", "a Docker Hub strategy without oci-dockerhub-url: it will try the Docker Hub login"),
}
SEVERITIES = ("error", "warning", "info")
_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


@dataclass(frozen=True)
class Finding:
    key: str
    rule: str
    severity: str
    message: str
    strategies: tuple[str, ...] = ()  # the strategies a strategy-level finding applies to

    def to_json(self) -> dict:
        data = asdict(self)
        data["strategies"] = list(self.strategies)
        return data if self.strategies else {k: v for k, v in data.items() if k != "strategies"}


def _finding(key: str, rule: str, message: str, strategy: str | None = None, severity: str | None = None) -> Finding:
    return Finding(key, rule, severity or RULES[rule][0], message, (strategy,) if strategy else ())


def _merge_strategies(findings: list[Finding]) -> list[Finding]:
    """One finding per (key, rule, message), listing every strategy it applies to."""
    merged: dict[tuple, Finding] = {}
    for f in findings:
        slot = (f.key, f.rule, f.severity, f.message)
        if slot in merged:
            merged[slot] = Finding(*slot, merged[slot].strategies + tuple(s for s in f.strategies if s not in merged[slot].strategies))
        else:
            merged[slot] = f
    return list(merged.values())


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _split_scope(name: str) -> tuple[str | None, str]:
    scope, dot, bare = name.partition(".")
    return (scope, bare) if dot else (None, name)


def _check_name(name: str, catalog: Catalog) -> list[Finding]:
    scope, bare = _split_scope(name)
    if scope is not None and scope not in catalog.strategies:
        hint = _suggest(scope, catalog.strategies)
        return [_finding(name, "unknown-strategy", f"{scope!r} is not a build strategy{hint}; "
                         f"strategies are {', '.join(catalog.strategies)}")]
    if bare in catalog.keys or bare in catalog.credential_owner:
        return []
    refused_by = [key for key in catalog.keys.values() if bare in key.refused]
    if refused_by:
        token = refused_by[0].token
        return [_finding(name, "npm-basic-auth", f"npm takes a token only: put it in {token}; this file is ignored")]
    known = catalog.all_key_names() + [r for key in catalog.keys.values() for r in key.refused]
    return [_finding(name, "unknown-key", f"not a key of the contract{_suggest(bare, known)}; "
                     "the build ignores it")]


def _check_text(name: str, value: str, secret: bool) -> list[Finding]:
    """Rules every value obeys; a secret's text is never quoted back."""
    shown = "" if secret else f": {mask_url(value)!r}"
    findings = []
    if value == "":
        findings.append(_finding(name, "empty-value", "empty: counts as unset; remove the file or give it a value"))
    if "\r" in value:
        findings.append(_finding(name, "carriage-return", "contains a carriage return (CRLF line ending?); "
                                 "only trailing newlines are trimmed" + shown))
    if "\n" in value:
        findings.append(_finding(name, "newline-in-value", "contains a line break inside the value" + shown))
    if value != value.strip(" \t") and value.strip():
        findings.append(_finding(name, "surrounding-whitespace", "starts or ends with spaces or tabs, which are "
                                 "kept as part of the value" + shown))
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        findings.append(_finding(name, "quoted-value", "is wrapped in quotes, which are kept as part of the value"
                                 + shown))
    return findings


def _check_value(name: str, bare: str, value: str, catalog: Catalog) -> list[Finding]:
    key: Key | None = catalog.keys.get(bare)
    owner = catalog.credential_owner.get(bare)
    findings = _check_text(name, value, secret=owner is not None)
    if not value.strip():
        return findings
    if owner is not None:
        if _PERCENT_ESCAPE.search(value):
            findings.append(_finding(name, "credential-percent-encoded", "looks percent-encoded; the seed says not "
                                     "to encode credentials: the build uses the value exactly as written"))
    elif key.family == "oci-mirror":
        try:
            reference.split_mirror(value)
        except reference.ReferenceError as problem:
            rule = "oci-url-scheme" if "://" in value else "oci-url-invalid"
            findings.append(_finding(name, rule, f"{problem}: {value!r}"))
    elif key.family == "package-proxy":
        findings += _check_package_url(name, value)
    elif key.family == "image-override":
        try:
            reference.parse_normalized(value)
        except reference.ReferenceError as problem:
            findings.append(_finding(name, "image-override-invalid", f"not a valid image reference ({problem}): "
                                     f"{value!r}"))
    return findings


def _check_package_url(name: str, value: str) -> list[Finding]:
    parts = split_package_url(value)
    shown = mask_url(value)
    if parts is None:
        return [_finding(name, "pkg-url-invalid", f"is not a URL clients can parse: {shown!r}")]
    if parts.scheme not in ("http", "https"):
        return [_finding(name, "pkg-url-scheme", f"must start with https:// (or http://): {shown!r}")]
    findings = []
    if not parts.hostname:
        findings.append(_finding(name, "pkg-url-invalid", f"has no host: {shown!r}"))
    if parts.scheme == "http":
        findings.append(_finding(name, "pkg-url-http", f"uses plain http://: credentials and packages travel "
                                 f"unencrypted: {shown!r}"))
    if parts.username is not None:
        findings.append(_finding(name, "url-credentials", "carries credentials in the URL; use the matching "
                                 "-username/-password (or -token) keys"))
    return findings


def _check_strategy(catalog: Catalog, config: ProxyConfig, strategy_name: str, explicit: bool) -> list[Finding]:
    strategy = catalog.strategies[strategy_name]
    consumed = set(catalog.consumed_keys(strategy_name))
    findings = []
    for name in config.present():
        scope, bare = _split_scope(name)
        if scope == strategy_name and bare not in consumed and (bare in catalog.keys or bare in catalog.credential_owner):
            findings.append(_finding(name, "not-consumed", f"{strategy_name} does not consume {bare} (support "
                                     "matrix): this file has no effect", strategy_name))
        elif scope is None and explicit and name in catalog.keys and name not in consumed:
            findings.append(_finding(name, "not-consumed", "not consumed by this strategy (support matrix)",
                                     strategy_name, severity="info"))
    for key_name in strategy.url_keys:
        key = catalog.keys[key_name]
        url = config.lookup(key_name, strategy_name)
        pair = [(k, config.lookup(k, strategy_name)) for k in (key.username, key.password) if k]
        present = [found for _, found in pair if found]
        if len(present) == 1:
            missing = [k for k, found in pair if not found][0]
            findings.append(_finding(present[0].key, "credential-unpaired", f"{present[0].key} is set but {missing} "
                                     "is not: the build sends no credentials", strategy_name))
        creds = present + ([config.lookup(key.token, strategy_name)] if key.token else [])
        if not url and any(creds):
            winner = next(c for c in creds if c)
            findings.append(_finding(winner.key, "credential-without-url", f"{winner.key} has no effect: "
                                     f"{key_name} is not set", strategy_name))
    result = plan(catalog, config, strategy_name)
    if result.dockerhub_login:
        findings.append(_finding("oci-dockerhub-url", "dockerhub-login", "pulls from Docker Hub and, without "
                                 "oci-dockerhub-url, logs in to Docker Hub with the platform's credentials: on a "
                                 "restricted cluster that login fails", strategy_name))
    for image_name, image in strategy.images.items():
        planned = result.images[image_name]
        if image.pinned and planned.source != "override":
            findings.append(_finding(image.override, "node-pinned", f"the build pins {image.default}; an OCI "
                                     f"mirror cannot change that version, only {image.override} can", strategy_name))
        if planned.source == "mirror" and planned.error and not result.mirrors[image.registry]["error"]:
            findings.append(_finding(planned.key, "mirror-rewrite-invalid", f"rewriting {image.default} gives "
                                     f"{planned.resolved!r}: {planned.error}", strategy_name))
    return findings


def lint(catalog: Catalog, config: ProxyConfig, strategy: str | None = None) -> list[Finding]:
    findings: list[Finding] = []
    for name, entry in config.entries.items():
        if entry.problem:
            findings.append(_finding(name, entry.rule, entry.problem))
            continue
        name_findings = _check_name(name, catalog)
        findings += name_findings
        if not name_findings:
            scope, bare = _split_scope(name)
            findings += _check_value(name, bare, entry.value, catalog)
            if scope in catalog.strategies and bare in catalog.consumed_keys(scope) and bare not in config.entries \
                    and strategy in (None, scope):
                findings.append(_finding(name, "strategy-scoped-only", f"only {scope} builds use this value; set "
                                         f"{bare} as well if other strategies should use it", scope))
    for strategy_name in [strategy] if strategy else catalog.strategies:
        findings += _check_strategy(catalog, config, strategy_name, explicit=strategy is not None)
    unique = _merge_strategies(findings)
    return sorted(unique, key=lambda f: (SEVERITIES.index(f.severity), f.key, f.rule, f.strategies))


def exit_code(findings: list[Finding], strict: bool) -> int:
    failing = {"error", "warning"} if strict else {"error"}
    return 1 if any(f.severity in failing for f in findings) else 0
