"""The `airgap` command line: one sub-command per module in harness/commands.

Each command module defines `add_parser(subparsers)` and sets `func` on its parser; heavy imports
(docker, testcontainers, rich) stay inside the handlers so offline commands start fast.
"""

import argparse
import importlib
import sys

from harness.errors import UserError

COMMAND_MODULES = [
    "harness.commands.plan",
    "harness.commands.lint",
    "harness.commands.secret",
    "harness.commands.survey",
    "harness.commands.engine",
    "harness.commands.images",
    "harness.commands.clean",
    "harness.commands.preamble_check",
    "harness.commands.run",
    "harness.commands.repro",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="airgap",
        description="Air-gap simulation and integration test harness for proxy-config build preambles.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except UserError as error:
        print(f"airgap: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("airgap: interrupted", file=sys.stderr)
        return 130
