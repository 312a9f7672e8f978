"""Step reuse (issue 12, item 1): each step's input key holds what can change its evidence and nothing of
another step's; a scenario takes the evidence of a step with its key, is judged on all of it, and says so.

Offline: keys are computed from scenarios as `airgap run` computes them (steps.predicted_keys), and
run_scenario runs against a scripted stack whose builder answers the script it is given.
"""

import re
import shlex
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from harness.contract.catalog import load_catalog
from harness.scenarios import steps
from harness.scenarios.model import ConfigSpec, Expect, Scenario, generated, step_name
from harness.scenarios.reuse import Schedule, StepEvidence, StepReuse
from harness.scenarios.step_keys import RunInputs, StepKey, digest
from harness.scenarios.steps import REUSED_MARK, STEP_PROBE_DOMAIN, Egress, predicted_keys, run_scenario
from harness.scenarios.recipes import recipes
from harness.stack.builders import RunResult
from harness.stack.configuration import MirrorConfig, plans_for
from harness.stack.evidence import Evidence as StackEvidence
from harness.stack.evidence import MirrorHit, TrapEvent
from helpers import FIXTURES, PREAMBLE

pytestmark = pytest.mark.offline

CATALOG = load_catalog()
NEXUS = "https://nexus.example.com/repository"
PROJECTS = {"npm": {"package.json": b"{}"}, "maven": {"pom.xml": b"<project/>"}}
TAGS = {"builder": "airgap-harness/builder:1", "nginx": "airgap-harness/nginx:1"}


def run_inputs(preamble: Path = PREAMBLE, tags: dict = TAGS, projects: dict = PROJECTS) -> RunInputs:
    return RunInputs.collect(CATALOG, preamble, projects, tags, FIXTURES / "dockerfiles")


RUN = run_inputs()


def scenario(strategy="buildpack", fixture="full-global", keys=(), remove=(), name="s", **extra) -> Scenario:
    return Scenario(name, strategy, ConfigSpec(fixture, tuple(sorted(dict(keys).items())), tuple(remove)),
                    Expect("any"), **extra)


def keys_of(case: Scenario, run: RunInputs = RUN) -> dict[str, str]:
    return {key.step: key.key for key in predicted_keys(CATALOG, case, run) if key is not None}


def differing(a: dict, b: dict) -> set[str]:
    assert a.keys() == b.keys()
    return {step for step in a if a[step] != b[step]}


# --- the key ---------------------------------------------------------------------------------------------

def test_two_scenarios_differing_only_in_the_npm_url_share_every_key_but_the_npm_step():
    """The other managers' steps, and the pulls, read nothing of npm's configuration."""
    full = keys_of(scenario())
    other_npm = keys_of(scenario(keys={"pkg-npm-url": f"{NEXUS}/npm-other/"}))
    assert "project:maven-wrapper" in full and full["project:maven-wrapper"] == other_npm["project:maven-wrapper"]
    assert differing(full, other_npm) == {"project:npm"}


def test_removing_a_key_changes_only_the_steps_that_consume_it():
    full = keys_of(scenario())
    assert differing(full, keys_of(scenario(remove=["pkg-go-url"]))) == {"project:go"}
    assert differing(full, keys_of(scenario(remove=["pkg-npm-url"]))) == {"project:npm"}


def test_managers_whose_handoff_shares_a_variable_take_each_others_keys():
    """On pack build, Maven's and Gradle's hand-off both set GOOGLE_BUILD_ARGS (profiles/choreo.yaml), of which the
    build keeps one: a preamble that sets it for Gradle changes what Maven gets."""
    full = keys_of(scenario())
    assert differing(full, keys_of(scenario(remove=["pkg-maven-url"]))) == {"project:maven-wrapper", "project:gradle"}
    assert differing(full, keys_of(scenario(remove=["pkg-gradle-url"]))) == {"project:maven-wrapper", "project:gradle"}
    assert differing(keys_of(scenario("ballerina")), keys_of(scenario("ballerina", remove=["pkg-gradle-url"]))) \
        == {"project:gradle"}  # ballerina hands off no manager: nothing shared


