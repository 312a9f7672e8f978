"""`airgap run`: the scenario matrix under air-gap, with its reports; `--shard K/N` runs one shard of it."""

import argparse
from pathlib import Path

from harness.commands.common import add_catalog_option, catalog_from, strategy_names
from harness.infra.errors import UserError
from harness.infra import paths
from harness.infra.textsafe import printable


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("run", help="run scenarios under air-gap and write the reports")
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                        help="scenario folders (scenarios/NAME), folders of them, or a matrix file (default: scenarios/, "
                             "whose matrix.yaml stands for the generated matrix)")
    parser.add_argument("--strategy", choices=strategy_names())
    parser.add_argument("--preamble", type=Path, help="the preamble directory to test (default: the reference preamble)")
    parser.add_argument("--report-dir", type=Path, default=Path("reports"))
    parser.add_argument("--jobs", type=_positive, default=None, metavar="N",
                        help="air-gap stacks running scenarios side by side (default: 2, or 1 on one core)")
    parser.add_argument("--shard", type=_shard, default=None, metavar="K/N",
                        help="run only shard K of N of the selected scenarios, balanced by recorded durations "
                             "(else by count) and the same on every machine; merge the shards' report "
                             "directories with `airgap report merge`")
    parser.add_argument("--durations", type=Path, default=None, metavar="FILE",
                        help="with --shard: a previous scenarios.json whose `seconds` balance the shards (default: "
                             "the report directory's scenarios.json of a whole run, if there is one)")
    parser.add_argument("--exhaustive", action="store_true",
                        help="run every step of every scenario; by default a step whose inputs equal those of a step "
                             "already run in this run takes that step's evidence instead (the report names it)")
    add_catalog_option(parser)
    parser.set_defaults(func=run)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number of 1 or more")
    return int(text)


def _shard(text: str):
    from harness.scenarios.shards import parse_shard

    try:
        return parse_shard(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def run(args) -> int:
    from harness.scenarios import report, shards
    from harness.scenarios.batch import default_jobs, run_all, stderr_progress
    from harness.scenarios.steps import check_preamble
    from harness.scenarios.recipes import recipes
    from harness.scenarios.model import load
    from harness.infra.errors import UsageError

    if args.durations is not None and args.shard is None:
        raise UsageError("--durations balances shards: it needs --shard K/N")
    report.prepare_report_dir(args.report_dir)
    if args.shard is not None:
        durations, source = shards.durations_for(args.durations, args.report_dir)
    catalog = catalog_from(args)
    sources = args.paths or [paths.scenarios_dir()]  # a missing PATH is a usage error (harness/cli.py)
    selection = [s for s in load(sources, catalog, recipes()) if args.strategy in (None, s.strategy)]
    if not selection:
        raise UserError("no scenario selected")
    preamble = args.preamble or paths.preamble_dir()
    check_preamble(preamble, {s.strategy for s in selection})
    scenarios, meta = selection, None
    if args.shard is not None:
        names = [s.name for s in selection]
        meta = shards.shard_record(args.shard, names, durations, source, shards.run_inputs(catalog, preamble))
        members = set(meta["scenarios"])
        scenarios = [s for s in selection if s.name in members]
        stderr_progress(shards.describe(args.shard, names, durations, source))
    outcomes = run_all(catalog, scenarios, preamble, stderr_progress, jobs=args.jobs or default_jobs(),
                       exhaustive=args.exhaustive) \
        if scenarios else []  # a shard of N > scenarios may be empty: its (empty) reports still merge
    written = report.write(args.report_dir, catalog, scenarios, outcomes)
    shard_file = shards.write_shard(args.report_dir, meta)  # without --shard: a stale one goes
    written += [shard_file] if shard_file else []
    for path in written:
        print(f"wrote {path}")
    return summarize(outcomes, args.report_dir)


def summarize(outcomes, report_dir: Path, missing=()) -> int:
    """The last lines of a run (or of a merge): each failure, then the counts; 1 if anything failed or is missing.

    `outcomes` are Outcome objects or outcome records (scenarios.json)."""
    def field(o, name):
        return o[name] if isinstance(o, dict) else getattr(o, name)

    from harness.scenarios.model import describe_finding

    failed = [o for o in outcomes if field(o, "problems")]
    for outcome in failed:
        print(f"FAILED {printable(field(outcome, 'scenario'))}: {printable(field(outcome, 'problems')[0])}")
        finding = describe_finding((outcome if isinstance(outcome, dict) else vars(outcome)).get("finding"))
        if finding:  # the scenario's verdict and fix (scenario.yaml `finding`)
            print(f"       {printable(finding)}")
    for name in missing:
        print(f"MISSING {printable(name)}: in no shard")
    egress = sum(len(field(o, "egress")) for o in outcomes)
    print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed"
          + (f", {len(missing)} missing" if missing else "")
          + f"; {egress} egress events ({report_dir / 'egress.json'} lists them), "
          f"{sum(field(o, 'seconds') for o in outcomes):.0f} s of builds")
    return 1 if failed or missing else 0
