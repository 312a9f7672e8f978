"""Scenarios: one strategy, one proxy-config, one set of expectations; from files or from the catalog.

Files live in scenarios/*.yaml and are checked against harness/scenarios/scenario_schema.yaml; the matrix that every
strategy must pass is generated from the catalog (`generated()`), so a new key or strategy gets its
scenarios without anyone writing them.
"""

import functools
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from harness.contract.catalog import Catalog, load_catalog
from harness.contract.config import read_config
from harness.infra.errors import UserError
from harness.contract.plan import plan
from harness.infra import paths



def step_name(step: dict) -> str:
    """A step as reports name it: `pull:node`, `project:npm`, `fetch:<url>`, `dockerfile:<name>`."""
    kind = next(k for k in ("pull", "project", "fetch", "dockerfile") if k in step)
    return f"{kind}:{step[kind]}"


def _proxy_configs() -> Path:
    return paths.fixtures_dir() / "proxy-config"


def _secrets_file() -> Path:
    return paths.fixtures_dir() / "secrets.yaml"


@dataclass(frozen=True)
class ConfigSpec:
    """A proxy-config: a fixture directory, inline keys (secrets by reference), keys removed."""

    fixture: str | None = None
    keys: tuple[tuple[str, object], ...] = ()
    remove: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: dict | None) -> "ConfigSpec":
        data = data or {}
        return cls(data.get("fixture"), tuple(sorted((data.get("keys") or {}).items())), tuple(data.get("remove", ())))

    def materialize(self, directory: Path) -> Path:
        """Write the configuration as one file per key into `directory` (created empty)."""
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        if self.fixture:
            source = _proxy_configs() / self.fixture
            if not source.is_dir():
                raise UserError(f"proxy-config fixture {self.fixture!r}: no directory {source}")
            for name, entry in read_config(source).entries.items():
                if name not in self.remove and entry.raw is not None:
                    (directory / name).write_bytes(entry.raw)
        for name, value in self.keys:
            if isinstance(value, dict):
                value = fixture_secret(value["secret"])
            (directory / name).write_text(value)
        return directory


@dataclass(frozen=True)
class Scenario:
    name: str
    strategy: str
    config: ConfigSpec
    expect: dict
    require_credentials: bool = True
    accept_from: ConfigSpec | None = None
    description: str = ""
    leak: dict | None = None
    source: str = "generated"  # the file it came from, or "generated"
    recipe: tuple = ()  # steps replacing the strategy's recipe (harness/scenarios/recipes.yaml), for leak scenarios


@functools.lru_cache(maxsize=1)
def _schema() -> dict:
    """The scenario schema, its strategy enum taken from the catalog (a new strategy needs no schema edit)."""
    schema = yaml.safe_load(resources.files("harness.scenarios").joinpath("scenario_schema.yaml").read_text())
    schema["properties"]["strategy"]["enum"] = list(load_catalog().strategies)
    return schema


@functools.lru_cache(maxsize=1)
def _secrets() -> dict:
    return yaml.safe_load(_secrets_file().read_text()) or {}


def fixture_secret(name: str) -> str:
    try:
        return _secrets()[name]
    except KeyError:
        raise UserError(f"fixture secret {name!r} is not in {_secrets_file()}") from None


def from_json(data: dict, name: str, source: str) -> Scenario:
    mirrors = data.get("mirrors", {})
    accept = mirrors.get("accept_from")
    return Scenario(name=data.get("name", name), strategy=data["strategy"], config=ConfigSpec.from_json(data["proxy_config"]),
                    expect=data["expect"], require_credentials=mirrors.get("require_credentials", True),
                    accept_from=ConfigSpec.from_json(accept) if accept else None,
                    description=data.get("description", ""), leak=data.get("leak"), source=source,
                    recipe=tuple(data.get("recipe", ())))