def test_differing_preamble_file_content_changes_every_key(tmp_path):
    import shutil

    copy = shutil.copytree(PREAMBLE, tmp_path / "preamble")
    library = sorted((copy / "lib").rglob("*.sh"))[0]
    library.write_text(library.read_text() + "\n# a comment is a change too\n")
    full, changed = keys_of(scenario()), keys_of(scenario(), run_inputs(preamble=copy))
    assert differing(full, changed) == set(full)
    assert keys_of(scenario(), run_inputs(preamble=shutil.copytree(PREAMBLE, tmp_path / "same"))) == full


def test_an_image_change_changes_every_key():
    full = keys_of(scenario())
    assert differing(full, keys_of(scenario(), run_inputs(tags={**TAGS, "builder": "airgap-harness/builder:2"}))) == set(full)
    assert differing(full, keys_of(scenario(), run_inputs(tags={**TAGS, "verdaccio": "airgap-harness/verdaccio:1"}))) == set(full)


def test_a_project_change_changes_only_the_steps_that_run_it():
    full = keys_of(scenario())
    changed = keys_of(scenario(), run_inputs(projects={**PROJECTS, "maven": {"pom.xml": b"<project> </project>"}}))
    assert differing(full, changed) == {"project:maven-wrapper"}  # buildpack: ./mvnw in the maven project


def test_a_credential_value_is_an_input_of_its_own_step_only():
    """The password's file name is in the plan; its value is not, but it decides the mirror's answer."""
    base = keys_of(scenario(fixture="credentials-everywhere"))
    wrong = keys_of(scenario(fixture="credentials-everywhere", keys={"pkg-go-password": "another-password"}))
    assert differing(base, wrong) == {"project:go"}


def test_the_mirrors_accepting_other_credentials_change_the_steps_whose_routes_check_them():
    accepted = ConfigSpec("credentials-everywhere", (("pkg-maven-password", "the-mirrors-own"),))
    base = keys_of(scenario(fixture="credentials-everywhere"))
    other = keys_of(scenario(fixture="credentials-everywhere", accept_from=accepted))
    # the build reads its configuration from a copy (another PROXY_CONFIG_DIR): an input of every step
    assert differing(base, other) == set(base)
    same_build = keys_of(scenario(fixture="credentials-everywhere", accept_from=ConfigSpec("credentials-everywhere")))
    less = keys_of(scenario(fixture="credentials-everywhere", accept_from=accepted))
    assert differing(same_build, less) == {"project:maven-wrapper"}


def test_not_enforcing_credentials_changes_every_key():
    base = keys_of(scenario())
    assert differing(base, keys_of(scenario(require_credentials=False))) == set(base)


def test_a_route_whose_path_overlaps_the_steps_own_is_an_input_and_another_on_the_host_is_not():
    """nginx answers with the longest matching prefix: a route at /repository/ could answer Maven's requests.
    (ballerina: its Maven and Gradle share no hand-off, so only the route can tie them.)"""
    full = keys_of(scenario("ballerina"))
    aside = keys_of(scenario("ballerina", keys={"pkg-gradle-url": f"{NEXUS}/gradle-other/"}))
    above = keys_of(scenario("ballerina", keys={"pkg-gradle-url": "https://nexus.example.com/repository/"}))
    assert differing(full, aside) == {"project:gradle"}
    assert "project:maven" in differing(full, above)


def test_a_key_the_strategy_ignores_is_an_input_of_every_step():
    """A correct preamble never reads it: it can only change a step through a preamble bug, which is what
    unsupported-keys-ignored is for, so that scenario takes nothing from another."""
    base = keys_of(scenario(strategy="webapp"))
    assert differing(base, keys_of(scenario(strategy="webapp", keys={"pkg-python-url": f"{NEXUS}/other/"}))) == set(base)


def test_the_strategy_is_an_input():
    ballerina, buildpack = keys_of(scenario(strategy="ballerina")), keys_of(scenario(strategy="buildpack"))
    assert ballerina["project:gradle"] != buildpack["project:gradle"]


