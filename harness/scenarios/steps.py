"""Run a scenario: the strategy's preamble and recipe in a builder on the air-gap stack, judged by evidence.

The whole build is one shell script so that it behaves like a build step: the preamble is sourced, then
every recipe step runs (after a failure too, so one run shows everything that tried to leave). Each step
prints a marker with its start time; trap events and mirror hits are attributed to the step whose window
holds them.
"""

import functools
import re
import shlex
import tempfile
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path

import yaml

from harness.contract.catalog import Catalog
from harness.contract.config import read_config
from harness.infra.errors import UsageError, UserError
from harness.preamble import interface
from harness.scenarios.model import Scenario, own_project_steps, step_name
from harness.infra import paths
from harness.stack.configuration import empty_plan

PREAMBLE_IN_BUILDER = "/opt/preamble"
PROJECTS_IN_BUILDER = "/work/projects"
STEP_MARK = "::airgap-step"
IMAGE_MARK = "::airgap-image"
REPORT_MARK = "::airgap-report"
_REPORT_IN_BUILDER = f"${{{interface.STATE_DIR}:-$HOME/{interface.DEFAULT_STATE_DIR}}}/{interface.REPORT_FILE}"
# After the steps: every image variable the preamble exported, and its report.tsv (key names only), each line
# marked; the script's status is whether every step succeeded.
IMAGE_REPORT = (f'\nfor v in $(compgen -v {interface.IMAGE_VARIABLE_PREFIX}); do echo "{IMAGE_MARK} $v=${{!v}}"; done\n'
                f'r="{_REPORT_IN_BUILDER}"; if [ -f "$r" ]; then while IFS= read -r line; do '
                f'printf \'%s\\t%s\\n\' "{REPORT_MARK}" "$line"; done <"$r"; fi\n'
                '[ -z "$failed" ]\n')
# The environment the preamble gets in a builder (interface.Environment): its HOME, the mount point as the
# proxy-config directory, CHOREO_REGISTRY from the stack; the platform's Docker Hub login, performed with skopeo
# (podman needs a privileged builder for its own login).
BUILDER_ENVIRONMENT = interface.Environment(home=None, dockerhub_login=("platform-robot", "platform-robot-secret"),
                                            dry_run_login=False, login_command="skopeo")
PLATFORM_LOGIN_ENV = BUILDER_ENVIRONMENT.variables()


@functools.lru_cache(maxsize=1)
def _recipe_data() -> dict:
    return yaml.safe_load(resources.files("harness.scenarios").joinpath("recipes.yaml").read_text())


def expand(steps: list[dict]) -> list[dict]:
    """Steps with each shared project step's manager, directory and command filled in from its project entry;
    a scenario's own project step (with `run`, scenario_schema.yaml) carries them already."""
    projects = _recipe_data()["projects"]
    out = []
    for step in steps:
        if "project" in step and "run" not in step and step["project"] not in projects:
            raise UserError(f"recipe step {step}: no project {step['project']!r} in harness/scenarios/recipes.yaml")
        if "run" in step and step["project"] in projects:
            raise UserError(f"recipe step {step}: a scenario's own project may not take the name of the shared "
                            f"project {step['project']!r} of harness/scenarios/recipes.yaml")
        if "run" in step and "dir" in step and step["dir"] not in projects:
            raise UserError(f"recipe step {step}: dir {step['dir']!r} is not a project of harness/scenarios/recipes.yaml")
        shared = "project" in step and "run" not in step
        out.append({**step, **projects[step["project"]]} if shared else dict(step))
    return out


def own_project_files(scenario: Scenario) -> dict[str, bytes]:
    """The scenario's own project (scenarios/<name>/project/ or project.yaml) where each step that runs it
    looks for it: the builder's projects directory under the step's project name."""
    return {f"{PROJECTS_IN_BUILDER}/{step['project']}/{path}": data
            for step in own_project_steps(scenario.recipe) for path, data in scenario.project}


