"""`airgap engine ensure`: make sure a Docker engine answers (installing and starting one where we can)."""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("engine", help="the Docker engine the harness runs on")
    actions = parser.add_subparsers(dest="engine_command", required=True, metavar="ACTION")
    ensure = actions.add_parser("ensure", help="find or start a Docker engine and print its version and socket")
    ensure.set_defaults(func=_ensure)


def _ensure(args) -> int:
    import logging

    from harness.infra import engine

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(engine.describe(engine.ensure_engine()))
    return 0
