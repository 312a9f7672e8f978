"""Scenarios: one strategy, one proxy-config, one set of expectations; from folders or from the catalog.

Each scenario is one folder, scenarios/<name>/: its scenario.yaml (checked against
harness/scenarios/scenario_schema.yaml), and beside it what only it uses: its proxy-config (a directory
with one file per key that `proxy_config: {dir: ...}` names) and its project (project/, the real files, or
project.yaml, the definition harness.stack.content generates it from). The matrix that every strategy must
pass is generated from the catalog (`generated()`), so a new key or strategy gets its scenarios without
anyone writing them; scenarios/matrix.yaml stands for it.
"""

import functools
import ipaddress
import os
import re
import shutil
from dataclasses import dataclass, fields, replace
from importlib import resources
from pathlib import Path

import jsonschema

from harness.contract import grammar, lint, reference
from harness.contract.catalog import Catalog, load_catalog
from harness.contract.config import key_problems, read_config, split_key_name
from harness.contract.plan import plan
from harness.customer.project import CustomerProject, built_by, load as load_project, read_tree
from harness.infra import paths
from harness.infra.errors import UserError
from harness.infra.files import read_regular_file, resolved
from harness.infra.textsafe import printable
from harness.infra.yamltext import YAMLSyntaxError, load_yaml
from harness.scenarios.recipes import expand, for_its_projects, recipes



def step_kind(step: dict) -> str:
    """pull, project, fetch or dockerfile: the key a recipe step is written with."""
    return next(k for k in ("pull", "project", "fetch", "dockerfile") if k in step)


def step_name(step: dict) -> str:
    """A step as reports name it: `pull:node`, `project:npm`, `fetch:<url>`, `dockerfile:<name>`."""
    kind = step_kind(step)
    return f"{kind}:{step[kind]}"


# The image of the component Dockerfile's build stage: under podman build (webapp, test-runner) a package step is a
# RUN of a Dockerfile FROM it (harness/scenarios/handoff.sh, airgap_podman_build), so it pulls that image too.
DOCKERFILE_STAGE = "node"


def dockerfile_stage(catalog: Catalog, strategy: str) -> tuple[str, str] | None:
    """(the build argument that names it, its default) of the build stage a package step of this strategy runs
    in, or None when the strategy's build command is not podman build."""
    entry = catalog.strategies[strategy]
    if entry.handoff is None or entry.handoff.command != "podman build" or DOCKERFILE_STAGE not in entry.images:
        return None
    arguments = [item.target for item in entry.handoff.images.get(DOCKERFILE_STAGE, ()) if item.how == "build_arg"]
    if len(arguments) != 1:
        raise UserError(f"profile: strategies.{strategy}.handoff.images.{DOCKERFILE_STAGE}: podman build needs exactly "
                        f"one build_arg naming the build stage's image (has {len(arguments)})")
    return arguments[0], entry.images[DOCKERFILE_STAGE].default


def _proxy_configs() -> Path:
    return paths.fixtures_dir() / "proxy-config"


def _secrets_file() -> Path:
    return paths.fixtures_dir() / "secrets.yaml"


@dataclass(frozen=True)
class ConfigSpec:
    """A proxy-config: a shared fixture directory or the scenario's own, inline keys (secrets by reference),
    keys removed."""

    fixture: str | None = None  # fixtures/proxy-config/<fixture>, shared by many scenarios
    keys: tuple[tuple[str, object], ...] = ()
    remove: tuple[str, ...] = ()
    path: Path | None = None  # the scenario's own directory (scenarios/<name>/<dir>)
    unknown_keys: tuple[str, ...] = ()  # names no key of the catalog, on purpose (any other is refused as a typo)

    @classmethod
    def from_json(cls, data: dict | None, folder: Path | None = None) -> "ConfigSpec":
        data = data or {}
        path = folder / data["dir"] if data.get("dir") else None  # a `dir` is read from a scenario folder only
        return cls(data.get("fixture"), tuple(sorted((data.get("keys") or {}).items())), tuple(data.get("remove", ())),
                   path, tuple(data.get("unknown_keys", ())))

    def source(self) -> Path | None:
        """The directory the keys come from before inline keys and removals, if any."""
        if self.path is not None:
            return self.path
        return _proxy_configs() / self.fixture if self.fixture else None

    def materialize(self, directory: Path) -> Path:
        """Write the configuration as one file per key into `directory` (created empty)."""
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        source = self.source()
        if source is not None:
            if not source.is_dir():
                raise UserError(f"proxy-config fixture {self.fixture!r}: no directory {source}" if self.fixture
                                else f"proxy-config {source}: not a directory")
            for name, entry in read_config(source).entries.items():
                if name not in self.remove and entry.raw is not None:
                    (directory / name).write_bytes(entry.raw)
        for name, value in self.keys:
            if isinstance(value, dict):
                value = fixture_secret(value["secret"])
            (directory / name).write_text(value)
        return directory


BUILD_RESULTS = ("succeeds", "fails", "any")  # any: the build's result is not judged (airgap repro)
MIRROR_AUTH = ("none", "basic", "bearer")


@dataclass(frozen=True)
class MirrorHit:
    """A mirror route that must answer at least one request successfully (with this auth, when given)."""

    route: str
    auth: str | None = None

    def __post_init__(self):
        if self.auth is not None and self.auth not in MIRROR_AUTH:
            raise ValueError(f"mirror hit auth {self.auth!r}: expected one of {', '.join(MIRROR_AUTH)}")


