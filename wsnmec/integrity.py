"""Checksums of stored files: what was written is what is read back, whatever the file's size or
modification time say.

A file's checksum is the SHA-256 (hex) of its bytes, recorded when the file is written (in a manifest beside
it, or in the cache's metadata) and compared when it is read. A reader that verifies reads the bytes once,
hashes them and parses that same buffer (:func:`read_verified`, :func:`read_parquet_verified`), so no
change between the check and the parse can slip through.

A JSON record that carries its own checksum (a manifest, a partition cache entry) is *sealed*
(:func:`seal`): the key ``sha256`` holds the SHA-256 of the canonical JSON of every other key;
:func:`unseal` refuses a record whose checksum is missing or differs.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

#: Key of a sealed record's own checksum.
SEAL_KEY = "sha256"


class ChecksumMismatch(OSError):
    """A stored file whose bytes differ from the checksum recorded for them (bit rot, an edit, a partial
    copy). An :class:`OSError` (an I/O integrity failure): the command line reports it in one line."""

    def __init__(self, path, detail: str = "its content does not match its recorded checksum"):
        super().__init__(None, detail, os.fspath(path))
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.filename}: {self.detail}"


def sha256_bytes(data: bytes) -> str:
    """SHA-256 (hex) of ``data``."""
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_verified(path: str | os.PathLike, expected: str | None) -> bytes:
    """The bytes of ``path`` when their SHA-256 is ``expected``.

    Raises
    ------
    ChecksumMismatch
        No checksum was recorded (``expected`` is None or not a string), or the bytes differ from it.
    OSError
        The file cannot be read.
    """
    if not isinstance(expected, str):
        raise ChecksumMismatch(path, "no checksum recorded for it")
    data = Path(path).read_bytes()
    if sha256_bytes(data) != expected:
        raise ChecksumMismatch(path)
    return data


def read_parquet_verified(path: str | os.PathLike, expected: str | None, columns=None):
    """:func:`pandas.read_parquet` of ``path`` (only ``columns`` when given), after :func:`read_verified`."""
    import pandas as pd

    return pd.read_parquet(io.BytesIO(read_verified(path, expected)), columns=columns)


def write_parquet_checked(path: str | os.PathLike, frame) -> str:
    """Write a pandas DataFrame to Parquet at ``path`` atomically (:func:`wsnmec.io.atomic_path`, no
    index); returns the SHA-256 of the bytes written."""
    from .io import atomic_path

    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, engine="pyarrow", index=False)
        checksum = file_sha256(tmp)
    return checksum


def _canonical(record: dict) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode("utf-8")


def seal(record: dict) -> dict:
    """``record`` with :data:`SEAL_KEY` set to the SHA-256 of the canonical JSON of its other keys."""
    body = {k: v for k, v in record.items() if k != SEAL_KEY}
    return {**body, SEAL_KEY: sha256_bytes(_canonical(body))}


def unseal(record) -> dict:
    """``record`` without its seal, when the seal matches; raises :class:`ValueError` (one line) when
    ``record`` is not a dict, has no seal or its seal differs."""
    if not isinstance(record, dict):
        raise ValueError(f"not a JSON object (a {type(record).__name__})")
    if not isinstance(record.get(SEAL_KEY), str):
        raise ValueError("no checksum")
    body = {k: v for k, v in record.items() if k != SEAL_KEY}
    try:
        actual = sha256_bytes(_canonical(body))
    except (TypeError, ValueError) as exc:  # NaN, unserialisable: cannot be a sealed record
        raise ValueError(f"not canonical JSON ({type(exc).__name__})") from None
    if actual != record[SEAL_KEY]:
        raise ValueError("checksum mismatch: its content was damaged or edited")
    return body


def sealed_bytes(record: dict) -> bytes:
    """The bytes of a sealed file holding ``record``: the canonical JSON (sorted keys, no whitespace, no NaN)
    of :func:`seal` of it. :func:`load_sealed_bytes` accepts exactly these bytes back."""
    sealed = seal(record)
    return json.dumps(sealed, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8")


def load_sealed_bytes(path: str | os.PathLike) -> dict:
    """The record of a file written as :func:`sealed_bytes`, every byte verified: the seal must match the
    content and the file must be exactly the canonical bytes of the sealed record (so even a flipped bit
    that leaves the JSON equivalent, e.g. in a separator, is refused). Raises :class:`ValueError` (one line)
    otherwise, FileNotFoundError for a missing file."""
    try:
        data = Path(path).read_bytes()
        record = json.loads(data.decode("utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError(f"unreadable or truncated ({type(exc).__name__})") from None
    body = unseal(record)
    try:
        exact = sealed_bytes(body) == data
    except (TypeError, ValueError):
        exact = False
    if not exact:
        raise ValueError("checksum mismatch: its bytes were damaged or edited")
    return body


def load_sealed_json(path: str | os.PathLike) -> dict:
    """The sealed JSON record in ``path``, unsealed; raises :class:`ValueError` (one line) for a file that
    is unreadable, truncated, not JSON or whose seal differs (a missing file raises FileNotFoundError)."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
        record = json.loads(text)
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError(f"unreadable ({type(exc).__name__})") from None
    return unseal(record)
