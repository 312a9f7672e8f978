"""The `airgap` command line: one sub-command per module in harness/commands.

Each command module defines `add_parser(subparsers)` and sets `func` on its parser; heavy imports
(docker, testcontainers, rich) stay inside the handlers so offline commands start fast.
"""

import argparse
import importlib
import os
import sys

from harness.infra.errors import UsageError, UserError

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
    "harness.commands.report",
]


def _terminal_columns() -> int:
    """The width help is wrapped to, as shutil.get_terminal_size finds it ($COLUMNS, else the terminal on stdout,
    else 80), without importing shutil: argparse imports it (with bz2, lzma and fnmatch) for every parser it
    builds unless given a width, about 8 ms of each start of a command that never prints help."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Formatter(argparse.HelpFormatter):
    def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
        super().__init__(prog, indent_increment, max_help_position, width or _terminal_columns() - 2)


class _Parser(argparse.ArgumentParser):
    """A parser that rejects unknown arguments itself, so the error shows the subcommand's usage.

    argparse hands a subcommand's leftovers up to the top-level parser, whose usage
    (`airgap [-h] COMMAND ...`) says nothing about the options the user got wrong.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{"formatter_class": _Formatter, **kwargs})

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser. Given the arguments, only the named command's module is imported and its
    parser built (every command's only for help or a word that is not a command): the command line starts
    in about 100 ms, and building all of them cost a tenth of that."""
    parser = _Parser(
        prog="airgap",
        description="Air-gap simulation and integration test harness for proxy-config build preambles.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    word = next((arg for arg in (argv or []) if not arg.startswith("-")), "")
    named = f"harness.commands.{word.replace('-', '_')}"
    for name in [named] if named in COMMAND_MODULES else COMMAND_MODULES:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def _check_input_paths(args: argparse.Namespace) -> None:
    """A missing input path is a usage error (exit 2) for every command.

    Commands name their inputs `config_dir`, `paths`, `directory` (secret render and mount), `secret_file` and
    `secret` (a Secret file; `-` is stdin) or `project`. The check is here, not in read_config, because
    there a missing directory rightly means "no configuration" (what the preamble sees); on the
    command line it is almost always a typo, and a clean verdict on a typo misleads.
    """
    named = [getattr(args, name, None) for name in ("config_dir", "directory", "secret_file", "secret", "project")]
    paths = [path for path in named if path is not None and str(path) != "-"]
    for path in paths + list(getattr(args, "paths", None) or []):
        if not os.path.exists(path):
            raise UsageError(f"{path}: no such file or directory")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        parser = build_parser(argv)  # reads the catalog and profile (--strategy's choices): they may be broken
    except UserError as error:
        print(f"airgap: error: {error}", file=sys.stderr)
        return error.exit_code
    args = parser.parse_args(argv)
    try:
        _check_input_paths(args)
        code = args.func(args) or 0
        sys.stdout.flush()  # inside the try: a closed pipe surfaces here, not at interpreter exit
        return code
    except BrokenPipeError:
        # The reader went away (`airgap lint DIR | head -1`): end quietly, as the Python docs advise, with
        # stdout pointed at devnull so the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except UserError as error:
        print(f"airgap: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("airgap: interrupted", file=sys.stderr)
        return 130
