"""Bar inserts that outlast ClickHouse's passing refusals: retried with backoff, each block stored once.

An insert of bars is several blocks (one per partition chunk, see ``BarStore.insert``), each its own
INSERT. When one is refused part-way (``TOO_MANY_PARTS`` while merges lag behind, a memory limit,
a dropped connection to a server), the blocks before it are already stored. The whole insert is
sent again after a pause; every block carries a deduplication token made of the insert's id and
the block's place in it, and the bar table keeps the tokens of its latest blocks
(``non_replicated_deduplication_window``; replicated tables keep them anyway), so the blocks that
were stored are dropped by ClickHouse instead of stored twice. ``ReplacingMergeTree`` would fold
such copies at merge time too; the tokens keep them from ever being counted.

Errors that another try cannot mend (a bad value, a full disk) are raised at once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Final

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import Error as DriverError
from clickhouse_connect.driver.exceptions import OperationalError

from warehouse.clickhouse.client import ClickHouse, error_code
from warehouse.errors import Unavailable

RETRYABLE_CODES: Final = frozenset(
    {
        202,  # TOO_MANY_SIMULTANEOUS_QUERIES
        209,  # SOCKET_TIMEOUT
        210,  # NETWORK_ERROR
        241,  # MEMORY_LIMIT_EXCEEDED
        252,  # TOO_MANY_PARTS: merges lag behind inserts; they catch up within seconds
    }
)
RETRY_DELAYS_S: Final = (0.5, 1.0, 2.0, 4.0)
"""Pauses before the second, third … try; after the last, the insert fails (HTTP 503)."""
DEDUPLICATION_WINDOW: Final = 1000
"""Blocks whose tokens the bar table remembers: far more than one insert's blocks."""

_log = logging.getLogger(__name__)


def retryable(exc: DriverError) -> bool:
    """Whether another try of the insert that raised ``exc`` may succeed."""
    return isinstance(exc, OperationalError) or error_code(exc) in RETRYABLE_CODES


def block_settings(token: str, index: int) -> dict[str, str]:
    """The settings of block ``index`` of the insert ``token``: a token that is the same on every try."""
    return {"insert_deduplication_token": f"{token}:{index}"}


async def insert_retrying(
    clickhouse: ClickHouse,
    write: Callable[[Client, str], None],
    what: str,
    delays: Sequence[float] = RETRY_DELAYS_S,
) -> None:
    """Run ``write(client, token)`` until it succeeds, pausing ``delays`` between tries of a passing refusal.

    ``write`` inserts its blocks with :func:`block_settings` of ``token`` (the same on every try).

    Raises:
        Unavailable: ClickHouse refused every try.
        DriverError: a refusal another try cannot mend.
    """
    token = uuid.uuid4().hex
    for attempt, delay in enumerate((*delays, None), start=1):
        try:
            await clickhouse.run(lambda client: write(client, token), "insert")
            return
        except DriverError as exc:
            if not retryable(exc):
                raise
            if delay is None:
                raise Unavailable(
                    f"the bar store refused {what} {attempt} times ({_first_line(exc)}); try again later"
                ) from exc
            _log.warning("inserting %s failed (try %d), retrying in %.1f s: %s", what, attempt, delay, exc)
            await asyncio.sleep(delay)


def _first_line(exc: DriverError) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