@functools.lru_cache(maxsize=1)
def recipes() -> dict:
    """Each strategy's steps, expanded."""
    return {strategy: expand(steps) for strategy, steps in _recipe_data()["recipes"].items()}


def _step_command(step: dict) -> str:
    if "pull" in step:
        variable = interface.image_variable(step["pull"])
        return f'skopeo copy --retry-times 0 "docker://${{{variable}}}" "oci:/tmp/images/{step["pull"]}"'
    if "project" in step:
        return f"cd {PROJECTS_IN_BUILDER}/{step.get('dir', step['project'])} && {step['run']}"
    if "fetch" in step:
        return f"curl -fsS --max-time 20 -o /dev/null {shlex.quote(step['fetch'])}"
    return (f"podman --storage-driver vfs build --isolation chroot --pull=always "
            f"-f {PROJECTS_IN_BUILDER}/dockerfiles/{step['dockerfile']} {PROJECTS_IN_BUILDER}/dockerfiles")


def build_script(strategy: str, steps: list[dict]) -> str:
    """The build step: source the preamble, then run every step and report which ones failed."""
    lines = [
        "exec 2>&1",  # one stream: each step's errors print under its marker, in order
        "mark() { printf '\\n%s %s %s\\n' '" + STEP_MARK + "' \"$1\" \"$(date +%s.%N)\"; }",
        "failed=''",
        "mark preamble",
        f"if ! source {PREAMBLE_IN_BUILDER}/{strategy}.sh; then printf '\\n::airgap-failed preamble\\n'; exit 90; fi",
        "mkdir -p /tmp/images",
    ]
    for step in steps:
        name = step_name(step)
        lines.append(f"mark {shlex.quote(name)}")
        lines.append(f"( {_step_command(step)} ) || {{ printf '\\n::airgap-failed %s\\n' {shlex.quote(name)}; failed=\"$failed {name}\"; }}")
    lines.append("mark end")
    return "\n".join(lines) + "\n"


