"""`airgap secret render|import|mount`: the proxy-config Secret to and from directories.

Values never reach the terminal: warnings and errors name keys and files only.
"""

import argparse
import re
import sys

from harness import secret as defaults  # the Secret code imports PyYAML: only when a command runs
from harness.infra.textsafe import printable


def add_parser(subparsers) -> None:
    group = subparsers.add_parser("secret", help="render, import or mount the proxy-config Secret")
    commands = group.add_subparsers(dest="secret_command", required=True, metavar="SECRET_COMMAND")

    render = commands.add_parser(
        "render", help="print the Secret exactly as `kubectl create secret generic --from-file=DIR "
                       "--dry-run=client -o yaml` prints it")
    render.add_argument("directory", metavar="DIR")
    render.add_argument("--namespace", "-n", metavar="NS")
    render.add_argument("--name", default=defaults.DEFAULT_NAME, help="default: %(default)s")
    render.add_argument("--kubectl-version", type=_kubectl_version, default=defaults.DEFAULT_KUBECTL_VERSION,
                        metavar="1.N", help="print as this kubectl version does (default: 1.32)")
    render.set_defaults(func=run_render)

    importer = commands.add_parser(
        "import", help="write a `kubectl get secret -o yaml|json` back into one file per key (mode 0600)")
    importer.add_argument("secret_file", metavar="SECRET.yaml", help="the Secret as `kubectl get secret -o yaml|json` "
                          "prints it; - reads it from stdin")
    importer.add_argument("out_dir", metavar="OUT_DIR")
    importer.add_argument("--force", action="store_true", help="write into a non-empty OUT_DIR")
    importer.set_defaults(func=run_import)

    mount = commands.add_parser(
        "mount", help="lay DIR out the way kubelet mounts a Secret volume (..data symlinks)")
    mount.add_argument("directory", metavar="DIR")
    mount.add_argument("out_dir", metavar="OUT_DIR")
    mount.add_argument("--mode", type=_octal_mode, default=defaults.DEFAULT_MOUNT_MODE,
                       help="file mode like a volume's defaultMode, in octal (default: 0644)")
    mount.set_defaults(func=run_mount)


def _kubectl_version(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"v?(1)\.([0-9]+)(\.[0-9]+)?", text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a kubectl version such as 1.32")
    return int(match.group(1)), int(match.group(2))


def _octal_mode(text: str) -> int:
    try:
        mode = int(text, 8)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an octal file mode such as 0644") from None
    if not 0 <= mode <= 0o777:
        raise argparse.ArgumentTypeError(f"{text!r} is outside 0000-0777 (a Secret volume's defaultMode range)")
    return mode


def _warn(message: str) -> None:
    print(f"airgap: warning: {message}", file=sys.stderr)


def run_render(args) -> int:
    from harness.secret import convert as secret, goyaml

    found = secret.read_directory(args.directory)
    for name, kind in found.skipped:
        _warn(f"skipped {kind} {printable(name)}: kubectl --from-file takes regular files only")
    if any(name == "..data" for name, _ in found.skipped):
        _warn(f"{printable(args.directory)} looks like a mounted Secret volume; render its ..data directory instead")
    well_defined = goyaml.go_yaml_key_order(found.data)[1]
    if well_defined is None:
        _warn(f"over {goyaml.MAX_CHECKED_DIGIT_KEYS} key names hold digits: whether go-yaml has a single order for "
              "them was not checked; kubectl may print the data keys in another order from run to run")
    elif not well_defined:
        _warn("go-yaml has no single order for these key names (digit runs); "
              "kubectl may print the data keys in another order from run to run")
    sys.stdout.write(secret.render_secret(found.data, args.name, args.namespace, args.kubectl_version))
    return 0


def run_import(args) -> int:
    from harness.secret import convert as secret

    values, notices = secret.read_secret_file(args.secret_file)
    for notice in notices:
        _warn(notice)
    leftovers = secret.write_key_files(values, args.out_dir, force=args.force)
    if leftovers:
        _warn(f"{printable(args.out_dir)} also holds entries the Secret does not: "
              + ", ".join(map(printable, leftovers)))
    print(f"wrote {len(values)} keys to {printable(args.out_dir)}", file=sys.stderr)
    return 0


def run_mount(args) -> int:
    from harness.secret import convert as secret

    values = secret.read_for_mount(args.directory)
    data_dir = secret.mount_layout(values, args.out_dir, mode=args.mode)
    print(f"mounted {len(values)} keys at {printable(args.out_dir)} (..data -> {data_dir.name})", file=sys.stderr)
    return 0
