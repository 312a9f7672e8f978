"""Step input keys: a stable hash of exactly what can change one recipe step's evidence.

Within one run (`airgap run` without `--exhaustive`), a step whose key equals that of a step already run
takes that step's verdict and evidence instead of running again (harness/scenarios/reuse.py). So a key must
hold everything the step's evidence (its exit status, its output, the trap events and mirror hits in its
window) can depend on; when unsure, an input is in. A key is the SHA-256 of a canonical JSON document;
credential values and file bytes enter it only as their own SHA-256, so a key never shows a secret.

Every key holds (`_common`):
  - the key format version, so keys of two versions of this module never match;
  - the preamble: every file of the preamble directory, by content. The step runs after it and reads what
    it wrote;
  - the strategy: its entry script and the configuration it writes differ;
  - the images, by their content-hash tags (harness/infra/images.py): the builder holds the clients, the
    mirror images the servers that answer them;
  - the platform registry (CHOREO_REGISTRY) and the builder's environment (platform login, where the
    preamble reads its proxy-config): both are inputs of the preamble;
  - the keys the strategy ignores and the global keys its scoped keys shadow, with their values: a correct
    preamble never reads them, so they can change a step only through a preamble bug, which is exactly what
    the scenarios setting them (unsupported-keys-ignored, scoped-beats-global) are there to catch;
  - the plan's problems (unusable values) and whether the platform's Docker Hub login happens;
  - whether the mirrors enforce credentials.

Then what the step itself consumes (`_package`, `_pull`, `_fetch`, `_dockerfile`):
  - the step as the recipe gives it (its command) and its project's files, by content (a shared project
    of harness/stack/content, or the scenario's own);
  - a package step: that manager's part of the effective plan (URL, auth, credential key names, error) and
    the bytes of every proxy-config entry its key family could be read from (URL, username, password,
    token; global and strategy-scoped), so a credential value counts too; and the same of every manager whose
    hand-off to the build command sets a variable this one's sets (the profile's `handoff`: GOOGLE_BUILD_ARGS
    of Maven and Gradle on pack build, of which the build keeps the last); under podman build (webapp,
    test-runner), where the step is a RUN of a Dockerfile FROM the build stage's image, what a pull of that
    image takes too;
  - a pull: the image's part of the plan (resolved reference, source, key, login), the OCI mirrors that
    can apply to it (its registry's, those of every registry a prefix of which the resolved reference
    matches, any on the resolved host: they decide its lines of registries.conf and auth.json), where
    registries.conf can send it, the logins on those hosts, and the bytes of their entries and of its
    override key;
  - the mirror configuration for the routes it uses: every gateway route on the step's host and port whose
    location overlaps the step's path (nginx picks the longest prefix, so a shorter or a longer one could
    answer), every field of it, credentials included; and when the step can ask an OCI host's /v2/, the
    registry ping's credentials (the union of the host's OCI routes);
  - for every host the step is planned to reach (its mirror, or the public hosts when no key redirects
    it), whether the build network resolves it to the mirror gateway or to the trap;
  - a dockerfile step (byoc) builds from several FROM lines resolved through registries.conf: it takes the
    whole plan, every entry, every route and every mirror host.

Steps of one recipe that share state in the builder run one after another in one script: the pulls
(containers' caches), and the steps of one package manager (its cache, its project directory). Each such
step's key includes the keys of the steps before it in its group (`_group`), and reuse.py runs every
earlier member of a group whenever a later one runs.

Not in a key, because it is the same for every scenario of a run and keys live only within a run: the
fixture content every stack serves (harness.stack.content), the catalog and the harness's own code. Not
in a key, because nothing of the step reads it: the scenario's name and expectations. Not in a key, because it
differs only in ways the evidence does not judge: the stack (its run CA, addresses and container names; a
reused step keeps its source's addresses and times). Whether the preamble succeeded is not in the key but
in its use: evidence is kept only from a run whose preamble succeeded, and reused only in one whose
preamble succeeded (after a failed preamble no step runs, in either mode).
"""

import hashlib
import json
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Mapping