@dataclass(frozen=True)
class Expect:
    """What a scenario's build must do: one field per property of `expect` in scenario_schema.yaml.

    None and empty mean "not judged", except `egress`: an empty one allows no destination at all, and
    `failing_steps=()`, which says no step may fail.
    """

    build: str  # one of BUILD_RESULTS
    failing_step: str | None = None  # the first step that fails
    failing_steps: tuple[str, ...] | None = None  # exactly the steps that fail, in order
    message: str | None = None  # a regular expression the build output must match
    egress: tuple[str, ...] = ()  # host names allowed to reach the trap
    egress_required: tuple[str | tuple[str, ...], ...] = ()  # hosts that must reach it; a tuple: any one of them
    mirror_hits: tuple[MirrorHit, ...] = ()
    no_mirror_hits: tuple[str, ...] = ()  # routes that must not be hit
    images: tuple[tuple[str, str], ...] = ()  # logical image -> the reference it must resolve to

    def __post_init__(self):
        if self.build not in BUILD_RESULTS:
            raise ValueError(f"expect build {self.build!r}: expected one of {', '.join(BUILD_RESULTS)}")

    @classmethod
    def from_json(cls, data: dict) -> "Expect":
        """The `expect` of a scenario file, already checked against the schema: the one place it is read."""
        steps = data.get("failing_steps")
        return cls(build=data["build"], failing_step=data.get("failing_step"),
                   failing_steps=None if steps is None else tuple(steps), message=data.get("message"),
                   egress=tuple(data.get("egress", ())),
                   egress_required=tuple(g if isinstance(g, str) else tuple(g) for g in data.get("egress_required", ())),
                   mirror_hits=tuple(MirrorHit(h["route"], h.get("auth")) for h in data.get("mirror_hits", ())),
                   no_mirror_hits=tuple(data.get("no_mirror_hits", ())),
                   images=tuple((data.get("images") or {}).items()))

    def to_json(self) -> dict:
        """The fields that judge something, as a scenario file would write them."""
        data = {"build": self.build}
        for name in ("failing_step", "failing_steps", "message"):
            value = getattr(self, name)
            if value is not None:
                data[name] = list(value) if isinstance(value, tuple) else value
        if self.egress:
            data["egress"] = list(self.egress)
        if self.egress_required:
            data["egress_required"] = [g if isinstance(g, str) else list(g) for g in self.egress_required]
        if self.mirror_hits:
            data["mirror_hits"] = [{"route": h.route, **({"auth": h.auth} if h.auth else {})} for h in self.mirror_hits]
        if self.no_mirror_hits:
            data["no_mirror_hits"] = list(self.no_mirror_hits)
        if self.images:
            data["images"] = dict(self.images)
        return data


EXPECT_FIELDS = tuple(f.name for f in fields(Expect))


# What a failed scenario means for a preamble under test: the verdicts of docs/platform-preamble.md, as the
# reports word them.
FINDING_VERDICTS = {"contract-says-otherwise": "the contract says otherwise", "leak": "a leak",
                    "weakening": "a weakening"}


@dataclass(frozen=True)
class Finding:
    """A scenario's `finding`: the verdict on a preamble that fails it, and the fix (scenario_schema.yaml)."""

    verdict: str  # one of FINDING_VERDICTS
    fix: str

    def __post_init__(self):
        if self.verdict not in FINDING_VERDICTS:
            raise ValueError(f"finding verdict {self.verdict!r}: expected one of {', '.join(FINDING_VERDICTS)}")
        if not self.fix.strip():
            raise ValueError("finding fix: empty")

    @classmethod
    def from_json(cls, data: dict) -> "Finding":
        return cls(data["verdict"], data["fix"])

    def to_json(self) -> dict:
        return {"verdict": self.verdict, "fix": self.fix}

    def describe(self) -> str:
        """One line, as the reports and the console print it beside a failed scenario."""
        return f"verdict: {FINDING_VERDICTS[self.verdict]} — fix: {self.fix}"


def describe_finding(data: dict | None) -> str | None:
    """The line of an outcome record's `finding` (its JSON form), None without one."""
    return Finding.from_json(data).describe() if data else None


@dataclass(frozen=True)
class Leak:
    """A leak scenario's `leak` (scenario_schema.yaml): the leak it shows, whether the preamble closes it, and
    its cause in harness/scenarios/leak_causes.yaml, which must explain every egress event it allows."""

    name: str
    verdict: str  # closed | reported
    cause: str | None = None  # a cause id of leak_causes.yaml

    @classmethod
    def from_json(cls, data: dict) -> "Leak":
        return cls(data["name"], data["verdict"], data.get("cause"))


@dataclass(frozen=True)
class Scenario:
    name: str
    strategy: str
    config: ConfigSpec
    expect: Expect
    require_credentials: bool = True
    accept_from: ConfigSpec | None = None
    description: str = ""
    leak: Leak | None = None
    source: str = "generated"  # the scenario.yaml it came from, "generated" or "repro"
    recipe: tuple = ()  # steps replacing the strategy's recipe (harness/scenarios/recipes.yaml), for leak scenarios
    project: tuple[tuple[str, bytes], ...] = ()  # its own project's files (path, bytes), for its steps that `run`
    finding: Finding | None = None  # what its failure means for a preamble under test (platform-* scenarios)
    not_proxied: tuple[tuple[str, tuple[str, ...]], ...] = ()  # key -> paths below its mirror URL answered 404
    customer: CustomerProject | None = None  # a customer's project it builds (harness/customer): its stand-ins


@functools.lru_cache(maxsize=1)
def _schema() -> dict:
    """The scenario schema, its strategy enum taken from the catalog (a new strategy needs no schema edit)."""
    schema = load_yaml(resources.files("harness.scenarios").joinpath("scenario_schema.yaml").read_text())
    schema["properties"]["strategy"]["enum"] = list(load_catalog().strategies)
    return schema


@functools.lru_cache(maxsize=1)
def _secrets() -> dict:
    return load_yaml(_secrets_file().read_text()) or {}


def fixture_secret(name: str) -> str:
    try:
        return _secrets()[name]
    except KeyError:
        raise UserError(f"fixture secret {name!r} is not in {_secrets_file()}") from None


SCENARIO_FILE = "scenario.yaml"  # scenarios/<name>/scenario.yaml
PROJECT_DIR, PROJECT_DEFINITION = "project", "project.yaml"  # a scenario's own project: files, or a definition
MATRIX_FILE = {"generate": "catalog"}  # a scenarios/*.yaml with this content stands for the generated matrix


def from_json(data: dict, name: str, source: str, folder: Path | None = None,
              project: tuple[tuple[str, bytes], ...] = ()) -> Scenario:
    mirrors = data.get("mirrors", {})
    accept = mirrors.get("accept_from")
    return Scenario(name=data.get("name", name), strategy=data["strategy"],
                    config=ConfigSpec.from_json(data["proxy_config"], folder),
                    expect=Expect.from_json(data["expect"]), require_credentials=mirrors.get("require_credentials", True),
                    accept_from=ConfigSpec.from_json(accept, folder) if accept else None,
                    description=data.get("description", ""), leak=Leak.from_json(data["leak"]) if data.get("leak") else None, source=source,
                    recipe=tuple(data.get("recipe", ())), project=project,
                    finding=Finding.from_json(data["finding"]) if data.get("finding") else None,
                    not_proxied=tuple(sorted((k, tuple(v)) for k, v in (mirrors.get("not_proxied") or {}).items())))


