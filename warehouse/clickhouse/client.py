"""Open the one ClickHouse client: embedded chDB by default, a server when a URL is given.

Every query runs through :meth:`ClickHouse.run`, which is also the one place ClickHouse's own
errors become warehouse errors: a query stopped by its time budget (``max_execution_time``)
raises :class:`~warehouse.errors.QueryBudgetExceeded`, which the API answers as a 504.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final, TypeVar

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import Error as DriverError

from warehouse.clickhouse.backup import staging_dir
from warehouse.errors import QueryBudgetExceeded, StorageFull, Unavailable
from warehouse.metrics import CLICKHOUSE_QUERY_SECONDS, timed
from warehouse.redact import redact_url

T = TypeVar("T")

OVER_BUDGET_CODES: Final = frozenset({159, 160})
"""ClickHouse's ``TIMEOUT_EXCEEDED`` (the query ran past ``max_execution_time``) and ``TOO_SLOW``
(its estimated time would)."""

SESSION_SETTINGS: Final = {"enable_extended_results_for_datetime_functions": 1}
"""Settings of every query. Date functions (``toMonday``, ``toStartOfMonth`` …) answer ``Date32`` and
``DateTime64`` instead of ``Date`` and ``DateTime``, so a bucket before 1970 (the New York day of a
bar at 00:00 UTC on 1970-01-01) or after 2106 is exact instead of clamped."""

NO_SPACE_CODE: Final = 243
"""ClickHouse's ``NOT_ENOUGH_SPACE``: it could not reserve room on disk for the part it was to write."""
_NO_SPACE_WORDS: Final = "No space left on device"
"""``ENOSPC`` in a ClickHouse message (a write that ran out of room after its reservation)."""

_CODE: Final = re.compile(r"\bCode:\s*(\d+)")


class ClickHouse:
    """A clickhouse-connect client plus the executor its blocking calls run on.

    chDB runs queries one at a time inside this process, so embedded mode uses one worker
    thread; a server gets a small pool so slices for several users overlap.
    """

    def __init__(self, client: Client, *, embedded: bool) -> None:
        self.client = client
        self.embedded = embedded
        self._executor = ThreadPoolExecutor(max_workers=1 if embedded else 8, thread_name_prefix="clickhouse")

    async def run(self, fn: Callable[[Client], T], kind: str = "other") -> T:
        """Run ``fn(client)`` off the event loop, timed as a query of ``kind`` (``slice``, ``insert`` ...).

        Raises:
            QueryBudgetExceeded: a query of ``fn`` ran past its time budget.
            StorageFull: the disk under the store has no room for what ``fn`` writes.
        """
        loop = asyncio.get_running_loop()
        try:
            with timed(CLICKHOUSE_QUERY_SECONDS, kind):
                return await loop.run_in_executor(self._executor, fn, self.client)
        except DriverError as exc:
            if error_code(exc) in OVER_BUDGET_CODES:
                raise QueryBudgetExceeded(
                    "the query ran past its time budget; ask for a shorter window or try again"
                ) from exc
            if error_code(exc) == NO_SPACE_CODE or _NO_SPACE_WORDS in str(exc):
                raise StorageFull(
                    "the bar store's disk is full, so the write was stopped; free space in the data"
                    " directory (or give it a larger disk) and try again"
                ) from exc
            raise

    def close(self) -> None:
        """Close the client and stop the executor."""
        self._executor.shutdown(wait=True)
        self.client.close()


def error_code(exc: DriverError) -> int | None:
    """The ClickHouse error code of a driver error (chDB and the HTTP client set it; else its message).

    >>> error_code(DriverError("Code: 159. DB::Exception: Timeout exceeded (TIMEOUT_EXCEEDED)"))
    159
    """
    if exc.code is not None:
        return exc.code
    match = _CODE.search(str(exc))
    return int(match.group(1)) if match else None


def connect_clickhouse(url: str | None, data_dir: Path) -> ClickHouse:
    """Connect to ClickHouse at ``url``, or open chDB under ``data_dir/clickhouse``.

    Raises:
        Unavailable: the server cannot be reached or the data directory cannot be opened.
    """
    try:
        if url:
            return ClickHouse(
                clickhouse_connect.get_client(dsn=url, settings=SESSION_SETTINGS), embedded=False
            )
        path = (data_dir / "clickhouse").resolve()
        path.mkdir(parents=True, exist_ok=True)
        # The engine's config is fixed when it opens: BACKUP/RESTORE to File(...) only in the staging dir.
        backups = {"backups.allowed_path": str(staging_dir(data_dir))}
        client = clickhouse_connect.get_client(
            dsn=f"chdb://{path}", settings=SESSION_SETTINGS, chdb_options=backups
        )
        return ClickHouse(client, embedded=True)
    except Exception as exc:
        where = redact_url(url) if url else str(data_dir / "clickhouse")
        raise Unavailable(f"cannot open ClickHouse at {where}: {exc}") from exc
