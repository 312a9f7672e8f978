"""Reading a file the user names, bounded: a regular file only, at most `limit` bytes.

Anything else is refused before it is read: opening a FIFO blocks until a writer comes, a device such as
/dev/zero never ends. The open is non-blocking and checked again in case the path was swapped in between.
"""

import json
import os
import stat
from pathlib import Path

from harness.infra.errors import UserError
from harness.infra.textsafe import printable


def read_regular_file(path: str | os.PathLike, limit: int, too_large: str = "") -> bytes:
    """A regular file's bytes, at most `limit` of them; `too_large` ends the error over the limit."""
    shown = printable(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise UserError(f"{shown}: not a regular file (a FIFO, device or directory is not read)")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise UserError(f"{shown}: not a regular file")
            chunks, size = [], 0
            while size <= limit:
                chunk = os.read(fd, limit + 1 - size)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        finally:
            os.close(fd)
    except FileNotFoundError:
        raise
    except OSError as error:
        raise UserError(f"{shown}: cannot be read: {error.strerror}") from None
    if size > limit:
        raise UserError(f"{shown}: too large (over {limit} bytes{too_large})")
    return b"".join(chunks)


def read_json_file(path: Path, limit: int):
    """A JSON file (UTF-8, at most `limit` bytes, not nested past Python's recursion limit), or a UserError
    naming it; FileNotFoundError is left to the caller, which knows what the file should have been."""
    data = read_regular_file(path, limit)
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except RecursionError:
        raise UserError(f"{printable(path)}: cannot be read as JSON: nested too deeply") from None
    except ValueError as error:  # UnicodeDecodeError, JSONDecodeError, an integer of over 4300 digits
        raise UserError(f"{printable(path)}: cannot be read as JSON: {error}") from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON (Python writes it for a float that is not finite)")


def read_files_below(directory: Path, file_limit: int, total_limit: int) -> dict[Path, bytes]:
    """Every regular file below `directory` by its relative path, each read as read_regular_file reads it; other
    kinds of entry (FIFOs, devices, links to them, link loops) are left out, as a copy of the tree leaves them."""
    found, total = {}, 0
    for path in sorted(directory.rglob("*")):
        if not path.is_file():
            continue
        data = read_regular_file(path, file_limit)
        total += len(data)
        if total > total_limit:
            raise UserError(f"{printable(directory)}: too large (over {total_limit} bytes in all)")
        found[path.relative_to(directory)] = data
    return found


def resolved(path: str | os.PathLike) -> Path:
    """The path made absolute with its symbolic links followed, or a UserError naming it (a loop of links)."""
    try:
        return Path(path).expanduser().resolve()
    except (RuntimeError, OSError) as error:  # Python 3.11 raises RuntimeError on a loop, later ones OSError
        reason = getattr(error, "strerror", None) or "a loop of symbolic links"
        raise UserError(f"{printable(path)}: cannot be resolved: {reason}") from None
