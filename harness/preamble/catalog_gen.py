"""Render the key catalog (with the default platform profile merged in) and the value grammar as bash data
(preamble/lib/catalog.sh), so the preamble never duplicates them by hand; and render another profile's defaults
as the records of the preamble's PREAMBLE_PROFILE variable (harness.preamble.interface.PROFILE).

`python -m harness.preamble.catalog_gen --write` regenerates the file; a test fails when
the committed copy is stale.
"""

import hashlib
import re
import shlex
import sys

from harness.contract import grammar
from harness.contract.catalog import Catalog, load_catalog
from harness.contract.config import NOT_KEYS
from harness.infra import paths
from harness.infra.errors import UserError
from harness.infra.textsafe import printable
from harness.preamble import interface


def _assign(array: str, index: str, value: str) -> str:
    return f"{array}[{shlex.quote(index)}]={shlex.quote(value)}"


def render(catalog: Catalog | None = None) -> str:
    catalog = catalog or load_catalog()
    lines = [
        "# shellcheck shell=bash disable=SC2034,SC2016  # SC2016: data strings, nothing in them is to expand",
        "# Generated from harness/contract/catalog.yaml, profiles/choreo.yaml and harness/contract/grammar.yaml by `python -m harness.preamble.catalog_gen --write`; do not edit.",
        "declare -gA PC_REGISTRY_MIRROR_KEY=() PC_REGISTRY_PREFIXES=() PC_KEY_USERNAME=() PC_KEY_PASSWORD=() PC_KEY_TOKEN=()",
        "declare -gA PC_OCI_KEYS=() PC_IMAGES=() PC_MANAGERS=() PC_DOCKERHUB_LOGIN=() PC_CONSUMED=()",
        "declare -gA PC_IMAGE_DEFAULT=() PC_IMAGE_REGISTRY=() PC_IMAGE_OVERRIDE=()",
        f"PC_STRATEGIES={shlex.quote(' '.join(catalog.strategies))}",
        f"PC_NOT_KEYS={shlex.quote(' '.join(sorted(NOT_KEYS)))}  # files a folder holds that are no keys (config.py)",
        f"PC_DEFAULT_CHOREO_REGISTRY={shlex.quote(catalog.registries['choreo'].prefixes[0])}",
        f"PC_PLATFORM_HOSTS={shlex.quote(' '.join(catalog.platform_hosts))}",
        f"PC_PROFILE_SHA256={_sha256(catalog.profile.text) if catalog.profile else ''}  # the profile it was made from",
    ]
    for registry in catalog.registries.values():
        lines.append(_assign("PC_REGISTRY_MIRROR_KEY", registry.id, registry.mirror_key))
        lines.append(_assign("PC_REGISTRY_PREFIXES", registry.id, " ".join(registry.prefixes)))
    for key in catalog.keys.values():
        for array, value in (("PC_KEY_USERNAME", key.username), ("PC_KEY_PASSWORD", key.password), ("PC_KEY_TOKEN", key.token)):
            if value:
                lines.append(_assign(array, key.name, value))
    for strategy in catalog.strategies.values():
        s = strategy.name
        lines.append(_assign("PC_OCI_KEYS", s, " ".join(strategy.oci_keys)))
        lines.append(_assign("PC_IMAGES", s, " ".join(strategy.images)))
        lines.append(_assign("PC_MANAGERS", s, " ".join(strategy.managers)))
        lines.append(_assign("PC_DOCKERHUB_LOGIN", s, "1" if strategy.dockerhub_login else ""))
        lines.append(_assign("PC_CONSUMED", s, " ".join(catalog.consumed_keys(s))))
        for image in strategy.images.values():
            index = f"{s}/{image.name}"
            lines.append(_assign("PC_IMAGE_DEFAULT", index, image.default))
            lines.append(_assign("PC_IMAGE_REGISTRY", index, image.registry))
            lines.append(_assign("PC_IMAGE_OVERRIDE", index, image.override or ""))
    for name, managers in grammar.CLIENTS.items():  # what some clients do (grammar.yaml `clients`)
        lines.append(f"PC_{name.upper().replace('-', '_')}_MANAGERS={shlex.quote(' '.join(managers))}")
    lines.append(f"PC_TOKEN_SHAPES=({' '.join(shlex.quote(shape) for shape in grammar.TOKEN_SHAPES)})")
    lines.append("PC_PATH_TOKEN_BEFORE=() PC_PATH_TOKEN_NOT=() PC_PATH_TOKEN_MORE=()")
    for index, entry in enumerate(grammar.PATH_TOKENS):
        lines.append(f"PC_PATH_TOKEN_BEFORE[{index}]={shlex.quote(entry.before)} "
                     f"PC_PATH_TOKEN_NOT[{index}]={shlex.quote(' '.join(entry.not_tokens))} "
                     f"PC_PATH_TOKEN_MORE[{index}]={'1' if entry.more else ''}")
    lines.append("declare -gA PC_RULE_SUMMARY=()")
    for name, pattern in grammar.PATTERN_TEXTS.items():
        lines.append(f"PC_RE_{name.upper().replace('-', '_')}={shlex.quote(pattern)}")
    for rule in grammar.RULES.values():
        if rule.build in ("stops", "ignores"):  # the preamble names the first when it stops, the second when it warns
            lines.append(_assign("PC_RULE_SUMMARY", rule.id, rule.summary))
    return "\n".join(lines) + "\n"


