"""The on-disk cache: atomic writes, sidecars (the commit markers), reads and verification."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from ._config import _SIDECAR_FORMAT

# --------------------------------------------------------------------------- the cache


def _atomic_write(path: Path, data: bytes, *, sync_dir: bool = True) -> None:
    """Write ``data`` to ``path`` atomically: temp file in the same directory, fsync, os.replace.

    ``sync_dir`` also fsyncs the directory, making the rename itself durable before
    anything written later (the rows before their sidecar, even on power loss).
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if sync_dir:
        _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read_sidecar(path: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != _SIDECAR_FORMAT:
        return None
    if meta.get("status") not in ("ok", "failed"):
        return None
    if meta.get("key") != path.stem or not isinstance(meta.get("config"), dict):
        return None
    return meta


def _decode_rows(data: bytes, n_rows: int) -> pd.DataFrame:
    rows = pd.read_parquet(io.BytesIO(data))
    if rows.shape[1] == 0:  # Parquet keeps no row count without columns
        rows = pd.DataFrame(index=pd.RangeIndex(n_rows))
    return rows


def _read_rows(directory: Path, meta: dict[str, Any]) -> pd.DataFrame | None:
    """The committed rows of an ok trial, or None if the Parquet file is missing or does not match its sidecar."""
    try:
        data = (directory / f"{meta['key']}.parquet").read_bytes()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != meta.get("rows_sha256"):
        return None
    try:
        return _decode_rows(data, int(meta.get("n_rows", 0)))
    except Exception:
        return None


def _commit(directory: Path, key: str, sidecar: dict[str, Any], data: bytes | None) -> None:
    parquet = directory / f"{key}.parquet"
    if data is not None:
        _atomic_write(parquet, data)
    # The sidecar is the commit marker: if its rename is lost, the trial is merely recomputed.
    _atomic_write(directory / f"{key}.json", json.dumps(sidecar, indent=1, allow_nan=True).encode("utf-8"),
                  sync_dir=False)
    if data is None:
        parquet.unlink(missing_ok=True)  # stale rows of an earlier attempt


# --------------------------------------------------------------------------- claims


class _Claims:
    """Cross-process claims on the trials of one cache directory (``filelock``).

    A process computes a trial only while it holds the trial's lock file,
    ``.<key>.lock`` next to the entry, from before the computation until after the
    commit, so two processes running the same sweep into one cache never compute a
    trial twice and never interleave the two files of one entry.  The operating
    system releases the locks of a killed process.  Lock files stay in place after
    release (deleting a locked path lets a waiter lock a fresh inode while another
    process holds the old one); they are empty and hidden.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.held: dict[str, Any] = {}

    def claim(self, key: str, *, blocking: bool = False) -> bool:
        """Take the trial's lock (waiting for its holder when ``blocking``); False if another process holds it."""
        from filelock import FileLock, Timeout  # noqa: PLC0415

        lock = FileLock(str(self.directory / f".{key}.lock"), timeout=-1 if blocking else 0)
        try:
            lock.acquire()
        except Timeout:
            return False
        self.held[key] = lock
        return True

    def release(self, key: str) -> None:
        lock = self.held.pop(key, None)
        if lock is not None:
            lock.release()

    def release_all(self) -> None:
        for key in list(self.held):
            self.release(key)
