"""Tiny OCI images written straight into registry:2's filesystem storage layout.

Writing the storage tree (instead of pushing at start-up) makes the simulated registry ready as soon as
it listens. One registry holds every upstream's images, by repository path: an image's bytes depend on its
repository and tag only, so the same name on two hosts (docker.io/buildpacksio/lifecycle:0.20.2 and the
platform ACR's copy, choreoprivateacr.azurecr.io/buildpacksio/lifecycle:0.20.2) is one image, as a copy is.
"""

import json
from dataclasses import dataclass

from harness.stack.content.archives import EPOCH_ISO, gzip_bytes, sha256_hex, tar_bytes

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


def image_blobs(ref: ImageRef) -> tuple[bytes, bytes, bytes]:
    """(layer, config, manifest) of the one-layer image for `ref` (its repository and tag, not its host)."""
    marker = f"airgap-harness fixture image {ref.repository}:{ref.tag}\n".encode()
    layer_tar = tar_bytes({"airgap-fixture/image.txt": marker})
    layer = gzip_bytes(layer_tar)
    config = _canonical({
        "architecture": "amd64", "os": "linux", "created": EPOCH_ISO,
        "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"], "Labels": {"airgap.fixture.ref": f"{ref.repository}:{ref.tag}"}},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{sha256_hex(layer_tar)}"]},
        "history": [{"created": EPOCH_ISO, "created_by": "airgap-harness fixture"}],
    })
    manifest = _canonical({
        "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": f"sha256:{sha256_hex(config)}", "size": len(config)},
        "layers": [{"mediaType": LAYER_TYPE, "digest": f"sha256:{sha256_hex(layer)}", "size": len(layer)}],
    })
    return layer, config, manifest


def registry_storage(refs: list[ImageRef]) -> dict[str, bytes]:
    """The files under registry:2's rootdirectory that make every ref pullable."""
    tree: dict[str, bytes] = {}
    for ref in refs:
        layer, config, manifest = image_blobs(ref)
        repo = f"{V2}/repositories/{ref.repository}"
        for blob in (layer, config, manifest):
            digest = sha256_hex(blob)
            tree[f"{V2}/blobs/sha256/{digest[:2]}/{digest}/data"] = blob
        for blob in (layer, config):
            tree[f"{repo}/_layers/sha256/{sha256_hex(blob)}/link"] = f"sha256:{sha256_hex(blob)}".encode()
        digest = sha256_hex(manifest)
        link = f"sha256:{digest}".encode()
        tree[f"{repo}/_manifests/revisions/sha256/{digest}/link"] = link
        tree[f"{repo}/_manifests/tags/{ref.tag}/current/link"] = link
        tree[f"{repo}/_manifests/tags/{ref.tag}/index/sha256/{digest}/link"] = link
    return tree
