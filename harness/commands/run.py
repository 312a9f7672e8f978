"""`airgap run`: the scenario matrix under air-gap, with its reports."""

import argparse
from pathlib import Path

from harness.commands.common import add_catalog_option, catalog_from, strategy_names
from harness.infra.errors import UserError
from harness.infra import paths


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
    add_catalog_option(parser)
    parser.set_defaults(func=run)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number of 1 or more")
    return int(text)


def run(args) -> int:
    from harness.scenarios import report
    from harness.scenarios.batch import default_jobs, run_all, stderr_progress
    from harness.scenarios.steps import check_preamble, recipes
    from harness.scenarios.model import load

    catalog = catalog_from(args)
    sources = args.paths or [paths.scenarios_dir()]  # a missing PATH is a usage error (harness/cli.py)
    scenarios = [s for s in load(sources, catalog, recipes()) if args.strategy in (None, s.strategy)]
    if not scenarios:
        raise UserError("no scenario selected")
    preamble = args.preamble or paths.preamble_dir()
    check_preamble(preamble, {s.strategy for s in scenarios})
    outcomes = run_all(catalog, scenarios, preamble, stderr_progress, jobs=args.jobs or default_jobs())
    for path in report.write(args.report_dir, catalog, scenarios, outcomes):
        print(f"wrote {path}")
    failed = [o for o in outcomes if not o.passed]
    for outcome in failed:
        print(f"FAILED {outcome.scenario}: {outcome.problems[0]}")
    egress = sum(len(o.egress) for o in outcomes)
    print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed; {egress} egress events "
          f"({args.report_dir / 'egress.json'} lists them), {sum(o.seconds for o in outcomes):.0f} s of builds")
    return 1 if failed else 0
