"""Fixture content for the simulated internet, generated from the small definitions in fixtures/content/.

Each package manager's content comes with its slice (harness/stack/slices.py): its generator,
harness/stack/content/<manager>.py, turns fixtures/content/<manager>.yaml into named trees and a project
(`generate(definition) -> Generated`), and the slice's `internet:` places each tree on a host or a server.
OCI images (oci-images.yaml) and the single downloads (static.yaml) belong to no manager.

`build()` is pure: the same definitions give byte-identical trees (fixed timestamps, sorted entries), so a
run can compare digests across the public source, the mirror and the client's download.
"""

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from harness.infra.errors import UserError
from harness.stack import slices
from harness.stack.content import oci, sumdb
from harness.stack.content.archives import tgz_bytes, zip_bytes
from harness.infra import paths
from harness.infra.modules import module_with
from harness.infra.yamltext import YAMLSyntaxError, load_yaml

Tree = dict[str, bytes]
STORES = {"devpi": "python"}  # slice server -> the Content tree that fills it


@dataclass(frozen=True)
class Generated:
    """What a manager's generator (harness/stack/content/<manager>.py) makes of fixtures/content/<manager>.yaml."""

    trees: dict[str, Tree]  # named trees; the slice's `internet:` places each on a host (URL path) or a server
    project: Tree | None = None  # the client project consuming the fixtures (recipes.yaml `projects: <manager>`)
    make_project: Callable[[dict], Tree] | None = None  # a project from a definition shaped like `project:`
    project_fields: tuple[str, ...] = ()  # every field make_project reads: any other is a typo, refused


@dataclass(frozen=True)
class Content:
    images: tuple[oci.ImageRef, ...]  # every fixture image and the simulated host serving it
    registry: Tree  # registry:2 storage (relative to its rootdirectory)
    python: Tree  # file name -> wheel/sdist to upload to the simulated PyPI
    static: Tree  # "<host>/<url path>" -> bytes, served as files by the simulated internet
    projects: dict[str, Tree]  # ecosystem -> a client project consuming the fixtures (recipes.yaml `projects:`)
    go_sumdb_key: str = sumdb.VERIFIER_KEY  # GOSUMDB value under which the simulated sum.golang.org verifies
    # hosts outside the contract it serves (leaks.yaml, a customer project's stand-ins): (file hosts, registry hosts)
    outside: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())


def _load(directory: Path, name: str) -> dict:
    path = directory / name
    try:
        document = load_yaml(path.read_text())
    except OSError as error:
        raise UserError(f"fixture content {path}: cannot be read ({error.strerror})") from None
    except YAMLSyntaxError as error:
        raise UserError(f"fixture content {path}: not valid YAML ({error})") from None
    if not isinstance(document, dict):
        raise UserError(f"fixture content {path}: expected a mapping at the top level")
    return document


def _under(prefix: str, tree: Tree) -> Tree:
    return {f"{prefix}/{path}": data for path, data in tree.items()}


def _placeholder(entry: dict) -> bytes:
    files = {path: text.encode() for path, text in entry.get("files", {}).items()}
    kinds = {"text": lambda: entry["content"].encode(), "zip": lambda: zip_bytes(files), "tgz": lambda: tgz_bytes(files)}
    if entry.get("kind") not in kinds:
        raise UserError(f"fixtures/content/static.yaml: {entry.get('path')}: kind must be one of {sorted(kinds)}")
    return kinds[entry["kind"]]()


def static_download(host: str, path: str, directory: Path | None = None) -> bytes | None:
    """The bytes fixtures/content/static.yaml serves at https://<host><path>, or None: a stand-in for the same
    URL must be these bytes, since the simulated internet serves one file there."""
    for entry in _load(directory or fixtures_dir(), "static.yaml").get("files", []):
        if entry["host"] == host and entry["path"] == path:
            return _placeholder(entry)
    return None


def fixtures_dir() -> Path:
    """The content definitions: fixtures/content in the checkout."""
    return paths.fixtures_dir() / "content"


def generator(manager: str):
    """The manager's content generator: the module harness/stack/content/<manager>.py, with `generate`."""
    return module_with(__name__, manager, "generate", "content generator")


def _generate(directory: Path) -> dict[str, Generated]:
    """manager -> what its generator makes of its definitions, for every slice (catalog order)."""
    out = {}
    for piece in slices.load():
        definition = _load(directory, f"{piece.manager}.yaml")
        try:
            out[piece.manager] = generator(piece.manager).generate(definition)
        except (KeyError, ValueError, TypeError) as error:
            raise UserError(f"fixture content {directory / f'{piece.manager}.yaml'}: "
                            f"{type(error).__name__}: {error}") from None
    return out