def with_customer(scenario: Scenario, project: CustomerProject, recipe: list[dict]) -> Scenario:
    """`scenario` building a customer's project: the strategy's `recipe` with its project steps building the
    project (CustomerProject.steps), on the copy whose pinned hashes are the stand-ins'."""
    # a runtime download only for a build in its language: a customer's npm project downloads Node.js, no JDK
    steps = for_its_projects(project.steps(scenario.strategy, recipe))
    return replace(scenario, recipe=tuple(steps), project=project.copy(), customer=project)


def own_project_steps(recipe) -> list[dict]:
    """The recipe steps that run the scenario's own project (a step with `run` and no shared `dir`, or a
    Dockerfile built in it: `context`)."""
    return [step for step in recipe if ("run" in step and "dir" not in step) or "context" in step]


def own_project_dir(step: dict) -> str:
    """Where a step that runs the scenario's own project finds it, below the builder's projects directory."""
    return step.get("context") or step["project"]


MAX_SCENARIO_FILE_BYTES = 1024 * 1024  # a scenario.yaml or project.yaml is written by hand: a few KiB


def _read_yaml(path: Path):
    """A scenario folder's YAML file, bounded and as UTF-8; every error names the file."""
    try:
        data = read_regular_file(path, MAX_SCENARIO_FILE_BYTES, "; a scenario file is a few KiB")
        return load_yaml(data.decode("utf-8").removeprefix("\ufeff"))
    except UnicodeDecodeError as error:
        raise UserError(f"{printable(path)}: not UTF-8 text (byte {error.start})") from None
    except (OSError, YAMLSyntaxError) as error:
        raise UserError(f"{printable(path)}: cannot be read as YAML: {error}") from None


def _exponential(message: str) -> str | None:
    """Why matching `message` can take exponential time on the build's output, or None: a group repeated without
    bound that holds a repetition (`(a+)+`, `((a)*)+`) or alternatives that can start alike (`(a|ab)*`), found in
    the parsed expression (re's own parser) however the groups nest. Possessive repeats never backtrack."""
    from re import _constants as c, _parser

    def first(items) -> set | None:
        """The characters a match of `items` can start with; None: any, or not worked out (assumed to overlap)."""
        for op, av in items:
            if op is c.AT:
                continue
            if op is c.LITERAL:
                return {av}
            if op is c.IN and all(o in (c.LITERAL, c.RANGE) for o, _ in av):
                chars = set()
                for o, value in av:
                    chars |= {value} if o is c.LITERAL else set(range(value[0], value[1] + 1))
                return chars if len(chars) <= 1024 else None
            if op is c.SUBPATTERN:
                return first(av[3])
            return None
        return None

    def alike(body) -> bool:
        for op, av in body:
            if op is c.BRANCH:
                starts = [first(alternative) for alternative in av[1]]
                if any(start is None for start in starts) or len(set().union(*starts)) < sum(map(len, starts)):
                    return True
            if op is c.SUBPATTERN and alike(av[3]):
                return True
        return False

    def repeats(body) -> bool:
        for op, av in body:
            if op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[1] > av[0]:
                return True
            children = av[3] if op is c.SUBPATTERN else [i for a in av[1] for i in a] if op is c.BRANCH else ()
            if repeats(children):
                return True
        return False

    def walk(items) -> str | None:
        for op, av in items:
            if op in (c.MAX_REPEAT, c.MIN_REPEAT):
                unbounded = av[1] is c.MAXREPEAT
                if unbounded and repeats(av[2]):
                    return "a repeated group holding a repetition (like (a+)+)"
                if unbounded and alike(av[2]):
                    return "a repeated group of alternatives that can start alike (like (a|ab)*)"
                found = walk(av[2])
            elif op is c.SUBPATTERN:
                found = walk(av[3])
            elif op is c.BRANCH:
                found = next(filter(None, map(walk, av[1])), None)
            elif op is c.POSSESSIVE_REPEAT:  # itself never backtracks; what it holds may
                found = walk(av[2])
            elif op in (c.ASSERT, c.ASSERT_NOT):
                found = walk(av[1])
            elif op is c.ATOMIC_GROUP:
                found = walk(av)
            else:
                found = None
            if found:
                return found
        return None

    return walk(_parser.parse(message))


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # what a terminal acts on; tab and line feed are text


def _matches(pattern: str, text: str) -> bool:
    """JSON Schema's `pattern`, with `$` the end of the text: Python's `$` also matches before a last line break,
    so `name: "abc\\n"` passed ^...$."""
    return bool(re.search(pattern, text)) and not (pattern.endswith("$") and text.endswith("\n"))


def _pattern(validator, pattern: str, instance, schema):
    if validator.is_type(instance, "string") and not _matches(pattern, instance):
        yield jsonschema.ValidationError(f"{printable(instance[:80])!r} does not match {pattern!r}")


_Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": _pattern})


