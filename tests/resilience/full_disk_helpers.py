"""A data directory on a small filesystem of its own, and a file that fills it up."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

FILL_CHUNK = 1 << 20


@contextlib.contextmanager
def small_filesystem(path: Path, size_mb: int) -> Iterator[Path]:
    """A ``size_mb`` MiB tmpfs mounted on ``path`` for as long as the context lasts.

    Mounting needs root (or CAP_SYS_ADMIN); where it is refused the test is skipped, saying why.
    """
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0777", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here ({mounted.stderr.strip()}); run as root")
    try:
        yield path
    finally:
        subprocess.run(["umount", "--lazy", str(path)], capture_output=True, check=False)


def fill(directory: Path, leave_bytes: int) -> Path:
    """Fill the filesystem of ``directory`` with one file, then give back ``leave_bytes``; return the file."""
    filler = directory / "filler"
    chunk = b"\0" * FILL_CHUNK
    with filler.open("wb", buffering=0) as handle:
        try:
            while handle.write(chunk):
                pass
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    os.truncate(filler, max(0, filler.stat().st_size - leave_bytes))
    return filler


def free_bytes(directory: Path) -> int:
    stats = os.statvfs(directory)
    return stats.f_bavail * stats.f_frsize


def leftovers(directory: Path, prefixes: tuple[str, ...]) -> list[Path]:
    """Files and directories under ``directory`` whose names start with one of ``prefixes``."""
    return sorted(path for path in directory.rglob("*") if path.name.startswith(prefixes))
