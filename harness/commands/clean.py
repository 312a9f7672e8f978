"""`airgap clean`: remove what killed runs left behind (containers, networks, host firewall rules)."""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "clean", help="remove the containers, networks and firewall rules of stack runs whose process is gone")
    parser.add_argument("--all", action="store_true", help="also remove runs whose process is still alive")
    parser.set_defaults(func=_clean)


def _clean(args) -> int:
    from harness.infra.engine import ensure_engine
    from harness.stack import cleanup

    removed, kept = cleanup.clean(ensure_engine(), include_live=args.all)
    for kind, names in (("container", removed.containers), ("network", removed.networks),
                        ("firewall rule", removed.host_rules)):
        for name in names:
            print(f"removed {kind} {name}")
    if not removed:
        print("nothing to remove")
    for run_id in kept:
        print(f"kept run {run_id}: its process is still running or unknown (use --all to remove it too)")
    return 0
