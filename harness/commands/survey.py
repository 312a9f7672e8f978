"""`airgap survey`: lint and plan every proxy-config for every strategy, offline, with reports."""

import sys
from pathlib import Path

from harness.commands.common import add_catalog_option, catalog_from
from harness.infra.errors import UserError
from harness.infra.textsafe import printable


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("survey", help="lint and plan every proxy-config for every strategy (offline), with reports")
    parser.add_argument("paths", nargs="+", metavar="DIR", help="proxy-config directories, or folders of them")
    parser.add_argument("--report-dir", default="reports", help="where survey.json and survey.md go (default: reports)")
    add_catalog_option(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from harness.contract.survey import config_dirs, survey, write_reports  # it writes files: imported only to run

    for path in args.paths:
        if not Path(path).is_dir():
            raise UserError(f"{printable(path)}: not a directory")
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    catalog = catalog_from(args)
    directories, skipped = config_dirs(catalog, args.paths)
    for path in skipped:
        print(f"skipped {printable(path)}: not a directory, in a folder of proxy-config directories", file=sys.stderr)
    cells = survey(catalog, directories)
    table = Table(title="proxy-config × strategy: lint and plan")
    for column in ("config", "strategy", "lint", "images m/o/d", "pkgs proxied", "hub login", "public: redirectable/no key"):
        table.add_column(column)
    no_key: dict[str, set[str]] = {}
    for cell in cells:
        s = cell.summary()
        lint_text = f"[red]{s['errors']}E[/red] {s['warnings']}W" if s["errors"] else f"{s['warnings']}W"
        i = s["images"]
        name = escape(printable(Path(s["config"]).name))  # a directory name is neither markup nor terminal codes
        table.add_row(name, s["strategy"], lint_text, f"{i['mirror']}/{i['override']}/{i['default']}",
                      s["packages_proxied"], "yes" if s["dockerhub_login"] else "no",
                      f"{len(s['public_redirectable'])}/{len(s['public_no_key'])}")
        no_key.setdefault(s["strategy"], set()).update(s["public_no_key"])
    console = Console(width=None if sys.stdout.isatty() else 120)
    console.print(table)
    console.print("Public destinations no key can redirect:")
    for strategy, hosts in no_key.items():
        console.print(f"  {strategy}: {', '.join(sorted(hosts)) or '-'}")
    for path in write_reports(cells, Path(args.report_dir)):
        console.print(f"wrote {escape(printable(path))}")
    return 0
