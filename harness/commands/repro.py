"""`airgap repro`: a customer's case in one command: lint, plan, then the strategy's build under air-gap."""

import json
import sys
import tempfile
from pathlib import Path

from harness.commands.common import add_catalog_option, add_format_option, catalog_from, strategy_names
from harness.infra.errors import UsageError
from harness.infra.textsafe import printable
from harness.infra import paths


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("repro", help="reproduce a customer's air-gap build from their proxy-config or Secret")
    parser.add_argument("--strategy", required=True, choices=strategy_names())
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", type=Path, metavar="DIR", help="the customer's proxy-config directory")
    source.add_argument("--secret", type=Path, metavar="SECRET.yaml",
                        help="their `kubectl get secret -o yaml` output (- reads it from stdin)")
    parser.add_argument("--project", type=Path, metavar="DIR",
                        help="the customer's component source: built with the strategy's steps and the real clients, "
                             "every dependency its files name served as a stand-in (default: the fixture projects)")
    parser.add_argument("--preamble", type=Path, help="the preamble directory to test (default: the reference preamble)")
    add_format_option(parser)
    add_catalog_option(parser)
    parser.set_defaults(func=run)


def _config_from_secret(path: Path, directory: Path) -> Path:
    from harness.secret.convert import read_secret_file, write_key_files

    values, notices = read_secret_file(path)
    for notice in notices:
        print(f"airgap: warning: {notice}", file=sys.stderr)
    write_key_files(values, directory)
    return directory


def run(args) -> int:
    from harness.contract.config import read_config
    from harness.contract.lint import lint
    from harness.scenarios.batch import run_all, stderr_progress
    from harness.scenarios.causes import describe
    from harness.contract.plan import plan
    from harness.scenarios.steps import check_preamble
    from harness.scenarios.model import ConfigSpec, Expect, Scenario, with_customer
    from harness.scenarios.recipes import recipes
    from harness.customer import project as customer

    catalog = catalog_from(args)
    check_preamble(args.preamble or paths.preamble_dir(), [args.strategy])
    # read once, before any stack starts (what the strategy does not build, as far as it can be read)
    project = customer.load(args.project, customer.built_by(recipes()[args.strategy])) if args.project else None
    if project is not None:
        project.steps(args.strategy, recipes()[args.strategy])  # a project the strategy does not build: say so now
    with tempfile.TemporaryDirectory(prefix="airgap-repro-") as tmp:
        if args.secret:
            config_dir = _config_from_secret(args.secret, Path(tmp) / "from-secret")
        elif not args.config.is_dir():
            raise UsageError(f"--config {args.config}: not a directory")
        else:
            config_dir = args.config
        config = read_config(config_dir)
        findings = lint(catalog, config, args.strategy)
        planned = plan(catalog, config, args.strategy)
        keys = tuple((name, entry.raw.decode()) for name, entry in config.entries.items() if entry.value is not None)
        # the customer's build is judged by its egress below, not by an expectation: build "any"
        scenario = Scenario(f"repro/{args.strategy}", args.strategy, ConfigSpec(keys=keys), Expect("any"), source="repro")
        if project is not None:
            scenario = with_customer(scenario, project, recipes()[args.strategy])
        progress = stderr_progress if args.format == "text" else None
        [outcome] = run_all(catalog, [scenario], args.preamble or paths.preamble_dir(), progress)
    egress = [{"destination": e.destination, "step": e.step, "command": e.command, "covered_by": e.covered_by,
               "cause": describe(e)} for e in outcome.egress]
    unique_egress = [e for i, e in enumerate(egress) if e not in egress[:i]]  # first seen first
    hits = [{field: h[field] for field in ("kind", "route", "host", "path", "status", "auth")}
            for h in outcome.mirror_hits]
    if args.format == "json":
        print(json.dumps({"strategy": args.strategy, "project": project.summary(scenario.recipe) if project else None,
                          "build": outcome.build, "failed_steps": outcome.failed_steps,
                          "lint": [f.to_json() for f in findings], "plan": planned.to_json(),
                          "egress": unique_egress, "mirror_hits": hits}, indent=2))
    else:
        _print_text(findings, planned, outcome, unique_egress, hits, project and project.summary(scenario.recipe))
    return 0 if outcome.build == "succeeded" and not egress else 1


def _print_text(findings, planned, outcome, egress, hits, project: dict | None = None) -> None:
    if project is not None:
        from harness.customer.project import summary_lines

        print("project:", *summary_lines(project, "  "), sep="\n")
    print("lint:")
    for f in findings:
        print(f"  {f.severity}: {f.key}: {f.message} ({f.rule})")
    print("plan:")
    for name, image in planned.images.items():
        print(f"  image {name}: {printable(image.shown)} ({image.source})")
    for manager, package in planned.packages.items():
        print(f"  {manager}: {package.url} ({package.key or 'public default'})")
    print(f"build: {outcome.build}" + (f" (failed steps: {', '.join(outcome.failed_steps)})" if outcome.failed_steps else ""))
    print("mirror hits:" if hits else "mirror hits: none")
    for route in sorted({(h['route'], h['host'], h['status'], h['auth']) for h in hits}, key=str):
        print("  {} {} status {} auth {}".format(*route))
    print("egress (what tried to leave):" if egress else "egress: none")
    for e in egress:
        print(f"  {e['destination']}  step {e['step']}  [{e['covered_by'] or 'no key covers this'}]")
        print(*cause_lines(e["cause"]), sep="\n")


def cause_lines(cause: dict | None) -> list[str]:
    """Why the client went there and what fixes it, under a destination of the text report."""
    from harness.scenarios.causes import UNKNOWN

    if cause is None:
        return [f"    cause: {UNKNOWN}"]
    return [f"    cause: {cause['id']}: {cause['why']}", f"    fix: {cause['fix']}", f"    see: {cause['reference']}"]
