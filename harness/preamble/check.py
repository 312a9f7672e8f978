"""Run a build preamble offline and read back what it actually configured, in `airgap plan`'s shape.

The preamble runs in a clean temporary HOME inside an empty network namespace (nothing can leave the
machine), with the Docker Hub login in dry-run mode. The result is built from what it wrote and
exported: image variables, registries.conf, auth.json, and each package manager's own files, read by
harness/preamble/readers/<manager>.py (.npmrc, settings.xml, the Gradle init script, NuGet.Config, pip.conf,
Go's env file, Composer's config and auth, .gemrc and Bundler's config). Its
report (report.tsv: key *names* only) supplies provenance (which file won); every credential it names
is checked against the bytes written, and any disagreement becomes a `problems` entry.
"""

import base64
import hashlib
import json
import os
import secrets
import stat
import tempfile
import tomllib
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from harness.contract.catalog import Catalog, load_catalog
from harness.contract.config import ProxyConfig, display_name, read_config, split_key_name
from harness.contract.plan import effective_mirrors
from harness.infra.errors import UserError
from harness.infra.files import resolved
from harness.contract import grammar
from harness.infra import paths
from harness.preamble import interface, readers
from harness.preamble.catalog_gen import preamble_profile
from harness.preamble.interface import ReportRecord
from harness.preamble.runner import PreambleRun, read_head, run_preamble as run_offline

MAX_WRITTEN_BYTES = 4 << 20  # a configuration file the preamble wrote, read back: far more than any client's


SNAPSHOT_MAX_ENTRIES = 10_000  # a proxy-config (a Secret's volume) has a few hundred; /proc has millions
SNAPSHOT_MAX_BYTES = 1 << 20  # a file larger is compared by its size and times only


def _snapshot(directory: Path) -> dict[str, tuple]:
    """Every entry under the config directory with its type, size, times and content hash (up to
    SNAPSHOT_MAX_ENTRIES; an entry that goes while it is read, as a Secret volume's update swaps ..data, is
    recorded as gone, not a traceback)."""
    state: dict[str, tuple] = {}
    if not directory.exists():
        return state
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            path = Path(root) / name
            relative = str(path.relative_to(directory))
            if len(state) >= SNAPSHOT_MAX_ENTRIES:
                state["..."] = (f"more than {SNAPSHOT_MAX_ENTRIES} entries: the rest not compared",)
                return state
            try:
                info = path.lstat()
            except OSError as error:
                state[relative] = ("gone while read", error.strerror)
                continue
            digest = None
            if stat.S_ISREG(info.st_mode) and info.st_size <= SNAPSHOT_MAX_BYTES:
                try:
                    with open(path, "rb") as handle:
                        digest = hashlib.sha256(handle.read(SNAPSHOT_MAX_BYTES + 1)).hexdigest()
                except OSError as error:  # unreadable to this user: the preamble reports it; compare what is seen
                    digest = f"unreadable ({error.strerror})"
            state[relative] = (info.st_mode, info.st_size, info.st_mtime_ns, digest)
    return state


def run_preamble(entry: Path, config_dir: Path, workdir: Path, choreo_registry: str | None = None,
                 profile: str | None = None) -> PreambleRun:
    """The preamble in a clean HOME under `workdir`, in an empty network namespace, the Docker Hub login dry-run
    with placeholder platform credentials (harness.preamble.runner); `profile`: PREAMBLE_PROFILE's records."""
    environment = interface.Environment(home=workdir / "home", proxy_config_dir=config_dir, choreo_registry=choreo_registry,
                                        profile=profile, dockerhub_login=("preamble-check", secrets.token_hex(16)))
    return run_offline(entry, environment, workdir, isolate=True)