def _string_keys(path: Path, data, where: str = "") -> None:
    """Every mapping key is text: YAML 1.1 reads `yes`, `no`, `~` and `5` as a boolean, null or number, which no
    field or key name is (they failed later as a traceback)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if not isinstance(key, str):
                raise UserError(f"{printable(path)}: {printable(where) or '(top)'}: the key {key!r} is read as a "
                                f"{type(key).__name__ if key is not None else 'null'}, not text: quote it")
            _string_keys(path, value, f"{where}/{key}" if where else key)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            _string_keys(path, value, f"{where}[{index}]")


def _check_text(path: Path, data, where: str = "") -> None:
    """No text of a scenario file holds a terminal control character: reports and progress lines print it. A
    configuration's key values are the build's input, hostile ones on purpose (a CRLF Secret): they are left
    as written, and reports show them escaped."""
    if isinstance(data, dict):
        for key, value in data.items():
            _check_text(path, key, where)
            if key != "keys":
                _check_text(path, value, f"{where}/{key}" if where else str(key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            _check_text(path, value, f"{where}[{index}]")
    elif isinstance(data, str) and _CONTROL.search(data):
        raise UserError(f"{path}: {printable(where) or '(top)'}: holds a control character ({printable(data[:60])!r})")


def _check_message(path: Path, data: dict) -> None:
    """expect.message is a regular expression the build's output is searched with: compiled here, and one whose
    matching can take exponential time refused, so neither fails nor hangs after the build has run."""
    message = (data.get("expect") or {}).get("message")
    if message is None:
        return
    try:
        re.compile(message)
    except re.error as error:
        raise UserError(f"{path}: expect message {printable(message)!r}: not a regular expression ({error})") from None
    slow = _exponential(message)
    if slow:
        raise UserError(f"{path}: expect message {printable(message)!r}: {slow} can take exponential time on the "
                        "build's output: write it without the nesting (alternatives as a character class, or each "
                        "starting differently)")


def _schema_message(error: jsonschema.ValidationError) -> str:
    """The validator's message, but for an inline proxy-config value: jsonschema quotes the value, which may be a
    password or token (a number, a list, a mapping with another field), so it is described instead."""
    path = list(error.path)
    if "keys" in path[:-1]:
        return ("not a key's value (not shown: it may be a secret): a value is a string, or {secret: NAME} naming "
                "fixtures/secrets.yaml")
    if path[-1:] == ["keys"] and "propertyNames" in error.schema_path:  # `key:value` without a space is one name
        name, colon, _ = str(error.instance).partition(":")
        return (f"key {printable(name)!r}{' (and what follows its :, not shown)' if colon else ''} is not a key name "
                f"({error.validator_value})")
    if "proxy_config" in path or "accept_from" in path:  # a configuration of the wrong shape may hold secrets
        if error.validator == "type":
            return f"is not of type {error.validator_value!r} (the value is not shown: it may hold a secret)"
        if error.validator == "additionalProperties":
            unexpected = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            shown = [repr(name) for name in unexpected if re.fullmatch(r"[a-z_]{1,40}", str(name))]
            return (f"unknown field(s) {', '.join(shown) or '(not shown: not a field name)'}; fields are "
                    f"{', '.join(error.schema.get('properties', {}))}")
        if error.validator == "not":  # config_ref: not both
            return "fixture and dir exclude each other: give one (the value is not shown: it may hold a secret)"
        return f"does not match the schema ({error.validator}; the value is not shown: it may hold a secret)"
    return error.message


def load_file(path: Path) -> Scenario:
    """One scenario: its folder or the folder's scenario.yaml, validated; errors name the file and the place in it."""
    path = path / SCENARIO_FILE if path.is_dir() else path
    if path.name != SCENARIO_FILE:
        raise _loose(path)
    folder = path.parent
    data = _read_yaml(path)
    _string_keys(path, data)
    errors = sorted(_Validator(_schema()).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        lines = [f"  at {'/'.join(map(str, e.path)) or '(top)'}: {_schema_message(e)}" for e in errors]
        raise UserError(f"{path}: not a valid scenario:\n" + "\n".join(lines))
    for secret in _secret_refs(data):
        if secret not in _secrets():
            raise UserError(f"{path}: fixture secret {secret!r} is not in {_secrets_file()}")
    name_pattern = _schema()["properties"]["name"]["pattern"]  # a folder's name must meet the name's pattern too
    if "name" not in data and not _matches(name_pattern, folder.name):
        raise UserError(f"{printable(path)}: the folder's name {printable(folder.name)!r} is no scenario name "
                        f"({name_pattern}): rename the folder or give `name:`")
    _check_text(path, data)
    mirrors = data.get("mirrors") or {}
    if "accept_from" in mirrors and not mirrors["accept_from"]:
        raise UserError(f"{path}: mirrors accept_from: names no configuration (leave it out, or give fixture:, dir: "
                        "or keys:)")
    if mirrors.get("accept_from") and mirrors.get("require_credentials") is False:
        raise UserError(f"{path}: mirrors accept_from decides which credentials the mirrors require; with "
                        "require_credentials: false they require none")
    _check_message(path, data)
    _check_config_dirs(path, data)
    _check_leak_cause(path, data)
    catalog = load_catalog()
    for key in ((data.get("mirrors") or {}).get("not_proxied") or {}):
        scope, bare = split_key_name(key)  # a mirror key the scenario's strategy reads, global or scoped to it
        found = catalog.keys.get(bare)
        if found is None or found.family not in ("oci-mirror", "package-proxy"):
            raise UserError(f"{path}: mirrors not_proxied {printable(key)!r}: not a mirror key of the catalog")
        if scope not in (None, data["strategy"]) or bare not in catalog.consumed_keys(data["strategy"]):
            raise UserError(f"{path}: mirrors not_proxied {printable(key)!r}: the {data['strategy']} build does not "
                            "read it, so no route of this scenario has it")
    if "project" in data:  # a customer-style project: built with the strategy's steps and stand-ins
        return _checked(path, _with_project_path(path, data))
    project = _own_project(path, data)
    try:
        return _checked(path, from_json(data, folder.name, str(path), folder, project))
    except ValueError as error:  # a value the schema lets through and its record refuses (a blank finding fix)
        raise UserError(f"{path}: {error}") from None


_SECRET_NAME = re.compile(r"(?i)pas+w|token|secret|cred")  # a name no key of the catalog that reads as a secret's


def _check_config(path: Path, catalog: Catalog, spec: ConfigSpec, label: str) -> None:
    """A scenario's configuration can be made as written: its fixture exists, its own directory holds only
    regular files (no symlink out of the folder, no directory or FIFO that would be dropped), inline keys are
    valid names and hold no secret (secrets by reference only), and `remove` names keys its source has."""
    source = spec.source()
    if source is not None and not source.is_dir():
        raise UserError(f"{path}: {label}: {'fixture ' + repr(spec.fixture) if spec.fixture else 'dir'}: no directory {source}")
    entries = read_config(source).entries if source is not None else {}
    if spec.path is not None:  # what materialize would drop (no bytes) or take from outside the folder (a link)
        for name, entry in entries.items():
            if (spec.path / name).is_symlink() or entry.raw is None:
                raise UserError(f"{printable(spec.path / name)}: {entry.problem or 'a symlink'}: a scenario's "
                                "proxy-config holds regular files (hostile values are fine: they are copied as they are)")
    secret_keys = {k for key in catalog.keys.values() for k in (key.password, key.token) if k}
    for name, value in spec.keys:
        if key_problems(name):
            raise UserError(f"{path}: {label} keys {printable(name)!r}: {'; '.join(key_problems(name))}")
        reads_as_secret = name in spec.unknown_keys and _SECRET_NAME.search(name)  # a misspelt password key
        if (split_key_name(name)[1] in secret_keys or reads_as_secret) and not isinstance(value, dict):
            raise UserError(f"{path}: {label} keys {name}: a secret value inline; name it by reference "
                            f"({{secret: NAME}}, NAME in {_secrets_file()})")
    # a name the build ignores (lint: unknown-key, unknown-strategy): a typo would test the fixture's value instead
    written = [name for name, _ in spec.keys] + (list(entries) if spec.path is not None else [])
    ignored = {name: [f.message for f in lint.check_name(name, catalog) if f.severity == "error"] for name in written}
    for name in written:
        if ignored[name] and name not in spec.unknown_keys:
            raise UserError(f"{path}: {label} key {printable(name)!r}: {ignored[name][0]} (a typo? a name no key of "
                            f"the catalog on purpose, as a customer's mistake, goes in {label} unknown_keys)")
    values = [(name, value) for name, value in spec.keys if isinstance(value, str)]
    # the folder's files as the preamble reads them: up to a NUL, whatever the bytes (a file lint calls unusable
    # still holds its text)
    values += [(name, entry.raw.split(b"\0", 1)[0].decode("utf-8", "replace")) for name, entry in entries.items()
               if spec.path is not None and entry.raw]
    for name, value in values:
        if grammar.userinfo_password(value):
            raise UserError(f"{path}: {label} key {printable(name)!r}: a URL with credentials in its user-info (not "
                            "shown); a scenario holds no secret values: put them in the -username/-password keys, "
                            f"by reference ({{secret: NAME}}, NAME in {_secrets_file()})")
    for name in spec.unknown_keys:
        if not ignored.get(name):
            raise UserError(f"{path}: {label} unknown_keys {printable(name)!r}: "
                            + ("a key of the catalog" if name in written else "not a key this configuration writes"))
    missing = [name for name in spec.remove if name not in entries]
    if missing:
        raise UserError(f"{path}: {label} remove {', '.join(map(repr, missing))}: not in {source or 'the configuration'}")


def scenario_steps(scenario: Scenario) -> list[dict]:
    """The steps a scenario runs: its own recipe, else its strategy's."""
    return expand(list(scenario.recipe)) if scenario.recipe else recipes()[scenario.strategy]


STEPS_OUTSIDE_THE_RECIPE = ("preamble", "handoff")  # what fails before any recipe step (steps.build_script)


def _checked(path: Path, scenario: Scenario) -> Scenario:
    """The scenario, once every name its expectations use exists and no two of them contradict each other:
    a typo would make a scenario that can never pass, or one that can never fail."""
    catalog = load_catalog()
    _check_config(path, catalog, scenario.config, "proxy_config")
    if scenario.accept_from:
        _check_config(path, catalog, scenario.accept_from, "mirrors accept_from")
    try:
        steps = scenario_steps(scenario)
    except UserError as error:
        raise UserError(f"{path}: {error}") from None
    names = {*STEPS_OUTSIDE_THE_RECIPE, *(step_name(step) for step in steps)}
    for step in steps:  # a manager names the route its fetches go through (and keys the step's reuse)
        if "manager" in step and step["manager"] not in catalog.managers:
            raise UserError(f"{path}: recipe step {printable(step_name(step))!r}: manager {printable(step['manager'])!r} "
                            f"is no package manager of the catalog ({', '.join(catalog.managers)})")
        if "fetch" in step and not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]+)?(/\S*)?", step["fetch"]):
            raise UserError(f"{path}: recipe fetch {printable(step['fetch'])!r}: not an http(s) URL with a host name")
    expect, problems = scenario.expect, []
    for step in [expect.failing_step, *(expect.failing_steps or ())]:
        if step is not None and step not in names:
            problems.append(f"failing step {step!r} is no step of the scenario ({', '.join(sorted(names))})")
    routes = {*catalog.keys, "oci-ping"}  # gateway routes are named by their key (and the registry ping)
    strategy, expected_hits = catalog.strategies[scenario.strategy], {hit.route for hit in expect.mirror_hits}
    for route in [hit.route for hit in expect.mirror_hits] + list(expect.no_mirror_hits):
        scope, bare = split_key_name(route)  # a scoped key's route is named with its strategy
        if bare not in routes:
            problems.append(f"mirror route {route!r} is no key of the catalog")
        elif scope is not None and scope not in catalog.strategies:
            problems.append(f"mirror route {route!r}: {scope!r} is no strategy of the catalog "
                            f"({', '.join(catalog.strategies)})")
        elif route in expected_hits and (scope not in (None, scenario.strategy)
                                         or bare not in (*strategy.url_keys, "oci-ping")):
            # a hit no build of the strategy can make (an absence there stays a check: the build must not read it)
            problems.append(f"mirror route {route!r}: {scenario.strategy} never fetches through it (its keys: "
                            f"{', '.join(strategy.url_keys)})")
    images = strategy.images
    problems += [f"image {image!r} is no image of {scenario.strategy} ({', '.join(images)})"
                 for image, _ in expect.images if image not in images]
    for image, expected_reference in expect.images:
        try:
            reference.parse_normalized(expected_reference)
        except ValueError as error:  # a resolved image is always a reference: this one never matches
            problems.append(f"image {image}: {expected_reference!r} is not an image reference ({error})")
    if expect.build == "succeeds" and (expect.failing_step or expect.failing_steps):
        problems.append("build: succeeds with a failing step")
    if expect.build == "fails" and expect.failing_steps == ():
        problems.append("build: fails with failing_steps: [] (no step fails)")
    if expect.build == "succeeds":  # a value the preamble stops on (lint's errors that stop the build)
        planned = _plan_of(catalog, scenario.config, scenario.strategy)
        stopping = sorted({part.key for part in [*planned.images.values(), *planned.packages.values()] if part.error}
                          | {m["key"] for m in planned.mirrors.values() if m["error"]})
        if stopping:
            problems.append(f"build: succeeds, but the preamble stops on {', '.join(stopping)} (see airgap plan)")
    for host in expect.egress + tuple(h for group in expect.egress_required
                                      for h in ([group] if isinstance(group, str) else group)):
        if not re.fullmatch(r"[A-Za-z0-9_]([-A-Za-z0-9_.]*[A-Za-z0-9_.])?", host) and not _is_ip(host):
            problems.append(f"egress {host!r} is not a host name (the trap records host names: no scheme, path "
                            "or port)")
    if expect.failing_step and expect.failing_steps is not None and expect.failing_steps[:1] != (expect.failing_step,):
        problems.append(f"failing_step {expect.failing_step!r} is not the first of failing_steps")
    allowed = set(expect.egress)
    for group in expect.egress_required:
        hosts = [group] if isinstance(group, str) else list(group)
        if not allowed & set(hosts):
            problems.append(f"egress_required {' or '.join(hosts)} is not in egress, so seeing it fails the scenario")
    both = {hit.route for hit in expect.mirror_hits} & set(expect.no_mirror_hits)
    problems += [f"route {route!r} is in both mirror_hits and no_mirror_hits" for route in sorted(both)]
    if problems:
        raise UserError(f"{path}: expect: " + "; ".join(printable(p) for p in dict.fromkeys(problems)))
    return scenario


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _with_project_path(path: Path, data: dict) -> Scenario:
    folder = path.parent
    clashes = [p.name for p in (folder / PROJECT_DIR, folder / PROJECT_DEFINITION) if p.exists()] + (
        ["recipe"] if "recipe" in data else [])
    if clashes:
        raise UserError(f"{path}: project: {{path}} builds a customer's project with the strategy's steps; "
                        f"it cannot be combined with {', '.join(clashes)}")
    scenario = from_json(data, folder.name, str(path), folder)
    try:
        where = resolved(folder / data["project"]["path"])
        relative = os.path.relpath(where)  # reports name it from the checkout, as a user would type it
        loaded = load_project(Path(relative) if not relative.startswith("..") else where,
                              built_by(recipes()[scenario.strategy]))
    except UserError as error:
        raise UserError(f"{path}: {error}") from None
    try:
        return with_customer(scenario, loaded, recipes()[scenario.strategy])
    except UserError as error:
        raise UserError(f"{path}: {error}") from None


