"""`airgap plan`: what one strategy's build does with a proxy-config directory."""

import sys

from harness.commands.common import add_catalog_option, catalog_from, print_json, strategy_names
from harness.config import read_config
from harness.plan import Plan, plan


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("plan", help="show what a strategy's build does with a proxy-config directory")
    parser.add_argument("--strategy", required=True, choices=strategy_names())
    parser.add_argument("config_dir", metavar="DIR", help="the proxy-config directory (missing or empty: no configuration)")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    add_catalog_option(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    result = plan(catalog_from(args), read_config(args.config_dir), args.strategy)
    for problem in result.problems:
        print(f"airgap: warning: {args.config_dir}/{problem['key']}: {problem['problem']} (treated as unset)", file=sys.stderr)
    if args.format == "json":
        print_json(result.to_json())
    else:
        print(render_text(result, args.config_dir))
    return 0


def render_text(result: Plan, config_dir: str) -> str:
    lines = [f"{result.strategy} build with {config_dir}", "", "images:"]
    for name, image in result.images.items():
        how = image.source if image.key is None else f"{image.source} via {image.key}"
        if image.credentials:
            how += f", credentials {image.credentials}"
        lines.append(f"  {name:<22} {image.resolved}  ({how})")
        if image.source != "default":
            lines.append(f"  {'':<22} default {image.default}")
        if image.error:
            lines.append(f"  {'':<22} INVALID: {image.error}")
    lines.append("")
    lines.append("Docker Hub login with the platform's credentials: " + ("yes" if result.dockerhub_login else "no"))
    for login in result.logins:
        lines.append(f"login: {login['registry']}  ({login['key'] or 'platform credentials'})")
    if result.packages:
        lines += ["", "packages:"]
        for manager, package in result.packages.items():
            source = f"{package.key}, auth {package.auth}" if package.key else "public default"
            lines.append(f"  {manager:<10} {package.url}  ({source})")
    if result.ignored_keys:
        lines += ["", "ignored keys (not consumed by this strategy): " + ", ".join(result.ignored_keys)]
    if result.shadowed_keys:
        lines.append("shadowed by strategy-scoped keys: " + ", ".join(result.shadowed_keys))
    lines += ["", "public destinations this build still reaches:" if result.public else "public destinations: none"]
    for destination in result.public:
        cover = f"redirect with {destination['covered_by']}" if destination["covered_by"] else "no key covers this"
        lines.append(f"  {destination['host']:<36} {destination['purpose']}  [{cover}]")
    return "\n".join(lines)