def _files_under(directory: Path, target: str) -> dict[str, bytes]:
    return {f"{target}/{p.relative_to(directory)}": p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def check_preamble(preamble_dir: Path, strategies) -> None:
    """Stop before any stack starts when --preamble is not a preamble for these strategies."""
    missing = sorted(f"{s}.sh" for s in set(strategies) if not (preamble_dir / f"{s}.sh").is_file())
    if not (preamble_dir / "lib").is_dir() or missing:
        raise UsageError(f"--preamble {preamble_dir}: not a preamble directory (it needs lib/ and "
                         f"{', '.join(missing) or 'an entry per strategy'})")


def builder_files(preamble_dir: Path, projects: dict[str, dict[str, bytes]]) -> dict[str, bytes]:
    check_preamble(preamble_dir, ())
    files = _files_under(preamble_dir, PREAMBLE_IN_BUILDER)
    for ecosystem, tree in projects.items():
        files.update({f"{PROJECTS_IN_BUILDER}/{ecosystem}/{path}": data for path, data in tree.items()})
    files.update(_files_under(paths.fixtures_dir() / "dockerfiles", f"{PROJECTS_IN_BUILDER}/dockerfiles"))
    return files


@dataclass
class Egress:
    destination: str
    step: str
    command: str
    covered_by: str | None
    kind: str  # dns | tcp
    time: float
    ip: str | None = None
    port: int | None = None
    protocol: str | None = None


@dataclass
class Outcome:
    scenario: str
    strategy: str
    build: str  # succeeded | failed
    failed_steps: list[str]
    egress: list[Egress]
    mirror_hits: list[dict]
    resolved_images: dict[str, str]
    output: str
    problems: list[str] = field(default_factory=list)  # unmet expectations; empty means the scenario passed
    seconds: float = 0.0
    preamble_report: list[dict] = field(default_factory=list)  # its report.tsv (interface.ReportRecord), key names only

    @property
    def passed(self) -> bool:
        return not self.problems

    def to_json(self) -> dict:
        data = asdict(self)
        data["passed"] = self.passed
        return data


def _windows(output: str) -> list[tuple[str, float]]:
    marks = re.findall(rf"^{re.escape(STEP_MARK)} (\S+) ([0-9.]+)$", output, re.M)
    return [(name, float(ts)) for name, ts in marks]


def _step_at(windows: list[tuple[str, float]], ts: float) -> str:
    current = "preamble"
    for name, start in windows:
        if ts + 0.002 >= start:  # log times have millisecond resolution
            current = name
    return current


def covering_keys(catalog: Catalog, strategy: str) -> dict[str, str | None]:
    """Public host -> the key that would redirect it for this strategy (None: no key covers this)."""
    return {d["host"]: d["covered_by"] for d in empty_plan(catalog, strategy).public}


def scenario_steps(scenario: Scenario) -> list[dict]:
    """The steps a scenario runs: its own recipe, else its strategy's."""
    return expand(list(scenario.recipe)) if scenario.recipe else recipes()[scenario.strategy]


def judge(scenario: Scenario, outcome: Outcome) -> list[str]:
    """Every expectation the outcome misses, in words for a failure report."""
    expect, problems = scenario.expect, []
    wanted = {"succeeds": "succeeded", "fails": "failed"}.get(expect.build)  # any: not judged
    if wanted and outcome.build != wanted:
        problems.append(f"build {outcome.build}, expected it to {expect.build[:-1]} "
                        f"(failed steps: {', '.join(outcome.failed_steps) or 'none'})")
    if expect.failing_step is not None and (outcome.failed_steps[:1] != [expect.failing_step]):
        problems.append(f"first failing step is {outcome.failed_steps[:1] or 'none'}, expected {expect.failing_step}")
    if expect.failing_steps is not None and outcome.failed_steps != list(expect.failing_steps):
        problems.append(f"failing steps are {outcome.failed_steps or 'none'}, expected "
                        f"{list(expect.failing_steps) or 'none'}")
    if expect.message is not None and not re.search(expect.message, outcome.output):
        problems.append(f"build output does not match {expect.message!r}")
    allowed = set(expect.egress)
    for event in outcome.egress:
        if event.destination not in allowed:
            problems.append(f"unexpected egress to {event.destination} ({event.kind}) in step {event.step}: "
                            f"{event.command} [{event.covered_by or 'no key covers this'}]")
    seen = {e.destination for e in outcome.egress}
    for group in expect.egress_required:
        hosts = [group] if isinstance(group, str) else group
        if not seen & set(hosts):
            problems.append(f"expected the trap to see {' or '.join(hosts)}, it did not")
    for hit in expect.mirror_hits:
        matching = [h for h in outcome.mirror_hits if h["route"] == hit.route and (h["status"] < 400)]
        if hit.auth is not None:
            matching = [h for h in matching if h["auth"] == hit.auth]
        if not matching:
            problems.append(f"no successful mirror hit on route {hit.route}" + (f" with {hit.auth} auth" if hit.auth else ""))
    for route in expect.no_mirror_hits:
        if any(h["route"] == route for h in outcome.mirror_hits):
            problems.append(f"route {route} was hit, expected none")
    for image, reference in expect.images:
        if outcome.resolved_images.get(image) != reference:
            problems.append(f"image {image} resolved to {outcome.resolved_images.get(image)!r}, expected {reference!r}")
    return list(dict.fromkeys(problems))


def run_scenario(stack, scenario: Scenario, catalog: Catalog, preamble_dir: Path, projects: dict) -> Outcome:
    steps = scenario_steps(scenario)
    commands = {step_name(s): _step_command(s) for s in steps}
    commands["preamble"] = f"source {PREAMBLE_IN_BUILDER}/{scenario.strategy}.sh"
    with tempfile.TemporaryDirectory(prefix="airgap-scenario-") as tmp:
        config_dir = scenario.config.materialize(Path(tmp) / "proxy-config")
        config = read_config(config_dir)  # read once: the mirrors, the mount and the secrets all come from it
        files, environment = builder_files(preamble_dir, projects), BUILDER_ENVIRONMENT
        files.update(own_project_files(scenario))
        mirrored, mounted = config, config  # what the mirrors serve, what the build reads
        if scenario.accept_from:
            # The mirrors take the other configuration's credentials; the build reads its own from a copy
            # (PROXY_CONFIG_DIR), since mounting it would reconfigure the mirrors with them.
            mirrored = read_config(scenario.accept_from.materialize(Path(tmp) / "accepted"))
            files.update({f"/tmp/proxy-config/{p.name}": p.read_bytes() for p in config_dir.iterdir()})
            environment, mounted = replace(environment, proxy_config_dir="/tmp/proxy-config"), None
        stack.configure(mirrored, stack.plan(mirrored), enforce_auth=scenario.require_credentials)  # planned once
        script = build_script(scenario.strategy, steps) + IMAGE_REPORT
        result = stack.run(f"bash -c {shlex.quote(script)}", mount=mounted, env=environment.variables(), files=files)
        secrets = secret_values(catalog, config)
    leaked = [name for name, value in secrets.items() if value in result.output]
    output = mask(result.output, secrets)
    windows = _windows(output)
    covering = covering_keys(catalog, scenario.strategy)
    evidence = stack.evidence(since=result.started, client=result.address)
    served = set(stack.mirror_hosts)  # names the run's DNS answers with the mirror gateway
    egress = []
    for event in evidence.trap_events:
        host = event.host or event.dst_ip or "?"
        if event.kind == "dns" and host in served:
            continue  # e.g. the AAAA query for a mirror name: answered inside the run, nothing left
        step = _step_at(windows, event.ts)
        egress.append(Egress(host, step, commands.get(step, step), covering.get(host), event.kind, event.ts,
                             event.dst_ip, event.dst_port, event.protocol))
    failed = re.findall(r"^::airgap-failed (\S+)$", output, re.M)
    images = dict(re.findall(rf"^{re.escape(IMAGE_MARK)} ({interface.IMAGE_VARIABLE_PREFIX}\S+?)=(.*)$", output, re.M))
    resolved = {name: images.get(interface.image_variable(name), "")
                for name in catalog.strategies[scenario.strategy].images}
    report = interface.parse_report("\n".join(re.findall(rf"^{re.escape(REPORT_MARK)}\t(.*)$", output, re.M)), [])
    hits = [{"kind": h.backend, "route": h.route, "host": h.host, "path": h.path, "status": h.status, "auth": h.auth,
             "user": h.user, "step": _step_at(windows, h.ts)} for h in evidence.mirror_hits]
    outcome = Outcome(scenario.name, scenario.strategy, "succeeded" if result.ok else "failed", failed, egress, hits,
                      resolved, output, seconds=result.finished - result.started,
                      preamble_report=[asdict(record) for record in report])
    outcome.problems = judge(scenario, outcome) + [f"the build printed the secret held in {name}" for name in leaked]
    return outcome


def secret_values(catalog: Catalog, config) -> dict[str, str]:
    """Password and token file -> value, for the values long enough to search for in the output."""
    secret_keys = {k for key in catalog.keys.values() for k in (key.password, key.token) if k}
    values = {}
    for name, entry in config.entries.items():
        if name.split(".", 1)[-1] in secret_keys and entry.value and len(entry.value) >= 6:
            values[name] = entry.value
    return values


def mask(text: str, secrets: dict[str, str]) -> str:
    for name, value in sorted(secrets.items(), key=lambda item: -len(item[1])):
        text = text.replace(value, f"<{name}>")
    return text
