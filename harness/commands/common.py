"""Options and output helpers shared by several commands."""

import argparse
import json
import os
import sys

from harness.catalog import Catalog, load_catalog


def add_catalog_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--choreo-registry",
        default=os.environ.get("AIRGAP_CHOREO_REGISTRY"),
        metavar="HOST",
        help="the platform registry host of this PDP (default: $AIRGAP_CHOREO_REGISTRY or choreocontrolplane.azurecr.io)",
    )


def catalog_from(args: argparse.Namespace) -> Catalog:
    return load_catalog(args.choreo_registry)


def strategy_names() -> list[str]:
    return list(load_catalog().strategies)


def print_json(data) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=True)
    sys.stdout.write("\n")
