"""Atomic file writes: write to a temporary name in the target directory, fsync, then rename.

A rename within one filesystem is atomic, so readers see the old file or the whole new
one, never a partial one (DESIGN.md §5.4).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["write_bytes", "write_table"]


def _replace_from_temp(path: Path, write):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes(path, data: bytes):
    def write(tmp):
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    _replace_from_temp(Path(path), write)


def write_table(path, table: pa.Table):
    _replace_from_temp(Path(path), lambda tmp: pq.write_table(table, tmp))
