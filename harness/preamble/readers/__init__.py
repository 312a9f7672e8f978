"""Readers of what a preamble wrote for each package manager: harness/preamble/readers/<manager>.py, one per
manager of the catalog (part of the manager's slice, docs/adding-a-key.md), each with

    read(reader, record) -> (url, auth) | None

`reader` is the harness.preamble.check.Reader of the run (its HOME, the configured values, `expect` to record a
problem, `strip_userinfo`), `record` the preamble's report line for the manager. It returns the URL the client
will use and the auth it carries (`none`, `basic` or `token`), or None when the preamble wrote nothing for it.
"""

from harness.infra.modules import module_with


def reader_for(manager: str):
    """The `read` function of harness/preamble/readers/<manager>.py; a clear error when there is none."""
    return module_with(__name__, manager, "read", "reader").read
