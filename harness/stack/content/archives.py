"""Byte-reproducible archives: fixed timestamps, sorted entries, no host names or user ids.

Every generated package goes through these helpers, so the same fixture inputs give the same digests
on every machine (a cached mirror and a fresh run then agree on checksums).
"""

import gzip
import hashlib
import io
import json
import tarfile
import zipfile

EPOCH = 1704067200  # 2024-01-01T00:00:00Z: the fixed mtime of every generated file
EPOCH_ISO = "2024-01-01T00:00:00Z"
ZIP_DATE = (2024, 1, 1, 0, 0, 0)


def gzip_bytes(data: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as stream:
        stream.write(data)
    return out.getvalue()


def tar_bytes(files: dict[str, bytes], mode: int = 0o644, fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """An uncompressed tar of `files` (path -> content), entries sorted, owned by 0:0, mtime EPOCH."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for path in sorted(files):
            info = tarfile.TarInfo(path)
            info.size = len(files[path])
            info.mtime = EPOCH
            info.mode = mode
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(files[path]))
    return out.getvalue()


def tgz_bytes(files: dict[str, bytes], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    return gzip_bytes(tar_bytes(files, fmt=fmt))


def zip_bytes(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[path])
    return out.getvalue()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha1_hex(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def json_bytes(document: dict) -> bytes:
    """Indented, key-sorted JSON with a final newline: the same document always gives the same bytes."""
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()
