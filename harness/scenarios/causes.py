"""Why each egress event happened and what stops it: the known leak causes of leak_causes.yaml.

`explain(event)` is the one place an egress event becomes a cause. The egress report, the scenario report and
`airgap repro` all call it, so an event reads the same everywhere. The most specific cause wins (the order is
`Match.rank`); an event no cause matches is an "unknown cause": the data file grows, the code never guesses.
"""

import fnmatch
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from harness.contract.catalog import load_catalog
from harness.infra.errors import UserError
from harness.infra.yamltext import YAMLSyntaxError, load_yaml

DATA_FILE = "harness/scenarios/leak_causes.yaml"
MAX_BYTES = 256 * 1024  # the file is about 42 KiB; a much bigger one is not this file
UNKNOWN = "unknown cause"
STEP_KINDS = ("preamble", "pull", "project", "fetch", "dockerfile")  # model.step_name's prefixes
EVENT_KINDS = ("dns", "tcp", "udp", "icmp")  # udp and icmp: once the trap records them (issue 11, item 6)
MAX_TEXT = 130  # why and fix are report cells: one short line each
CAUSE_FIELDS = ("id", "client", "match", "why", "fix", "key", "reference", "example")
MATCH_FIELDS = ("hosts", "paths", "command", "managers", "steps", "kinds", "ports")
EXAMPLE_FIELDS = ("host", "path", "kind", "port", "step", "command", "manager")
_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


@dataclass(frozen=True)
class Facts:
    """What a cause can match of one egress event."""

    host: str
    path: str | None  # plain HTTP or a `fetch:` step only: TLS hides it
    kind: str
    step: str
    command: str
    manager: str | None
    port: int | None = None  # the destination port (tcp, udp); None for dns and icmp

    @property
    def step_kind(self) -> str:
        return self.step.split(":", 1)[0]


@dataclass(frozen=True)
class Match:
    """One alternative of a cause's `match`: every field it gives must hold."""

    hosts: tuple[str, ...]
    paths: tuple[str, ...] = ()
    command: re.Pattern | None = None
    managers: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()

    def rank(self, facts: Facts) -> tuple[bool, bool, bool, bool] | None:
        """None when `facts` do not match; else how specific the match is, compared as a tuple: a path
        pattern matched, then a client named (command or manager), then a step or event kind (or a port) named,
        then an exact host rather than a glob. Larger wins."""
        hosts = [h for h in self.hosts if fnmatch.fnmatchcase(facts.host, h)]
        if not hosts:
            return None
        if self.paths and not (facts.path and any(fnmatch.fnmatchcase(facts.path, p) for p in self.paths)):
            return None
        if self.command is not None and not self.command.search(facts.command):
            return None
        if self.managers and facts.manager not in self.managers:
            return None
        if (self.steps and facts.step_kind not in self.steps) or (self.kinds and facts.kind not in self.kinds):
            return None
        if self.ports and facts.port not in self.ports:
            return None
        return (bool(self.paths), bool(self.command or self.managers), bool(self.steps or self.kinds or self.ports),
                facts.host in hosts)


@dataclass(frozen=True)
class Cause:
    id: str
    client: str
    match: tuple[Match, ...]
    why: str
    fix: str
    reference: str
    example: dict
    key: str | None = None

    def to_json(self) -> dict:
        """The explanation reports carry beside a destination."""
        return {"id": self.id, "client": self.client, "why": self.why, "fix": self.fix, "key": self.key,
                "reference": self.reference}


