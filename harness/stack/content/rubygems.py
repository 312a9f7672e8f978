"""Real .gem files plus the indexes clients read: the compact index (/versions, /info/NAME) that Bundler
and RubyGems 3 resolve with, and the Ruby Marshal files `gem install`/`gem fetch` also read
(quick/Marshal.4.8/NAME-VERSION.gemspec.rz, specs.4.8.gz).

A gem may have a `platform` (a customer's Gemfile.lock names precompiled gems such as
nokogiri 1.15.6-x86_64-linux: the file, the index lines and the spec carry it, as on rubygems.org), a
prerelease version (listed in prerelease_specs, as RubyGems lists it), and requirements of several
clauses ("~> 1.4, >= 1.4.1"; an empty one is ">= 0", as a lockfile's bare dependency line means).
"""

import hashlib
import re
import tarfile
import zlib
from dataclasses import dataclass

from harness.stack.content import Generated
from harness.stack.content.archives import gzip_bytes, sha256_hex, tar_bytes

RUBYGEMS_VERSION = "3.3.15"
RUBY = "ruby"  # the platform of a pure-Ruby gem


def _clauses(spec: str) -> list[tuple[str, str]]:
    """(operator, version) of each clause of a requirement; an empty requirement is ">= 0"."""
    out = []
    for clause in (spec or ">= 0").split(","):
        op, _, version = clause.strip().rpartition(" ")
        out.append((op.strip() or "=", version))
    return out


def _requirement_yaml(spec: str, indent: str) -> str:
    return f"{indent}requirements:\n" + "".join(
        f"{indent}- - \"{op}\"\n{indent}  - !ruby/object:Gem::Version\n{indent}    version: '{version}'\n"
        for op, version in _clauses(spec))


def platform(gem: dict) -> str:
    return gem.get("platform") or RUBY


def full_name(gem: dict) -> str:
    """NAME-VERSION, or NAME-VERSION-PLATFORM for a platform gem: its file's name, as RubyGems names it."""
    return f"{gem['name']}-{index_version(gem)}"


def index_version(gem: dict) -> str:
    """The version as the compact index and a lockfile write it: VERSION or VERSION-PLATFORM."""
    return gem["version"] if platform(gem) == RUBY else f"{gem['version']}-{platform(gem)}"


def prerelease(version: str) -> bool:
    """A version with a letter is a prerelease for RubyGems (7.1.0.rc1, 2.0.0.beta)."""
    return bool(re.search(r"[a-zA-Z]", version))


def _yaml_version(version: str) -> str:
    """The version as YAML: quoted where YAML would read a number (10, 1.0), as Psych writes it."""
    return f"'{version}'" if re.fullmatch(r"\d+(\.\d+)?", version) else version


def gemspec_yaml(gem: dict) -> bytes:
    deps = ""
    for name, spec in sorted(gem.get("dependencies", {}).items()):
        requirement = "!ruby/object:Gem::Requirement\n" + _requirement_yaml(spec, "    ")
        deps += (f"- !ruby/object:Gem::Dependency\n  name: {name}\n  requirement: {requirement}"
                 f"  type: :runtime\n  prerelease: false\n  version_requirements: {requirement}")
    any_version = "!ruby/object:Gem::Requirement\n" + _requirement_yaml(">= 0", "  ")
    return (f"--- !ruby/object:Gem::Specification\nname: {gem['name']}\nversion: !ruby/object:Gem::Version\n"
            f"  version: {_yaml_version(gem['version'])}\nplatform: {platform(gem)}\n"
            f"authors:\n- airgap-harness\nautorequire:\nbindir: bin\n"
            f"cert_chain: []\ndate: 2024-01-01 00:00:00.000000000 Z\ndependencies:{' []' if not deps else ''}\n"
            f"{deps}description: airgap-harness fixture gem\nemail:\nexecutables: []\nextensions: []\n"
            f"extra_rdoc_files: []\nfiles:\n- lib/{_lib(gem)}.rb\nhomepage:\nlicenses:\n- MIT\nmetadata: {{}}\n"
            f"post_install_message:\nrdoc_options: []\nrequire_paths:\n- lib\n"
            f"required_ruby_version: {any_version}required_rubygems_version: {any_version}"
            f"requirements: []\nrubygems_version: {RUBYGEMS_VERSION}\nsigning_key:\nspecification_version: 4\n"
            f"summary: airgap-harness fixture {gem['name']}\ntest_files: []\n").encode()


