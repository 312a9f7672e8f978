"""Lint a proxy-config directory: the mistakes the seed's troubleshooting section describes, and more.

Every finding names the file (key) at fault. Values of credential keys never appear in a message;
URLs are shown with their user-info password masked.
"""

import re

from harness.contract import grammar
from harness.contract.catalog import Catalog
from harness.contract.config import ProxyConfig, split_key_name
from harness.contract.plan import plan, public_mirrors, source_violations
from harness.infra.records import record

# rule id -> (severity, what it catches): the grammar's rules (harness/contract/grammar.yaml); `airgap lint --rules` lists them.
RULES = {rule.id: (rule.severity, rule.summary) for rule in grammar.RULES.values()}
SEVERITIES = ("error", "warning", "info")


@record
class Finding:
    key: str
    rule: str
    severity: str
    message: str
    strategies: tuple[str, ...] = ()  # the strategies a strategy-level finding applies to

    def to_json(self) -> dict:
        data = self._asdict()
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
    import difflib  # only for an unknown name: not on every lint's path

    close = difflib.get_close_matches(word.lower(), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


_KEY_SHAPE = re.compile(r"(?P<family>pkg|oci)-(?P<owner>[a-z0-9]+)-(?P<field>[a-z]+)|image-(?P<image>[a-z0-9-]+)-ref")
_FIELDS = ("url", "username", "password", "token")


def _key_shaped(text: str) -> bool:
    return _KEY_SHAPE.fullmatch(text.lower().replace("_", "-")) is not None


def _closest(word: str, choices) -> str | None:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def _meaning(name: str, catalog: Catalog) -> str | None:
    """What a lowercase name of a key's shape means, read part by part (aliases first, then spelling).

    Parts, not the whole name: spelling over whole names maps pkg-pypi-url to pkg-npm-url and
    pkg-maven-user to pkg-maven-url; no match for a part (pkg-cargo-url) means no suggestion.
    """
    parts = _KEY_SHAPE.fullmatch(name)
    if parts is None:
        return None
    if parts["image"]:
        return _image_meaning(parts["image"], catalog)
    return _source_meaning(parts["family"], parts["owner"], parts["field"], catalog)


def _image_meaning(word: str, catalog: Catalog) -> str | None:
    """image-<x>-ref: the override of image x, or the news that x has none (suggesting another image's key
    would send the user to change an image they did not mean)."""
    images = {i.name: i for s in catalog.strategies.values() for i in s.images.values()}
    image = images.get(word) or images.get(_closest(word, images) or "")
    if image is None:
        return None
    if image.override is None:
        mirror = catalog.registries[image.registry].mirror_key
        return (f"no such override: the {image.name} image, {image.default}, has no override key; "
                f"only the mirror {mirror} redirects it")
    return f"did you mean {image.override!r}?"


def _source_meaning(family: str, owner: str, field: str, catalog: Catalog) -> str | None:
    """pkg-<manager>-<field> or oci-<registry>-<field>: the key it names, or what that source takes instead."""
    aliases = catalog.aliases.get("managers" if family == "pkg" else "registries", {})
    owners = list(catalog.managers if family == "pkg" else catalog.registries) + list(aliases)
    owner = owner if owner in owners else _closest(owner, owners)
    field = catalog.aliases.get("fields", {}).get(field) or _closest(field, _FIELDS)
    main = catalog.keys.get(f"{family}-{aliases.get(owner, owner)}-url") if owner else None
    if main is None or field is None:
        return None
    source = main.manager or main.registry
    wanted = f"{family}-{source}-{field}"
    if wanted == main.name or wanted in main.credential_keys:
        return f"did you mean {wanted!r}?"
    if main.token:  # a username or password the contract refuses: npm takes its token only
        return f"{source} takes a token only: did you mean {main.token!r}?"
    if not main.username:
        return f"{source} takes no credentials"
    return f"{source} takes no token: it takes {main.username} and {main.password}"


def _key_hint(word: str, catalog: Catalog) -> str:
    """Why an unknown name is not a key and what was probably meant, as ` (…)`; empty when nothing is close.

    By meaning before spelling, case-insensitively, and never a key the contract refuses.
    """
    name = word.lower().replace("_", "-")
    stem, dot, extension = name.partition(".")
    if dot and not _key_shaped(extension):  # pkg-npm-url.txt: a key file saved with an extension
        hint = _meaning(stem, catalog)
        if hint:
            return f" (file names have no extension; {hint})"
    hint = _meaning(name, catalog)
    if hint is None and not _key_shaped(name):
        close = _closest(name, catalog.all_key_names())
        hint = close and f"did you mean {close!r}?"
    return f" ({hint})" if hint else ""


def check_name(name: str, catalog: Catalog) -> list[Finding]:
    """What a key file's name alone says: a key the build ignores (unknown-key, unknown-strategy, npm-basic-auth)."""
    scope, bare = split_key_name(name)
    if scope is not None and scope not in catalog.strategies and _key_shaped(scope) and not _key_shaped(bare):
        # pkg-npm-url.txt: a key file saved with an extension, not a strategy prefix
        return [_finding(name, "unknown-key", f"not a key of the contract{_key_hint(name, catalog)}; "
                         "the build ignores it")]
    if scope is not None and scope not in catalog.strategies:
        hint = _suggest(scope, catalog.strategies)
        return [_finding(name, "unknown-strategy", f"{scope!r} is not a build strategy{hint}; "
                         f"strategies are {', '.join(catalog.strategies)}")]
    if bare in catalog.keys or bare in catalog.credential_owner:
        return []
    refused_by = [key for key in catalog.keys.values() if bare in key.refused]
    if refused_by:
        token = refused_by[0].token if scope is None else f"{scope}.{refused_by[0].token}"
        return [_finding(name, "npm-basic-auth", f"npm takes a token only: put it in {token}; this file is ignored")]
    return [_finding(name, "unknown-key", f"not a key of the contract{_scoped(_key_hint(bare, catalog), scope, catalog)}; "
                     "the build ignores it")]


def _scoped(hint: str, scope: str | None, catalog: Catalog) -> str:
    """A hint for a strategy-scoped name names the scoped keys: following it must keep the value's scope
    (webapp.pkg-npm-url.bak means webapp.pkg-npm-url, not the global key)."""
    if scope is None:
        return hint
    return re.sub(r"'([a-z0-9-]+)'", lambda m: f"'{scope}.{m[1]}'" if m[1] in catalog.keys or m[1] in catalog.credential_owner
                  else m[0], hint)


def _check_value(name: str, bare: str, value: str, catalog: Catalog) -> list[Finding]:
    """The grammar's value rules; a secret's text is never quoted back, URLs are shown masked."""
    kind = grammar.kind_of(catalog, bare)
    return [_finding(name, v.rule, v.text) for v in grammar.violations(value, kind)]


def _check_strategy(catalog: Catalog, config: ProxyConfig, strategy_name: str, explicit: bool) -> list[Finding]:
    strategy = catalog.strategies[strategy_name]
    consumed = set(catalog.consumed_keys(strategy_name))
    findings = []
    for name in config.present():
        scope, bare = split_key_name(name)
        if scope == strategy_name and bare not in consumed and (bare in catalog.keys or bare in catalog.credential_owner):
            findings.append(_finding(name, "not-consumed", f"{strategy_name} does not consume {bare} (support "
                                     "matrix): this file has no effect", strategy_name))
        elif scope is None and explicit and name in catalog.keys and name not in consumed:
            findings.append(_finding(name, "not-consumed", "not consumed by this strategy (support matrix)",
                                     strategy_name, severity="info"))
    for key_name in strategy.url_keys:
        key = catalog.keys[key_name]
        url = config.lookup(key_name, strategy_name)
        credentials = config.credentials(key, strategy_name)
        if credentials.unpaired:
            lone = credentials.unpaired.key
            findings.append(_finding(lone, "credential-unpaired", f"{lone} is set but {credentials.missing} "
                                     "is not: the build sends no credentials", strategy_name))
        borrowed = [found.key for found in credentials.lookups if split_key_name(found.key)[0] is None]
        overall = config.lookup(key_name)
        kind = grammar.kind_of(catalog, key_name)
        if (url and borrowed and overall and url.key != overall.key  # hosts of valid values only: no user-info to show
                and not grammar.stop_violation(url.value, kind) and not grammar.stop_violation(overall.value, kind)
                and not grammar.has_userinfo(url.value) and grammar.host_of(url.value) != grammar.host_of(overall.value)):
            findings.append(_finding(borrowed[0], "credentials-for-another-host", f"{', '.join(borrowed)}, set beside "
                                     f"{key_name} ({grammar.host_of(overall.value)}), go to {grammar.host_of(url.value)}, the host "
                                     f"{url.key} names: every key is looked up on its own", strategy_name))
        holder = credentials.unpaired or (credentials.lookups[0] if credentials.lookups else None)
        if not url and holder:
            findings.append(_finding(holder.key, "credential-without-url", f"{holder.key} has no effect: "
                                     f"{key_name} is not set", strategy_name))
        if url and grammar.stop_violation(url.value, grammar.kind_of(catalog, key_name)) is None:
            for at_fault, violation in source_violations(key.manager, url.value, credentials):
                keys = credentials.keys
                holder = keys[0] if at_fault == "username" and keys else keys[-1] if at_fault == "password" and keys else url.key
                findings.append(_finding(holder, violation.rule, violation.text, strategy_name))
    result = plan(catalog, config, strategy_name)
    if result.dockerhub_login:
        findings.append(_finding("oci-dockerhub-url", "dockerhub-login", "without oci-dockerhub-url, the build "
                                 "logs in to Docker Hub with the platform's credentials, whatever it pulls (an image "
                                 "override does not stop it): on a restricted cluster that login fails", strategy_name))
    usable = [(m["key"], m["url"]) for m in result.mirrors.values() if m["error"] is None]
    for key, host in public_mirrors(catalog, usable, result.packages):
        findings.append(_finding(key, "mirror-is-public", f"names {host}, a public registry's own host, not a "
                                 "mirror: the build still reaches the internet, which a restricted cluster blocks",
                                 strategy_name))
    mirror_values = {found.value: found.key for registry in catalog.registries.values()
                     if (found := config.lookup(registry.mirror_key, strategy_name)) and found.value}
    for image_name, image in strategy.images.items():
        planned = result.images[image_name]
        override = config.lookup(image.override, strategy_name) if image.override else None
        if override and override.value in mirror_values:
            findings.append(_finding(override.key, "image-override-is-mirror", f"equals {mirror_values[override.value]}: "
                                     f"as a prefix it replaces {image.default} by {grammar.quoted(planned.shown)}, not the image "
                                     "the mirror serves under it", strategy_name))
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
        name_findings = check_name(name, catalog)
        findings += name_findings
        if not name_findings:
            scope, bare = split_key_name(name)
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
