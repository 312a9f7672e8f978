"""`airgap lint`: mistakes in a proxy-config directory, each naming the file at fault."""

from harness.commands.common import add_catalog_option, add_format_option, catalog_from, print_json, strategy_names
from harness.contract.config import read_config
from harness.infra.textsafe import printable
from harness.contract.lint import RULES, exit_code, lint


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("lint", help="check a proxy-config directory against the contract")
    parser.add_argument("config_dir", metavar="DIR", nargs="?",
                        help="the proxy-config directory (empty: no configuration; missing: a usage error)")
    parser.add_argument("--strategy", choices=strategy_names(), help="check for this strategy only")
    add_format_option(parser)
    parser.add_argument("--strict", action="store_true", help="fail (exit 1) on warnings too")
    parser.add_argument("--rules", action="store_true", help="list the rules and exit")
    add_catalog_option(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    if args.rules:
        if args.format == "json":
            print_json({"rules": [{"rule": rule, "severity": severity, "summary": summary}
                                  for rule, (severity, summary) in RULES.items()]})
        else:
            for rule, (severity, summary) in RULES.items():
                print(f"{rule:<28} {severity:<8} {summary}")
        return 0
    if args.config_dir is None:
        from harness.infra.errors import UsageError

        raise UsageError("lint needs a proxy-config directory (or --rules)")
    config = read_config(args.config_dir)
    findings = lint(catalog_from(args), config, args.strategy)
    if args.format == "json":
        print_json({"findings": [f.to_json() for f in findings]})
    else:
        directory = args.config_dir.rstrip("/")
        for f in findings:
            where = f"{directory}/{f.key}" if f.key in config.entries else f"{directory} ({f.key} not set)"
            scope = f" [{', '.join(f.strategies)}]" if f.strategies else ""
            print(printable(f"{where}: {f.severity}: {f.message} ({f.rule}){scope}"))
        counts = {s: sum(f.severity == s for f in findings) for s in ("error", "warning", "info")}
        print(f"{counts['error']} errors, {counts['warning']} warnings, {counts['info']} notes")
    return exit_code(findings, args.strict)