def _lib(gem: dict) -> str:
    return gem["name"].replace("-", "_")


def gem_file(gem: dict) -> bytes:
    """The .gem: a plain tar of metadata.gz, data.tar.gz and checksums.yaml.gz, as `gem build` writes."""
    metadata = gzip_bytes(gemspec_yaml(gem))
    data = gzip_bytes(tar_bytes({f"lib/{_lib(gem)}.rb": f"# {gem['name']} {gem['version']}\n".encode()},
                                fmt=tarfile.USTAR_FORMAT))
    sums = {"metadata.gz": metadata, "data.tar.gz": data}
    checksums = "---\nSHA256:\n" + "".join(f"  {n}: {sha256_hex(d)}\n" for n, d in sums.items())
    checksums += "SHA512:\n" + "".join(f"  {n}: {hashlib.sha512(d).hexdigest()}\n" for n, d in sums.items())
    return tar_bytes({"metadata.gz": metadata, "data.tar.gz": data, "checksums.yaml.gz": gzip_bytes(checksums.encode())},
                     mode=0o444, fmt=tarfile.USTAR_FORMAT)


class Symbol(str):
    """A Ruby Symbol (a str subclass, so it compares like its name)."""


@dataclass(frozen=True)
class RubyObject:
    """`o`: a plain object restored from its instance variables (Gem::Dependency)."""
    class_name: str
    ivars: tuple  # ((name, value), ...) in dump order


@dataclass(frozen=True)
class UserMarshal:
    """`U`: an object whose class defines marshal_dump (Gem::Version, Gem::Requirement)."""
    class_name: str
    data: object


@dataclass(frozen=True)
class UserDump:
    """`u`: an object whose class defines _dump, here Gem::Specification (its payload is a Marshal stream)."""
    class_name: str
    payload: bytes


