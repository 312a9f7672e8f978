"""Print build time per harness image: cold (nothing present) with --cold, and warm (all present).

Run from the repository root: `python benchmarks/images.py [--cold | --fresh-ca]`. --cold first removes
every image labelled airgap-harness=1 (refused while a harness container exists), so the base is bootstrapped
again. --fresh-ca adds a throwaway CA to AIRGAP_EXTRA_CA_CERTS instead, so every image above the base builds
anew while the images in use stay untouched (they are removed again at the end). A build time includes what
the image builds on only when that was missing too, so a cold run's figures add up to the whole cold build.
"""

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import docker.errors  # noqa: E402

import trustme  # noqa: E402

from harness.infra import engine, images, settings  # noqa: E402
from harness.infra.errors import UserError  # noqa: E402


def remove_harness_images(client) -> int:
    """Remove every airgap-harness image, children before parents; returns how many went."""
    label = "=".join(next(iter(images.LABEL.items())))
    # a container of a harness image holds the image; a stack's go with `airgap clean`, one made by hand does not
    left = client.containers.list(all=True, filters={"label": label}, ignore_removed=True)
    if left:
        names = " ".join(sorted(c.name for c in left))
        raise UserError(f"containers of harness images still exist ({names}): run `airgap clean --all`, "
                        f"then `docker rm -f` what is left, before --cold")
    removed = 0
    for image in sorted(client.images.list(filters={"label": label}), key=lambda i: i.attrs["Created"], reverse=True):
        try:
            client.images.remove(image.id, force=True)
            removed += 1
        except docker.errors.ImageNotFound:
            pass  # went with an image removed before it
    return removed


def add_throwaway_ca(directory: str) -> None:
    """Append a new CA to the extra-CA setting: new tags above the base, the machine's CAs still trusted."""
    path = os.path.join(directory, "throwaway-ca.pem")
    trustme.CA().cert_pem.write_to_path(path)
    current = [str(ca) for ca in settings.load().extra_ca_certs]  # the setting in effect (variable or recorded)
    os.environ[settings.EXTRA_CA_VAR] = ":".join([*current, path])


TARGET_S = 120  # issue 12, item 4: every image above the Debian base, cold, on 2 cores


def report(client, names) -> None:
    """Build what is missing as `airgap run` does (siblings side by side), each image's time as it ends; then
    the wall time of the whole, and a warm pass."""
    started = time.monotonic()
    tags = images.ensure_images(names, client, progress=lambda line: print(f"  {line}", flush=True))
    wall = time.monotonic() - started
    built = [name for name in names if tags[name] in images.BUILT]
    above_base = [name for name in built if name != "base"]
    verdict = "ok" if wall < TARGET_S else "OVER TARGET"
    print(f"built {', '.join(built) or 'nothing'} in {wall:.1f} s wall"
          + (f" (target < {TARGET_S} s for every image above the base: {verdict})" if above_base and "base" not in built
             else ""))
    for name in names:
        print(f"  {name:<10} {client.images.get(tags[name]).attrs['Size'] / 1e6:8.0f} MB  {tags[name]}")
    started = time.monotonic()
    images.ensure_images(names, client)
    print(f"warm pass (everything present): {time.monotonic() - started:.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--cold", action="store_true", help="remove all harness images first")
    mode.add_argument("--fresh-ca", action="store_true", help="build everything above the base anew, then remove it")
    parser.add_argument("names", nargs="*", help="images to measure (default: all, base first)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.DEBUG if os.environ.get("AIRGAP_BENCH_DEBUG") else logging.INFO, format="%(asctime)s %(message)s")  # progress on stderr
    try:
        client = engine.ensure_engine()
        if args.cold:
            print(f"removed {remove_harness_images(client)} harness images")
        names = args.names or ["base", *images.image_names()]
        with tempfile.TemporaryDirectory() as scratch:
            if args.fresh_ca:
                add_throwaway_ca(scratch)
            try:
                report(client, names)
            finally:
                if args.fresh_ca:  # what the throwaway CA built is of no further use: children first
                    base = f"{images.REPOSITORY}/base:"
                    for tag in reversed([tag for tag in images.BUILT if not tag.startswith(base)]):
                        client.images.remove(tag)
    except UserError as error:
        print(f"benchmarks/images.py: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