class Reader:
    """Reads back one run's files; every disagreement with the configuration becomes a problem."""

    def __init__(self, catalog: Catalog, config: ProxyConfig, strategy: str, run: PreambleRun, watched: dict[str, str]):
        self.catalog, self.config, self.strategy, self.run = catalog, config, strategy, run
        self.watched = watched  # secret key -> value, for the values that can be told apart (watched_secrets)
        self.home = run.home
        self.problems: list[str] = list(run.report_problems)

    def value(self, key: str | None) -> str | None:
        entry = self.config.entries.get(key) if key else None
        return entry.value if entry else None

    def records(self, kind: str) -> list[ReportRecord]:
        return [record for record in self.run.report if record.kind == kind]

    def reported(self, kind: str) -> dict[str, ReportRecord]:
        """The report's records of one kind by name (a later line for the same name wins)."""
        return {record.name: record for record in self.records(kind)}

    def expect(self, condition: bool, message: str) -> None:
        if not condition:
            self.problems.append(message)

    # -- images, mirrors, logins ------------------------------------------------------------
    def images(self) -> dict:
        out = {}
        reported = self.reported("image")
        for name in self.catalog.strategies[self.strategy].images:
            variable = interface.image_variable(name)
            record = reported.get(name, ReportRecord("image", name))
            resolved = self.run.env.get(variable)
            self.expect(resolved is not None, f"image {name}: {variable} was not exported")
            out[name] = {"resolved": resolved and grammar.mask(resolved), "source": record.source, "key": record.key or None,
                         "credentials": record.username_key or None}
        return out

    def registries_conf(self) -> dict:
        path = self.home / ".config/containers/registries.conf"
        if not path.exists():  # the image's own stays when no mirror is in effect (opt-in)
            in_effect = effective_mirrors(self.catalog, self.config, self.catalog.strategies[self.strategy])
            self.expect(not in_effect, "registries.conf was not written")
            return {}
        try:
            data = tomllib.loads(self.written_text(path))
            self.expect(data.get("unqualified-search-registries") == ["docker.io"], "registries.conf: short names may resolve outside docker.io")
            for entry in data.get("registry", []):
                self.expect(not entry.get("mirror"), f"registries.conf: [[registry.mirror]] for {entry.get('prefix')} can fall back to the public registry")
            return {entry["prefix"]: entry["location"] for entry in data.get("registry", [])}
        except (ValueError, KeyError, TypeError, AttributeError) as error:  # a foreign preamble's file
            self.problems.append(f"registries.conf: unreadable ({type(error).__name__})")  # the type only: it may quote a secret
            return {}

    def written_text(self, path: Path) -> str:
        """A file the preamble wrote, as text; ValueError when it is too large or not UTF-8."""
        data = read_head(path, MAX_WRITTEN_BYTES + 1)
        if len(data) > MAX_WRITTEN_BYTES:
            raise ValueError(f"over {MAX_WRITTEN_BYTES} bytes")
        return data.decode("utf-8")

    def mirrors(self) -> dict:
        locations = self.registries_conf()
        reported = self.reported("mirror")
        out = {}
        for rid, registry in self.catalog.registries.items():
            prefixes = list(registry.prefixes)  # the catalog was loaded with the run's platform registry host
            urls = set()
            for prefix in prefixes:
                location = locations.get(prefix)
                if location is None:
                    continue
                suffix = "/" + prefix.split("/", 1)[1] if "/" in prefix else ""
                self.expect(location.endswith(suffix), f"registries.conf: {prefix} -> {grammar.mask(location)} drops the path")
                urls.add(location[: len(location) - len(suffix)])
            if not urls:
                self.expect(rid not in reported, f"mirror {rid} reported but not in registries.conf")
                continue
            self.expect(len(urls) == 1 and len([p for p in prefixes if p in locations]) == len(prefixes),
                        f"registries.conf: the prefixes of {rid} are not all remapped to one mirror")
            record = reported.get(rid, ReportRecord("mirror", rid))
            url = sorted(urls)[0]
            self.expect(self.value(record.key) == url, f"mirror {rid}: {record.key} does not hold {grammar.mask(url)}")
            out[rid] = {"url": grammar.mask(url), "key": record.key or None, "credentials": record.username_key or None}
        return out

    def logins(self) -> list[dict]:
        path = self.home / ".config/containers/auth.json"
        try:
            auths = json.loads(self.written_text(path)).get("auths", {}) if path.exists() else {}
            if not isinstance(auths, dict) or not all(isinstance(entry, dict) for entry in auths.values()):
                raise TypeError("auths is no mapping of mappings")
        except (ValueError, TypeError, AttributeError) as error:  # a foreign preamble's file: the type only
            self.problems.append(f"auth.json: unreadable ({type(error).__name__})")
            auths = {}
        if path.exists():
            self.expect(path.stat().st_mode & 0o077 == 0, "auth.json is readable by others")
        out, last = [], {}
        for login in self.records("login"):
            out.append({"registry": login.name, "key": login.username_key or None})
            if not is_platform_login(out[-1]):  # a customer's login, to a mirror named docker.io too
                last[login.name] = f"{self.value(login.username_key)}:{self.value(login.password_key)}"
        for registry, credentials in last.items():
            written = auths.get(registry, {}).get("auth")
            try:
                decoded = base64.b64decode(written, validate=True).decode("utf-8", "replace") if written else None
            except (ValueError, TypeError):  # binascii.Error is a ValueError
                decoded = None
            self.expect(decoded == credentials, f"auth.json: the credentials for {registry} are not the configured ones")
        platform = any(map(is_platform_login, out))
        extra = set(auths) - set(last) - ({"docker.io"} if platform else set())
        self.expect(not extra, f"auth.json has entries nobody logged in to: {sorted(extra)}")
        if platform:
            recorded = interface.state_dir(self.home) / interface.DOCKERHUB_LOGIN_FILE
            self.expect(recorded.exists() or "docker.io" in auths, "Docker Hub login reported but neither recorded nor in auth.json")
        return out

    # -- package managers -------------------------------------------------------------------
    def strip_userinfo(self, manager: str, url: str, record: ReportRecord) -> tuple[str, str]:
        """For managers that carry basic credentials as URL user-info: the URL without them, and the auth."""
        parts = urlsplit(url)
        if record.auth != "basic":
            return url, "none"
        user, password = self.value(record.username_key), self.value(record.password_key)
        self.expect(parts.username is not None and unquote(parts.username) == user and unquote(parts.password or "") == password,
                    f"{manager}: the URL's user-info is not {record.username_key} / {record.password_key}")
        host = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit(parts._replace(netloc=host)), "basic"

    def packages(self) -> dict:
        out = {}
        reported = self.reported("package")
        for manager in self.catalog.strategies[self.strategy].managers:
            record = reported.get(manager, ReportRecord("package", manager, auth="none"))
            read = readers.reader_for(manager)  # harness/preamble/readers/<manager>.py
            try:
                found = read(self, record)
            except Exception as error:  # noqa: BLE001 - a foreign preamble's files: unreadable is a finding, not a crash
                found = (None, f"unreadable ({type(error).__name__})")  # the type only: the text may quote a secret
            if found is None:
                self.expect(not record.key, f"{manager}: reported {record.key} but wrote no configuration")
                out[manager] = {"url": self.catalog.managers[manager].default_url, "auth": "none", "key": None, "credentials": []}
                continue
            url, auth = found
            if not isinstance(url, str):
                self.problems.append(f"{manager}: what the preamble wrote names no URL the client can use"
                                     + (f": {auth}" if auth.startswith("unreadable") else ""))
                out[manager] = {"url": None, "auth": auth, "key": record.key or None, "credentials": record.credentials}
                continue
            limited = [v for v in grammar.client_violations(url, grammar.Kind("package-proxy", manager), with_credentials=True)
                       if grammar.RULES[v.rule].client.get("with") == "credentials"]  # limits on the credentials only
            if limited and auth == "none" and record.auth != "none":
                # a client limit lint reports (an '=' in an npm registry's path breaks the token's key): the
                # preamble wrote what it reported, and the client reads no credentials from it
                auth = record.auth
            self.expect(auth == record.auth, f"{manager}: wrote {auth} credentials but reported {record.auth}")
            self.expect(grammar.client_url(manager, self.value(record.key)) == url,
                        f"{manager}: {record.key or 'no key'} does not hold the URL written")
            out[manager] = {"url": grammar.mask(url), "auth": auth, "key": record.key or None, "credentials": record.credentials}
        return out

    def ignored_keys(self) -> list[str]:
        path = interface.state_dir(self.home) / interface.IGNORED_KEYS_FILE
        raw = path.read_bytes().split(b"\0") if path.exists() else []
        return sorted(display_name(os.fsdecode(name)) for name in raw if name)

    def private_files(self) -> None:
        for path in self.home.rglob("*"):
            if path.is_file() and path.stat().st_mode & 0o077 and self.holds_secret(read_head(path, MAX_WRITTEN_BYTES)):
                self.problems.append(f"{path.relative_to(self.home)} holds a credential but is readable by others")

    def holds_secret(self, data: bytes) -> bool:
        return any(value.encode() in data for value in self.watched.values())