def test_pulls_share_state_so_a_changed_pull_changes_the_pulls_after_it_not_the_projects():
    images = CATALOG.strategies["buildpack"].images
    pulls = [step_name(s) for s in steps.scenario_steps(scenario()) if "pull" in s]
    first = next(p for p in pulls[:-1] if images[p.split(":", 1)[1]].override)
    later = pulls[pulls.index(first) + 1:]
    full = keys_of(scenario())
    overridden = keys_of(scenario(keys={images[first.split(":", 1)[1]].override: "registry.acme.internal/golden/x:1"}))
    changed = differing(full, overridden)
    assert {first, *later} == changed - {s for s in changed if not s.startswith("pull:")}
    assert not {s for s in changed if s.startswith("project:")} and set(pulls[:pulls.index(first)]).isdisjoint(changed)


def test_a_dockerfile_step_takes_the_whole_configuration():
    base = keys_of(scenario(strategy="byoc"))
    assert differing(base, keys_of(scenario(strategy="byoc", remove=["pkg-npm-url"]))) == set(base)


def test_keys_are_stable_and_name_nothing_of_the_scenario_itself():
    assert keys_of(scenario(name="a")) == keys_of(scenario(name="b"))
    assert digest({"b": 1, "a": [b"secret"]}) == digest({"a": [b"secret"], "b": 1})
    assert digest({"a": b"secret-value"}) != digest({"a": b"secret-valuf"})


def test_the_generated_matrix_shares_keys_where_it_should():
    """Within a strategy, the configurations that differ in one key share the steps that do not read it."""
    matrix = {s.name: s for s in generated(CATALOG, recipes())}
    npm = keys_of(matrix["buildpack/without:pkg-npm-url"])
    maven = keys_of(matrix["buildpack/without:pkg-maven-url"])
    assert differing(npm, maven) == {"project:npm", "project:maven-wrapper", "project:gradle"}  # Gradle: GOOGLE_BUILD_ARGS
    assert set(keys_of(matrix["buildpack/unsupported-keys-ignored"]).values()).isdisjoint(npm.values())


# --- choosing and keeping --------------------------------------------------------------------------------

def key(step, group, name=None, routes=frozenset({"pkg-npm-url"})) -> StepKey:
    return StepKey(step, name or f"key-{step}", group, routes)


def evidence(step, failed=False, egress=(), hits=(), secrets=frozenset(), section=None) -> StepEvidence:
    return StepEvidence("source", step, failed, section or f"::airgap-step {step} 1.0\nout\n",
                    tuple(Egress(h, step, "cmd", None, "dns", 1.0) for h in egress), tuple(hits), frozenset(secrets))


def test_a_step_that_runs_takes_every_earlier_step_of_its_group_with_it():
    reuse = StepReuse(RUN)
    keys = [key("pull:a", "oci"), key("pull:b", "oci"), key("project:npm", "manager:npm"), key("pull:c", "oci")]
    for k in keys[:3]:
        assert reuse.keep(k, evidence(k.step))
    assert sorted(reuse.choose(keys, [], {})) == [2]  # pull:c runs, so pull:a and pull:b run before it
    assert sorted(reuse.choose(keys[:3], [], {})) == [0, 1, 2]


def test_evidence_is_kept_only_when_its_mirror_hits_went_to_routes_its_key_holds():
    reuse = StepReuse(RUN)
    assert not reuse.keep(key("project:npm", "manager:npm"), evidence("project:npm", hits=[{"route": "-"}]))
    assert not reuse.has("key-project:npm")
    assert reuse.keep(key("project:npm", "manager:npm"), evidence("project:npm", hits=[{"route": "pkg-npm-url"}]))
    assert reuse.keep(key("dockerfile:x", "oci", routes=None), evidence("dockerfile:x", hits=[{"route": "-"}]))


def test_evidence_is_refused_where_the_scenario_would_see_it_differently():
    reuse = StepReuse(RUN)
    reuse.keep(key("project:npm", "manager:npm"), evidence("project:npm", egress=["registry.npmjs.org"]))
    reuse.keep(key("project:go", "manager:go"), evidence("project:go", secrets={"s3cret-value"},
                                                        section="::airgap-step project:go 1\nprinted s3cret-value\n"))
    keys = [key("project:npm", "manager:npm"), key("project:go", "manager:go")]
    assert sorted(reuse.choose(keys, ["nexus.example.com"], {"pkg-go-password": "s3cret-value"})) == [0, 1]
    assert reuse.choose(keys, ["registry.npmjs.org"], {"x": "s3cret-value"}) == {1: reuse._cache["key-project:go"]}
    assert reuse.choose(keys, [], {}) == {0: reuse._cache["key-project:npm"]}  # its secret would go unmasked
    assert reuse.refused == 2


