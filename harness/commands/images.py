"""`airgap images ensure|list`: build the harness images (only those whose inputs changed) or show their tags."""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("images", help="the locally built images the harness runs")
    actions = parser.add_subparsers(dest="images_command", required=True, metavar="ACTION")
    ensure = actions.add_parser("ensure", help="build missing images (all by default) and print their tags")
    ensure.add_argument("names", nargs="*", metavar="NAME", help="image names (default: all)")
    ensure.set_defaults(func=_ensure)
    listing = actions.add_parser("list", help="print each image's current tag and whether it is built")
    listing.set_defaults(func=_list)


def _ensure(args) -> int:
    import logging

    from harness import images

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name, tag in images.ensure_images(args.names or None).items():
        print(f"{name}\t{tag}")
    return 0


def _list(args) -> int:
    from harness import images

    for name, (tag, present) in images.status().items():
        print(f"{name}\t{tag or '-'}\t{'built' if present else 'missing'}")
    return 0
