"""Run a scenario: the strategy's preamble and recipe in a builder on the air-gap stack, judged by evidence.

The whole build is one shell script so that it behaves like a build step: the preamble is sourced, then
every recipe step runs (after a failure too, so one run shows everything that tried to leave). Each step
prints a marker with its start time; trap events and mirror hits are attributed to the step whose window
holds them.
"""

import re
import shlex
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path


from harness.contract.catalog import Catalog
from harness.customer.project import scrub
from harness.contract.config import read_config
from harness.infra.errors import UsageError
from harness.preamble import interface
from harness.scenarios import argv, causes
from harness.scenarios.model import (Scenario, dockerfile_stage, own_project_dir, own_project_steps, scenario_steps,
                                     step_kind, step_name)
from harness.infra import paths
from harness.stack.configuration import empty_plan

PREAMBLE_IN_BUILDER = "/opt/preamble"
PROJECTS_IN_BUILDER = "/work/projects"
STEP_MARK = "::airgap-step"
IMAGE_MARK = "::airgap-image"
REPORT_MARK = "::airgap-report"
# Each step marker is followed by a DNS query for `m<N>.` + STEP_PROBE_DOMAIN (N: the marker's place in the
# script), which the trap logs like any query. The trap logs DNS queries as its DNS server reports them, in
# the order they came but possibly late; so a DNS event belongs to the step whose probe precedes it in the
# log, whatever its time. (A TCP event is logged before the trap answers, so within its step's window.)
STEP_PROBE_DOMAIN = "airgap-step.invalid"
REUSED_MARK = "::airgap-reused-from"  # in a step's output taken from another scenario: SCENARIO STEP
_STATE_IN_BUILDER = f"${{{interface.STATE_DIR}:-$HOME/{interface.DEFAULT_STATE_DIR}}}"
_REPORT_IN_BUILDER = f"{_STATE_IN_BUILDER}/{interface.REPORT_FILE}"
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


def own_project_files(scenario: Scenario) -> dict[str, bytes]:
    """The scenario's own project (scenarios/<name>/project/ or project.yaml) where each step that runs it
    looks for it: the builder's projects directory under the step's project name."""
    return {f"{PROJECTS_IN_BUILDER}/{own_project_dir(step)}/{path}": data
            for step in own_project_steps(scenario.recipe) for path, data in scenario.project}


HANDOFF_IN_BUILDER = "/opt/airgap/handoff.sh"  # harness/scenarios/handoff.sh: the build's side of the hand-off
# How a step runs under each build command (the profile's handoff.command, handoff.sh): a package or download
# step of a pack build runs as the buildpacks' build user; a package step of a podman build is a RUN of the
# component's Dockerfile, built by podman FROM the build stage's image (model.dockerfile_stage). Pulls stand for
# the build command's own pulls, a dockerfile step is one.
HANDOFF_RUNNERS = {"pack build": {"project": "airgap_build_user", "fetch": "airgap_build_user"},
                   "podman build": {"project": "airgap_podman_build"}}


def handoff_command(catalog: Catalog, strategy: str) -> str | None:
    """The build command the strategy's configuration is handed to (the profile's handoff.command), if any."""
    handoff = catalog.strategies[strategy].handoff
    return handoff.command if handoff else None


def step_command(step: dict, handoff: str | None = None) -> str:
    """The shell command of one recipe step, run as the strategy's build command `handoff` runs it."""
    runner = HANDOFF_RUNNERS.get(handoff or "", {}).get(step_kind(step))
    command = _bare_command(step)
    return f"{runner} {shlex.quote(command)}" if runner else command


def _project_dir(step: dict) -> str:
    """Where a project step runs in the builder: its shared project's directory (`dir`), else its own."""
    return f"{PROJECTS_IN_BUILDER}/{step.get('dir', step['project'])}"