class _Marshal:
    """Just enough of Ruby's Marshal 4.8 for specs.4.8 and quick/Marshal.4.8 gemspecs."""

    def __init__(self) -> None:
        self.symbols: dict[str, int] = {}
        self.out = bytearray(b"\x04\x08")

    def _int(self, n: int) -> None:
        if n == 0:
            self.out += b"\x00"
        elif 0 < n < 123:
            self.out.append(n + 5)
        else:
            raw = n.to_bytes((n.bit_length() + 7) // 8, "little")
            self.out.append(len(raw))
            self.out += raw

    def _bytes(self, raw: bytes) -> None:
        self._int(len(raw))
        self.out += raw

    def _symbol(self, name: str) -> None:
        if name in self.symbols:
            self.out += b";"
            self._int(self.symbols[name])
        else:
            self.symbols[name] = len(self.symbols)
            self.out += b":"
            self._bytes(name.encode())

    def dump(self, value) -> None:
        if value is None or isinstance(value, bool):
            self.out += {None: b"0", True: b"T", False: b"F"}[value]
        elif isinstance(value, int):
            self.out += b"i"
            self._int(value)
        elif isinstance(value, Symbol):
            self._symbol(value)
        elif isinstance(value, str):  # a UTF-8 String: the E (encoding) ivar set to true
            self.out += b'I"'
            self._bytes(value.encode())
            self._int(1)
            self._symbol("E")
            self.out += b"T"
        elif isinstance(value, list):
            self.out += b"["
            self._int(len(value))
            for item in value:
                self.dump(item)
        elif isinstance(value, dict):
            self.out += b"{"
            self._int(len(value))
            for key, item in value.items():
                self.dump(key)
                self.dump(item)
        elif isinstance(value, UserMarshal):
            self.out += b"U"
            self._symbol(value.class_name)
            self.dump(value.data)
        elif isinstance(value, UserDump):
            self.out += b"u"
            self._symbol(value.class_name)
            self._bytes(value.payload)
        elif isinstance(value, RubyObject):
            self.out += b"o"
            self._symbol(value.class_name)
            self._int(len(value.ivars))
            for name, item in value.ivars:
                self._symbol(name)
                self.dump(item)
        else:
            raise TypeError(f"cannot marshal {type(value).__name__}")


def GemVersion(version: str) -> UserMarshal:
    return UserMarshal("Gem::Version", [version])


def _requirement(spec: str) -> UserMarshal:
    return UserMarshal("Gem::Requirement", [[[op, GemVersion(version)] for op, version in _clauses(spec)]])


def marshal(value) -> bytes:
    writer = _Marshal()
    writer.dump(value)
    return bytes(writer.out)


def marshal_gemspec(gem: dict) -> bytes:
    """Marshal.dump of the Gem::Specification, field order as Gem::Specification#_dump (spec version 4)."""
    dependencies = []
    for name, spec in sorted(gem.get("dependencies", {}).items()):
        requirement = _requirement(spec)
        dependencies.append(RubyObject("Gem::Dependency", (
            ("@name", name), ("@requirement", requirement), ("@type", Symbol("runtime")),
            ("@prerelease", False), ("@version_requirements", requirement))))
    fields = [RUBYGEMS_VERSION, 4, gem["name"], GemVersion(gem["version"]), "2024-01-01",
              f"airgap-harness fixture {gem['name']}", _requirement(">= 0"), _requirement(">= 0"), platform(gem),
              dependencies, "", None, ["airgap-harness"], "airgap-harness fixture gem", None, True, platform(gem),
              ["MIT"], {}]
    return marshal(UserDump("Gem::Specification", marshal(fields)))


def _info_line(gem: dict, data: bytes) -> str:
    deps = ",".join(f"{name}:{'&'.join(f'{op} {v}' for op, v in _clauses(spec))}"
                    for name, spec in sorted(gem.get("dependencies", {}).items()))
    return f"{index_version(gem)} {deps}|checksum:{sha256_hex(data)}\n"


def index_layout(gems: list[dict]) -> dict[str, bytes]:
    """Site-relative files: gems/*.gem, the compact index and the Marshal spec lists."""
    tree: dict[str, bytes] = {}
    infos: dict[str, str] = {}
    for gem in gems:
        data = gem_file(gem)
        tree[f"gems/{full_name(gem)}.gem"] = data
        tree[f"quick/Marshal.4.8/{full_name(gem)}.gemspec.rz"] = zlib.compress(marshal_gemspec(gem), 9)
        infos[gem["name"]] = infos.get(gem["name"], "---\n") + _info_line(gem, data)
    versions = "created_at: 2024-01-01T00:00:00Z\n---\n"
    for name in sorted(infos):
        info = infos[name].encode()
        tree[f"info/{name}"] = info
        listed = ",".join(index_version(g) for g in gems if g["name"] == name)
        versions += f"{name} {listed} {hashlib.md5(info).hexdigest()}\n"
    tree["versions"] = versions.encode()
    tree["names"] = ("---\n" + "".join(f"{name}\n" for name in sorted(infos))).encode()
    ordered = sorted(gems, key=lambda g: g["name"])
    specs = [[g["name"], GemVersion(g["version"]), platform(g)] for g in ordered if not prerelease(g["version"])]
    tree["specs.4.8.gz"] = gzip_bytes(marshal(specs))
    tree["latest_specs.4.8.gz"] = gzip_bytes(marshal(specs))
    tree["prerelease_specs.4.8.gz"] = gzip_bytes(marshal(
        [[g["name"], GemVersion(g["version"]), platform(g)] for g in ordered if prerelease(g["version"])]))
    return tree


def project(definition: dict, gems: list[dict]) -> dict[str, bytes]:
    """A Gemfile and its Gemfile.lock (no BUNDLED WITH: Bundler must not try to fetch another Bundler)."""
    gemfile = 'source "https://rubygems.org"\n\n' + "".join(
        f'gem "{name}", "{version}"\n' for name, version in sorted(definition["gems"].items()))
    specs = ""
    for gem in sorted(gems, key=lambda g: g["name"]):
        specs += f"    {gem['name']} ({gem['version']})\n"
        specs += "".join(f"      {n} ({s})\n" for n, s in sorted(gem.get("dependencies", {}).items()))
    deps = "".join(f"  {name} (= {version})\n" for name, version in sorted(definition["gems"].items()))
    lock = f"GEM\n  remote: https://rubygems.org/\n  specs:\n{specs}\nPLATFORMS\n  ruby\n\nDEPENDENCIES\n{deps}"
    return {"Gemfile": gemfile.encode(), "Gemfile.lock": lock.encode()}


def generate(definition: dict) -> Generated:
    """The RubyGems slice's content: the index (`index`: gems, compact index, Marshal specs) and the project."""
    gems = definition["gems"]
    make = lambda project_definition: project(project_definition, gems)  # noqa: E731
    return Generated(trees={"index": index_layout(gems)}, project=make(definition["project"]), make_project=make,
                     project_fields=('gems',))
