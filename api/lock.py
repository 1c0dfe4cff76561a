"""One ``k2q up`` per data directory: a lock file, and where the running server can be reached."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import IO

import msgspec

LOCK_FILE = "k2q.lock"
SERVER_FILE = "server.json"
CLI_KEY_FILE = "cli.key"
"""An admin API key for ``k2q`` commands on this machine; readable by the data dir's owner only."""


class DataDirBusy(Exception):
    """Another process holds the data directory."""


class RunningServer(msgspec.Struct, frozen=True):
    """The server that holds a data directory."""

    pid: int
    url: str


class DataDirLock:
    """An exclusive ``flock`` on ``<data dir>/k2q.lock``, released when the process ends, however it ends."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock.

        Raises:
            DataDirBusy: another process holds it; the message names that process.
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        handle = (self.data_dir / LOCK_FILE).open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            running = running_server(self.data_dir)
            where = f" (pid {running.pid}, {running.url})" if running else ""
            raise DataDirBusy(f"data dir {self.data_dir} is held by another k2q process{where}") from None
        self._handle = handle

    @property
    def held(self) -> bool:
        """Whether this process holds the lock."""
        return self._handle is not None

    def write_secret(self, name: str, value: str) -> None:
        """Write ``value`` to ``<data dir>/name``, readable by the owner only."""
        path = self.data_dir / name
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(value)

    def advertise(self, url: str) -> None:
        """Tell other ``k2q`` commands that the server holding this data dir answers at ``url``."""
        path = self.data_dir / SERVER_FILE
        path.write_bytes(msgspec.json.encode(RunningServer(pid=os.getpid(), url=url)))

    def release(self) -> None:
        """Withdraw the advertisement and release the lock."""
        if self._handle is None:
            return
        (self.data_dir / SERVER_FILE).unlink(missing_ok=True)
        (self.data_dir / CLI_KEY_FILE).unlink(missing_ok=True)
        fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()
        self._handle = None


def running_server(data_dir: Path) -> RunningServer | None:
    """The server holding ``data_dir``, if one holds it and has advertised its URL."""
    lock_path = data_dir / LOCK_FILE
    if not lock_path.exists():
        return None
    with lock_path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            pass
        else:
            fcntl.flock(handle, fcntl.LOCK_UN)
            return None
    try:
        return msgspec.json.decode((data_dir / SERVER_FILE).read_bytes(), type=RunningServer)
    except (OSError, msgspec.DecodeError, json.JSONDecodeError):
        return None


def local_cli_key(data_dir: Path) -> str | None:
    """The key the running server left for ``k2q`` commands on this machine, if any."""
    try:
        return (data_dir / CLI_KEY_FILE).read_text().strip() or None
    except OSError:
        return None
