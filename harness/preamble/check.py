"""Run a build preamble offline and read back what it actually configured, in `airgap plan`'s shape.

The preamble runs in a clean temporary HOME inside an empty network namespace (nothing can leave the
machine), with the Docker Hub login in dry-run mode. The result is built from what it wrote and
exported: image variables, registries.conf, auth.json, .npmrc, settings.xml, the Gradle init script,
NuGet.Config, pip.conf, Go's env file, Composer's config and auth, .gemrc and Bundler's config. Its
report (report.tsv: key *names* only) supplies provenance (which file won); every credential it names
is checked against the bytes written, and any disagreement becomes a `problems` entry.
"""

import base64
import configparser
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import yaml

from harness.contract.catalog import Catalog, load_catalog
from harness.contract.config import ProxyConfig, display_name, read_config, split_key_name
from harness.infra.errors import UserError
from harness.contract import grammar
from harness.infra import paths

WRAPPER = 'set -euo pipefail\nsource "$1"\nenv -0 >"$2"\n'
TIMEOUT_SECONDS = 60


@dataclass
class Run:
    """What one preamble run left behind."""

    exit_code: int
    log: str
    home: Path
    env: dict[str, str]
    report: list[list[str]] = field(default_factory=list)


def _netns_prefix() -> list[str]:
    if shutil.which("unshare") is None:
        raise UserError("preamble-check needs `unshare` (util-linux) to run the preamble without network")
    if os.geteuid() == 0:
        return ["unshare", "--net", "--"]
    return ["unshare", "--user", "--map-root-user", "--net", "--"]


def _snapshot(directory: Path) -> dict[str, tuple]:
    """Every entry under the config directory with its type, size, times and content hash."""
    state = {}
    if not directory.exists():
        return state
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            path = Path(root) / name
            info = path.lstat()
            digest = None
            if path.is_file() and not path.is_symlink() and info.st_size <= 1 << 20:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            state[str(path.relative_to(directory))] = (info.st_mode, info.st_size, info.st_mtime_ns, digest)
    return state