def _bare_command(step: dict) -> str:
    if "pull" in step:
        variable = interface.image_variable(step["pull"])
        return f'skopeo copy --retry-times 0 "docker://${{{variable}}}" "oci:/tmp/images/{step["pull"]}"'
    if "project" in step:
        return f"cd {_project_dir(step)} && {step['run']}"
    if "fetch" in step:
        return f"curl -fsS --max-time 20 -o /dev/null {shlex.quote(step['fetch'])}"
    context = f"{PROJECTS_IN_BUILDER}/{step.get('context', 'dockerfiles')}"  # context: a customer's project
    return (f"podman --storage-driver vfs build --isolation chroot --pull=always "
            f"-f {context}/{step.get('file', step['dockerfile'])} {context}")


def build_script(strategy: str, steps: list[dict], handoff: str | None = None,
                 stage: tuple[str, str] | None = None) -> str:
    """The build step: source the preamble, hand its hand-off to the build as `handoff` (the strategy's build
    command) takes it, then run every step and report which ones failed. `stage`: the build argument and default
    image of a podman build's stage (model.dockerfile_stage)."""
    lines = [
        "exec 2>&1",  # one stream: each step's errors print under its marker, in order
        argv.start_command(),  # records every process's arguments until argv.report_command() (argv.py)
        "mark() { printf '\\n%s %s %s\\n' '" + STEP_MARK + "' \"$1\" \"$(date +%s.%N)\"; "
        f"getent ahostsv4 \"m$2.{STEP_PROBE_DOMAIN}\" >/dev/null 2>&1 || :; }}",
        "failed=''",
        f"source {HANDOFF_IN_BUILDER} || exit 91",
        "mark preamble 0",
    ]
    if handoff == "pack build":
        # the preamble learns whom it hands off to (pack's build user), so that the build can read what it gets
        lines.append(f"export {interface.BUILD_USER}=\"$(id -u \"$AIRGAP_BUILD_USER\"):$(id -g \"$AIRGAP_BUILD_USER\")\" "
                     f"{interface.BUILD_HOME}=\"$AIRGAP_BUILD_HOME\"")
    sources = dict.fromkeys(_project_dir(step) for step in steps if "project" in step)
    if sources:  # the components the steps build, for a preamble that edits their files (interface.SOURCE_DIRS)
        lines.append(f"export {interface.SOURCE_DIRS}={shlex.quote(':'.join(sources))}")
    if stage:
        lines.append(f"AIRGAP_STAGE_ARG={shlex.quote(stage[0])} AIRGAP_STAGE_DEFAULT={shlex.quote(stage[1])} "
                     f"AIRGAP_PROJECTS={PROJECTS_IN_BUILDER}")
    lines += [
        f"if ! source {PREAMBLE_IN_BUILDER}/{strategy}.sh; then printf '\\n::airgap-failed preamble\\n'; "
        f"{argv.report_command()}; exit 90; fi",
        # the source as the build sees it, after the preamble's edits: pack copies it into the build user's workspace
        *([f"chown -R \"$AIRGAP_BUILD_USER:\" {PROJECTS_IN_BUILDER}"] if handoff == "pack build" else []),
        f"if ! airgap_handoff {shlex.quote(handoff or '')} \"{_STATE_IN_BUILDER}\"; then "
        f"printf '\\n::airgap-failed handoff\\n'; {argv.report_command()}; exit 90; fi",
        "mkdir -p /tmp/images",
    ]
    for index, step in enumerate(steps, 1):
        name = step_name(step)
        lines.append(f"mark {shlex.quote(name)} {index}")
        lines.append(f"( {step_command(step, handoff)} ) || {{ printf '\\n::airgap-failed %s\\n' {shlex.quote(name)}; failed=\"$failed {name}\"; }}")
    lines.append(f"mark end {len(steps) + 1}")
    lines.append(argv.report_command())
    return "\n".join(lines) + "\n"


def _files_under(directory: Path, target: str) -> dict[str, bytes]:
    return {f"{target}/{path}": data for path, data in interface.files(directory).items()}