@functools.lru_cache(maxsize=4)
def _generated(directory: Path) -> dict[str, Generated]:
    return _generate(directory)


@functools.lru_cache(maxsize=4)
def build(directory: Path | None = None) -> Content:
    """Generate every fixture tree from the definitions in `directory` (default: fixtures_dir())."""
    directory = directory or fixtures_dir()
    try:
        return _build(directory, _generated(directory))
    except (KeyError, ValueError, TypeError) as error:
        raise UserError(f"fixture content in {directory}: {error}") from None


def _placed(piece: slices.Slice, generated: Generated, static: Tree, stores: dict[str, Tree]) -> None:
    """Put each tree of a manager's content where its slice's `internet:` says; every tree must have a place."""
    def tree(host: str, name: str) -> Tree:
        if name not in generated.trees:
            raise UserError(f"{piece.file}: internet: {host}: harness/stack/content/{piece.manager}.py makes no tree "
                            f"{name!r} (it makes: {', '.join(sorted(generated.trees)) or 'none'})")
        return generated.trees[name]

    used = set()
    for site in piece.sites:
        for name, url_path in site.trees:
            static |= _under(site.host + url_path.rstrip("/"), tree(site.host, name))
            used.add(name)
        if site.store:
            stores[STORES[site.server]] |= tree(site.host, site.store)
            used.add(site.store)
    unplaced = sorted(set(generated.trees) - used)
    if unplaced:
        raise UserError(f"{piece.file}: internet: no host serves the tree(s) {', '.join(unplaced)} that "
                        f"harness/stack/content/{piece.manager}.py makes")


LEAKS_FILE = "leaks.yaml"  # what the leak scenarios fetch from hosts outside the contract (content/leaks.py)


def _leaks():
    """harness/stack/content/leaks.py, found by name as the generators are (it imports this package and them)."""
    return module_with(__name__, "leaks", "generate", "content generator")


def _build(directory: Path, generated: dict[str, Generated] | None = None, images: tuple[str, ...] = (),
           elsewhere: tuple[dict, ...] = ()) -> Content:
    leaks = _leaks()
    images_def = _load(directory, "oci-images.yaml")
    leaks_def = merged(_load(directory, LEAKS_FILE), elsewhere, LEAKS_FILE)
    listed = list(dict.fromkeys([*images_def["images"], *images]))
    refs = tuple(oci.parse_ref(r, images_def.get("registry_hosts", {})) for r in listed)
    refs += leaks.images(leaks_def)  # images on registries the contract does not mirror (leak scenarios)
    static_def = _load(directory, "static.yaml")
    generated = _generate(directory) if generated is None else generated

    static: Tree = {}
    stores: dict[str, Tree] = {tree: {} for tree in STORES.values()}
    projects: dict[str, Tree] = {}
    for piece in slices.load():
        _placed(piece, generated[piece.manager], static, stores)
        if generated[piece.manager].project is not None:
            projects[piece.manager] = generated[piece.manager].project
    for entry in static_def["files"]:
        static[f"{entry['host']}{entry['path']}"] = _placeholder(entry)
    static |= leaks.generate(leaks_def)
    added = [oci.parse_ref(r, images_def.get("registry_hosts", {})) for r in images] + list(leaks.images(leaks_def))
    outside = (leaks.static_hosts(leaks_def), tuple(dict.fromkeys(ref.host for ref in added)))
    return Content(images=refs, registry=oci.registry_storage(list(refs)), python=stores["python"],
                   static=static, projects=projects, outside=outside)


# What names one entry of a definition list (a package version, a module version, a file at a URL): two entries
# with the same identity and different contents cannot both be served.
IDENTITY_FIELDS = ("host", "path", "index", "name", "module", "group", "artifact", "id", "version", "kind", "platform",
                   "classifier", "packaging")


def _identity(entry):
    if not isinstance(entry, dict):
        return entry
    return tuple((field, entry[field]) for field in IDENTITY_FIELDS if field in entry) or repr(sorted(entry.items()))


def _same_but_lists(one, other) -> bool:
    """Two mappings that differ only in their list values (entries holding entries, like an index's files)."""
    if not (isinstance(one, dict) and isinstance(other, dict)):
        return False
    return ({k: v for k, v in one.items() if not isinstance(v, list)}
            == {k: v for k, v in other.items() if not isinstance(v, list)})


