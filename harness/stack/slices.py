"""Each package manager of the catalog in one place: its slice.

A slice is one data file, harness/stack/managers/<manager>.yaml (read here), and code and fixtures found by
the manager's name (docs/adding-a-key.md lists them all; tests/test_managers.py checks every manager has them):

    internet:  the manager's public hosts on the simulated internet and how each is served
      <host>:  {server: static, trees: {<tree>: <URL path>}}   files on sim-edge: each named tree of the content
                                                                generator under a URL path (no trees: the host's
                                                                single downloads of fixtures/content/static.yaml)
               {server: static, same_as: <host>}               serves another host's files
               {server: static, ..., compact_index: true}      ETag = MD5 of the body (Bundler's compact index)
               {server: devpi, store: <tree>}                  sim-pypi's /simple/ pages, the tree uploaded to it
               {server: devpi-files}                           sim-pypi's files (/packages/), linked from the pages
    mirror:    the mirror backend its pkg-<manager>-url key is routed to, proxying `upstream` on the internet
               {server: files, path: /<p>/, upstream: URL, rewrites: [[from, to]], aliases: {path: upstream path}}
                   a location of the caching nginx mirror-files; `rewrites` turn upstream text into the mirror's
                   own URL ($outside), `aliases` answer a path under `path` from another upstream path
               {server: verdaccio | devpi, upstream: URL}    its own mirror-npm (uplink) / mirror-pypi (root/pypi)
    route:     how the gateway maps a customer's URL onto the backend (harness/stack/gateway.py):
               protocol (http), strip_suffix, subpaths [{path, to}], rewrite_urls (see mirror_backends.yaml)
    client:    the real client the preamble tests read its configuration back with
               {command: <on PATH>, debian: [packages scripts/bootstrap installs when the command is missing]}
    customer:  how a customer's own project of this manager is built (`airgap repro --project`, harness/customer)
               {builds: [{when: <file at the project's top>, run: <command>}]}: the first whose file exists
               decides the command; a project with none of the files does not use this manager;
               unread: {<file or glob at the project's top>: why}: files of this manager's ecosystem the stand-ins
               do not follow (another tool's lock file, a workspace), named in the project's notes when present

`python3 -m harness.stack.slices clients` prints `<command> <debian package>...` per manager (scripts/bootstrap).
"""

import functools
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


from harness.contract.catalog import load_catalog
from harness.infra.errors import UserError
from harness.infra.yamltext import YAMLSyntaxError, load_yaml

DIRECTORY = Path(__file__).with_name("managers")
SITE_SERVERS = ("static", "devpi", "devpi-files")
MIRROR_SERVERS = ("files", "verdaccio", "devpi")
ROUTE_FIELDS = ("protocol", "strip_suffix", "subpaths", "rewrite_urls")
FIELDS = {
    "slice": ("internet", "mirror", "route", "client", "customer"),
    "site": ("server", "trees", "store", "same_as", "compact_index"),
    "mirror": ("server", "upstream", "path", "rewrites", "aliases"),
    "client": ("command", "debian"),
}


@dataclass(frozen=True)
class Site:
    """One public host of a manager on the simulated internet."""

    host: str
    server: str  # SITE_SERVERS
    trees: tuple[tuple[str, str], ...] = ()  # static: (tree of the content generator, URL path it is served under)
    store: str | None = None  # devpi: the generated tree the server is filled with
    same_as: str | None = None  # static: the host whose files it serves
    compact_index: bool = False  # static: ETags are the MD5 of the body, as Bundler's compact index needs


@dataclass(frozen=True)
class Mirror:
    """The mirror backend a manager's key is routed to."""

    server: str  # MIRROR_SERVERS
    upstream: str  # the public URL it proxies, on one of the slice's hosts
    path: str | None = None  # files: its location on mirror-files
    rewrites: tuple[tuple[str, str], ...] = ()  # files: upstream text -> text ($outside: the mirror's URL as seen)
    aliases: tuple[tuple[str, str], ...] = ()  # files: path under `path` -> the upstream path that answers it

    @property
    def upstream_host(self) -> str:
        return urlsplit(self.upstream).hostname or ""

    @property
    def upstream_path(self) -> str:
        return urlsplit(self.upstream).path


