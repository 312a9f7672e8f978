"""A Go checksum database (sum.golang.org protocol: /lookup, /latest, /tile) for the fixture modules.

The tree is signed with a key derived from a fixed seed, not sum.golang.org's: clients accept it when
told `GOSUMDB=<VERIFIER_KEY>`, and the default key makes them reject it (which shows the go command really
checks). Hashing and note format follow golang.org/x/mod/sumdb/tlog and /note.
"""

import base64
import hashlib
import struct

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

NAME = "sum.golang.org"
TILE_HEIGHT = 8
_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"airgap-harness simulated sum.golang.org").digest())
_PUBLIC = b"\x01" + _KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)  # 0x01: the Ed25519 algorithm
_KEY_HASH = struct.unpack(">I", hashlib.sha256(NAME.encode() + b"\n" + _PUBLIC).digest()[:4])[0]
VERIFIER_KEY = f"{NAME}+{_KEY_HASH:08x}+{base64.b64encode(_PUBLIC).decode()}"


def _leaf(record: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + record).digest()


def _tree_hash(leaves: list[bytes]) -> bytes:
    """RFC 6962 Merkle tree hash over leaf hashes."""
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + _tree_hash(leaves[:split]) + _tree_hash(leaves[split:])).digest()


def _signed_tree(size: int, root: bytes) -> bytes:
    text = f"go.sum database tree\n{size}\n{base64.b64encode(root).decode()}\n".encode()
    signature = base64.b64encode(struct.pack(">I", _KEY_HASH) + _KEY.sign(text)).decode()
    return text + f"\n\u2014 {NAME} {signature}\n".encode()


def layout(sums: dict[tuple[str, str], tuple[str, str]]) -> dict[str, bytes]:
    """Site-relative files of the checksum database for `sums` ((module, version) -> (zip h1, go.mod h1))."""
    entries = sorted(sums.items())
    if len(entries) >= 1 << TILE_HEIGHT:
        raise ValueError("the simulated checksum database holds fewer than 256 module versions")
    records = [f"{m} {v} {zip_hash}\n{m} {v}/go.mod {mod_hash}\n".encode() for (m, v), (zip_hash, mod_hash) in entries]
    leaves = [_leaf(record) for record in records]
    signed = _signed_tree(len(records), _tree_hash(leaves))
    width = len(records)
    tree = {"latest": signed, f"tile/{TILE_HEIGHT}/0/000.p/{width}": b"".join(leaves),
            f"tile/{TILE_HEIGHT}/data/000.p/{width}": b"".join(record + b"\n" for record in records)}
    for record_id, (((module, version), _), record) in enumerate(zip(entries, records)):
        tree[f"lookup/{module}@{version}"] = f"{record_id}\n".encode() + record + b"\n" + signed
    return tree
