"""`airgap preamble-check`: run a build preamble offline and print what it configured, in `airgap plan`'s JSON shape."""

import json
import sys

from harness.commands.common import add_catalog_option, strategy_names


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "preamble-check",
        help="run a strategy's build preamble in a clean HOME without network and print what it configured (plan JSON shape)",
    )
    parser.add_argument("--strategy", required=True, choices=strategy_names())
    parser.add_argument("config_dir", metavar="DIR", help="the proxy-config directory (missing or empty: no configuration)")
    parser.add_argument("--preamble", metavar="PREAMBLE_DIR", help="a preamble directory with one <strategy>.sh entry (default: $AIRGAP_PREAMBLE_DIR, else the reference preamble/)")
    add_catalog_option(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from harness.preamble_check import preamble_check

    result = preamble_check(args.strategy, args.config_dir, args.preamble, args.choreo_registry)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    for problem in result["problems"]:
        print(f"airgap: preamble-check: {problem}", file=sys.stderr)
    return 1 if result["problems"] or result["exit_code"] != 0 else 0