def _check_leak_cause(path: Path, data: dict) -> None:
    """A leak's cause is one of harness/scenarios/leak_causes.yaml."""
    from harness.scenarios import causes

    cause = (data.get("leak") or {}).get("cause")
    if cause is not None and cause not in {c.id for c in causes.load()}:
        raise UserError(f"{path}: leak cause {cause!r} is not a cause of {causes.DATA_FILE}")


def _secret_refs(data: dict) -> list[str]:
    configs = [data["proxy_config"], (data.get("mirrors") or {}).get("accept_from") or {}]
    return [v["secret"] for c in configs for v in (c.get("keys") or {}).values() if isinstance(v, dict)]


def _check_config_dirs(path: Path, data: dict) -> None:
    """The proxy-config directories the scenario names exist in its folder and hold no secret values (secrets
    only by reference, as inline keys do); a folder's proxy-config/ that the scenario does not name is a mistake."""
    folder = path.parent
    named = {c["dir"] for c in (data["proxy_config"], (data.get("mirrors") or {}).get("accept_from") or {}) if c.get("dir")}
    secret_keys = {k for key in load_catalog().keys.values() for k in (key.password, key.token) if k}
    for name in sorted(named):
        directory = folder / name
        if directory.is_symlink():
            raise UserError(f"{path}: proxy_config dir {name!r}: {directory} is a symlink; a scenario's proxy-config "
                            "is its own (copy the files, or name a shared one with fixture:)")
        if not directory.is_dir():
            raise UserError(f"{path}: proxy_config dir {name!r}: no directory {directory}")
        for entry in sorted(directory.iterdir()):
            if entry.name.split(".", 1)[-1] in secret_keys:
                raise UserError(f"{entry}: a secret value in a scenario folder; name it in {path} instead "
                                f"(keys: {{{entry.name}: {{secret: NAME}}}}, NAME in {_secrets_file()})")
    if (folder / "proxy-config").is_dir() and "proxy-config" not in named:
        raise UserError(f"{path}: {folder / 'proxy-config'} is not used: name it (proxy_config: {{dir: proxy-config}})")