def check_preamble(preamble_dir: Path, strategies) -> None:
    """Stop before any stack starts when --preamble is not a preamble for these strategies."""
    missing = sorted(f"{s}.sh" for s in set(strategies) if not (preamble_dir / f"{s}.sh").is_file())
    if not (preamble_dir / "lib").is_dir() or missing:
        raise UsageError(f"--preamble {preamble_dir}: not a preamble directory (it needs lib/ and "
                         f"{', '.join(missing) or 'an entry per strategy'})")


def builder_files(preamble_dir: Path, projects: dict[str, dict[str, bytes]]) -> dict[str, bytes]:
    check_preamble(preamble_dir, ())
    files = _files_under(preamble_dir, PREAMBLE_IN_BUILDER)
    # The harness's catalog as bash, where a preamble beside the reference one reads it in the checkout
    # (../lib/catalog.sh: preamble/platform/adapter.sh).
    files[f"{Path(PREAMBLE_IN_BUILDER).parent}/{interface.CATALOG_FILE}"] = (paths.preamble_dir() / interface.CATALOG_FILE).read_bytes()
    files[HANDOFF_IN_BUILDER] = Path(__file__).with_name("handoff.sh").read_bytes()
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
    reused_from: dict | None = None  # {scenario, step} whose evidence this is, when the step was not run again
    path: str | None = None  # the HTTP request path (plain HTTP only; TLS hides it), without its query
    manager: str | None = None  # the step's package manager (recipes.yaml): what causes.explain matches on


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
    reused: dict[str, dict] = field(default_factory=dict)  # step -> {scenario, step} it took its evidence from
    step_keys: dict[str, str] = field(default_factory=dict)  # step -> its input key (step_keys.py), when computed
    finding: dict | None = None  # the scenario's finding (model.Finding.to_json): what its failure means
    argv_secrets: list[dict] = field(default_factory=list)  # argv.exposures: secrets seen in process arguments
    project: dict | None = None  # a customer's project it built (CustomerProject.summary): stand-ins, rewritten files

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


def _dns_steps(events, marks: list[str]) -> dict[int, str]:
    """Each DNS event (by its place in `events`, the trap's log order) -> the step whose probe query came last
    before it; `marks`: the script's markers in order (preamble, its steps, end). Probes are left out."""
    steps, current = {}, "preamble"
    probe = re.compile(rf"m(\d+)\.{re.escape(STEP_PROBE_DOMAIN)}\.?")
    for place, event in enumerate(events):
        if event.kind != "dns":
            continue
        found = probe.fullmatch(event.name or "")
        if found:
            current = marks[int(found[1])] if int(found[1]) < len(marks) else current
            continue
        steps[place] = current
    return steps


PROBE_WAIT_S = 5.0  # how long the evidence may wait for the trap to log the build's last probe


def _evidence(stack, result, marks: int):
    """The build's evidence, once the trap has logged the probe of its last marker (so every DNS query before
    it too), or after PROBE_WAIT_S; at once when the trap logged no probe at all."""
    deadline, last = time.monotonic() + PROBE_WAIT_S, f"m{marks - 1}.{STEP_PROBE_DOMAIN}"
    while True:
        evidence = stack.evidence(since=result.started, client=result.address)
        probes = {(e.name or "").rstrip(".") for e in evidence.trap_events if _is_probe(e)}
        if not probes or last in probes or time.monotonic() > deadline:
            return evidence
        time.sleep(0.1)


def _is_probe(event) -> bool:
    return event.kind == "dns" and (event.name or "").rstrip(".").endswith("." + STEP_PROBE_DOMAIN)


def _step_at(windows: list[tuple[str, float]], ts: float) -> str:
    current = "preamble"
    for name, start in windows:
        if ts + 0.002 >= start:  # log times have millisecond resolution
            current = name
    return current


def covering_keys(catalog: Catalog, strategy: str) -> dict[str, str | None]:
    """Public host -> the key that would redirect it for this strategy (None: no key covers this)."""
    return {d["host"]: d["covered_by"] for d in empty_plan(catalog, strategy).public}


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
    problems += causes.leak_problems(scenario.leak and scenario.leak.cause, expect.egress, outcome.egress)
    return list(dict.fromkeys(problems))