def run_preamble(entry: Path, config_dir: Path, workdir: Path, choreo_registry: str | None = None) -> Run:
    home = workdir / "home"
    home.mkdir()
    wrapper = workdir / "run.sh"
    wrapper.write_text(WRAPPER)
    env_file = workdir / "env"
    env = {
        "HOME": str(home),
        "TMPDIR": str(workdir),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PROXY_CONFIG_DIR": str(config_dir),
        "PREAMBLE_DRY_RUN_LOGIN": "1",
        "PLATFORM_DOCKERHUB_USERNAME": "preamble-check",
        "PLATFORM_DOCKERHUB_PASSWORD": secrets.token_hex(16),
    }
    if choreo_registry:
        env["CHOREO_REGISTRY"] = choreo_registry
    command = _netns_prefix() + ["bash", str(wrapper), str(entry), str(env_file)]
    try:
        done = subprocess.run(command, env=env, cwd=workdir, capture_output=True, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise UserError(f"{entry}: the preamble did not finish within {TIMEOUT_SECONDS} s") from None
    exported = {}
    if env_file.exists():
        for item in env_file.read_bytes().split(b"\0"):
            name, sep, value = item.partition(b"=")
            if sep:
                exported[os.fsdecode(name)] = os.fsdecode(value)
    log = (done.stdout + done.stderr).decode("utf-8", "backslashreplace")
    if "unshare failed" in log or (done.returncode != 0 and log.startswith("unshare:")):
        raise UserError(f"preamble-check could not create a network namespace: {log.strip()}")
    run = Run(done.returncode, log, home, exported)
    report = home / ".proxy-config-preamble" / "report.tsv"
    if report.exists():
        run.report = [line.split("\t") for line in report.read_text().splitlines()]
    return run


class Reader:
    """Reads back one run's files; every disagreement with the configuration becomes a problem."""

    def __init__(self, catalog: Catalog, config: ProxyConfig, strategy: str, run: Run, watched: dict[str, str]):
        self.catalog, self.config, self.strategy, self.run = catalog, config, strategy, run
        self.watched = watched  # secret key -> value, for the values that can be told apart (watched_secrets)
        self.home = run.home
        self.problems: list[str] = []

    def value(self, key: str | None) -> str | None:
        entry = self.config.entries.get(key) if key else None
        return entry.value if entry else None

    def lines(self, kind: str) -> list[list[str]]:
        return [line[1:] for line in self.run.report if line and line[0] == kind]

    def expect(self, condition: bool, message: str) -> None:
        if not condition:
            self.problems.append(message)

    # -- images, mirrors, logins ------------------------------------------------------------
    def images(self) -> dict:
        out = {}
        reported = {line[0]: line for line in self.lines("image")}
        for name in self.catalog.strategies[self.strategy].images:
            variable = "PROXY_IMAGE_" + name.upper().replace("-", "_")
            line = reported.get(name, [name, "", "", ""])
            resolved = self.run.env.get(variable)
            self.expect(resolved is not None, f"image {name}: {variable} was not exported")
            out[name] = {"resolved": resolved, "source": line[1], "key": line[2] or None, "credentials": line[3] or None}
        return out

    def registries_conf(self) -> dict:
        path = self.home / ".config/containers/registries.conf"
        if not path.exists():
            self.problems.append("registries.conf was not written")
            return {}
        data = tomllib.loads(path.read_text())
        self.expect(data.get("unqualified-search-registries") == ["docker.io"], "registries.conf: short names may resolve outside docker.io")
        for entry in data.get("registry", []):
            self.expect(not entry.get("mirror"), f"registries.conf: [[registry.mirror]] for {entry.get('prefix')} can fall back to the public registry")
        return {entry["prefix"]: entry["location"] for entry in data.get("registry", [])}

    def mirrors(self) -> dict:
        locations = self.registries_conf()
        reported = {line[0]: line for line in self.lines("mirror")}
        out = {}
        for rid, registry in self.catalog.registries.items():
            prefixes = list(registry.prefixes)  # the catalog was loaded with the run's platform registry host
            urls = set()
            for prefix in prefixes:
                location = locations.get(prefix)
                if location is None:
                    continue
                suffix = "/" + prefix.split("/", 1)[1] if "/" in prefix else ""
                self.expect(location.endswith(suffix), f"registries.conf: {prefix} -> {location} drops the path")
                urls.add(location[: len(location) - len(suffix)])
            if not urls:
                self.expect(rid not in reported, f"mirror {rid} reported but not in registries.conf")
                continue
            self.expect(len(urls) == 1 and len([p for p in prefixes if p in locations]) == len(prefixes),
                        f"registries.conf: the prefixes of {rid} are not all remapped to one mirror")
            line = reported.get(rid, [rid, "", ""])
            url = sorted(urls)[0]
            self.expect(self.value(line[1]) == url, f"mirror {rid}: {line[1]} does not hold {url}")
            out[rid] = {"url": url, "key": line[1] or None, "credentials": line[2] or None}
        return out

    def logins(self) -> list[dict]:
        path = self.home / ".config/containers/auth.json"
        auths = json.loads(path.read_text()).get("auths", {}) if path.exists() else {}
        if path.exists():
            self.expect(path.stat().st_mode & 0o077 == 0, "auth.json is readable by others")
        out, last = [], {}
        for registry, user_key, password_key in self.lines("login"):
            out.append({"registry": registry, "key": user_key or None})
            if registry != "docker.io":
                last[registry] = f"{self.value(user_key)}:{self.value(password_key)}"
        for registry, credentials in last.items():
            written = auths.get(registry, {}).get("auth")
            decoded = base64.b64decode(written).decode("utf-8", "replace") if written else None
            self.expect(decoded == credentials, f"auth.json: the credentials for {registry} are not the configured ones")
        extra = set(auths) - set(last) - {"docker.io"}
        self.expect(not extra, f"auth.json has entries nobody logged in to: {sorted(extra)}")
        if any(login["registry"] == "docker.io" for login in out):
            recorded = self.home / ".proxy-config-preamble/dockerhub-login"
            self.expect(recorded.exists() or "docker.io" in auths, "Docker Hub login reported but neither recorded nor in auth.json")
        return out

    # -- package managers -------------------------------------------------------------------
    def strip_userinfo(self, manager: str, url: str, line: list[str]) -> tuple[str, str]:
        """For managers that carry basic credentials as URL user-info: the URL without them, and the auth."""
        parts = urlsplit(url)
        if line[1] != "basic":
            return url, "none"
        user, password = self.value(line[3]), self.value(line[4])
        self.expect(parts.username is not None and unquote(parts.username) == user and unquote(parts.password or "") == password,
                    f"{manager}: the URL's user-info is not {line[3]} / {line[4]}")
        host = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit(parts._replace(netloc=host)), "basic"

    def read_npm(self, line):
        path = self.home / ".npmrc"
        if not path.exists():
            return None
        settings = parse_npmrc(path.read_text())
        url = settings.get("registry")
        self.expect(settings.get("replace-registry-host") == "always", "npm: replace-registry-host is not 'always'")
        tokens = {k: v for k, v in settings.items() if k.endswith(":_authToken")}
        auth = "none"
        if tokens:
            self.expect(list(tokens) == [grammar.npm_token_key(url) + ":_authToken"],
                        f"npm: token keys {list(tokens)} are not the key npm looks the registry's token up under")
            self.expect(list(tokens.values()) == [self.value(line[3])], f"npm: the token is not the value of {line[3]}")
            auth = "token"
        return url, auth

    def read_maven(self, line):
        path = self.home / ".m2/settings.xml"
        if not path.exists():
            return None
        root = ET.parse(path).getroot()
        mirrors = root.findall("./mirrors/mirror")
        self.expect(len(mirrors) == 1 and mirrors[0].findtext("mirrorOf") == "*", "maven: not one mirror of '*'")
        servers = root.findall("./servers/server")
        auth = "none"
        if servers:
            password = servers[0].findtext("password")
            self.expect(servers[0].findtext("username") == self.value(line[3]) and password == self.value(line[4]),
                        f"maven: the server credentials are not {line[3]} / {line[4]}")
            auth = "basic"
        return mirrors[0].findtext("url") if mirrors else None, auth

    def read_gradle(self, line):
        path = self.home / ".gradle/init.d/proxy-config.gradle"
        if not path.exists():
            return None
        text = path.read_text()
        found = {m[1]: groovy_unquote(m[2]) for m in re.finditer(r"^def proxyConfig(\w+) = ('(?:[^'\\]|\\.)*')$", text, re.M)}
        auth = "none"
        if found.get("Username"):
            self.expect(found["Username"] == self.value(line[3]) and found.get("Password") == self.value(line[4]),
                        f"gradle: the credentials are not {line[3]} / {line[4]}")
            auth = "basic"
        return found.get("Url"), auth

    def read_nuget(self, line):
        path = self.home / ".nuget/NuGet/NuGet.Config"
        if not path.exists():
            return None
        mono = self.home / ".config/NuGet/NuGet.Config"
        self.expect(mono.exists() and mono.read_bytes() == path.read_bytes(), "nuget: ~/.config/NuGet/NuGet.Config (nuget.exe on mono) differs")
        root = ET.parse(path).getroot()
        sources = root.find("packageSources")
        children = [child.tag for child in sources]
        self.expect(children == ["clear", "add"], f"nuget: packageSources is {children}, not <clear/> and one source")
        credentials = {e.get("key"): e.get("value") for e in root.findall("./packageSourceCredentials/proxy-config/add")}
        auth = "none"
        if credentials:
            self.expect(credentials.get("Username") == self.value(line[3]) and credentials.get("ClearTextPassword") == self.value(line[4]),
                        f"nuget: the credentials are not {line[3]} / {line[4]}")
            auth = "basic"
        return sources.find("add").get("value"), auth

    def read_python(self, line):
        path = self.home / ".config/pip/pip.conf"
        if not path.exists():
            return None
        parser = configparser.RawConfigParser()
        parser.read_string(path.read_text())
        self.expect(not parser.has_option("global", "extra-index-url"), "pip: an extra index is configured")
        return self.strip_userinfo("python", parser.get("global", "index-url"), line)

    def read_go(self, line):
        path = self.home / ".config/go/env"
        if not path.exists():
            return None
        # Go reads its env file by '\n' only; str.splitlines would also split at U+2028 and friends.
        written = dict(item.split("=", 1) for item in path.read_text().split("\n") if "=" in item)
        for name in ("GOPROXY", "GOSUMDB", "GOTOOLCHAIN"):
            self.expect(self.run.env.get(name) == written.get(name), f"go: the exported {name} differs from the go env file")
        proxy = written.get("GOPROXY", "")
        self.expect(not re.search(r"(^|[,|])(direct|off)($|[,|])", proxy), "go: GOPROXY falls back to direct")
        self.expect(written.get("GOTOOLCHAIN") == "local", "go: GOTOOLCHAIN may download a toolchain")
        self.expect(written.get("GOSUMDB") == f"sum.golang.org {proxy.rstrip('/')}/sumdb/sum.golang.org",
                    "go: the checksum database is not reached through the proxy")
        return self.strip_userinfo("go", proxy, line)

    def read_composer(self, line):
        home = Path(self.run.env.get("COMPOSER_HOME", self.home / ".composer"))
        path = home / "config.json"
        if not path.exists():
            return None
        repositories = json.loads(path.read_text()).get("repositories", {})
        self.expect(repositories.get("packagist.org") is False, "composer: packagist.org is not disabled")
        url = repositories.get("proxy-config", {}).get("url")
        auth_path = home / "auth.json"
        auth = "none"
        if auth_path.exists():
            basic = json.loads(auth_path.read_text()).get("http-basic", {})
            host = urlsplit(url).netloc.rsplit("@", 1)[-1]
            self.expect(basic.get(host) == {"username": self.value(line[3]), "password": self.value(line[4])},
                        f"composer: http-basic for {host} is not {line[3]} / {line[4]}")
            auth = "basic"
        return url, auth

    def read_rubygems(self, line):
        path = self.home / ".gemrc"
        if not path.exists():
            return None
        sources = yaml.safe_load(path.read_text()).get(":sources")
        self.expect(isinstance(sources, list) and len(sources) == 1, f"gem: sources are {sources}, not one mirror")
        bundle = yaml.safe_load((self.home / ".bundle/config").read_text())
        mirrors = {k: v for k, v in bundle.items() if k.startswith("BUNDLE_MIRROR__")}
        self.expect(mirrors == {"BUNDLE_MIRROR__HTTPS://RUBYGEMS__ORG/": sources[0]}, "bundler: the rubygems.org mirror is not the gem source")
        self.expect(not any("FALLBACK_TIMEOUT" in k for k in bundle), "bundler: the mirror may fall back to rubygems.org")
        return self.strip_userinfo("rubygems", sources[0], line)

    def packages(self) -> dict:
        out = {}
        reported = {line[0]: line for line in self.lines("package")}
        for manager in self.catalog.strategies[self.strategy].managers:
            reported_line = reported.get(manager, [manager, "none", ""])
            credentials = [k for k in reported_line[3:] if k]
            line = reported_line[:3] + credentials + ["", ""]  # manager, auth, url key, credential keys
            found = getattr(self, f"read_{manager}")(line)
            if found is None:
                self.expect(not line[2], f"{manager}: reported {line[2]} but wrote no configuration")
                out[manager] = {"url": self.catalog.managers[manager].default_url, "auth": "none", "key": None, "credentials": []}
                continue
            url, auth = found
            self.expect(auth == line[1], f"{manager}: wrote {auth} credentials but reported {line[1]}")
            self.expect(self.value(line[2]) == url, f"{manager}: {line[2] or 'no key'} does not hold the URL written")
            out[manager] = {"url": grammar.mask(url), "auth": auth, "key": line[2] or None, "credentials": credentials}
        return out

    def ignored_keys(self) -> list[str]:
        path = self.home / ".proxy-config-preamble/ignored-keys"
        raw = path.read_bytes().split(b"\0") if path.exists() else []
        return sorted(display_name(os.fsdecode(name)) for name in raw if name)

    def private_files(self) -> None:
        for path in self.home.rglob("*"):
            if path.is_file() and path.stat().st_mode & 0o077 and self.holds_secret(path.read_bytes()):
                self.problems.append(f"{path.relative_to(self.home)} holds a credential but is readable by others")

    def holds_secret(self, data: bytes) -> bool:
        return any(value.encode() in data for value in self.watched.values())


def parse_npmrc(text: str) -> dict[str, str]:
    """The settings of an .npmrc as npm's ini parser and env-replace read them (with no variables set)."""
    settings = {}
    for line in re.split(r"[\r\n]+", text):
        if not line.strip() or line.lstrip()[0] in ";#" or line.startswith("["):
            continue
        key, _, value = line.partition("=")
        settings[_npm_env_replace(_ini_unsafe(key))] = _npm_env_replace(_ini_unsafe(value))
    return settings


def _ini_unsafe(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _npm_env_replace(value: str) -> str:
    def replace(match):
        escapes, name = match.group(1), match.group(2)
        if len(escapes) % 2:
            return match.group(0)[(len(escapes) + 1) // 2:]
        return escapes[len(escapes) // 2:] + "${" + name + "}"

    return re.sub(r"(?<!\\)(\\*)\$\{([^${}]+)\}", replace, value)


def groovy_unquote(literal: str) -> str:
    body = literal[1:-1]
    escapes = {"\\": "\\", "'": "'", "n": "\n", "r": "\r", "t": "\t"}
    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", lambda m: chr(int(m[1][1:], 16)) if m[1][0] == "u" and len(m[1]) == 5 else escapes.get(m[1], m[1]), body)


def catalog_text() -> str:
    from importlib import resources

    return resources.files("harness.contract").joinpath("catalog.yaml").read_text(encoding="utf-8")


def _source_texts(preamble_dir: Path) -> list[str]:
    return [path.read_text(errors="replace") for path in sorted(preamble_dir.rglob("*.sh"))]


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
                   choreo_registry: str | None = None) -> dict:
    """Run the strategy's preamble on `config_dir` and return the plan-shaped result (see module doc)."""
    catalog = load_catalog(choreo_registry)
    if strategy not in catalog.strategies:
        raise UserError(f"unknown strategy {strategy!r} (one of: {', '.join(catalog.strategies)})")
    entry = Path(preamble_dir or paths.preamble_dir()) / f"{strategy}.sh"
    if not entry.is_file():
        raise UserError(f"{entry}: no preamble entry for strategy {strategy} (expected <preamble dir>/{strategy}.sh)")
    config_dir = Path(config_dir).resolve()
    config = read_config(config_dir)
    before = _snapshot(config_dir)
    with tempfile.TemporaryDirectory(prefix="airgap-preamble-") as workdir:
        run = run_preamble(entry.resolve(), config_dir, Path(workdir), choreo_registry)
        innocent = "\n".join([str(config_dir), catalog_text(), *_source_texts(entry.parent)])
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
            result["dockerhub_login"] = any(login["registry"] == "docker.io" for login in result["logins"])
            reader.private_files()
    if _snapshot(config_dir) != before:
        reader.problems.append("the preamble changed the configuration directory")
    leaked = [name for name, value in watched.items() if value in run.log]
    for name in leaked:
        reader.problems.append(f"the preamble's output contains the value of {name}")
    result["log"] = "(withheld: it contains a secret)" if leaked else run.log
    result["problems"] = reader.problems
    return result