def _own_project(path: Path, data: dict) -> tuple[tuple[str, bytes], ...]:
    """The files of the scenario's own project: project/ as it is, or generated from project.yaml."""
    folder = path.parent
    files, definition = folder / PROJECT_DIR, folder / PROJECT_DEFINITION
    present = [p for p in (files, definition) if p.exists()]
    if not own_project_steps(data.get("recipe", ())):
        if present:
            raise UserError(f"{path}: {present[0]} is not used: no recipe step runs the scenario's own project "
                            "(a step with `project`, `manager` and `run`)")
        return ()
    if len(present) != 1:
        raise UserError(f"{path}: a recipe step runs the scenario's own project: {folder} needs "
                        + ("either project/ or project.yaml, not both" if present else
                           f"{PROJECT_DIR}/ (its files) or {PROJECT_DEFINITION} (a definition to generate it from)"))
    if files in present:
        if not files.is_dir():
            raise UserError(f"{files}: not a directory (a project's files)")
        try:  # read as a customer's project is: bounded, symlinks and special files left out
            return read_tree(files)
        except UserError as error:
            raise UserError(f"{path}: {PROJECT_DIR}/: {error}") from None
    return _generated_project(definition)


def _generated_project(path: Path) -> tuple[tuple[str, bytes], ...]:
    """project.yaml: `generate: <ecosystem>` and `definition:`, turned into files against the fixture packages."""
    from harness.stack import content

    data = _read_yaml(path)
    if (not isinstance(data, dict) or set(data) != {"generate", "definition"}
            or data["generate"] not in content.PROJECT_ECOSYSTEMS or not isinstance(data["definition"], dict)):
        raise UserError(f"{path}: expected `generate:` (one of {', '.join(content.PROJECT_ECOSYSTEMS)}) and "
                        "`definition:` (a mapping), nothing else")
    try:
        return tuple(sorted(content.project(data["generate"], data["definition"]).items()))
    except UserError as error:
        raise UserError(f"{path}: {error}") from None