def _sections(output: str) -> list[tuple[str | None, str]]:
    """The build output cut at each step marker: (step, its text from its marker up to the next); the text
    before the first marker has no step. Joined again they are the output."""
    parts = re.split(rf"(?m)^(?={re.escape(STEP_MARK)} )", output)
    return [(re.match(rf"{re.escape(STEP_MARK)} (\S+)", part)[1] if part.startswith(STEP_MARK) else None, part)
            for part in parts if part]


def _reused_section(evidence) -> str:
    """A step's output taken from another scenario: its own text, and a line saying where it comes from."""
    head, newline, rest = evidence.section.partition("\n")
    return f"{head}{newline}{REUSED_MARK} {evidence.scenario} {evidence.step}\n{rest}"


def _in_recipe_order(items: list, step_of, names: list[str]) -> list:
    """Evidence ordered by the step it belongs to (preamble first, then the recipe's order, then the rest)."""
    position = {"preamble": -1}
    for index, name in enumerate(names):
        position.setdefault(name, index)
    return sorted(items, key=lambda item: position.get(step_of(item), len(names)))


def _configurations(scenario: Scenario, tmp: Path):
    """The scenario's configurations, each read once: what the build reads, what the mirrors serve, what is
    mounted (None: the build reads a copy), the builder's environment, and the files of that copy."""
    config_dir = scenario.config.materialize(tmp / "proxy-config")
    config = read_config(config_dir)  # read once: the mirrors, the mount and the secrets all come from it
    if not scenario.accept_from:
        return config, config, config, BUILDER_ENVIRONMENT, {}
    # The mirrors take the other configuration's credentials; the build reads its own from a copy
    # (PROXY_CONFIG_DIR), since mounting it would reconfigure the mirrors with them.
    mirrored = read_config(scenario.accept_from.materialize(tmp / "accepted"))
    copied = {f"/tmp/proxy-config/{p.name}": p.read_bytes() for p in config_dir.iterdir()}
    return config, mirrored, None, replace(BUILDER_ENVIRONMENT, proxy_config_dir="/tmp/proxy-config"), copied


def predicted_keys(catalog: Catalog, scenario: Scenario, run_inputs) -> list:
    """The scenario's step keys (step_keys.StepKey, None for a step never reused) as its run will compute them,
    without a stack: the mirrors' configuration is derived here as the stack derives it (reuse.Schedule
    orders the scenarios by them; tests compare them)."""
    from harness.stack.configuration import MirrorConfig, plans_for

    with tempfile.TemporaryDirectory(prefix="airgap-keys-") as tmp:
        config, mirrored, _, environment, _ = _configurations(scenario, Path(tmp))
        plans = plans_for(catalog, mirrored)
        served = MirrorConfig.derive(catalog, mirrored, plans, scenario.require_credentials,
                                     dict(scenario.not_proxied) or None)
        return scenario_keys(catalog, scenario, scenario_steps(scenario), run_inputs, config, served,
                             None if scenario.accept_from else plans[scenario.strategy], environment.variables())


