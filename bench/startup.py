"""Time from ``k2q up`` to ready: cold (new data dir: initdb, migrations, demo data) and warm.

The baseline is starting the embedded stores alone (PostgreSQL, Redis, chDB) in a new directory.
"""

from __future__ import annotations

import signal
import tempfile
import time
from pathlib import Path
from typing import Any

from api.settings import Settings, StoreSettings
from api.stack import start_stack
from bench.common import report
from tests.process import start_up


async def main() -> None:
    started = time.perf_counter()
    stack = await start_stack(
        Settings(stores=StoreSettings(data_dir=Path(tempfile.mkdtemp(prefix="k2q-stores-"))))
    )
    stores_s = time.perf_counter() - started
    await stack.close()

    data_dir = Path(tempfile.mkdtemp(prefix="k2q-up-"))
    rows: list[dict[str, Any]] = []
    for label in ("cold (new data dir, demo data)", "warm (same data dir)"):
        server = start_up(data_dir)
        assert server.stop(signal.SIGTERM) == 0
        rows.append(
            {
                "start": label,
                "seconds to ready": server.startup_s,
                "ratio to stores alone": server.startup_s / stores_s,
            }
        )
    rows.append(
        {
            "start": "embedded stores alone (baseline)",
            "seconds to ready": stores_s,
            "ratio to stores alone": 1.0,
        }
    )
    report("startup", rows)
