"""Every egress event explained (issue 11, item 3): the leak-cause data file, `causes.explain` and its precedence,
and the cause and fix beside each destination in the egress report, the scenario report and `airgap repro`."""

import json
from types import SimpleNamespace

import pytest

from harness.commands import repro
from harness.contract.catalog import load_catalog
from harness.infra.errors import UserError
from harness.scenarios import causes, report
from harness.scenarios.steps import Egress, Outcome

CATALOG = load_catalog()
CAUSES = causes.load()


def egress_of(example: dict) -> Egress:
    """The Egress a run records for the event a cause's example describes."""
    kind = example.get("kind", "tcp")
    return Egress(example["host"], example.get("step", "preamble"), example.get("command", ""), None, kind, 1.0,
                  "10.0.0.2", example.get("port", None if kind in ("dns", "icmp") else 443),
                  "tls" if kind == "tcp" else None, path=example.get("path"), manager=example.get("manager"))


def best_rank(cause: causes.Cause, event) -> tuple | None:
    ranks = [r for m in cause.match if (r := m.rank(causes.facts_of(event))) is not None]
    return max(ranks, default=None)


def test_the_data_file_has_at_least_25_causes_with_unique_ids():
    assert len(CAUSES) >= 25
    assert len({c.id for c in CAUSES}) == len(CAUSES)


@pytest.mark.parametrize("cause", CAUSES, ids=[c.id for c in CAUSES])
def test_each_cause_explains_its_example_and_no_other_cause_does(cause):
    event = egress_of(cause.example)
    assert causes.explain(event) is cause
    # and not by the data file's order: every other cause matches it less specifically, or not at all
    mine = best_rank(cause, event)
    rivals = {other.id: rank for other in CAUSES if other is not cause
              if (rank := best_rank(other, event)) is not None and rank >= mine}
    assert rivals == {}
    # the same event read back from scenarios.json (an older record has no path, manager or cause) explains alike
    record = json.loads(json.dumps(Outcome("s", "webapp", "failed", [], [event], [], {}, "").to_json()))["egress"][0]
    assert causes.explain(record) is cause


def test_an_unknown_destination_is_an_unknown_cause_everywhere(tmp_path):
    event = Egress("telemetry.example.invalid", "project:npm", "npm ci", None, "tcp", 1.0, manager="npm")
    assert causes.explain(event) is None and causes.describe(event) is None
    assert report.cause_cells(None) == ("unknown cause", "-")
    assert repro.cause_lines(None) == ["    cause: unknown cause"]
    report.write_records(tmp_path, CATALOG, [record_of(outcome_with([event]))])
    assert "| telemetry.example.invalid | tcp | no key covers this | unknown cause | - |" in \
        (tmp_path / "scenarios.md").read_text()


def test_every_public_destination_of_the_contract_has_a_cause_with_its_key():
    """Every destination the catalog (and its platform profile) names has a cause: one naming no key where no key
    redirects the host at all (a manager's unredirectable hosts), the destination's own key where it has one, and
    for each manager and registry endpoint the key that redirects it."""
    for manager in CATALOG.managers.values():
        for destination in manager.unredirectable:
            cause = causes.explain({"destination": destination.host, "kind": "tcp", "manager": manager.id})
            assert cause is not None and cause.key is None, destination.host
        for host in manager.endpoints:
            cause = causes.explain({"destination": host, "kind": "tcp", "step": f"project:{manager.id}",
                                    "manager": manager.id})
            assert cause is not None and cause.key == f"pkg-{manager.id}-url", (manager.id, host)
    for strategy in CATALOG.strategies.values():
        for destination in (*strategy.unredirectable, *getattr(strategy, "destinations", ())):
            cause = causes.explain({"destination": destination.host, "kind": "tcp"})
            assert cause is not None, (strategy.name, destination.host)
            if getattr(destination, "key", None):
                assert cause.key == destination.key, (strategy.name, destination.host)
    for registry in CATALOG.registries.values():
        for host in registry.endpoints:
            keys = {r.mirror_key for r in CATALOG.registries.values() if host in r.endpoints}
            cause = causes.explain({"destination": host, "kind": "tcp", "step": "pull:x"})
            assert cause is not None and cause.key in keys, host


def test_keys_named_by_causes_are_contract_keys_and_each_fix_names_its_key():
    for cause in CAUSES:
        assert cause.key is None or (cause.key in CATALOG.keys and cause.key in cause.fix), cause.id
        assert cause.reference.startswith("https://") and len(cause.fix) <= causes.MAX_TEXT