from harness.contract import grammar, reference
from harness.contract.catalog import Catalog
from harness.contract.config import ProxyConfig, split_key_name
from harness.contract.plan import Plan
from harness.preamble import interface
from harness.scenarios.model import DOCKERFILE_STAGE, dockerfile_stage, step_name

KEY_VERSION = 3
ANY_ROUTE = None  # StepKey.routes for a step whose key holds every route: any route it hits was in its key
OCI_PING = "oci-ping"  # the gateway's route name for the registry version check (harness/stack/gateway.py)


def digest(data) -> str:
    """SHA-256 of the canonical JSON of `data` (bytes as their own SHA-256, dataclasses as dicts)."""
    def default(value):
        if isinstance(value, bytes):
            return {"sha256": hashlib.sha256(value).hexdigest()}
        if is_dataclass(value):
            return asdict(value)
        if isinstance(value, (set, frozenset)):
            return sorted(value)
        raise TypeError(f"not part of a step key: {type(value).__name__}")

    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=default)
    return hashlib.sha256(text.encode()).hexdigest()


def files_digest(files: Mapping[str, bytes] | tuple) -> str:
    """A tree of files (path -> bytes, or (path, bytes) pairs) by path and content."""
    items = files.items() if isinstance(files, Mapping) else files
    return digest(sorted((str(path), data) for path, data in items))


def directory_digest(directory: Path) -> str:
    return files_digest({path.as_posix(): data for path, data in interface.files(directory).items()})


@dataclass(frozen=True)
class RunInputs:
    """What every step key of one run shares: the preamble, the images, the projects."""

    preamble: str  # directory_digest of the preamble directory
    images: tuple[tuple[str, str], ...]  # image name -> its tag (a hash of its inputs)
    projects: tuple[tuple[str, str], ...]  # shared project directory -> files_digest
    dockerfiles: str  # directory_digest of fixtures/dockerfiles
    choreo_registry: str

    @classmethod
    def collect(cls, catalog: Catalog, preamble_dir: Path, projects: Mapping[str, Mapping[str, bytes]],
                image_tags: Mapping[str, str], dockerfiles_dir: Path) -> "RunInputs":
        return cls(directory_digest(preamble_dir), tuple(sorted(image_tags.items())),
                   tuple(sorted((name, files_digest(tree)) for name, tree in projects.items())),
                   directory_digest(dockerfiles_dir) if dockerfiles_dir.is_dir() else "",
                   catalog.registries["choreo"].prefixes[0])


@dataclass(frozen=True)
class StepKey:
    """One step's key, and the gateway routes its key holds (ANY_ROUTE: all of them)."""

    step: str
    key: str
    group: str
    routes: frozenset[str] | None


@dataclass(frozen=True)
class StepContext:
    """What a scenario's steps are keyed from: the build's configuration and its plan for the strategy, and
    what the mirrors serve (routes from the configuration the mirrors were given, which differs from the
    build's when a scenario's mirrors accept another configuration's credentials)."""

    strategy: str
    config: ProxyConfig  # what the build reads
    planned: Plan  # the build's plan for the strategy
    routes: tuple  # gateway.Route of what the mirrors serve
    mirror_hosts: tuple[str, ...]
    enforce_auth: bool
    environment: Mapping[str, str]  # the builder's environment for the preamble (steps.BUILDER_ENVIRONMENT)
    own_project: tuple[tuple[str, bytes], ...] = ()  # the scenario's own project files


def _group(step: dict) -> str:
    if "pull" in step or "dockerfile" in step:
        return "oci"
    if "project" in step:
        return f"manager:{step['manager']}"
    return "fetch"


def _entries(config: ProxyConfig, strategy: str, bare_names) -> dict[str, bytes | None]:
    """The bytes of every entry named like one of `bare_names`, globally or scoped to `strategy`."""
    wanted = {name for name in bare_names if name}
    out = {}
    for name, entry in config.entries.items():
        scope, bare = split_key_name(name)
        if bare in wanted and scope in (None, strategy):
            out[name] = entry.raw
    return out


