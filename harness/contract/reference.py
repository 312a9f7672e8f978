"""Container image references, parsed and normalised as the distribution reference library does.

This follows github.com/distribution/reference (regexp.go, reference.go, normalize.go) and the digest
checks of github.com/opencontainers/go-digest, so a reference the harness accepts is one podman,
containerd and docker accept, and its normalised form (`node:18` -> `docker.io/library/node:18`) is
theirs. Go's regexps are translated with ASCII classes and `\\Z` anchors (Python's `$` would accept a
trailing newline, which Go's does not).
"""

import re

from harness.infra.records import record

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
REPOSITORY_NAME_MAX = 255

_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_OPTIONAL_PORT = r"(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_NAME = _DOMAIN_COMPONENT + r"(?:\." + _DOMAIN_COMPONENT + r")*"
_DOMAIN_AND_PORT = r"(?:" + _DOMAIN_NAME + "|" + _IPV6 + ")" + _OPTIONAL_PORT
_PATH_COMPONENT = _ALPHANUMERIC + r"(?:" + _SEPARATOR + _ALPHANUMERIC + r")*"
_REMOTE_NAME = _PATH_COMPONENT + r"(?:/" + _PATH_COMPONENT + r")*"
_NAME = r"(?:" + _DOMAIN_AND_PORT + r"/)?" + _REMOTE_NAME

_REFERENCE_RE = re.compile(
    r"\A(" + _NAME + r")(?::(" + _TAG + r"))?(?:@(" + _DIGEST + r"))?\Z", re.ASCII
)
_ANCHORED_NAME_RE = re.compile(r"\A(?:(" + _DOMAIN_AND_PORT + r")/)?(" + _REMOTE_NAME + r")\Z", re.ASCII)
_ANCHORED_DOMAIN_RE = re.compile(r"\A" + _DOMAIN_AND_PORT + r"\Z", re.ASCII)
_ANCHORED_PATH_RE = re.compile(r"\A" + _REMOTE_NAME + r"\Z", re.ASCII)
_IDENTIFIER_RE = re.compile(r"\A[a-f0-9]{64}\Z", re.ASCII)
_DIGEST_HEX_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}


class ReferenceError(ValueError):
    """An image reference the distribution grammar rejects; the message is the library's reason."""


@record
class Reference:
    """A parsed reference. `domain` is empty only for references parsed without normalisation."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}" if self.domain else self.path

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += ":" + self.tag
        if self.digest:
            text += "@" + self.digest
        return text

    def with_name(self, domain: str, path: str) -> "Reference":
        return Reference(domain, path, self.tag, self.digest)


def _validate_digest(value: str) -> None:
    """go-digest's Digest.Validate, for the algorithms docker registers (sha256, sha384, sha512)."""
    algorithm, _, encoded = value.partition(":")
    expected = _DIGEST_HEX_LENGTH.get(algorithm)
    if expected is None:
        raise ReferenceError("unsupported digest algorithm")
    if len(encoded) != expected:
        raise ReferenceError("invalid checksum digest length")
    if not re.fullmatch(r"[a-f0-9]+", encoded):
        raise ReferenceError("invalid checksum digest format")


def parse(text: str) -> Reference:
    """reference.Parse: the reference as written, without adding docker.io or library/."""
    if text == "":
        raise ReferenceError("repository name must have at least one component")
    match = _REFERENCE_RE.match(text)
    if match is None:
        if text.lower() != text and _REFERENCE_RE.match(text.lower()):
            raise ReferenceError("repository name must be lowercase")
        raise ReferenceError("invalid reference format")
    name, tag, digest = match.groups()
    name_match = _ANCHORED_NAME_RE.match(name)
    domain, path = (name_match.group(1) or "", name_match.group(2)) if name_match else ("", name)
    if domain and not _port_ok(domain):
        raise ReferenceError("the registry's port is not 1-65535 (without leading zeros)")
    if len(path) > REPOSITORY_NAME_MAX:
        raise ReferenceError(f"repository name must not be more than {REPOSITORY_NAME_MAX} characters")
    if digest:
        _validate_digest(digest)
    return Reference(domain, path, tag or None, digest or None)