def load_file(path: Path) -> Scenario:
    """One scenario file, validated; errors name the file and the place in it."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise UserError(f"{path}: cannot be read as YAML: {error}") from None
    errors = sorted(jsonschema.Draft202012Validator(_schema()).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        lines = [f"  at {'/'.join(map(str, e.path)) or '(top)'}: {e.message}" for e in errors]
        raise UserError(f"{path}: not a valid scenario:\n" + "\n".join(lines))
    for secret in _secret_refs(data):
        if secret not in _secrets():
            raise UserError(f"{path}: fixture secret {secret!r} is not in {_secrets_file()}")
    return from_json(data, path.stem, str(path))


def _secret_refs(data: dict) -> list[str]:
    configs = [data["proxy_config"], (data.get("mirrors") or {}).get("accept_from") or {}]
    return [v["secret"] for c in configs for v in (c.get("keys") or {}).values() if isinstance(v, dict)]


MATRIX_FILE = {"generate": "catalog"}  # a scenarios/*.yaml with this content stands for the generated matrix


def load(paths: list[Path], catalog: Catalog, recipes: dict) -> list[Scenario]:
    """Scenario files and folders of them; a matrix file expands into the generated scenarios."""
    files = []
    for path in paths:
        files += sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    scenarios = []
    for file in files:
        if yaml.safe_load(file.read_text()) == MATRIX_FILE:
            scenarios += generated(catalog, recipes)
        else:
            scenarios.append(load_file(file))
    return scenarios


# --- the generated matrix ------------------------------------------------------------------------------

FULL = "full-global"
CREDENTIALS = "credentials-everywhere"
OCI_PULL_HOST = {"docker.io": "registry-1.docker.io"}  # where a client goes for a registry's name


def _plan_of(catalog: Catalog, spec: ConfigSpec, strategy: str):
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return plan(catalog, read_config(spec.materialize(Path(tmp) / "cfg")), strategy)


def _step_public_hosts(catalog: Catalog, planned, step: dict) -> list[str]:
    """The public hosts a recipe step reaches under this plan (empty when it goes to a mirror)."""
    from harness.contract import reference

    if "fetch" in step:
        return [step["fetch"].split("/")[2]]
    if "project" in step:
        package = planned.packages.get(step["manager"])
        return list(catalog.managers[step["manager"]].endpoints) if package and package.key is None else []
    image = planned.images[step.get("pull") or "dockerfile-base"]
    if image.error:
        return []
    ref = reference.parse(image.resolved)
    registry = catalog.registry_of(ref)
    if registry is None or (image.source == "override" and registry.id in planned.mirrors):
        return []
    host = ref.domain.partition(":")[0]  # egress is named by host (DNS, TLS SNI), never with a port
    return [OCI_PULL_HOST.get(host, host)]


def expected(catalog: Catalog, recipe: list[dict], spec: ConfigSpec, strategy: str) -> dict:
    """What the build must do with this configuration: the oracle the generated scenarios are judged by.

    The preamble's Docker Hub login stops the build first when it happens; otherwise every step that
    reaches a public host fails at the trap and names that host.
    """

    planned = _plan_of(catalog, spec, strategy)
    if planned.dockerhub_login:
        return {"build": "fails", "failing_step": "preamble", "failing_steps": ["preamble"],
                "egress": ["registry-1.docker.io"],
                "egress_required": ["registry-1.docker.io"], "message": "oci-dockerhub-url"}
    allowed, required, failing = set(), [], []
    for step in recipe:
        hosts = _step_public_hosts(catalog, planned, step)
        if hosts:
            allowed |= set(hosts)
            required.append(hosts if len(hosts) > 1 else hosts[0])
            failing.append(step_name(step))
    result = {"build": "fails" if failing else "succeeds", "failing_steps": failing, "egress": sorted(allowed),
              "egress_required": required}
    if failing:
        result["failing_step"] = failing[0]
    return result


def generated(catalog: Catalog, recipes: dict) -> list[Scenario]:
    """The scenarios every strategy must pass, derived from the catalog and the recipes."""
    scenarios = []
    for name, strategy in catalog.strategies.items():
        recipe = recipes[name]
        used = sorted(routes_used(catalog, recipe, name))

        def add(suffix, spec, extra_expect=None, drop=(), **extra):
            expect = {**expected(catalog, recipe, spec, name), **(extra_expect or {})}
            for field_name in drop:
                expect.pop(field_name, None)
            scenarios.append(Scenario(f"{name}/{suffix}", name, spec, expect, **extra))

        add("no-secret", ConfigSpec())
        add("full-global", ConfigSpec(CREDENTIALS), {"mirror_hits": [{"route": k} for k in used]})
        full = expected(catalog, recipe, ConfigSpec(FULL), name)
        for key in strategy.oci_keys + tuple(f"pkg-{m}-url" for m in strategy.managers):
            spec = ConfigSpec(FULL, remove=(key,))
            without = expected(catalog, recipe, spec, name)
            if without != full:  # the recipe fetches something this key covers
                scenarios.append(Scenario(f"{name}/without:{key}", name, spec, without))
        add("unsupported-keys-ignored", ConfigSpec(FULL, keys=_unsupported_keys(catalog, name)))
        add("scoped-beats-global", ConfigSpec(FULL, keys=_scoped_keys(catalog, name)),
            {"mirror_hits": [{"route": f"{name}.{k}"} for k in used], "no_mirror_hits": used})
        if any(catalog.keys[k].credential_keys for k in used):
            # The mirrors refuse the first credentialed request, whichever step makes it.
            add("wrong-password", ConfigSpec(CREDENTIALS, keys=_wrong_credentials(catalog, name)),
                {"build": "fails"}, drop=("failing_step", "failing_steps", "egress_required"),
                accept_from=ConfigSpec(CREDENTIALS))
        for form in ("prefix", "full") if strategy.image_keys else ():
            spec = ConfigSpec(FULL, keys=_override_keys(catalog, name, form))
            add(f"image-overrides-{form}", spec, {"images": _resolved(catalog, spec, name)})
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