def _route(route) -> dict:
    """Every field of a gateway route (so a field added to gateway.Route is an input too), its credentials as
    hashes."""
    data = asdict(route)
    data["users"] = [(user.encode(), password.encode()) for user, password in route.users]
    data["token"] = route.token.encode() if route.token else None
    return data


def _overlaps(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a)


def _routes_at(context: StepContext, host: str, port: int, path: str) -> tuple[dict, set[str]]:
    """The routes that can answer requests under `path` on host:port, and their names (see the docstring)."""
    on_host = [r for r in context.routes if (r.host, r.port) == (host.lower(), port)]
    used = [r for r in on_host if any(_overlaps(location.path, path) for location in r.locations)]
    names = {r.key for r in used}
    described = {"served": host.lower() in context.mirror_hosts, "routes": sorted((_route(r) for r in used), key=digest)}
    oci = [r for r in on_host if r.protocol == "oci"]
    if oci and _overlaps("/v2/", path):  # the gateway answers the registry version check on every OCI host
        described["ping"] = sorted({(u.encode(), p.encode()) for r in oci for u, p in r.users}, key=digest)
        names.add(OCI_PING)
    return described, names


def _served(context: StepContext, hosts) -> dict[str, bool]:
    return {host: host in context.mirror_hosts for host in sorted(set(hosts))}


def _common(run: RunInputs, context: StepContext) -> dict:
    planned, config = context.planned, context.config
    outside = sorted(set(planned.ignored_keys) | set(planned.shadowed_keys))
    return {"version": KEY_VERSION, "preamble": run.preamble, "images": run.images, "choreo": run.choreo_registry,
            "strategy": context.strategy, "environment": dict(context.environment),
            "outside_slices": {name: config.entries[name].raw for name in outside if name in config.entries},
            "problems": planned.problems, "dockerhub_login": planned.dockerhub_login,
            "enforce_auth": context.enforce_auth}


def _project_files(run: RunInputs, context: StepContext, step: dict) -> str:
    directory = step.get("dir", step["project"])
    shared = dict(run.projects)
    return shared[directory] if directory in shared else files_digest(context.own_project)


def _package(catalog: Catalog, run: RunInputs, context: StepContext, step: dict) -> tuple[dict, set[str]]:
    manager = step["manager"]
    key = catalog.keys.get(f"pkg-{manager}-url")
    package = context.planned.packages.get(manager)
    slice_ = {"files": _project_files(run, context, step), "plan": package}
    if key is None:
        return slice_, set()
    slice_["entries"] = _entries(context.config, context.strategy, _family(key))
    found = context.config.lookup(key.name, context.strategy)
    target = grammar.split_package_url(found.value) if found else None
    if target is not None:
        slice_["mirror"], names = _routes_at(context, target.host, target.port, target.path or "/")
    else:
        names = set()
    public = catalog.managers.get(manager)
    if public is not None:
        slice_["public"] = _served(context, [*public.endpoints, *(d.host for d in public.unredirectable)])
    for other in _sharing_handoff(catalog, context.strategy, manager):
        slice_.setdefault("shared_handoff", {})[other] = {
            "plan": context.planned.packages.get(other),
            "entries": _entries(context.config, context.strategy, _family(catalog.keys[f"pkg-{other}-url"]))}
    return slice_, names


def _family(key) -> tuple:
    """A URL key and the credential keys read with it (None where it has none)."""
    return key.name, key.username, key.password, key.token


def _sharing_handoff(catalog: Catalog, strategy: str, manager: str) -> list[str]:
    """The other managers whose hand-off to the build command sets a variable this one's also sets (the profile's
    handoff: GOOGLE_BUILD_ARGS of Maven and Gradle on pack build, of which the build keeps one): the step's
    evidence can depend on their keys too."""
    handoff = catalog.strategies[strategy].handoff
    if handoff is None:
        return []
    variables = {m: {i.target for i in items if i.how == "env"} for m, items in handoff.managers.items()}
    mine = variables.get(manager, set())
    return sorted(m for m, names in variables.items()
                  if m != manager and names & mine and f"pkg-{m}-url" in catalog.keys)