@dataclass(frozen=True)
class Client:
    command: str  # what the client tests run (and scripts/bootstrap looks for)
    debian: tuple[str, ...]  # what scripts/bootstrap installs when `command` is missing


@dataclass(frozen=True)
class Slice:
    manager: str
    file: Path
    sites: tuple[Site, ...]
    mirror: Mirror
    route: dict
    client: Client
    builds: tuple[tuple[str, str], ...] = ()  # customer: (file at a project's top, the command that builds it)
    unread: tuple[tuple[str, str], ...] = ()  # customer: (file or glob at a project's top, why it is not followed)

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(site.host for site in self.sites)

    def gateway_entry(self) -> dict:
        """The gateway's table entry for ("package-proxy", manager): the backend kind is the manager's name."""
        return {"kind": self.manager, **self.route}


def _fields(path: Path, where: str, data, kind: str, required: tuple[str, ...]) -> dict:
    if not isinstance(data, dict):
        raise UserError(f"{path}: {where}: expected a mapping")
    unknown = sorted(set(data) - set(FIELDS[kind]))
    missing = [name for name in required if name not in data]
    if unknown or missing:
        problems = [f"unknown field(s) {', '.join(unknown)} (known: {', '.join(FIELDS[kind])})"] if unknown else []
        problems += [f"missing {', '.join(missing)}"] if missing else []
        raise UserError(f"{path}: {where}: {'; '.join(problems)}")
    return data


def _pairs(path: Path, where: str, data) -> tuple[tuple[str, str], ...]:
    if isinstance(data, dict):
        data = list(data.items())
    if not isinstance(data, list) or not all(
            isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(x, str) for x in pair) for pair in data):
        raise UserError(f"{path}: {where}: expected pairs of strings")
    return tuple((a, b) for a, b in data)


def _site(path: Path, host: str, data) -> Site:
    data = _fields(path, f"internet: {host}", data, "site", ("server",))
    server = data["server"]
    if server not in SITE_SERVERS:
        raise UserError(f"{path}: internet: {host}: server {server!r} is not one of {', '.join(SITE_SERVERS)}")
    static_only = [name for name in ("trees", "same_as", "compact_index") if name in data and server != "static"]
    if static_only:
        raise UserError(f"{path}: internet: {host}: {', '.join(static_only)} only for server static")
    if (server == "devpi") != ("store" in data):
        raise UserError(f"{path}: internet: {host}: `store` (the tree it is filled with) goes with server devpi")
    trees = _pairs(path, f"internet: {host}: trees", data.get("trees", {}))
    for tree, url_path in trees:
        if not (url_path.startswith("/") and url_path.endswith("/")):
            raise UserError(f"{path}: internet: {host}: trees: {tree}: the URL path must start and end with '/'")
    return Site(host, server, trees, data.get("store"), data.get("same_as"), bool(data.get("compact_index", False)))


def _mirror(path: Path, data, hosts: tuple[str, ...]) -> Mirror:
    data = _fields(path, "mirror", data, "mirror", ("server", "upstream"))
    mirror = Mirror(data["server"], data["upstream"], data.get("path"),
                    _pairs(path, "mirror: rewrites", data.get("rewrites", [])),
                    _pairs(path, "mirror: aliases", data.get("aliases", {})))
    if mirror.server not in MIRROR_SERVERS:
        raise UserError(f"{path}: mirror: server {mirror.server!r} is not one of {', '.join(MIRROR_SERVERS)}")
    if urlsplit(mirror.upstream).scheme != "https" or mirror.upstream_host not in hosts:
        raise UserError(f"{path}: mirror: upstream {mirror.upstream} is not https:// on one of the slice's hosts "
                        f"({', '.join(hosts)})")
    files_only = [name for name in ("path", "rewrites", "aliases") if name in data and mirror.server != "files"]
    if files_only:
        raise UserError(f"{path}: mirror: {', '.join(files_only)} only for server files")
    if mirror.server == "files" and not (mirror.path and mirror.path.startswith("/") and mirror.path.endswith("/")):
        raise UserError(f"{path}: mirror: server files needs a `path` that starts and ends with '/'")
    return mirror


