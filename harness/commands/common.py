"""Options and output helpers shared by several commands."""

import argparse
import json
import os
import sys

from harness.infra import settings
from harness.contract.catalog import Catalog, choreo_registry_from_environment, load_catalog
from harness.infra.errors import UserError


class _FromEnvironment(str):
    """The option's default when it comes from the environment, so a refusal names the variable."""


def _platform_registry(text: str) -> str | None:
    """argparse type of --choreo-registry: the catalog's own check, reported as an error of the option."""
    if not text:  # an explicit empty value is no host (unset the variable, or leave the option out, for none)
        raise argparse.ArgumentTypeError("empty: name the platform registry host, or leave the option out")
    try:
        if isinstance(text, _FromEnvironment):
            return choreo_registry_from_environment()
        load_catalog(text)
    except UserError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _profile(text: str) -> str:
    """argparse type of --profile: the profile must load and merge into the catalog; its errors name the file."""
    if not text:
        raise argparse.ArgumentTypeError("empty: name the profile file, or leave the option out for the default")
    try:
        load_catalog(profile=text)
    except UserError as error:
        variable = f"{settings.PROFILE_VAR}: " if isinstance(text, _FromEnvironment) else ""
        raise argparse.ArgumentTypeError(variable + str(error)) from None
    return str(text)


def add_catalog_option(parser: argparse.ArgumentParser) -> None:
    """--choreo-registry and --profile, each defaulting to its environment variable (marked as such for errors)."""
    def from_environment(variable: str):
        value = os.environ.get(variable)
        return _FromEnvironment(value) if value else None

    parser.add_argument(
        "--choreo-registry", type=_platform_registry, default=from_environment(settings.CHOREO_REGISTRY_VAR),
        metavar="HOST[:PORT]",
        help=f"the platform registry host of this PDP, a DNS name with a dot: it replaces every platform registry "
             f"host of the profile (default: ${settings.CHOREO_REGISTRY_VAR}, else none)",
    )
    parser.add_argument(
        "--profile", type=_profile, default=from_environment(settings.PROFILE_VAR), metavar="FILE",
        help=f"the platform profile: the default images, hand-off and destinations of the platform's build flows "
             f"(default: ${settings.PROFILE_VAR}, else profiles/choreo.yaml)",
    )


def add_format_option(parser: argparse.ArgumentParser) -> None:
    """Every command that prints a result offers the same two forms."""
    parser.add_argument("--format", choices=["text", "json"], default="text",
                        help="text for people, json for programs (default: text)")


def catalog_from(args: argparse.Namespace) -> Catalog:
    return load_catalog(args.choreo_registry, args.profile)


def strategy_names() -> list[str]:
    return list(load_catalog().strategies)


def print_json(data) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=True)
    sys.stdout.write("\n")
