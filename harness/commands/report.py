"""`airgap report merge DIR... --report-dir OUT`: the reports of `airgap run --shard` shards, merged into those
one whole run writes (scenarios.json/.md, junit.xml, egress.json, support-matrix.json/.md/.html)."""

from pathlib import Path

from harness.commands.common import add_catalog_option, catalog_from


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("report", help="work with report directories (merge the shards of a run)")
    actions = parser.add_subparsers(dest="report_command", required=True, metavar="ACTION")
    merge = actions.add_parser(
        "merge", help="merge the report directories of `airgap run --shard K/N` into one run's reports",
        description="Merge the report directories of `airgap run --shard K/N` (each holds shard.json) into the "
                    "reports one unsharded run writes, in its order. Refuses shards of different plans, a scenario "
                    "in two shards and missing scenarios, naming them.")
    merge.add_argument("paths", nargs="+", type=Path, metavar="DIR", help="a shard's report directory")
    merge.add_argument("--report-dir", type=Path, default=Path("reports"), metavar="OUT",
                       help="where the merged reports go (default: reports)")
    merge.add_argument("--allow-partial", action="store_true",
                       help="write the reports even when scenarios are missing (a shard that never finished); "
                            "they are listed and the exit status is 1")
    add_catalog_option(merge)
    merge.set_defaults(func=_merge)


def _merge(args) -> int:
    from harness.commands.run import summarize
    from harness.infra.errors import UsageError, UserError
    from harness.infra.files import resolved
    from harness.scenarios import report, shards

    try:
        out = resolved(args.report_dir)
    except UserError as error:
        raise UsageError(f"--report-dir {error}") from None
    if any(resolved(path) == out for path in args.paths):
        raise UsageError(f"--report-dir {args.report_dir}: is one of the shards' directories; merge into another")
    catalog = catalog_from(args)
    records, missing = shards.merge(args.paths, allow_partial=args.allow_partial, catalog=catalog)
    report.prepare_report_dir(args.report_dir)
    written = report.write_records(args.report_dir, catalog, records)
    shards.write_shard(args.report_dir, None)  # the merged reports are a whole run's: no stale shard.json
    for path in written:
        print(f"wrote {path}")
    return summarize(records, args.report_dir, missing)
