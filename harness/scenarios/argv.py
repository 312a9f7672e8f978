"""The process arguments of a build, recorded inside its builder, and the credentials seen in them.

A credential on a command line is readable by every process of the machine for as long as the command runs
(`ps`, /proc/<pid>/cmdline) and lands in audit logs: `podman login HOST -u USER -p PASSWORD` shows the mirror
password (docs/platform-preamble.md, finding 7). To see it as a build would show it, the build script
(steps.build_script) starts POLLER in the builder before the preamble: every POLL_S seconds it reads the
cmdline of every process of the builder (its own PID namespace: the build, nothing else) and appends each
argument vector it has not seen before, with the time and the pid, hex-encoded, to RECORD_FILE. After the
last step, when the preamble stops the build, and at the script's exit (a preamble that exits instead of
returning), `report_command` stops it and prints each record not printed yet on a line after MARK. `take` removes those lines from the build output before anything else reads it, so no argument
reaches a report; `exposures` names every secret of the proxy-config (steps.secret_values) seen in an
argument, with the process, the step and the command line, every secret masked by its key name.

A poll misses a process that starts and ends between two polls (a few milliseconds); a registry login
(process start, a TLS handshake with the mirror, a request) lasts far longer.
"""

import re
import shlex
from dataclasses import dataclass
from urllib.parse import quote

MARK = "::airgap-argv"
RECORD_FILE = "/tmp/.airgap-argv"
POLL_S = 0.003
# Perl (perl-base is part of every Debian system, and of the builder): one pass over /proc costs far less
# than a shell loop would. No single quote in it: the script quotes it with shlex.
POLLER = """
use Time::HiRes qw(time sleep);
my ($file, $period) = @ARGV;
open(my $out, q(>>), $file) or die(qq(cannot write $file\\n));
select((select($out), $| = 1)[0]);
my %seen;
while (1) {
    opendir(my $proc, q(/proc)) or last;
    for my $pid (grep { /^[0-9]+$/ && $_ != $$ } readdir($proc)) {
        open(my $in, q(<), qq(/proc/$pid/cmdline)) or next;
        my $argv = do { local $/; <$in> };
        close($in);
        next unless defined($argv) && length($argv);
        next if $seen{qq($pid $argv)}++;
        printf $out qq(%.6f %d %s\\n), time, $pid, unpack(q(H*), $argv);
    }
    closedir($proc);
    sleep($period);
}
""".strip()
_SHOWN = 240  # characters of a masked command line a problem shows


def start_command() -> str:
    """Shell lines of the build script that start the poller in the background (its pid in $airgap_argv) and
    define `airgap_argv_report`, which stops it and prints its records. The poller's output goes nowhere:
    a background process holding the build's output open would keep the build from ending."""
    return "\n".join([
        f"rm -f {RECORD_FILE}",
        f"perl -e {shlex.quote(POLLER)} {RECORD_FILE} {POLL_S} </dev/null >/dev/null 2>&1 & airgap_argv=$!",
        "airgap_argv_report() { kill \"$airgap_argv\" 2>/dev/null || :; wait \"$airgap_argv\" 2>/dev/null || :; "
        f"if [ -f {RECORD_FILE} ]; then while IFS= read -r airgap_line; do printf '%s %s\\n' '{MARK}' "
        f"\"$airgap_line\"; done <{RECORD_FILE}; rm -f {RECORD_FILE}; fi; }}",
        "trap airgap_argv_report EXIT",  # also when a preamble exits the build instead of returning (once: rm)
    ])


def report_command() -> str:
    return "airgap_argv_report"


@dataclass(frozen=True)
class Record:
    """One argument vector the poller saw: when, in which process."""

    time: float
    pid: int
    argv: tuple[str, ...]

    @property
    def process(self) -> str:
        """The program's name: the last part of argv[0]."""
        return self.argv[0].rsplit("/", 1)[-1] if self.argv and self.argv[0] else "?"


_LINE = re.compile(rf"^{re.escape(MARK)} ([0-9.]+) ([0-9]+) ([0-9a-f]*)\r?\n?$")


def parse(line: str) -> Record | None:
    """A record line of the build output (MARK, time, pid, the hex of the NUL-separated cmdline), else None."""
    found = _LINE.match(line)
    if not found:
        return None
    try:
        raw = bytes.fromhex(found[3])
    except ValueError:
        return None
    parts = raw.split(b"\0")
    if parts and parts[-1] == b"":
        parts = parts[:-1]  # the cmdline ends with a NUL
    return Record(float(found[1]), int(found[2]), tuple(p.decode(errors="replace") for p in parts))


def take(output: str) -> tuple[list[Record], str]:
    """The records in a build's output, and the output without their lines."""
    records, kept = [], []
    for line in output.splitlines(keepends=True):
        if line.startswith(MARK + " "):
            record = parse(line)
            if record is not None:
                records.append(record)
                continue
        kept.append(line)
    return records, "".join(kept)


def _forms(secrets: dict[str, str]) -> list[tuple[str, str, str]]:
    """(text, key, value) for each secret value as it may appear in an argument: as it is, and percent-encoded
    (in a URL's user-info); longest first, so that masking never leaves part of a longer one. A value several
    keys hold is named by the first of them."""
    named: dict[str, str] = {}
    for name, value in sorted(secrets.items()):
        named.setdefault(value, name)
    forms = {(text, name, value) for value, name in named.items() for text in (value, quote(value, safe=""))}
    return sorted(forms, key=lambda item: (-len(item[0]), item[0]))


def masked(text: str, secrets: dict[str, str]) -> str:
    """`text` with every secret (in either form) replaced by <the key that holds it>."""
    for form, name, _ in _forms(secrets):
        text = text.replace(form, f"<{name}>")
    return text


def exposures(records: list[Record], secrets: dict[str, str], step_at=lambda time: "?") -> list[dict]:
    """Each secret seen in a process's arguments: `key` (the key holding the value; `same_value`: the other keys
    holding the very same value), `process` (its name), `step` (the build's step then: `step_at(time)`) and
    `command` (its command line, every secret masked by its key). Never a value. Once per key, process, step
    and command line."""
    forms, found, seen = _forms(secrets), [], set()
    for record in records:
        values = {(name, value) for text, name, value in forms if any(text in arg for arg in record.argv)}
        for name, value in sorted(values):
            command = shlex.join(masked(arg, secrets) for arg in record.argv)
            if len(command) > _SHOWN:
                command = command[:_SHOWN] + " ..."
            entry = {"key": name, "same_value": sorted(k for k, v in secrets.items() if v == value and k != name),
                     "process": record.process, "step": step_at(record.time), "command": command}
            if (name, entry["process"], entry["step"], command) not in seen:
                seen.add((name, entry["process"], entry["step"], command))
                found.append(entry)
    return found


def problems(found: list[dict]) -> list[str]:
    """The scenario problems of `exposures`, one per exposure."""
    out = []
    for e in found:
        others = e.get("same_value") or []
        also = ""
        if others:
            named = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
            also = f" (the same value as {named})"
        command = f"`{e['command']}`" if "`" not in e["command"] else e["command"]  # a code span in Markdown
        out.append(f"the process list showed the secret held in {e['key']}{also}: process {e['process']} in step "
                   f"{e['step']}: {command}")
    return out