def test_an_exhaustive_run_keys_every_step_and_takes_none():
    reuse = StepReuse(RUN, exhaustive=True)
    assert not reuse.keep(key("project:npm", "manager:npm"), evidence("project:npm"))
    assert reuse.choose([key("project:npm", "manager:npm")], [], {}) == {}
    assert reuse.refused == 0


def test_the_schedule_hands_a_key_to_its_first_holder_and_others_wait_for_it():
    reuse = StepReuse(RUN)
    schedule = Schedule([["k1", "k2"], ["k1"], ["k3"], ["k2", "k3"]], reuse)
    stop = threading.Event()
    assert schedule.take(stop) == 0
    assert schedule.take(stop) == 2  # 1 waits for 0 (k1); 2 holds only its own
    reuse._cache["k1"] = evidence("x")
    assert schedule.take(stop) == 1  # k1 is in: 1 may start although 0 still runs
    finished = []
    waiter = threading.Thread(target=lambda: finished.append(schedule.take(stop)))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive()  # 3 waits: k2 is 0's, k3 is 2's, both running
    schedule.done(0)
    schedule.done(2)
    waiter.join(5)
    assert finished == [3] and schedule.take(stop) is None


def test_an_exhaustive_schedule_is_the_queue():
    schedule = Schedule([["k"], ["k"]], StepReuse(RUN, exhaustive=True))
    assert [schedule.take(threading.Event()), schedule.take(threading.Event())] == [0, 1]


# --- a scenario that takes steps from another --------------------------------------------------------------

ADDRESS = "10.0.0.77"


class ScriptedStack:
    """An air-gap stack reduced to what run_scenario reads: the mirrors configured from plans as the real stack
    does, and a builder that answers the script: each marked step prints a line, fails when `failing` names it,
    and leaves the trap events and mirror hits `behaviour` gives it (DNS events logged late on purpose)."""

    def __init__(self):
        self.served, self.scripts, self.behaviour, self.failing = None, [], {}, set()
        self._evidence = StackEvidence((), ())
        self.clock = 1000.0

    def plan(self, config):
        return plans_for(CATALOG, config)

    def configure(self, config, plans, enforce_auth=True):
        self.served = MirrorConfig.derive(CATALOG, config, plans, enforce_auth)
        return self.served

    @property
    def mirror_hosts(self):
        return self.served.mirror_hosts

    def run(self, command, mount=None, env=None, files=None):
        script = shlex.split(command)[2]
        self.scripts.append(script)
        started = self.clock
        output, events, hits, failed = "", [], [], False
        for name, index in re.findall(r"^mark (\S+) (\d+)$", script, re.M):
            self.clock += 1
            output += f"\n::airgap-step {name} {self.clock:.6f}\n{name} says hello\n"
            events.append(TrapEvent(self.clock + 0.01, "dns", ADDRESS, name=f"m{index}.{STEP_PROBE_DOMAIN}"))
            if name == "preamble" and "preamble" in self.failing:
                output += "\n::airgap-failed preamble\n"
                failed = True
                break
            for host in self.behaviour.get(name, {}).get("egress", ()):
                events.append(TrapEvent(self.clock + 1.5, "dns", ADDRESS, name=host))  # logged after the next marker
                events.append(TrapEvent(self.clock + 0.5, "tcp", ADDRESS, dst_ip="10.0.0.2", dst_port=443,
                                        protocol="tls", sni=host))
            for route in self.behaviour.get(name, {}).get("hits", ()):
                hits.append(MirrorHit(self.clock + 0.4, ADDRESS, "nexus.example.com", 443, "GET", "/x", 200, "none", "",
                                      route, "mirror"))
            if name in self.failing:
                output += f"\n::airgap-failed {name}\n"
                failed = True
        self._evidence = StackEvidence(tuple(hits), tuple(events))
        return RunResult(command, "build", 1 if failed else 0, output, "", started, self.clock + 1, ADDRESS)

    def evidence(self, since=None, client=None, until=None):
        return self._evidence