def split_docker_domain(name: str) -> tuple[str, str]:
    """splitDockerDomain: decide whether the first component is a registry host."""
    maybe_domain, slash, maybe_remote = name.partition("/")
    if not slash:
        return DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name
    if maybe_domain == LEGACY_DEFAULT_DOMAIN:
        domain, remote = DEFAULT_DOMAIN, maybe_remote
    elif _reads_as_registry(maybe_domain):
        domain, remote = maybe_domain, maybe_remote
    else:
        domain, remote = DEFAULT_DOMAIN, name
    if domain == DEFAULT_DOMAIN and "/" not in remote:
        remote = OFFICIAL_REPO_PREFIX + remote
    return domain, remote


def parse_normalized(text: str) -> Reference:
    """reference.ParseNormalizedNamed: familiar names become fully qualified (`node:18` -> docker.io/library/node:18)."""
    if _IDENTIFIER_RE.match(text):
        raise ReferenceError(f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings")
    domain, remainder = split_docker_domain(text)
    remote = remainder.split(":", 1)[0]
    if remote.lower() != remote:
        raise ReferenceError(f"invalid reference format: repository name ({remote}) must be lowercase")
    return parse(domain + "/" + remainder)


def is_valid_domain(text: str) -> bool:
    return bool(_ANCHORED_DOMAIN_RE.match(text)) and _port_ok(text)


def _port_ok(domain: str) -> bool:
    """A registry host's port, if it has one, is one a client can connect to: 1-65535, no leading zero (the
    reference grammar itself takes any digits)."""
    port = re.search(r":([0-9]+)\Z", domain)
    return port is None or (not port.group(1).startswith("0") and len(port.group(1)) <= 5 and int(port.group(1)) <= 65535)


def _reads_as_registry(domain: str) -> bool:
    """Whether the first component of a name is a registry host, as splitDockerDomain decides (a '.' or ':',
    localhost, or an upper-case letter); otherwise it is the first path component of a Docker Hub name."""
    return domain == "localhost" or any(c in domain for c in ".:") or domain.lower() != domain


def is_valid_path(text: str) -> bool:
    return bool(_ANCHORED_PATH_RE.match(text))


def split_mirror(value: str) -> tuple[str, str]:
    """Split an OCI mirror value `host[:port][/path]` into domain and path, or raise with the reason.

    The value stands where a registry domain stands in a reference, so it must be a valid domain
    followed by valid path components: no scheme, no tag, no trailing slash.
    """
    if "://" in value:
        raise ReferenceError("a registry mirror is a bare host[:port][/path], without a scheme such as https://")
    domain, _, path = value.partition("/")
    if not is_valid_domain(domain):
        raise ReferenceError("the part before the first '/' is not a valid registry host[:port] (a port is 1-65535)")
    if not _reads_as_registry(domain):
        raise ReferenceError("the part before the first '/' has no '.' and no port and is not localhost: an image "
                             "name would read it as a Docker Hub repository, not as a registry host")
    if value.endswith("/"):
        raise ReferenceError("a registry mirror must not end with '/'")
    if path and not is_valid_path(path):
        raise ReferenceError("the part after the host is not a valid repository path (lowercase letters, digits, '.', '_', '-')")
    return domain, path


def matches_prefix(ref: Reference, prefix: str) -> bool:
    """Whether a normalised reference lives under a registry prefix such as `gcr.io/buildpacks`."""
    return ref.name == prefix or ref.name.startswith(prefix + "/")


def rewrite_to_mirror(ref: Reference, mirror: str) -> Reference:
    """Replace the registry domain of `ref` by the mirror `host[:port][/path]`, keeping path, tag and digest."""
    domain, mirror_path = split_mirror(mirror)
    path = f"{mirror_path}/{ref.path}" if mirror_path else ref.path
    return parse(str(ref.with_name(domain, path)))


def apply_override(ref: Reference, override: str) -> Reference:
    """An image override: a complete reference replaces `ref`; a bare `registry/repo` keeps its tag and digest."""
    replacement = parse_normalized(override)
    if replacement.tag or replacement.digest:
        return replacement
    return parse(str(ref.with_name(replacement.domain, replacement.path)))