def facts_of(event) -> Facts:
    """The matchable fields of an Egress, an egress record of scenarios.json or a cause's example. The path of a
    `fetch:` step's URL stands for the event's path when the event went to that URL's host; a query string
    is dropped (it may carry a token, and no cause needs it)."""
    def get(name):
        return event.get(name) if isinstance(event, Mapping) else getattr(event, name, None)

    host = str(get("destination") or get("host") or "").lower().rstrip(".")
    step = str(get("step") or "")
    path = get("path")
    if not path and step.startswith("fetch:"):
        url = urlsplit(step[len("fetch:"):])
        path = url.path if (url.hostname or "") == host else None
    path = str(path).split("?", 1)[0] if path else None
    port = get("port")
    return Facts(host, path or None, str(get("kind") or ""), step, str(get("command") or ""), get("manager"),
                 port if isinstance(port, int) else None)


def explain(event, causes: tuple[Cause, ...] | None = None) -> Cause | None:
    """The cause of one egress event: the most specific match (Match.rank), the earlier cause in the data
    file on a tie; None when no cause matches (print UNKNOWN, do not guess)."""
    facts = facts_of(event)
    best, best_rank = None, None
    for cause in load() if causes is None else causes:
        for alternative in cause.match:
            rank = alternative.rank(facts)
            if rank is not None and (best_rank is None or rank > best_rank):
                best, best_rank = cause, rank
    return best


def describe(event) -> dict | None:
    """explain() as reports store it: the cause's JSON form, or None for an unknown cause."""
    cause = explain(event)
    return cause.to_json() if cause else None


def leak_problems(cause_id: str | None, allowed, egress) -> list[str]:
    """A leak scenario's egress is the leak it shows: every event to a destination it allows (expect.egress) is
    explained by its cause (leak.cause); otherwise one problem per destination and step. [] without a cause."""
    problems = []
    for event in egress if cause_id else ():
        if event.destination in allowed:
            cause = explain(event)
            if cause is None or cause.id != cause_id:
                problems.append(f"egress to {event.destination} in step {event.step} is explained as "
                                f"{cause.id if cause else UNKNOWN}, not as the leak's cause {cause_id}")
    return list(dict.fromkeys(problems))


# --- the data file ----------------------------------------------------------------------------------------------

def _read(path: Path | None) -> tuple[str, bytes]:
    name = str(path) if path else DATA_FILE
    try:
        source = path or resources.files("harness.scenarios").joinpath("leak_causes.yaml")
        with source.open("rb") as stream:
            data = stream.read(MAX_BYTES + 1)
    except OSError as error:
        raise UserError(f"{name}: cannot be read ({error.strerror or error})") from None
    if len(data) > MAX_BYTES:
        raise UserError(f"{name}: over {MAX_BYTES} bytes; not a leak-cause file")
    return name, data


def _strings(value, where: str) -> tuple[str, ...]:
    if not (isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)):
        raise ValueError(f"{where}: expected a non-empty list of strings")
    return tuple(value)


def _match(data, catalog) -> Match:
    if not isinstance(data, dict):
        raise ValueError("match: expected a mapping or a list of mappings")
    unknown = sorted(set(data) - set(MATCH_FIELDS))
    if unknown:
        raise ValueError(f"match: unknown field(s) {', '.join(unknown)} (fields: {', '.join(MATCH_FIELDS)})")
    if "hosts" not in data:
        raise ValueError("match: no hosts")
    hosts = _strings(data["hosts"], "match: hosts")
    bad = [h for h in hosts if h != h.lower() or h.endswith(".") or "/" in h]
    if bad:
        raise ValueError(f"match: hosts: {', '.join(bad)}: a host is lower case, without a trailing dot or a path")
    paths = _strings(data["paths"], "match: paths") if "paths" in data else ()
    if any(not p.startswith("/") for p in paths):
        raise ValueError("match: paths: each starts with '/'")
    try:
        command = re.compile(data["command"]) if "command" in data else None
    except (re.error, TypeError) as error:
        raise ValueError(f"match: command: not a regular expression ({error})") from None
    managers = _strings(data["managers"], "match: managers") if "managers" in data else ()
    steps = _strings(data["steps"], "match: steps") if "steps" in data else ()
    kinds = _strings(data["kinds"], "match: kinds") if "kinds" in data else ()
    ports = data.get("ports", [])
    if "ports" in data and not (isinstance(ports, list) and ports and all(type(p) is int and 0 < p < 65536 for p in ports)):
        raise ValueError("match: ports: expected a non-empty list of port numbers (1-65535)")
    for field, values, known in (("managers", managers, tuple(catalog.managers)), ("steps", steps, STEP_KINDS),
                                 ("kinds", kinds, EVENT_KINDS)):
        if set(values) - set(known):
            raise ValueError(f"match: {field}: {', '.join(sorted(set(values) - set(known)))} "
                             f"(known: {', '.join(known)})")
    return Match(hosts, paths, command, managers, steps, kinds, tuple(ports))


