"""The interface of a build preamble, defined once: what it receives, what it exports, what it reports.

Every runner of a preamble (harness.preamble.runner offline, the scenario build script in a builder, the
real-client tests) and every reader of what it left (harness.preamble.check, harness.scenarios.steps) takes
the names from here; docs/preamble.md describes them and points here. tests/preamble/test_interface.py runs
the reference preamble and checks that it reads these variables and writes these columns.

    entry(preamble_dir, "webapp")                      # <preamble dir>/webapp.sh
    Environment(home=..., proxy_config_dir=...).variables()
    image_variable("buildpacks-builder")               # PROXY_IMAGE_BUILDPACKS_BUILDER
    parse_report(text)                                 # report.tsv -> [ReportRecord]
"""

import os
from dataclasses import dataclass
from pathlib import Path

from harness.infra.files import read_files_below

# --- in: the environment a preamble receives ------------------------------------------------------------

PROXY_CONFIG_DIR = "PROXY_CONFIG_DIR"  # the proxy-config directory (plain or a kubelet Secret volume)
DEFAULT_PROXY_CONFIG_DIR = "/mnt/proxy-config"  # where builds mount the Secret, and the default of the above
HOME = "HOME"  # where client configuration is written
CHOREO_REGISTRY = "CHOREO_REGISTRY"  # a PDP's own platform registry host: replaces every platform host; unset: none
# The platform profile's defaults when the harness runs with a profile other than the preamble's own (--profile):
# one record a line, tab-separated (harness.preamble.catalog_gen.profile_records writes them, PROFILE_RECORDS
# names the columns). Unset: the preamble's built-in defaults (the reference's: preamble/lib/catalog.sh, generated
# from the default profile).
PROFILE = "PREAMBLE_PROFILE"
DOCKERHUB_USERNAME = "PLATFORM_DOCKERHUB_USERNAME"  # the platform's Docker Hub login, when it still happens
DOCKERHUB_PASSWORD = "PLATFORM_DOCKERHUB_PASSWORD"
DRY_RUN_LOGIN = "PREAMBLE_DRY_RUN_LOGIN"  # non-empty: record the Docker Hub login instead of performing it
LOGIN_COMMAND = "PREAMBLE_LOGIN_COMMAND"  # podman (default), buildah or skopeo: the tool that logs in
STATE_DIR = "PREAMBLE_STATE_DIR"  # where the report goes, default $HOME/.proxy-config-preamble
# The build the preamble hands off to runs as another user in another container (pack's `cnb`): its uid:gid, which
# must be able to read what is handed to it, and its home, where files for the build user's home are mounted.
# Unset: the preamble's own user and HOME.
BUILD_USER = "PREAMBLE_BUILD_USER"
BUILD_HOME = "PREAMBLE_BUILD_HOME"
# The source directories of the components the build builds, ':'-separated (the harness's recipes build several
# at once): a preamble that edits a component's own files before its build (the platform's Gemfile and
# composer.json edits) edits each. Unset: no component's files are edited. Not in INPUTS: the reference preamble
# configures the clients at user level and reads it not.
SOURCE_DIRS = "PREAMBLE_SOURCE_DIRS"
INPUTS = (PROXY_CONFIG_DIR, HOME, CHOREO_REGISTRY, PROFILE, DOCKERHUB_USERNAME, DOCKERHUB_PASSWORD, DRY_RUN_LOGIN,
          LOGIN_COMMAND, STATE_DIR, BUILD_USER, BUILD_HOME)
PROFILE_RECORDS = {  # the columns after the first (the record's kind) of each line of PREAMBLE_PROFILE
    "platform-hosts": ("hosts",),  # the platform registry's hosts, space-separated: what CHOREO_REGISTRY replaces
    "registry": ("id", "prefixes"),  # a registry's prefixes, space-separated (the catalog's and the profile's)
    "images": ("strategy", "names"),  # the strategy's logical images, space-separated
    "image": ("strategy/name", "default", "registry", "override_key"),  # its normalised default reference
}