def webapp(name, npm_url=f"{NEXUS}/npm-proxy/"):
    return Scenario(name, "webapp", ConfigSpec("full-global", (("pkg-npm-url", npm_url),)),
                    Expect("fails", failing_steps=("pull:nginx",), egress=("example.org",)))


def test_a_scenario_takes_the_steps_it_shares_and_is_judged_on_all_of_its_evidence():
    stack, reuse = ScriptedStack(), StepReuse(RUN)
    stack.behaviour = {"pull:nginx": {"egress": ["example.org"], "hits": ["oci-choreo-url"]},
                       "project:npm": {"hits": ["pkg-npm-url"]}}
    stack.failing = {"pull:nginx"}
    first = run_scenario(stack, webapp("first"), CATALOG, PREAMBLE, {}, reuse)
    assert first.reused == {} and first.passed, first.problems
    assert [e.step for e in first.egress if e.destination == "example.org"] == ["pull:nginx", "pull:nginx"]

    stack.behaviour, stack.failing = {}, set()  # whatever ran now would leave nothing: the taken steps must show
    second = run_scenario(stack, webapp("second", f"{NEXUS}/npm-other/"), CATALOG, PREAMBLE, {}, reuse)
    script = stack.scripts[-1]
    assert "mark project:npm 1" in script and "pull:" not in script.split("mark end")[0].split("mark preamble")[1]
    assert second.reused == {"pull:node": {"scenario": "first", "step": "pull:node"},
                             "pull:nginx": {"scenario": "first", "step": "pull:nginx"}}
    assert second.build == "failed" and second.failed_steps == ["pull:nginx"] and second.passed, second.problems
    assert {(e.step, e.destination, e.kind) for e in second.egress} == {(e.step, e.destination, e.kind) for e in first.egress}
    assert all(e.reused_from == {"scenario": "first", "step": "pull:nginx"} for e in second.egress)
    assert [h["route"] for h in second.mirror_hits if h.get("reused_from")] == ["oci-choreo-url"]
    assert f"{REUSED_MARK} first pull:nginx" in second.output
    order = [m for m in re.findall(r"^::airgap-step (\S+)", second.output, re.M)]
    assert order == ["preamble", "pull:node", "project:npm", "pull:nginx", "end"]
    assert second.step_keys["project:npm"] != first.step_keys["project:npm"]
    assert second.step_keys["pull:nginx"] == first.step_keys["pull:nginx"]


def test_after_a_failed_preamble_nothing_is_taken_as_nothing_would_have_run():
    stack, reuse = ScriptedStack(), StepReuse(RUN)
    run_scenario(stack, webapp("first"), CATALOG, PREAMBLE, {}, reuse)
    stack.failing = {"preamble"}
    outcome = run_scenario(stack, webapp("again"), CATALOG, PREAMBLE, {}, reuse)
    assert outcome.reused == {} and outcome.failed_steps == ["preamble"]
    assert not re.search(r"^::airgap-step (pull|project):", outcome.output, re.M)


def test_a_build_whose_preamble_failed_leaves_nothing_to_take():
    stack, reuse = ScriptedStack(), StepReuse(RUN)
    stack.failing = {"preamble"}
    run_scenario(stack, webapp("first"), CATALOG, PREAMBLE, {}, reuse)
    assert reuse._cache == {}


def test_dns_events_belong_to_the_step_whose_probe_came_before_them_whatever_their_time():
    """The trap logs DNS queries late under load: ordered by the probes, not by time."""
    stack = ScriptedStack()
    stack.behaviour = {"pull:node": {"egress": ["example.org"]}}
    outcome = run_scenario(stack, replace(webapp("late"), expect=Expect("any")), CATALOG, PREAMBLE, {})
    assert {(e.step, e.kind) for e in outcome.egress} == {("pull:node", "dns"), ("pull:node", "tcp")}
    assert not any(STEP_PROBE_DOMAIN in e.destination for e in outcome.egress)


def test_without_reuse_nothing_is_keyed_and_every_step_runs():
    stack = ScriptedStack()
    outcome = run_scenario(stack, webapp("plain"), CATALOG, PREAMBLE, {})
    assert outcome.step_keys == {} and outcome.reused == {}
    assert all(f"mark {name} " in stack.scripts[-1] for name in ("pull:node", "project:npm", "pull:nginx"))