def _cause(data, catalog) -> Cause:
    if not isinstance(data, dict):
        raise ValueError("expected a mapping")
    unknown = sorted(set(data) - set(CAUSE_FIELDS))
    missing = [f for f in CAUSE_FIELDS if f not in data and f != "key"]
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)} (fields: {', '.join(CAUSE_FIELDS)})")
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    if not (isinstance(data["id"], str) and _ID.fullmatch(data["id"])):
        raise ValueError(f"id {data['id']!r}: expected kebab-case (npm-registry)")
    for field in ("client", "why", "fix", "reference"):
        value = data[field]
        if not (isinstance(value, str) and value.strip() and "\n" not in value and "|" not in value):
            raise ValueError(f"{field}: expected one line of text without '|' (it goes in a table cell)")
        if field in ("why", "fix") and len(value) > MAX_TEXT:
            raise ValueError(f"{field}: {len(value)} characters; at most {MAX_TEXT} (a report cell)")
    if not data["reference"].startswith("https://"):
        raise ValueError("reference: expected an https:// URL of the client's documentation")
    key = data.get("key")
    if key is not None and key not in catalog.keys:
        raise ValueError(f"key {key!r}: not a key of harness/contract/catalog.yaml")
    if key is not None and key not in data["fix"]:
        raise ValueError(f"fix: names no {key}, the key that covers this")
    alternatives = data["match"] if isinstance(data["match"], list) else [data["match"]]
    if not alternatives:
        raise ValueError("match: an empty list")
    example = data["example"]
    if not (isinstance(example, dict) and "host" in example and set(example) <= set(EXAMPLE_FIELDS)):
        raise ValueError(f"example: expected a mapping with host and only {', '.join(EXAMPLE_FIELDS)}")
    return Cause(data["id"], data["client"], tuple(_match(m, catalog) for m in alternatives), data["why"],
                 data["fix"], data["reference"], dict(example), key)


def load(path: Path | None = None) -> tuple[Cause, ...]:
    """The causes of the data file (the package's, or `path`), checked: an error names the file and the entry."""
    if path is None:
        return _packaged()
    return _load(path)


@functools.cache
def _packaged() -> tuple[Cause, ...]:
    return _load(None)


def _load(path: Path | None) -> tuple[Cause, ...]:
    name, data = _read(path)
    try:
        document = load_yaml(data.decode("utf-8"))
    except (UnicodeDecodeError, YAMLSyntaxError) as error:
        raise UserError(f"{name}: not valid UTF-8 YAML ({error})") from None
    if not (isinstance(document, dict) and set(document) == {"causes"} and isinstance(document["causes"], list)):
        raise UserError(f"{name}: expected one top-level field, causes: a list of causes")
    catalog, causes, seen = load_catalog(), [], set()
    for index, entry in enumerate(document["causes"], 1):
        label = entry.get("id") if isinstance(entry, dict) and isinstance(entry.get("id"), str) else f"#{index}"
        try:
            cause = _cause(entry, catalog)
        except ValueError as error:
            raise UserError(f"{name}: cause {label}: {error}") from None
        if cause.id in seen:
            raise UserError(f"{name}: cause {label}: a second cause with this id")
        seen.add(cause.id)
        causes.append(cause)
    return tuple(causes)