DEFAULT_STATE_DIR = ".proxy-config-preamble"  # under HOME
REPORT_FILE = "report.tsv"
IGNORED_KEYS_FILE = "ignored-keys"  # NUL-separated names of present keys the strategy does not consume
DOCKERHUB_LOGIN_FILE = "dockerhub-login"  # the login recorded instead of performed (dry run)
# What the preamble hands to the build command (pack build, podman build): NUL-terminated triples KIND, NAME, VALUE.
#   env NAME VALUE          `pack build --env NAME=VALUE` (the last of a name wins, as pack keeps it)
#   volume SOURCE TARGET    `pack build --volume SOURCE:TARGET`: the file or directory as the build sees it, its
#                           owner and mode kept (a bind mount's); missing parents of TARGET are made root's
#   build-arg NAME VALUE    `podman build --build-arg NAME=VALUE`
#   secret ID SOURCE        `podman build --secret id=ID,src=SOURCE`
# The harness gives each item to the build as the strategy's hand-off command (the profile's handoff.command)
# takes it, and ignores the kinds that command does not take (harness/scenarios/handoff.sh).
HANDOFF_FILE = "handoff"
HANDOFF_KINDS = {"pack build": ("env", "volume"), "podman build": ("build-arg", "secret")}


def entry(preamble_dir: str | os.PathLike, strategy: str) -> Path:
    """A preamble is a directory with one `<strategy>.sh` per strategy (and its lib/), sourced by bash."""
    return Path(preamble_dir) / f"{strategy}.sh"


CATALOG_FILE = "lib/catalog.sh"  # the catalog as bash (harness.preamble.catalog_gen), in the reference preamble
MAX_FILE_BYTES = 4 << 20  # one file of a preamble directory (the reference preamble's largest: about 60 KiB)
MAX_BYTES = 64 << 20  # all of them


def files(preamble_dir: str | os.PathLike) -> dict[Path, bytes]:
    """Every regular file of a preamble directory by its relative path, bounded (what a builder gets, what a
    step key hashes, what preamble-check may see the preamble print)."""
    return read_files_below(Path(preamble_dir), MAX_FILE_BYTES, MAX_BYTES)


@dataclass(frozen=True)
class Environment:
    """The variables a preamble runs with. `variables()` gives them as an environment; None leaves a
    variable unset (the preamble's default applies). The Docker Hub login is dry-run unless told otherwise."""

    home: str | os.PathLike | None  # None: the runner's own (a builder's HOME)
    proxy_config_dir: str | os.PathLike | None = None  # None: the default mount point
    choreo_registry: str | None = None
    profile: str | None = None  # PREAMBLE_PROFILE's records (catalog_gen.profile_records); None: unset
    dockerhub_login: tuple[str, str] | None = None  # (username, password)
    dry_run_login: bool = True
    login_command: str | None = None
    state_dir: str | os.PathLike | None = None
    build_user: str | None = None  # uid:gid
    build_home: str | None = None

    def variables(self) -> dict[str, str]:
        out = {HOME: str(self.home)} if self.home is not None else {}
        if self.proxy_config_dir is not None:
            out[PROXY_CONFIG_DIR] = str(self.proxy_config_dir)
        if self.choreo_registry:
            out[CHOREO_REGISTRY] = self.choreo_registry
        if self.profile:
            out[PROFILE] = self.profile
        if self.dockerhub_login is not None:
            out[DOCKERHUB_USERNAME], out[DOCKERHUB_PASSWORD] = self.dockerhub_login
        if self.dry_run_login:
            out[DRY_RUN_LOGIN] = "1"
        if self.login_command:
            out[LOGIN_COMMAND] = self.login_command
        if self.state_dir is not None:
            out[STATE_DIR] = str(self.state_dir)
        if self.build_user:
            out[BUILD_USER] = self.build_user
        if self.build_home:
            out[BUILD_HOME] = self.build_home
        return out

    def report_dir(self) -> Path:
        return Path(self.state_dir) if self.state_dir is not None else state_dir(self.home)


def state_dir(home: str | os.PathLike) -> Path:
    """Where a preamble run with this HOME (and no PREAMBLE_STATE_DIR) leaves its report."""
    return Path(home) / DEFAULT_STATE_DIR


# --- out: exported variables -------------------------------------------------------------------------------

IMAGE_VARIABLE_PREFIX = "PROXY_IMAGE_"


def image_variable(image: str) -> str:
    """The variable holding the resolved reference of a catalog image: PROXY_IMAGE_<NAME>, `-` as `_`."""
    return IMAGE_VARIABLE_PREFIX + image.upper().replace("-", "_")


# --- out: report.tsv ---------------------------------------------------------------------------------------