def _parsed(text: str | None):
    try:
        return reference.parse(text) if text else None
    except reference.ReferenceError:
        return None


def _pull(catalog: Catalog, context: StepContext, name: str) -> tuple[dict, set[str]]:
    planned, strategy = context.planned, catalog.strategies[context.strategy]
    image = planned.images.get(name)
    if image is None:
        return {"image": None}, set()
    ref = None if image.error else _parsed(image.resolved)
    # every registry one of whose prefixes the reference matches: registries.conf may send it to its mirror
    owners = [r for r in catalog.registries.values()
              if ref and any(reference.matches_prefix(ref, prefix) for prefix in r.prefixes)]
    targets = [ref] if ref else []
    for owner in owners:
        mirror = context.config.lookup(owner.mirror_key, context.strategy) if owner.id in planned.mirrors else None
        try:
            targets.append(reference.rewrite_to_mirror(ref, mirror.value))
        except (reference.ReferenceError, AttributeError):
            pass
    domains = {target.domain for target in targets}
    registries = {image.registry} | {owner.id for owner in owners}
    registries |= {rid for rid, m in planned.mirrors.items() if m["url"].split("/", 1)[0] in domains}
    keys = [catalog.keys[catalog.registries[rid].mirror_key] for rid in registries if rid in catalog.registries]
    override = strategy.images[name].override if name in strategy.images else None
    slice_: dict = {
        "image": image,
        "mirrors": {rid: planned.mirrors.get(rid) for rid in sorted(registries)},
        "entries": _entries(context.config, context.strategy,
                            [*(n for k in keys for n in _family(k)), override]),
        "logins": [login for login in planned.logins if login["registry"].split("/", 1)[0] in domains],
        "targets": [],
    }
    routes: set[str] = set()
    for target in targets:
        host, _, port = target.domain.partition(":")
        described, names = _routes_at(context, host, int(port) if port.isdigit() else 443, f"/v2/{target.path}/")
        slice_["targets"].append({"ref": str(target), **described})
        routes |= names
    slice_["public"] = _served(context, [t.domain.partition(":")[0] for t in targets]
                               + [host for owner in owners for host in owner.endpoints])
    return slice_, routes


def _dockerfile(run: RunInputs, context: StepContext) -> dict:
    return {"files": run.dockerfiles, "plan": context.planned.to_json(),
            "entries": {name: entry.raw for name, entry in context.config.entries.items()},
            "routes": sorted((_route(r) for r in context.routes), key=digest), "mirror_hosts": list(context.mirror_hosts)}


def step_keys(catalog: Catalog, run: RunInputs, context: StepContext, steps: list[dict],
              commands: list[str]) -> list[StepKey | None]:
    """Each step's key (in recipe order; `commands`: each step's shell command, steps.step_command); None for
    a step that is never reused (a name given twice)."""
    common = digest(_common(run, context))
    names = [step_name(step) for step in steps]
    chains: dict[str, list[str]] = {}
    keys: list[StepKey | None] = []
    for step, name, command in zip(steps, names, commands, strict=True):
        routes: set[str] | None
        if "project" in step:
            own, routes = _package(catalog, run, context, step)
            if dockerfile_stage(catalog, context.strategy):  # a RUN of a podman build: FROM its stage image
                own["stage"], stage_routes = _pull(catalog, context, DOCKERFILE_STAGE)
                routes |= stage_routes
        elif "pull" in step:
            own, routes = _pull(catalog, context, step["pull"])
        elif "fetch" in step:
            host = step["fetch"].split("/")[2].split(":")[0]
            own, routes = {"public": _served(context, [host])}, set()
        else:
            own, routes = _dockerfile(run, context), ANY_ROUTE
            if "context" in step:  # a customer's Dockerfile: its project's files, not the fixtures'
                own["files"] = files_digest(context.own_project)
        group = _group(step)
        before = chains.setdefault(group, [])
        key = digest({"common": common, "step": step, "command": command, "inputs": own, "after": before})
        before.append(key)
        keys.append(None if names.count(name) > 1 else
                    StepKey(name, key, group, None if routes is ANY_ROUTE else frozenset(routes)))
    return keys