PRECEDENCE = """\
causes:
  - id: by-host-glob
    client: c
    match: {hosts: ["*.example.org"]}
    why: w
    fix: f
    reference: https://example.org/docs
    example: {host: a.example.org}
  - id: by-host
    client: c
    match: {hosts: [a.example.org]}
    why: w
    fix: f
    reference: https://example.org/docs
    example: {host: a.example.org}
  - id: by-step
    client: c
    match: {hosts: ["*.example.org"], steps: [pull]}
    why: w
    fix: f
    reference: https://example.org/docs
    example: {host: a.example.org, step: "pull:x"}
  - id: by-client
    client: c
    match: {hosts: ["*.example.org"], command: '\\bmvnw\\b'}
    why: w
    fix: f
    reference: https://example.org/docs
    example: {host: a.example.org, command: ./mvnw}
  - id: by-path
    client: c
    match: {hosts: ["*.example.org"], paths: ["/dist/*"]}
    why: w
    fix: f
    reference: https://example.org/docs
    example: {host: a.example.org, path: /dist/x}
  - id: by-host-again
    client: c
    match: {hosts: [a.example.org]}
    why: w
    fix: f
    reference: https://example.org/docs
    example: {host: a.example.org}
"""


def test_precedence_path_then_client_then_step_then_exact_host_then_file_order(tmp_path):
    path = tmp_path / "causes.yaml"
    path.write_text(PRECEDENCE)
    loaded = causes.load(path)

    def winner(**event):
        return causes.explain({"destination": "a.example.org", "kind": "tcp", **event}, loaded).id

    assert winner(path="/dist/x", command="./mvnw", step="pull:x") == "by-path"  # a path beats a client
    assert winner(command="./mvnw", step="pull:x") == "by-client"  # a client beats a step kind
    assert winner(step="pull:x") == "by-step"  # a step kind beats a host
    assert winner(step="project:npm") == "by-host"  # an exact host beats a glob; the earlier of equals wins
    assert winner(path="/other", step="fetch:https://a.example.org/dist/y") == "by-host"  # the event's own path
    assert winner(step="fetch:https://a.example.org/dist/y") == "by-path"  # the fetch step's URL gives the path
    assert winner(step="fetch:https://b.example.org/dist/y") == "by-host"  # another host's URL says nothing
    assert causes.explain({"destination": "b.example.org"}, loaded).id == "by-host-glob"
    assert causes.explain({"destination": "example.org"}, loaded) is None


def test_a_port_counts_like_an_event_kind_and_only_events_to_that_port_match():
    """A DNS query to a hard-coded resolver: a UDP datagram to port 53 of any address; the public resolvers'
    own cause names them exactly and wins; other UDP ports, and ICMP, are not DNS."""
    def cause_of(host, kind, port):
        found = causes.explain({"destination": host, "kind": kind, "port": port, "step": "project:npm"})
        return found.id if found else None

    assert cause_of("192.0.2.53", "udp", 53) == cause_of("192.0.2.53", "tcp", 53) == "hard-coded-dns-resolver"
    assert cause_of("8.8.8.8", "udp", 53) == "public-dns-resolver"
    assert cause_of("192.0.2.53", "udp", 5353) is None  # mDNS, or anything else: an unknown cause, not a guess
    assert cause_of("8.8.8.8", "icmp", None) == cause_of("192.0.2.1", "icmp", None) == "icmp-echo"


def test_a_query_string_is_never_part_of_what_is_matched_or_kept():
    facts = causes.facts_of({"destination": "Proxy.Golang.org.", "path": "/x/@v/list?token=s3cret",
                             "step": "fetch:https://user:pw@proxy.golang.org/y?token=s3cret"})
    assert (facts.host, facts.path) == ("proxy.golang.org", "/x/@v/list")
    assert causes.facts_of({"destination": "proxy.golang.org",
                            "step": "fetch:https://user:pw@proxy.golang.org/y?token=s3cret"}).path == "/y"


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("    fix: f\n", "    fix: f\n    colour: red\n", 1), "cause by-host-glob: unknown field(s) colour"),
    (lambda t: t.replace("id: by-host\n", "id: by-host-glob\n"), "cause by-host-glob: a second cause with this id"),
    (lambda t: t.replace("    fix: f\n", "    fix: f\n    key: pkg-pypi-url\n", 1), "key 'pkg-pypi-url': not a key"),
    (lambda t: t.replace("    fix: f\n", "    fix: f\n    key: pkg-npm-url\n", 1), "fix: names no pkg-npm-url"),
    (lambda t: t.replace('["*.example.org"], steps: [pull]', '["*.example.org"], steps: [build]'),
     "cause by-step: match: steps: build"),
    (lambda t: t.replace("[a.example.org]}", "[A.example.org]}", 1), "cause by-host: match: hosts: A.example.org"),
    (lambda t: t.replace("reference: https://example.org/docs", "reference: example.org", 1), "https:// URL"),
    (lambda t: t.replace("    why: w\n", "    why: " + "w" * 200 + "\n", 1), "at most"),
    (lambda t: t + "  - just a string\n", "cause #7: expected a mapping"),
    (lambda t: t + "x" * causes.MAX_BYTES, "over 262144 bytes"),
    (lambda t: t.replace("steps: [pull]}", "steps: [pull], ports: [0]}"), "cause by-step: match: ports"),
    (lambda t: t.replace("steps: [pull]}", "steps: [pull], ports: []}"), "cause by-step: match: ports"),
])
def test_a_bad_data_file_is_an_error_naming_the_file_and_the_cause(tmp_path, edit, message):
    path = tmp_path / "causes.yaml"
    path.write_text(edit(PRECEDENCE))
    with pytest.raises(UserError) as error:
        causes.load(path)
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)