# The columns after the first (the record's kind) of each kind of line, tab-separated, key *names* only.
# Trailing empty columns may be left out. A package line's credential columns hold the token key, or the
# username key and the password key; empty columns among them are skipped (the reference preamble writes
# token, username and password key in three columns, two of them empty).
REPORT_COLUMNS = {
    "mirror": ("name", "key", "username_key"),  # registry id, winning URL key, username key or empty
    "image": ("name", "source", "key", "username_key"),  # image, default|mirror|override, winning key, login
    "login": ("name", "username_key", "password_key"),  # auth.json key or docker.io
    "package": ("name", "auth", "key", "token_key", "username_key", "password_key"),  # manager, none|token|basic
}
IMAGE_SOURCES = ("default", "mirror", "override")
PACKAGE_AUTH = ("none", "token", "basic")


@dataclass(frozen=True)
class ReportRecord:
    """One line of report.tsv. Empty columns are empty strings."""

    kind: str  # mirror | image | login | package
    name: str  # registry id, image name, auth.json key (or docker.io), manager
    source: str = ""  # image: default | mirror | override
    auth: str = ""  # package: none | token | basic
    key: str = ""  # the winning key: the mirror's or package's URL key, the image's override or mirror key
    username_key: str = ""
    password_key: str = ""
    token_key: str = ""

    @property
    def credentials(self) -> list[str]:
        """The credential keys named, in column order (a package's token, or its username and password)."""
        return [k for k in (self.token_key, self.username_key, self.password_key) if k]

    def columns(self) -> list[str]:
        """The line's columns as the interface declares them (to write a report, or compare one)."""
        return [self.kind] + [getattr(self, column) for column in REPORT_COLUMNS[self.kind]]


class ReportError(ValueError):
    pass


def parse_record(line: str) -> ReportRecord:
    """One report.tsv line; a kind the interface does not declare, or too many columns, is a ReportError."""
    kind, *fields = line.split("\t")
    columns = REPORT_COLUMNS.get(kind)
    if columns is None:
        raise ReportError(f"report.tsv: unknown kind of line {kind!r}: {line!r}")
    if len(fields) > len(columns):
        raise ReportError(f"report.tsv: {kind} line with {len(fields)} columns, at most {len(columns)}: {line!r}")
    fields += [""] * (len(columns) - len(fields))
    if kind == "package":  # the credential columns: the token key, or the username and password keys
        credentials = [field for field in fields[3:] if field]
        token = credentials[:1] if fields[1] == "token" else []
        basic = [] if token else credentials[:2]
        fields = fields[:3] + (token or [""]) + basic + [""] * (2 - len(basic))
    return ReportRecord(kind, **dict(zip(columns, fields)))


def parse_report(text: str, problems: list[str] | None = None) -> list[ReportRecord]:
    """Every line of a report.tsv, in order (blank lines skipped). With `problems`, a line that breaks the
    interface is described there and skipped (a foreign preamble's report is checked, not trusted);
    without, it raises ReportError."""
    records = []
    for line in text.splitlines():
        if not line:
            continue
        try:
            records.append(parse_record(line))
        except ReportError as error:
            if problems is None:
                raise
            problems.append(str(error))
    return records


@dataclass(frozen=True)
class HandoffItem:
    kind: str  # env | volume | build-arg | secret
    name: str  # the variable or argument name, the volume's source, the secret's id
    value: str  # its value, the volume's target, the secret's source


def parse_handoff(data: bytes) -> list[HandoffItem]:
    """A preamble's hand-off file; a kind no command takes, or a cut-off triple, is a ReportError."""
    fields = data.decode("utf-8", "replace").split("\0")
    if fields[-1] != "" or (len(fields) - 1) % 3:
        raise ReportError(f"{HANDOFF_FILE}: not NUL-terminated triples ({len(fields) - 1} fields)")
    items = [HandoffItem(*fields[i:i + 3]) for i in range(0, len(fields) - 1, 3)]
    kinds = {kind for taken in HANDOFF_KINDS.values() for kind in taken}
    for item in items:
        if item.kind not in kinds:
            raise ReportError(f"{HANDOFF_FILE}: unknown kind {item.kind!r} (one of {', '.join(sorted(kinds))})")
    return items


def read_handoff(directory: str | os.PathLike) -> list[HandoffItem]:
    path = Path(directory) / HANDOFF_FILE
    return parse_handoff(path.read_bytes()) if path.exists() else []


def read_report(directory: str | os.PathLike, problems: list[str] | None = None) -> list[ReportRecord]:
    """The report in a preamble's state directory; none when it wrote none (it failed first, or is foreign)."""
    path = Path(directory) / REPORT_FILE
    return parse_report(path.read_text(errors="replace"), problems) if path.exists() else []