def run_scenario(stack, scenario: Scenario, catalog: Catalog, preamble_dir: Path, projects: dict,
                 reuse=None) -> Outcome:
    """Run one scenario's build on `stack` and judge it. With `reuse` (reuse.StepReuse), each step is keyed
    (step_keys.py) and the steps whose evidence the run already has are taken from it instead of run."""
    steps = scenario_steps(scenario)
    names = [step_name(s) for s in steps]
    handoff = handoff_command(catalog, scenario.strategy)
    commands = {step_name(s): step_command(s, handoff) for s in steps}
    commands["preamble"] = f"source {PREAMBLE_IN_BUILDER}/{scenario.strategy}.sh"
    managers = {step_name(s): s.get("manager") for s in steps}
    keys, taken = [None] * len(steps), {}
    with tempfile.TemporaryDirectory(prefix="airgap-scenario-") as tmp:
        config, mirrored, mounted, environment, copied = _configurations(scenario, Path(tmp))
        files = builder_files(preamble_dir, projects)
        files.update(own_project_files(scenario))
        files.update(copied)
        served = stack.configure(mirrored, stack.plan(mirrored), enforce_auth=scenario.require_credentials,  # planned once
                                 **({"not_proxied": dict(scenario.not_proxied)} if scenario.not_proxied else {}))
        secrets = secret_values(catalog, config)
        if reuse is not None:
            keys = scenario_keys(catalog, scenario, steps, reuse.run_inputs, config, served,
                                 None if scenario.accept_from else served.plans[scenario.strategy],
                                 environment.variables())
            taken = reuse.choose(keys, served.mirror_hosts, secrets)
        live = [step for index, step in enumerate(steps) if index not in taken]
        script = build_script(scenario.strategy, live, handoff, dockerfile_stage(catalog, scenario.strategy)) + IMAGE_REPORT
        result = stack.run(f"bash -c {shlex.quote(script)}", mount=mounted, env=environment.variables(), files=files)
    processes, stdout = argv.take(result.stdout)  # the recorded arguments leave the output before anything reads it
    result = replace(result, stdout=stdout)
    windows = _windows(result.output)
    if "end" not in {name for name, _ in windows}:
        taken = {}  # the preamble failed (or the build stopped): no step ran, none is taken, as in a full run
    sections = _sections(result.output)
    live_index = iter(i for i in range(len(steps)) if i not in taken)
    placed = []  # (recipe position, text)
    for name, text in sections:
        position = -1 if name in (None, "preamble") else len(steps) if name == "end" else next(live_index, len(steps))
        placed.append((position, text))
    placed += [(index, _reused_section(evidence)) for index, evidence in taken.items()]
    raw = "".join(text for _, text in sorted(placed, key=lambda item: item[0]))
    leaked = [name for name, value in secrets.items() if value in raw]
    output = mask(raw, secrets)
    if scenario.customer:  # the project's own files may hold credentials the proxy-config does not name
        output = scrub(output)
    covering = covering_keys(catalog, scenario.strategy)
    evidence = _evidence(stack, result, len(windows))
    served_hosts = set(stack.mirror_hosts)  # names the run's DNS answers with the mirror gateway
    egress = []
    dns_steps = _dns_steps(evidence.trap_events, ["preamble", *(step_name(s) for s in live), "end"])
    for place, event in enumerate(evidence.trap_events):
        host = event.host or event.dst_ip or "?"
        if _is_probe(event) or (event.kind == "dns" and host in served_hosts):
            continue  # e.g. the AAAA query for a mirror name: answered inside the run, nothing left
        step = dns_steps.get(place) or _step_at(windows, event.ts)
        egress.append(Egress(host, step, commands.get(step, step), covering.get(host), event.kind, event.ts,
                             event.dst_ip, event.dst_port, event.protocol,
                             path=event.http_path.split("?", 1)[0] if event.http_path else None,
                             manager=managers.get(step)))
    hits = [{"kind": h.backend, "route": h.route, "host": h.host, "path": h.path, "status": h.status, "auth": h.auth,
             "user": h.user, "step": _step_at(windows, h.ts)} for h in evidence.mirror_hits]
    live_failed = re.findall(r"^::airgap-failed (\S+)$", result.output, re.M)
    if reuse is not None and "end" in {name for name, _ in windows}:
        _keep(reuse, scenario, steps, keys, taken, sections, live_failed, egress, hits, secrets)
    for evidence_taken in taken.values():
        copied_egress, copied_hits = evidence_taken.copied()
        egress += copied_egress
        hits += copied_hits
    egress = _in_recipe_order(egress, lambda e: e.step, names)
    hits = _in_recipe_order(hits, lambda h: h["step"], names)
    failed = re.findall(r"^::airgap-failed (\S+)$", output, re.M)
    images = dict(re.findall(rf"^{re.escape(IMAGE_MARK)} ({interface.IMAGE_VARIABLE_PREFIX}\S+?)=(.*)$", output, re.M))
    resolved = {name: images.get(interface.image_variable(name), "")
                for name in catalog.strategies[scenario.strategy].images}
    report = interface.parse_report("\n".join(re.findall(rf"^{re.escape(REPORT_MARK)}\t(.*)$", output, re.M)), [])
    ok = result.ok and not any(e.failed for e in taken.values())
    outcome = Outcome(scenario.name, scenario.strategy, "succeeded" if ok else "failed", failed, egress, hits,
                      resolved, output, seconds=result.finished - result.started,
                      preamble_report=[asdict(record) for record in report],
                      reused={names[i]: e.source for i, e in sorted(taken.items())},
                      step_keys={k.step: k.key[:16] for k in keys if k is not None},
                      finding=scenario.finding.to_json() if scenario.finding else None,
                      project=scenario.customer.summary(steps) if scenario.customer else None,
                      argv_secrets=argv.exposures(processes, {**secrets, **_platform_secrets(environment)},
                                                  lambda ts: _step_at(windows, ts)))
    outcome.problems = (judge(scenario, outcome) + [f"the build printed the secret held in {name}" for name in leaked]
                        + argv.problems(outcome.argv_secrets))
    return outcome