def is_platform_login(login: dict) -> bool:
    """The platform's Docker Hub login: a login record of docker.io without a key (the preamble reports a
    customer's login with its username key, to a mirror whose host is docker.io as well)."""
    return login["registry"] == "docker.io" and login["key"] is None


def catalog_text(catalog: Catalog | None = None) -> str:
    """The catalog's files as text (catalog.yaml and the profile): the preamble may rightly print what they say."""
    from importlib import resources

    text = resources.files("harness.contract").joinpath("catalog.yaml").read_text(encoding="utf-8")
    return text + (catalog.profile.text if catalog is not None and catalog.profile is not None else "")


def _stale_catalog(files: dict[Path, bytes]) -> str | None:
    """A problem when the preamble's lib/catalog.sh is not the one this checkout's catalog.yaml, default profile and
    grammar.yaml make: a key added to the catalog and not regenerated is ignored by the preamble alone."""
    from harness.preamble.catalog_gen import made_from, render

    made = files.get(Path(interface.CATALOG_FILE))
    default = load_catalog()
    if made is None or (default.profile and not made_from(made, default.profile.text)) or made == render(default).encode():
        return None  # none; or made from another default profile, whose records the preamble gets instead (check)
    return (f"{interface.CATALOG_FILE} is not made from this checkout's catalog.yaml, profile and grammar.yaml: the preamble "
            "reads another catalog than plan (run: python -m harness.preamble.catalog_gen --write)")