def scenario_files(path: Path) -> list[Path]:
    """The scenario.yaml files and matrix files under `path`: a scenario folder, its scenario.yaml, a matrix
    file, or a folder of scenario folders and matrix files. Anything else that looks like a scenario (a
    loose .yaml, a folder without scenario.yaml) is an error naming it, so nothing is silently skipped."""
    if path.is_file():
        if path.name == SCENARIO_FILE or _is_matrix(path):
            return [path]
        raise _loose(path)
    if not path.is_dir():
        what = "a broken symlink" if path.is_symlink() and not path.exists() else "neither a file nor a directory"
        raise UserError(f"{printable(path)}: {what}; a scenario is a folder holding the regular file {SCENARIO_FILE}")
    if (path / SCENARIO_FILE).is_file():
        return [path / SCENARIO_FILE]
    found = []
    for child in sorted(path.iterdir(), key=lambda p: p.stem if p.is_file() else p.name):
        if child.name.startswith((".", "_")):
            continue  # .pytest_cache, __pycache__
        if child.is_dir():
            if not (child / SCENARIO_FILE).is_file():
                if (child / SCENARIO_FILE).is_symlink() or (child / SCENARIO_FILE).exists():
                    scenario_files(child / SCENARIO_FILE)  # a broken symlink, a FIFO: the error says which
                raise UserError(f"{child}: not a scenario folder: it has no {SCENARIO_FILE}")
            found.append(child / SCENARIO_FILE)
        elif child.suffix in (".yaml", ".yml"):
            found += scenario_files(child)
    return found


def _loose(path: Path) -> UserError:
    """The error for a scenario file outside a scenario folder (the layout before folders: scenarios/NAME.yaml)."""
    if path.suffix not in (".yaml", ".yml"):
        return UserError(f"{printable(path)}: not a scenario: a scenario is a folder holding {SCENARIO_FILE}")
    return UserError(f"{printable(path)}: not a scenario: a scenario is a folder holding {SCENARIO_FILE} (move this "
                     f"file to {printable(path.parent / path.stem / SCENARIO_FILE)}, its proxy-config and project "
                     "beside it)")


def _is_matrix(path: Path) -> bool:
    try:
        return _read_yaml(path) == MATRIX_FILE
    except UserError:  # not YAML, not UTF-8, too large: not the matrix file (the caller says what it is not)
        return False


def _check_recipes(catalog: Catalog, recipes: dict) -> None:
    """Every image a strategy's recipe pulls is an image the profile gives the strategy (a profile that drops
    one would fail only once the stacks are up)."""
    for strategy, steps in recipes.items():
        images = catalog.strategies[strategy].images if strategy in catalog.strategies else {}
        for name in dict.fromkeys(step["pull"] for step in steps if "pull" in step):
            if name not in images:
                where = catalog.profile.path if catalog.profile is not None else "the profile"
                raise UserError(f"{where}: strategies.{strategy}.images: no image {name!r}, which the {strategy} "
                                "recipe pulls (harness/scenarios/recipes.yaml)")


def load(paths: list[Path], catalog: Catalog, recipes: dict) -> list[Scenario]:
    """Scenario folders and folders of them; a matrix file expands into the generated scenarios."""
    _check_recipes(catalog, recipes)
    files = [file for path in paths for file in scenario_files(path)]
    refuse_one_file_twice(files)
    loaded = [(scenario, file) for file in files
              for scenario in (generated(catalog, recipes) if file.name != SCENARIO_FILE else [load_file(file)])]
    first: dict[str, Path] = {}
    for scenario, file in loaded:  # reports, shards and step reuse know a scenario by its name
        if scenario.name in first:
            raise UserError(f"two scenarios named {scenario.name!r}: {printable(first[scenario.name])} and "
                            f"{printable(file)}")
        first[scenario.name] = file
    return [scenario for scenario, _ in loaded]


def refuse_one_file_twice(files) -> None:
    """One scenario file given twice, or through a symbolic link to its folder, would run again under the link's
    name (`airgap run` and the pytest plugin alike)."""
    seen: dict[Path, Path] = {}
    for file in map(Path, files):
        first = seen.setdefault(resolved(file), file)
        if first is not file:
            raise UserError(f"{printable(file)} and {printable(first)} are one file (given twice, or a symbolic "
                            "link): give it once")


# --- the generated matrix ------------------------------------------------------------------------------

FULL = "full-global"
CREDENTIALS = "credentials-everywhere"
OCI_PULL_HOST = {"docker.io": "registry-1.docker.io"}  # where a client goes for a registry's name


def _plan_of(catalog: Catalog, spec: ConfigSpec, strategy: str):
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return plan(catalog, read_config(spec.materialize(Path(tmp) / "cfg")), strategy)


def _step_public_hosts(catalog: Catalog, planned, step: dict, strategy: str) -> list[str]:
    """The public hosts a recipe step reaches under this plan (empty when it goes to a mirror)."""
    if "fetch" in step:
        return [step["fetch"].split("/")[2]]
    if "project" in step:
        package = planned.packages.get(step["manager"])
        hosts = list(catalog.managers[step["manager"]].endpoints) if package and package.key is None else []
        if dockerfile_stage(catalog, strategy):  # a RUN of a podman build: its FROM is pulled first
            hosts = _step_public_hosts(catalog, planned, {"pull": DOCKERFILE_STAGE}, strategy) + hosts
        return hosts
    image = planned.images[step.get("pull") or "dockerfile-base"]
    if image.error:
        return []
    ref = reference.parse(image.resolved)
    if catalog.registry_of(ref) is None or (image.source != "mirror" and catalog.remapping(ref, planned.mirrors)):
        return []  # a customer host, or sent to a mirror in effect by registries.conf (its longest prefix there)
    host = ref.domain.partition(":")[0]  # egress is named by host (DNS, TLS SNI), never with a port
    return [OCI_PULL_HOST.get(host, host)]


