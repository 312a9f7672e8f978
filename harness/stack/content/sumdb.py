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


def _tile_path(level: str, index: int, width: int) -> str:
    """tlog.Tile.Path: the index in groups of three digits (x001/234), `.p/<width>` for a partial tile."""
    digits = f"{index % 1000:03d}"
    while index >= 1000:
        index //= 1000
        digits = f"x{index % 1000:03d}/{digits}"
    partial = "" if width == 1 << TILE_HEIGHT else f".p/{width}"
    return f"tile/{TILE_HEIGHT}/{level}/{digits}{partial}"


def _tiles(leaves: list[bytes], records: list[bytes]) -> dict[str, bytes]:
    """The hash tiles of every level (level L holds the hashes of the complete subtrees of 256^L leaves) and the
    data tiles, each split in tiles of 256 entries, the last one partial (tlog's tile layout)."""
    per_tile = 1 << TILE_HEIGHT
    tree, level, hashes = {}, 0, leaves
    while hashes:
        for start in range(0, len(hashes), per_tile):
            chunk = hashes[start:start + per_tile]
            tree[_tile_path(str(level), start // per_tile, len(chunk))] = b"".join(chunk)
        # the next level: one hash per complete tile of this one (the hash of a complete subtree)
        hashes = [_tree_hash(hashes[start:start + per_tile]) for start in range(0, len(hashes) - per_tile + 1, per_tile)]
        level += 1
    for start in range(0, len(records), per_tile):
        chunk = records[start:start + per_tile]
        tree[_tile_path("data", start // per_tile, len(chunk))] = b"".join(record + b"\n" for record in chunk)
    return tree


def escape(path: str) -> str:
    """The module path as the go command sends it (golang.org/x/mod/module.EscapePath): '!' + the lower case."""
    return "".join(f"!{ch.lower()}" if ch.isupper() else ch for ch in path)


def layout(sums: dict[tuple[str, str], tuple[str, str]]) -> dict[str, bytes]:
    """Site-relative files of the checksum database for `sums` ((module, version) -> (zip h1, go.mod h1))."""
    entries = sorted(sums.items())
    records = [f"{m} {v} {zip_hash}\n{m} {v}/go.mod {mod_hash}\n".encode() for (m, v), (zip_hash, mod_hash) in entries]
    leaves = [_leaf(record) for record in records]
    signed = _signed_tree(len(records), _tree_hash(leaves))
    tree = {"latest": signed} | _tiles(leaves, records)
    for record_id, (((module, version), _), record) in enumerate(zip(entries, records)):
        answer = f"{record_id}\n".encode() + record + b"\n" + signed
        tree[f"lookup/{module}@{version}"] = answer
        tree[f"lookup/{escape(module)}@{escape(version)}"] = answer  # what the go command asks for
    return tree