def scenario_keys(catalog: Catalog, scenario: Scenario, steps: list[dict], run_inputs, config, served, planned,
                  environment: dict) -> list:
    """Each step's input key (step_keys.py) for the scenario as its stack serves it (`served`: MirrorConfig).
    `planned`: the build's plan for the strategy, None to plan `config` here (when the mirrors serve another
    configuration than the build reads)."""
    from harness.contract.plan import plan
    from harness.scenarios.step_keys import StepContext, step_keys

    planned = planned if planned is not None else plan(catalog, config, scenario.strategy)
    context = StepContext(scenario.strategy, config, planned, served.routes, tuple(served.mirror_hosts),
                          served.enforce_auth, environment, scenario.project)
    handoff = handoff_command(catalog, scenario.strategy)
    return step_keys(catalog, run_inputs, context, steps, [step_command(step, handoff) for step in steps])


def _keep(reuse, scenario: Scenario, steps, keys, taken, sections, failed, egress, hits, secrets) -> None:
    """Put the evidence of every step that ran (and ran to its end, preamble included) into the run's cache."""
    from harness.scenarios.reuse import StepEvidence

    texts = iter(text for name, text in sections if name not in (None, "preamble", "end"))
    for index, step in enumerate(steps):
        if index in taken:
            continue
        text = next(texts, None)
        key = keys[index]
        if key is None or text is None:
            continue
        name = step_name(step)
        reuse.keep(key, StepEvidence(scenario.name, name, name in failed, text,
                                 tuple(e for e in egress if e.step == name),
                                 tuple(h for h in hits if h["step"] == name), frozenset(secrets.values())))


def secret_values(catalog: Catalog, config) -> dict[str, str]:
    """Password and token file -> value, for the values long enough to search for in the output."""
    secret_keys = {k for key in catalog.keys.values() for k in (key.password, key.token) if k}
    values = {}
    for name, entry in config.entries.items():
        if name.split(".", 1)[-1] in secret_keys and entry.value and len(entry.value) >= 6:
            values[name] = entry.value
    return values


def _platform_secrets(environment) -> dict[str, str]:
    """The platform's own Docker Hub password the builder hands the preamble, under its variable's name: a
    credential too, for the process list (argv.py)."""
    password = (environment.dockerhub_login or ("", ""))[1]
    return {interface.DOCKERHUB_PASSWORD: password} if password and len(password) >= 6 else {}


def mask(text: str, secrets: dict[str, str]) -> str:
    for name, value in sorted(secrets.items(), key=lambda item: -len(item[1])):
        text = text.replace(value, f"<{name}>")
    return text