def watched_secrets(catalog: Catalog, config: ProxyConfig, innocent: str) -> dict[str, str]:
    """The passwords and tokens whose presence in output or a file proves a leak: every password and
    token key's value, and the password of any value's URL user-info.

    A secret shorter than 8 characters, or one that is also part of text the preamble may rightly
    print or write (a non-secret value as plan shows it, a file name, the preamble's own source, the
    catalog), cannot be told apart from that text and is not watched.
    """
    secrets_found, shown = {}, [innocent, *config.entries]
    for name, entry in config.entries.items():
        kind = grammar.kind_of(catalog, split_key_name(name)[1])
        if not entry.value:
            continue
        if kind is not None and kind.secret:
            secrets_found[name] = entry.value
            continue
        shown.append(grammar.mask(entry.value))
        password = grammar.userinfo_password(entry.value)
        if password:
            secrets_found[f"{name} (the password in its user-info)"] = password
    innocent_text = "\n".join(shown)
    return {name: value for name, value in secrets_found.items() if len(value) >= 8 and value not in innocent_text}


def preamble_check(strategy: str, config_dir: str | os.PathLike, preamble_dir: str | os.PathLike | None = None,
                   choreo_registry: str | None = None, profile: str | os.PathLike | None = None) -> dict:
    """Run the strategy's preamble on `config_dir` and return the plan-shaped result (see module doc); with a
    `profile` other than the default, the preamble gets its defaults through PREAMBLE_PROFILE."""
    catalog = load_catalog(choreo_registry, profile)
    if strategy not in catalog.strategies:
        raise UserError(f"unknown strategy {strategy!r} (one of: {', '.join(catalog.strategies)})")
    entry = interface.entry(preamble_dir or paths.preamble_dir(), strategy)
    if not entry.is_file():
        raise UserError(f"{entry}: no preamble entry for strategy {strategy} (expected <preamble dir>/{strategy}.sh)")
    config_dir = resolved(config_dir)
    config = read_config(config_dir)
    files = interface.files(entry.parent)  # read before it runs: a file that cannot be read stops it here
    sources = [data.decode(errors="replace") for path, data in files.items() if path.suffix == ".sh"]
    before = _snapshot(config_dir)
    with tempfile.TemporaryDirectory(prefix="airgap-preamble-") as workdir:
        run = run_preamble(resolved(entry), config_dir, Path(workdir), choreo_registry, preamble_profile(catalog))
        innocent = "\n".join([str(config_dir), catalog_text(catalog), *sources])
        watched = watched_secrets(catalog, config, innocent)
        reader = Reader(catalog, config, strategy, run, watched)
        result = {"strategy": strategy, "exit_code": run.exit_code}
        if run.exit_code == 0:
            result.update(
                images=reader.images(),
                mirrors=reader.mirrors(),
                logins=reader.logins(),
                packages=reader.packages(),
                ignored_keys=reader.ignored_keys(),
            )
            result["dockerhub_login"] = any(map(is_platform_login, result["logins"]))
            reader.private_files()
    if _snapshot(config_dir) != before:
        reader.problems.append("the preamble changed the configuration directory")
    stale = _stale_catalog(files)
    if stale:
        reader.problems.append(stale)
    leaked = [name for name, value in watched.items() if value in run.log]
    for name in leaked:
        reader.problems.append(f"the preamble's output contains the value of {name}")
    result["log"] = "(withheld: it contains a secret)" if leaked else run.log
    result["problems"] = reader.problems
    return result