# --- the reports ------------------------------------------------------------------------------------------------

def outcome_with(egress: list[Egress]) -> Outcome:
    return Outcome("leak-gradle-wrapper", "buildpack", "failed", ["project:gradle-wrapper"], egress, [], {}, "out",
                   problems=["unexpected egress"])


def record_of(outcome: Outcome) -> dict:
    return json.loads(json.dumps({**outcome.to_json(), "families": ["package-proxy"]}))


WRAPPER = [Egress("services.gradle.org", "project:gradle-wrapper", "./gradlew -q fetch", None, "dns", 1.0,
                  manager="gradle"),
           Egress("services.gradle.org", "project:gradle-wrapper", "./gradlew -q fetch", None, "tcp", 1.1, "10.0.0.2",
                  443, "tls", manager="gradle"),
           Egress("api.foojay.io", "project:gradle-wrapper", "./gradlew -q fetch", None, "dns", 1.2, manager="gradle")]


def test_the_reports_give_each_destination_its_cause_and_fix(tmp_path):
    report.write_records(tmp_path, CATALOG, [record_of(outcome_with(WRAPPER))])
    wrapper = next(c for c in CAUSES if c.id == "gradle-wrapper")
    markdown = (tmp_path / "scenarios.md").read_text()
    assert "| step | destination | kind | covered by | cause | fix |" in markdown
    assert (f"| project:gradle-wrapper | services.gradle.org | dns, tcp | no key covers this | "
            f"[gradle-wrapper]({wrapper.reference}) | {wrapper.fix} |") in markdown
    assert "| api.foojay.io | dns (lookup only) |" in markdown  # looked up, nothing connected
    egress = json.loads((tmp_path / "egress.json").read_text())
    assert [e["cause"]["id"] for e in egress["events"]] == ["gradle-wrapper"] * 2 + ["gradle-toolchain-download"]
    assert egress["events"][1]["cause"] == wrapper.to_json()
    summary = {row["destination"]: row for row in egress["summary"]}
    assert summary["services.gradle.org"]["causes"] == [wrapper.to_json()]
    assert summary["services.gradle.org"]["count"] == 2 and not summary["services.gradle.org"]["lookup_only"]
    assert summary["api.foojay.io"]["lookup_only"]
    stored = json.loads((tmp_path / "scenarios.json").read_text())
    assert stored[0]["egress"][1]["cause"]["fix"] == wrapper.fix


def test_records_of_an_older_run_are_explained_when_merged(tmp_path):
    """scenarios.json of a run before causes (no path, manager or cause): `airgap report merge` writes causes."""
    old = record_of(outcome_with(WRAPPER))
    for event in old["egress"]:
        for field in ("path", "manager", "cause"):
            event.pop(field, None)
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "scenarios.json").write_text(json.dumps([old]))
    records = report.load_records(tmp_path / "old" / "scenarios.json")
    report.write_records(tmp_path / "new", CATALOG, records)
    events = json.loads((tmp_path / "new" / "egress.json").read_text())["events"]
    assert [e["cause"]["id"] for e in events] == ["gradle-wrapper", "gradle-wrapper", "gradle-toolchain-download"]
    again = report.load_records(tmp_path / "new" / "scenarios.json")
    report.write_records(tmp_path / "again", CATALOG, again)
    for name in report.REPORT_FILES:  # explaining is idempotent: a merge of merged reports changes nothing
        assert (tmp_path / "again" / name).read_bytes() == (tmp_path / "new" / name).read_bytes(), name


def test_repro_prints_the_cause_and_fix_under_each_destination(capsys):
    outcome = outcome_with(WRAPPER + [Egress("telemetry.example.invalid", "preamble", "source", None, "tcp", 2.0)])
    egress = [{"destination": e.destination, "step": e.step, "command": e.command, "covered_by": e.covered_by,
               "cause": causes.describe(e)} for e in outcome.egress]
    unique = [e for i, e in enumerate(egress) if e not in egress[:i]]
    repro._print_text([], SimpleNamespace(images={}, packages={}), outcome, unique, [])
    text = capsys.readouterr().out
    wrapper = next(c for c in CAUSES if c.id == "gradle-wrapper")
    assert (f"  services.gradle.org  step project:gradle-wrapper  [no key covers this]\n"
            f"    cause: gradle-wrapper: {wrapper.why}\n    fix: {wrapper.fix}\n    see: {wrapper.reference}\n") in text
    assert text.count("services.gradle.org  step") == 1  # its DNS lookup and connection: one destination
    assert "  telemetry.example.invalid  step preamble  [no key covers this]\n    cause: unknown cause\n" in text
