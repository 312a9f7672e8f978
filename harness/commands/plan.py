"""`airgap plan`: what one strategy's build does with a proxy-config directory."""

import sys

from harness.commands.common import add_catalog_option, add_format_option, catalog_from, print_json, strategy_names
from harness.contract.config import read_config
from harness.contract.plan import Plan, plan
from harness.infra.textsafe import printable


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("plan", help="show what a strategy's build does with a proxy-config directory")
    parser.add_argument("--strategy", required=True, choices=strategy_names())
    parser.add_argument("config_dir", metavar="DIR",
                        help="the proxy-config directory (empty: no configuration; missing: a usage error)")
    add_format_option(parser)
    add_catalog_option(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    result = plan(catalog_from(args), read_config(args.config_dir), args.strategy)
    for problem in result.problems:
        print(f"airgap: warning: {printable(args.config_dir)}/{printable(problem['key'])}: {printable(problem['problem'])} "
              "(treated as unset)", file=sys.stderr)
    if args.format == "json":
        print_json(result.to_json())
    else:
        print(render_text(result, args.config_dir))
    return 0


def image_line(name: str, resolved: str, source: str, key: str | None, credentials: str | None) -> str:
    """One image as plan's text shows it; preamble-check's text uses the same lines so the two compare."""
    how = source if key is None else f"{source} via {key}"
    if credentials:
        how += f", credentials {credentials}"
    return f"  {name:<22} {printable(resolved)}  ({how})"  # a value as read: escape sequences shown, not run


def dockerhub_line(login: bool) -> str:
    return "Docker Hub login with the platform's credentials: " + ("yes" if login else "no")


def login_line(registry: str, key: str | None) -> str:
    return f"login: {printable(registry)}  ({key or 'platform credentials'})"


def package_line(manager: str, url: str, auth: str, key: str | None) -> str:
    source = f"{key}, auth {auth}" if key else "public default"
    return f"  {manager:<10} {printable(url)}  ({source})"


def ignored_line(ignored_keys: list[str]) -> str:
    return "ignored keys (not consumed by this strategy): " + ", ".join(printable(key) for key in ignored_keys)


def render_text(result: Plan, config_dir: str) -> str:
    lines = [f"{result.strategy} build with {printable(config_dir)}", "", "images:"]
    for name, image in result.images.items():
        lines.append(image_line(name, image.shown, image.source, image.key, image.credentials))
        if image.source != "default":
            lines.append(f"  {'':<22} default {printable(image.default)}")
        if image.error:
            lines.append(f"  {'':<22} INVALID: {image.error} (the build stops)")
    shown = {image.key for image in result.images.values() if image.error}
    for mirror in result.mirrors.values():  # a mirror the strategy reads, whose images it left at their defaults
        if mirror["error"] and mirror["key"] not in shown:
            lines.append(f"  {mirror['key']:<22} INVALID: {mirror['error']} (the build stops)")
    lines.append("")
    lines.append(dockerhub_line(result.dockerhub_login))
    for login in result.logins:
        lines.append(login_line(login["registry"], login["key"]))
    if result.packages:
        lines += ["", "packages:"]
        for manager, package in result.packages.items():
            lines.append(package_line(manager, package.url, package.auth, package.key))
            if package.error:
                lines.append(f"  {'':<10} INVALID: {package.error} (the build stops)")
    if result.ignored_keys:
        lines += ["", ignored_line(result.ignored_keys)]
    if result.shadowed_keys:
        lines.append("shadowed by strategy-scoped keys: " + ", ".join(result.shadowed_keys))
    lines += ["", "public destinations this build still reaches:" if result.public else "public destinations: none"]
    for destination in result.public:
        cover = f"redirect with {destination['covered_by']}" if destination["covered_by"] else "no key covers this"
        lines.append(f"  {destination['host']:<36} {destination['purpose']}  [{cover}]")
    return "\n".join(lines)