def expected(catalog: Catalog, recipe: list[dict], spec: ConfigSpec, strategy: str) -> Expect:
    """What the build must do with this configuration: the oracle the generated scenarios are judged by.

    The preamble's Docker Hub login stops the build first when it happens; otherwise every step that
    reaches a public host fails at the trap and names that host.
    """

    planned = _plan_of(catalog, spec, strategy)
    if planned.dockerhub_login:
        return Expect("fails", failing_step="preamble", failing_steps=("preamble",), message="oci-dockerhub-url",
                      egress=("registry-1.docker.io",), egress_required=("registry-1.docker.io",))
    allowed, required, failing = set(), [], []
    for step in recipe:
        hosts = _step_public_hosts(catalog, planned, step, strategy)
        if hosts:
            allowed |= set(hosts)
            required.append(tuple(hosts) if len(hosts) > 1 else hosts[0])
            failing.append(step_name(step))
    return Expect("fails" if failing else "succeeds", failing_step=failing[0] if failing else None,
                  failing_steps=tuple(failing), egress=tuple(sorted(allowed)), egress_required=tuple(required))


def generated(catalog: Catalog, recipes: dict) -> list[Scenario]:
    """The scenarios every strategy must pass, derived from the catalog and the recipes."""
    scenarios = []
    for name, strategy in catalog.strategies.items():
        recipe = recipes[name]
        used = sorted(routes_used(catalog, recipe, name))

        def add(suffix, spec, changes=None, **extra):
            expect = replace(expected(catalog, recipe, spec, name), **(changes or {}))
            scenarios.append(Scenario(f"{name}/{suffix}", name, spec, expect, **extra))

        add("no-secret", ConfigSpec())
        add("full-global", ConfigSpec(CREDENTIALS), {"mirror_hits": tuple(MirrorHit(k) for k in used)})
        full = expected(catalog, recipe, ConfigSpec(FULL), name)
        for key in strategy.oci_keys + tuple(f"pkg-{m}-url" for m in strategy.managers):
            spec = ConfigSpec(FULL, remove=(key,))
            without = expected(catalog, recipe, spec, name)
            if without != full:  # the recipe fetches something this key covers
                scenarios.append(Scenario(f"{name}/without:{key}", name, spec, without))
        add("unsupported-keys-ignored", ConfigSpec(FULL, keys=_unsupported_keys(catalog, name)))
        add("scoped-beats-global", ConfigSpec(FULL, keys=_scoped_keys(catalog, name)),
            {"mirror_hits": tuple(MirrorHit(f"{name}.{k}") for k in used), "no_mirror_hits": tuple(used)})
        if any(catalog.keys[k].credential_keys for k in used):
            # The mirrors refuse the first credentialed request, whichever step makes it.
            add("wrong-password", ConfigSpec(CREDENTIALS, keys=_wrong_credentials(catalog, name)),
                {"build": "fails", "failing_step": None, "failing_steps": None, "egress_required": ()},
                accept_from=ConfigSpec(CREDENTIALS))
        for form in ("prefix", "full") if strategy.image_keys else ():
            spec = ConfigSpec(FULL, keys=_override_keys(catalog, name, form))
            add(f"image-overrides-{form}", spec, {"images": tuple(_resolved(catalog, spec, name).items())})
    return scenarios


def _unsupported_keys(catalog: Catalog, strategy: str) -> tuple:
    """Every key this strategy does not consume, set to a host nothing serves: the build must not notice."""
    consumed = set(catalog.consumed_keys(strategy))
    values = {"oci-mirror": "unused.example.com/mirror", "image-override": "unused.example.com/image:1",
              "package-proxy": "https://unused.example.com/repo/"}
    return tuple((k.name, values[k.family]) for k in catalog.keys.values() if k.name not in consumed)


def _scoped_keys(catalog: Catalog, strategy: str) -> tuple:
    """The strategy's keys again under `<strategy>.`, pointing at their own mirror paths."""
    config = read_config(_proxy_configs() / FULL)
    keys = []
    for key in catalog.strategies[strategy].url_keys:
        found = config.lookup(key)
        if found:
            value = found.value.rstrip("/") + ("-scoped/" if found.value.endswith("/") else "-scoped")
            keys.append((f"{strategy}.{key}", value))
    return tuple(keys)


def _wrong_credentials(catalog: Catalog, strategy: str) -> tuple:
    keys = []
    for key_name in catalog.strategies[strategy].url_keys:
        key = catalog.keys[key_name]
        for secret in (key.password, key.token):
            if secret:
                keys.append((secret, {"secret": "wrong-password"}))
    return tuple(keys)


def _override_keys(catalog: Catalog, strategy: str, form: str) -> tuple:
    """Each override key of the strategy, naming a golden copy of its image (`golden-<name>`, served by the
    full configuration's mirror): as a `registry/repo` prefix, which keeps the default's tag, or as a
    complete reference with the tag `golden`. Either way the result differs from the mirror rewrite."""
    from harness.contract import reference

    mirrors = read_config(_proxy_configs() / FULL)
    keys = []
    for image in catalog.strategies[strategy].images.values():
        if image.override in catalog.strategies[strategy].image_keys:
            mirror = mirrors.lookup(catalog.registries[image.registry].mirror_key).value
            rewritten = reference.rewrite_to_mirror(reference.parse_normalized(image.default), mirror)
            head, _, last = rewritten.name.rpartition("/")
            golden = f"{head}/golden-{last}"
            keys.append((image.override, golden if form == "prefix" else f"{golden}:golden"))
    return tuple(keys)


def _resolved(catalog: Catalog, spec: ConfigSpec, strategy: str) -> dict:
    planned = _plan_of(catalog, spec, strategy)
    return {name: image.resolved for name, image in planned.images.items() if image.source == "override"}


def routes_used(catalog: Catalog, recipe: list[dict], strategy: str) -> set[str]:
    """The url keys whose mirrors the recipe's steps go through."""
    keys = set()
    for step in recipe:
        if "pull" in step or "dockerfile" in step:
            image = step.get("pull") or "dockerfile-base"
            keys.add(catalog.registries[catalog.strategies[strategy].images[image].registry].mirror_key)
        elif "project" in step:
            keys.add(f"pkg-{step['manager']}-url")
    return {k for k in keys if k in catalog.consumed_keys(strategy)}