def merged(base: dict, additions, where: str) -> dict:
    """A definition with additions of the same shape: lists extended (without repeating an entry), mappings
    updated. Stand-ins for a customer's project come into the fixture definitions this way. Two different entries
    for one package version (two projects whose lockfiles disagree about it) are an error: one of them would be
    served, and the other project's pinned hashes would not match it."""
    out = dict(base)
    for addition in additions:
        for name, value in addition.items():
            if isinstance(value, list):
                known = {_identity(entry): entry for entry in out.get(name) or []}  # in order, first seen first
                for entry in value:
                    identity = _identity(entry)
                    other = known.get(identity)
                    if other is None or other == entry:
                        known.setdefault(identity, entry)
                    elif _same_but_lists(other, entry):  # one index on a host, its distributions from both
                        known[identity] = merged(other, [{k: v for k, v in entry.items() if isinstance(v, list)}], where)
                    else:
                        raise ValueError(f"{where}: {name}: two different stand-ins for "
                                         f"{dict(identity) if isinstance(entry, dict) else entry} "
                                         "(the projects' files disagree about it; run them in separate runs)")
                out[name] = list(known.values())
            elif isinstance(value, dict):
                out[name] = {**(out.get(name) or {}), **value}
            else:
                raise ValueError(f"{where}: an addition to {name!r} must be a list or a mapping")
    return out


def with_standins(standins, directory: Path | None = None) -> Content:
    """The fixture content and the stand-ins of customer projects (harness/customer/project.StandIns): each
    manager's additions go into its definition, so its generator makes them as it makes the fixtures."""
    standins = tuple(standins)
    directory = directory or fixtures_dir()
    if not standins:
        return build(directory)
    generated = {}
    for piece in slices.load():
        path = directory / f"{piece.manager}.yaml"
        additions = [s.definition for s in standins if s.manager == piece.manager and s.definition]
        try:
            definition = merged(_load(directory, path.name), additions, str(path))
            generated[piece.manager] = generator(piece.manager).generate(definition)
        except (KeyError, ValueError, TypeError) as error:
            raise UserError(f"stand-ins for {piece.manager} with {path}: {type(error).__name__}: {error}") from None
    try:
        return _build(directory, generated, tuple(ref for s in standins for ref in s.images),
                      tuple(s.elsewhere for s in standins if s.elsewhere))
    except (KeyError, ValueError, TypeError) as error:
        raise UserError(f"stand-ins with the fixture content in {directory}: {error}") from None


@functools.lru_cache(maxsize=4)
def leak_hosts(directory: Path | None = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The hosts of fixtures/content/leaks.yaml, without generating anything: (the hosts whose files the
    simulated internet serves, its registry hosts)."""
    leaks = _leaks()
    definition = _load(directory or fixtures_dir(), LEAKS_FILE)
    try:
        return leaks.static_hosts(definition), leaks.registry_hosts(definition)
    except (KeyError, ValueError, TypeError) as error:
        raise UserError(f"fixture content {(directory or fixtures_dir()) / LEAKS_FILE}: {error}") from None


def project_ecosystems(directory: Path | None = None) -> tuple[str, ...]:
    """The package managers whose generator makes a project from a definition (`make_project`)."""
    return tuple(manager for manager, made in _generated(directory or fixtures_dir()).items() if made.make_project)


def __getattr__(name: str):
    if name == "PROJECT_ECOSYSTEMS":  # derived from the slices' generators when first asked for
        return project_ecosystems()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def project(ecosystem: str, definition: dict, directory: Path | None = None) -> Tree:
    """A client project of `ecosystem` generated from `definition` (the shape of the ecosystem file's
    `project:`) against the fixture packages of `directory` (default: fixtures_dir()): for a scenario whose
    project carries their digests (a lockfile, a go.sum) and so is generated, not committed
    (scenarios/<name>/project.yaml)."""
    made = _generated(directory or fixtures_dir()).get(ecosystem)
    if made is None or made.make_project is None:
        raise UserError(f"no project generator for {ecosystem!r} (one of {', '.join(project_ecosystems(directory))})")
    unknown = sorted(set(definition) - set(made.project_fields))
    if unknown:
        raise UserError(f"{ecosystem} project definition: unknown field(s) {', '.join(map(repr, unknown))} "
                        f"(known: {', '.join(made.project_fields)})")
    try:
        return made.make_project(definition)
    except (KeyError, ValueError, TypeError, AttributeError) as error:
        raise UserError(f"{ecosystem} project definition: {type(error).__name__}: {error}") from None