def _parse(manager: str, path: Path) -> Slice:
    try:
        data = load_yaml(path.read_text())
    except OSError as error:
        raise UserError(f"{path}: cannot be read ({error.strerror})") from None
    except YAMLSyntaxError as error:
        raise UserError(f"{path}: not valid YAML ({error})") from None
    data = _fields(path, "top level", data, "slice", FIELDS["slice"][:4])
    if not isinstance(data["internet"], dict) or not data["internet"]:
        raise UserError(f"{path}: internet: expected a mapping of the manager's public hosts")
    sites = tuple(_site(path, host, entry) for host, entry in data["internet"].items())
    hosts = tuple(site.host for site in sites)
    for site in sites:
        if site.same_as and site.same_as not in hosts:
            raise UserError(f"{path}: internet: {site.host}: same_as {site.same_as} is not a host of this slice")
    route = data["route"]
    if not isinstance(route, dict) or route.get("protocol") != "http" or set(route) - set(ROUTE_FIELDS):
        raise UserError(f"{path}: route: expected protocol: http and only {', '.join(ROUTE_FIELDS)}")
    client = _fields(path, "client", data["client"], "client", FIELDS["client"])
    if not isinstance(client["debian"], list):
        raise UserError(f"{path}: client: debian: expected a list of Debian packages")
    return Slice(manager, path, sites, _mirror(path, data["mirror"], hosts), dict(route),
                 Client(str(client["command"]), tuple(client["debian"])), *_customer(path, data.get("customer")))


def _customer(path: Path, data) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    if data is None:
        return (), ()
    builds = data.get("builds") if isinstance(data, dict) and set(data) <= {"builds", "unread"} else None
    if not isinstance(builds, list) or not all(isinstance(b, dict) and set(b) == {"when", "run"}
                                                and all(isinstance(v, str) and v for v in b.values()) for b in builds):
        raise UserError(f"{path}: customer: expected builds: [{{when: FILE, run: COMMAND}}, ...]")
    unread = data.get("unread", {})
    if not isinstance(unread, dict) or not all(isinstance(k, str) and k and isinstance(v, str) and v
                                               for k, v in unread.items()):
        raise UserError(f"{path}: customer: unread: expected {{FILE: why it is not followed, ...}}")
    return tuple((b["when"], b["run"]) for b in builds), tuple(unread.items())


@functools.cache
def load(directory: Path = DIRECTORY) -> tuple[Slice, ...]:
    """Every package manager's slice, in catalog order. A catalog manager without a slice, or a slice of no
    catalog manager, is an error: a manager is never left without its mirror or its public hosts."""
    managers = list(load_catalog().managers)
    found = {path.stem: path for path in sorted(directory.glob("*.yaml"))}
    missing = [manager for manager in managers if manager not in found]
    if missing:
        raise UserError(f"package manager(s) {', '.join(missing)} of harness/contract/catalog.yaml have no slice: "
                        f"add {directory}/<manager>.yaml (docs/adding-a-key.md)")
    extra = sorted(set(found) - set(managers))
    if extra:
        raise UserError(f"{directory}: {', '.join(f'{name}.yaml' for name in extra)}: "
                        "no package manager of that name in harness/contract/catalog.yaml")
    slices = tuple(_parse(manager, found[manager]) for manager in managers)
    owners: dict[str, str] = {}
    for piece in slices:
        for host in piece.hosts:
            if owners.setdefault(host, piece.manager) != piece.manager:
                raise UserError(f"{piece.file}: {host} is also a host of the {owners[host]} slice")
    # sim-pypi, mirror-npm and mirror-pypi are one container each, filled for one manager
    for where, servers in (("internet", [site.server for piece in slices for site in piece.sites]),
                           ("mirror", [piece.mirror.server for piece in slices])):
        shared = sorted({server for server in servers
                         if server not in ("static", "files") and servers.count(server) > 1})
        if shared:
            raise UserError(f"{directory}: {where}: server {', '.join(shared)} is used by more than one host or slice "
                            "(one container each; use server static or files, or give it a server of its own)")
    return slices


def get(manager: str) -> Slice:
    for piece in load():
        if piece.manager == manager:
            return piece
    raise UserError(f"no slice for package manager {manager!r} (harness/stack/managers/{manager}.yaml)")


def main(argv: list[str]) -> int:
    if argv != ["clients"]:
        print("usage: python3 -m harness.stack.slices clients", file=sys.stderr)
        return 2
    for piece in load():
        if piece.client.debian:
            print(piece.client.command, *piece.client.debian)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
