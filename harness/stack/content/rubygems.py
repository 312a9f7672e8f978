"""Real .gem files plus the indexes clients read: the compact index (/versions, /info/NAME) that Bundler
and RubyGems 3 use, and specs.4.8.gz (a Ruby Marshal stream) for older `gem` code paths.
"""

import hashlib
import tarfile

from harness.stack.content.archives import gzip_bytes, sha256_hex, tar_bytes

RUBYGEMS_VERSION = "3.3.15"


def _requirement_yaml(spec: str, indent: str) -> str:
    op, _, version = spec.strip().rpartition(" ")
    return (f"{indent}requirements:\n{indent}- - \"{op or '='}\"\n"
            f"{indent}  - !ruby/object:Gem::Version\n{indent}    version: '{version}'\n")


def gemspec_yaml(gem: dict) -> bytes:
    deps = ""
    for name, spec in sorted(gem.get("dependencies", {}).items()):
        requirement = "!ruby/object:Gem::Requirement\n" + _requirement_yaml(spec, "    ")
        deps += (f"- !ruby/object:Gem::Dependency\n  name: {name}\n  requirement: {requirement}"
                 f"  type: :runtime\n  prerelease: false\n  version_requirements: {requirement}")
    any_version = "!ruby/object:Gem::Requirement\n" + _requirement_yaml(">= 0", "  ")
    return (f"--- !ruby/object:Gem::Specification\nname: {gem['name']}\nversion: !ruby/object:Gem::Version\n"
            f"  version: {gem['version']}\nplatform: ruby\nauthors:\n- airgap-harness\nautorequire:\nbindir: bin\n"
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


class _Marshal:
    """Just enough of Ruby's Marshal 4.8 to write specs.4.8 (arrays, UTF-8 strings, Gem::Version)."""

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

    def _symbol(self, name: str) -> None:
        if name in self.symbols:
            self.out += b";"
            self._int(self.symbols[name])
        else:
            self.symbols[name] = len(self.symbols)
            self.out += b":"
            self._int(len(name))
            self.out += name.encode()

    def dump(self, value) -> None:
        if isinstance(value, list):
            self.out += b"["
            self._int(len(value))
            for item in value:
                self.dump(item)
        elif isinstance(value, str):
            raw = value.encode()
            self.out += b'I"'
            self._int(len(raw))
            self.out += raw
            self._int(1)
            self._symbol("E")
            self.out += b"T"
        elif isinstance(value, GemVersion):
            self.out += b"U"
            self._symbol("Gem::Version")
            self.dump([value.version])
        else:
            raise TypeError(f"cannot marshal {type(value).__name__}")


class GemVersion:
    def __init__(self, version: str) -> None:
        self.version = version


def marshal(value) -> bytes:
    writer = _Marshal()
    writer.dump(value)
    return bytes(writer.out)


def _info_line(gem: dict, data: bytes) -> str:
    deps = ",".join(f"{name}:{spec.replace(', ', '&')}" for name, spec in sorted(gem.get("dependencies", {}).items()))
    return f"{gem['version']} {deps}|checksum:{sha256_hex(data)}\n"


def index_layout(gems: list[dict]) -> dict[str, bytes]:
    """Site-relative files: gems/*.gem, the compact index and the Marshal spec lists."""
    tree: dict[str, bytes] = {}
    infos: dict[str, str] = {}
    for gem in gems:
        data = gem_file(gem)
        tree[f"gems/{gem['name']}-{gem['version']}.gem"] = data
        infos[gem["name"]] = infos.get(gem["name"], "---\n") + _info_line(gem, data)
    versions = "created_at: 2024-01-01T00:00:00Z\n---\n"
    for name in sorted(infos):
        info = infos[name].encode()
        tree[f"info/{name}"] = info
        listed = ",".join(g["version"] for g in gems if g["name"] == name)
        versions += f"{name} {listed} {hashlib.md5(info).hexdigest()}\n"
    tree["versions"] = versions.encode()
    tree["names"] = ("---\n" + "".join(f"{name}\n" for name in sorted(infos))).encode()
    specs = [[g["name"], GemVersion(g["version"]), "ruby"] for g in sorted(gems, key=lambda g: g["name"])]
    tree["specs.4.8.gz"] = gzip_bytes(marshal(specs))
    tree["latest_specs.4.8.gz"] = gzip_bytes(marshal(specs))
    tree["prerelease_specs.4.8.gz"] = gzip_bytes(marshal([]))
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
