"""`airgap preamble-check`: run a build preamble offline and print what it configured, in `airgap plan`'s shape."""

import json
import re
import sys

from harness.commands.common import add_catalog_option, add_format_option, strategy_names
from harness.commands.plan import dockerhub_line, ignored_line, image_line, login_line, package_line
from harness.infra.textsafe import printable


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "preamble-check",
        help="run a strategy's build preamble in a clean HOME without network and print what it configured "
             "(plan's shape, as text or JSON)",
    )
    parser.add_argument("--strategy", required=True, choices=strategy_names())
    parser.add_argument("config_dir", metavar="DIR",
                        help="the proxy-config directory (empty: no configuration; missing: a usage error)")
    parser.add_argument("--preamble", metavar="PREAMBLE_DIR", help="a preamble directory with one <strategy>.sh entry (default: $AIRGAP_PREAMBLE_DIR, else the reference preamble/)")
    add_format_option(parser)
    add_catalog_option(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from harness.preamble.check import preamble_check

    result = preamble_check(args.strategy, args.config_dir, args.preamble, args.choreo_registry, args.profile)
    if args.format == "json":
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print(render_text(result, args.config_dir))
        if result["exit_code"] == 0:  # a stopped preamble's whole log is in the text already
            for line in warnings(result["log"]):
                print(f"airgap: preamble-check: {_printable(line)}", file=sys.stderr)
    for problem in result["problems"]:
        print(f"airgap: preamble-check: {problem}", file=sys.stderr)
    return 1 if result["problems"] or result["exit_code"] != 0 else 0


def warnings(log: str) -> list[str]:
    """The preamble's warnings (a value it treated as unset, ...): plan prints its own on stderr, and a
    fallback to a default must not pass silently in text either."""
    return [line for line in log.splitlines() if re.search(r"\bwarning:", line, re.I)]


def _printable(line: str) -> str:
    """The preamble's log quotes file names and values: escape what a terminal would act on."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in line)


def render_text(result: dict, config_dir: str) -> str:
    """What the preamble configured, line for line as `airgap plan` prints what it would configure."""
    lines = [f"{result['strategy']} preamble with {printable(config_dir)}"]
    if result["exit_code"] != 0:
        lines += ["", f"the preamble stopped (exit {result['exit_code']}); its log:"]
        lines += [f"  {_printable(line)}" for line in result["log"].splitlines()]
    else:
        lines += ["", "images:"]
        for name, image in result["images"].items():
            lines.append(image_line(name, image["resolved"], image["source"], image["key"], image["credentials"]))
        lines += ["", dockerhub_line(result["dockerhub_login"])]
        lines += [login_line(login["registry"], login["key"]) for login in result["logins"]]
        if result["packages"]:
            lines += ["", "packages:"]
            lines += [package_line(manager, p["url"] or "(no URL)", p["auth"], p["key"]) for manager, p in result["packages"].items()]
        if result["ignored_keys"]:
            lines += ["", ignored_line(result["ignored_keys"])]
    problems = len(result["problems"])
    none = "problems: none" if result["exit_code"] == 0 else f"problems: none besides the stop (exit {result['exit_code']})"
    lines += ["", f"problems: {problems} (listed on stderr)" if problems else none]
    return "\n".join(lines)