def profile_records(catalog: Catalog) -> str:
    """The catalog's registry prefixes and images as PREAMBLE_PROFILE's records (interface.PROFILE_RECORDS):
    what a preamble needs of a profile, in lines a bash `read` takes apart without evaluating anything."""
    def record(kind: str, *columns: str) -> str:
        assert len(columns) == len(interface.PROFILE_RECORDS[kind]) and not any("\t" in c or "\n" in c for c in columns)
        return "\t".join((kind, *columns))

    lines = [record("platform-hosts", " ".join(catalog.platform_hosts))]
    lines += [record("registry", r.id, " ".join(r.prefixes)) for r in catalog.registries.values()]
    for strategy in catalog.strategies.values():
        lines.append(record("images", strategy.name, " ".join(strategy.images)))
        lines += [record("image", f"{strategy.name}/{i.name}", i.default, i.registry, i.override or "")
                  for i in strategy.images.values()]
    return "\n".join(lines) + "\n"


def preamble_profile(catalog: Catalog) -> str | None:
    """PREAMBLE_PROFILE for a preamble run under this catalog: None with the default profile as
    preamble/lib/catalog.sh was made from it (the preamble's own defaults are then that profile's), else the
    profile's records (another profile, or the default one edited since: a platform team moving a version)."""
    if catalog.profile is None or (catalog.profile.is_default and _made_from(catalog.profile.text)):
        return None
    records = profile_records(catalog)
    size = len(f"{interface.PROFILE}={records}".encode()) + 1
    if size > ENVIRONMENT_ENTRY_LIMIT:
        raise UserError(f"{printable(catalog.profile.path)}: its defaults make {size} bytes of {interface.PROFILE} "
                        f"records, over Linux's {ENVIRONMENT_ENTRY_LIMIT // 1024} KiB limit for one environment "
                        "variable: no preamble can be given a profile this large")
    return records


ENVIRONMENT_ENTRY_LIMIT = 128 * 1024  # MAX_ARG_STRLEN: one NAME=value entry, its NUL included


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _made_from(profile_text: str) -> bool:
    """Whether the reference preamble's catalog.sh was made from this profile text."""
    try:
        with open(paths.preamble_dir() / interface.CATALOG_FILE, "rb") as handle:
            return made_from(handle.read(4096), profile_text)  # the line is among its first
    except OSError:
        return False


def made_from(catalog_sh: bytes, profile_text: str) -> bool:
    """Whether a catalog.sh (its bytes, or its first ones) was made from this profile text."""
    found = re.search(r"^PC_PROFILE_SHA256=([0-9a-f]*)", catalog_sh[:4096].decode(errors="replace"), re.M)
    return bool(found) and found.group(1) == _sha256(profile_text)


def main(argv: list[str]) -> int:
    """`--write`: replace preamble/lib/catalog.sh, only once the new text is made (a shell redirect would empty
    the file first, and leave it empty when the catalog has a mistake); else print it."""
    try:
        text = render()
    except UserError as error:
        print(f"airgap: error: {error}", file=sys.stderr)
        return 1
    if argv == ["--write"]:
        target = paths.preamble_dir() / interface.CATALOG_FILE
        partial = target.with_name(".catalog.sh.partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(target)
        print(f"wrote {target}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
