"""`airgap images ensure|list|prune`: build the harness images (only those whose inputs changed), show or prune them."""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("images", help="the locally built images the harness runs")
    actions = parser.add_subparsers(dest="images_command", required=True, metavar="ACTION")
    ensure = actions.add_parser("ensure", help="build missing images (all by default) and print their tags")
    ensure.add_argument("names", nargs="*", metavar="NAME", help="image names (default: all)")
    ensure.set_defaults(func=_ensure)
    listing = actions.add_parser("list", help="print each image's current tag and whether it is built")
    listing.set_defaults(func=_list)
    prune = actions.add_parser("prune", help="remove harness images left behind by older inputs or settings")
    prune.add_argument("names", nargs="*", metavar="NAME", help="image names (default: all)")
    prune.set_defaults(func=_prune)


def _ensure(args) -> int:
    import logging

    from harness.infra import images

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name, tag in images.ensure_images(args.names or None).items():
        print(f"{name}\t{tag}")
    return 0


def _list(args) -> int:
    from harness.infra import images

    for name, (tag, present) in images.status().items():
        print(f"{name}\t{tag or '-'}\t{'built' if present else 'missing'}")
    return 0


def _prune(args) -> int:
    from harness.infra import images

    removed = images.prune(names=args.names or None)
    for tag in removed:
        print(f"removed {tag}")
    print(f"{len(removed)} stale harness image(s) removed")
    return 0
