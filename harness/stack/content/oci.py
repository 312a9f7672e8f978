"""Tiny OCI images written straight into registry:2's filesystem storage layout.

Writing the storage tree (instead of pushing at start-up) makes the simulated registry ready as soon as
it listens. One registry holds every upstream's images, by repository path: an image's bytes depend on its
repository and tag only, so the same name on two hosts (docker.io/buildpacksio/lifecycle:0.20.2 and the
platform ACR's copy, choreoprivateacr.azurecr.io/buildpacksio/lifecycle:0.20.2) is one image, as a copy is.
"""

import functools
import io
import json
import tarfile
from dataclasses import dataclass

from harness.stack.content.archives import EPOCH, EPOCH_ISO, gzip_bytes, sha256_hex, tar_bytes

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
V2 = "docker/registry/v2"


@dataclass(frozen=True)
class ImageRef:
    reference: str  # as the catalog writes it, e.g. docker.io/library/node:18
    host: str  # the simulated host serving it, e.g. registry-1.docker.io
    repository: str  # e.g. library/node
    tag: str


def parse_ref(reference: str, registry_hosts: dict[str, str]) -> ImageRef:
    name, _, tag = reference.rpartition(":")
    host, _, repository = name.partition("/")
    if not tag or not repository or "." not in host:
        raise ValueError(f"image reference must be host/repository:tag, got {reference!r}")
    return ImageRef(reference, registry_hosts.get(host, host), repository, tag)


def _canonical(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def golden_references(default: str) -> list[str]:
    """The golden copies of a default image (`docker.io/library/node:18-alpine`) that the image-override scenarios
    name on the full configuration's mirror (harness/scenarios/model.py, _override_keys), as the public source
    serves them: `golden-<last path component>` under the default's tag and under the tag `golden` (a default
    pinned by digest has none: only the customer's bytes match a digest)."""
    if "@" in default:
        return []
    name, _, tag = default.rpartition(":")
    head, _, last = name.rpartition("/")
    return [f"{head}/golden-{last}:{tag}", f"{head}/golden-{last}:golden"]


@functools.lru_cache(maxsize=1)
def skeleton_layer() -> tuple[bytes, bytes]:
    """(tar, gzip) of the root every stand-in image starts with: what a Dockerfile's RUN needs of an image and
    nothing more, the usual links into /usr, root's passwd entry (its HOME) and /tmp. The stand-ins hold no
    programs: a RUN in one borrows the builder's /usr (harness/scenarios/handoff.sh, airgap_podman_build)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        entries = [(name, tarfile.DIRTYPE, mode, "") for name, mode in
                   (("etc", 0o755), ("root", 0o700), ("tmp", 0o1777), ("usr", 0o755))]
        entries += [(name, tarfile.SYMTYPE, 0o777, f"usr/{name}") for name in ("bin", "lib", "lib64", "sbin")]
        for name, kind, mode, target in sorted(entries):
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.linkname, info.mtime, info.uname, info.gname = kind, mode, target, EPOCH, "", ""
            tar.addfile(info)
        for name, text in (("etc/group", "root:x:0:\n"), ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")):
            info = tarfile.TarInfo(name)
            data = text.encode()
            info.size, info.mode, info.mtime, info.uname, info.gname = len(data), 0o644, EPOCH, "", ""
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue(), gzip_bytes(out.getvalue())


def image_blobs(ref: ImageRef) -> tuple[bytes, bytes, bytes]:
    """(layer, config, manifest) of the image for `ref` (its repository and tag, not its host): the shared
    skeleton_layer, then its own layer, whose only file names it."""
    marker = f"airgap-harness fixture image {ref.repository}:{ref.tag}\n".encode()
    layer_tar = tar_bytes({"airgap-fixture/image.txt": marker})
    layer = gzip_bytes(layer_tar)
    skeleton_tar, skeleton = skeleton_layer()
    config = _canonical({
        "architecture": "amd64", "os": "linux", "created": EPOCH_ISO,
        "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"], "Labels": {"airgap.fixture.ref": f"{ref.repository}:{ref.tag}"}},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{sha256_hex(skeleton_tar)}", f"sha256:{sha256_hex(layer_tar)}"]},
        "history": [{"created": EPOCH_ISO, "created_by": "airgap-harness fixture skeleton"},
                    {"created": EPOCH_ISO, "created_by": "airgap-harness fixture"}],
    })
    manifest = _canonical({
        "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": f"sha256:{sha256_hex(config)}", "size": len(config)},
        "layers": [{"mediaType": LAYER_TYPE, "digest": f"sha256:{sha256_hex(blob)}", "size": len(blob)}
                   for blob in (skeleton, layer)],
    })
    return layer, config, manifest


def registry_storage(refs: list[ImageRef]) -> dict[str, bytes]:
    """The files under registry:2's rootdirectory that make every ref pullable."""
    tree: dict[str, bytes] = {}
    skeleton = skeleton_layer()[1]
    for ref in refs:
        layer, config, manifest = image_blobs(ref)
        repo = f"{V2}/repositories/{ref.repository}"
        for blob in (skeleton, layer, config, manifest):
            digest = sha256_hex(blob)
            tree[f"{V2}/blobs/sha256/{digest[:2]}/{digest}/data"] = blob
        for blob in (skeleton, layer, config):
            tree[f"{repo}/_layers/sha256/{sha256_hex(blob)}/link"] = f"sha256:{sha256_hex(blob)}".encode()
        digest = sha256_hex(manifest)
        link = f"sha256:{digest}".encode()
        tree[f"{repo}/_manifests/revisions/sha256/{digest}/link"] = link
        tree[f"{repo}/_manifests/tags/{ref.tag}/current/link"] = link
        tree[f"{repo}/_manifests/tags/{ref.tag}/index/sha256/{digest}/link"] = link
    return tree
