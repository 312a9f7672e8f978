"""The one exception type the CLI turns into a clean message (never a traceback)."""


class UserError(Exception):
    """Bad input or environment, explained in words that name the key, file or setting at fault.

    The message must never contain a secret value: callers mask before raising.
    """

    exit_code = 1


class UsageError(UserError):
    """A command was called wrongly (exit 2, like argparse)."""

    exit_code = 2
