"""The embedded redis-server: it answers when started, ends what a killed run left, and says why it failed."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
import redis

from api.embedded_redis import start_embedded_redis
from warehouse.errors import Unavailable


def test_start_answers_and_stop_leaves_nothing_running(tmp_path: Path):
    server = start_embedded_redis(tmp_path / "redis")
    with redis.Redis(unix_socket_path=str(server.socket_file)) as client:
        assert client.ping()
        client.set("k", "v")
        assert client.get("k") == b"v"
        # a failed snapshot (a full disk) must not stop writes: Redis holds no truth here
        assert client.config_get("stop-writes-on-bgsave-error") == {"stop-writes-on-bgsave-error": "no"}
    assert (tmp_path / "redis" / "server.pid").read_text() == str(server.pid)

    server.stop()
    server.stop()

    assert not psutil.pid_exists(server.pid)
    assert not server.socket_file.parent.exists()
    assert not (tmp_path / "redis" / "server.pid").exists()


def test_a_server_left_by_a_killed_run_is_ended_before_a_new_one_starts(tmp_path: Path):
    left_behind = start_embedded_redis(tmp_path / "redis")  # its owner "dies" without stopping it
    try:
        server = start_embedded_redis(tmp_path / "redis")
        try:
            assert left_behind.process.wait(timeout=5) is not None
            with redis.Redis(unix_socket_path=str(server.socket_file)) as client:
                assert client.ping()
        finally:
            server.stop()
    finally:
        left_behind.stop()


def test_a_server_that_cannot_start_is_reported_with_its_log(tmp_path: Path):
    data_dir = tmp_path / "redis"
    data_dir.mkdir()
    (data_dir / "redis.db").write_bytes(b"REDIS")  # a truncated RDB file: redis-server refuses to load it

    with pytest.raises(Unavailable, match=r"redis-server exited with \d+: .*RDB"):
        start_embedded_redis(data_dir)

    assert not (data_dir / "server.pid").exists()
