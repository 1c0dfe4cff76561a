"""Claims: which source a series is being written from, so two sources never write one series.

A series (symbol, bar width, adjustment) is bound to a source when that source has a dataset of
it, or when a writer of that source holds a fresh claim on it (the bars are being stored, the
dataset comes at the end). A writer claims its series before it writes; the claim of a series
bound to another source is refused. Each writer run is a *holder*: its rows are refreshed while it
runs and dropped when it ends, so claims of one source by two runs never undo each other.

Symbol :data:`MARKET` is a lease on the whole market of one bar width (a flat-file load or a
whole-market fetch, whose symbols are not known in advance): while another source holds one, a
symbol not already bound to the claiming source is refused; the leaseholder leaves out the
symbols :meth:`ClaimRepository.others` names.

Claims of one bar width and adjustment are serialized by a transaction-level advisory lock, so
checking and claiming are one step: of two writers of different sources, the second sees the
first's claim.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

import msgspec
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

MARKET: Final = "*"
"""The symbol of a whole-market lease."""
CLAIM_TTL: Final = dt.timedelta(minutes=10)
"""How long a claim binds its series after it was last made or refreshed, without a dataset.

A writer refreshes its claims well within this (see ``pipelines.series.writes``); a claim older
than this belongs to a writer that died, and the series goes to the next writer that claims it.
"""
CLAIM_REFRESH: Final = CLAIM_TTL / 5
"""How often a running writer refreshes its claims. Claiming a series again within this of its
last refresh checks it but writes nothing (a batch of thousands of symbols stays cheap)."""


def _series(alias: str) -> str:
    """The condition that row ``alias`` is of the series code in the parameters."""
    return (
        f"{alias}.multiplier = %(multiplier)s AND {alias}.timespan = %(timespan)s"
        f" AND {alias}.adjusted = %(adjusted)s"
    )


_LOCK: Final = "SELECT pg_advisory_xact_lock(hashtext('series_claims'), hashtext(%(lock)s))"

_DROP_STALE: Final = f"DELETE FROM series_claims c WHERE {_series('c')} AND c.claimed_at < now() - %(ttl)s"

# Run after _LOCK and _DROP_STALE in the same transaction (a new snapshot: every claim committed
# before the lock was taken is seen). A wanted symbol is refused when another source has a dataset
# of it or a claim on it, or holds the market lease and the symbol is not already bound to the
# claiming source; the rest are claimed (or refreshed, unless refreshed just now) for the holder.
_CLAIM: Final = f"""
    WITH wanted AS (
        SELECT DISTINCT symbol FROM unnest(%(symbols)s::text[]) AS symbol
    ), found AS (
        SELECT w.symbol, d.source, d.table_name AS dataset, false AS market
        FROM wanted w JOIN datasets d ON d.symbol = w.symbol
        WHERE w.symbol <> '{MARKET}' AND {_series("d")}
          AND d.source <> %(source)s
        UNION ALL
        SELECT w.symbol, c.source, NULL, false
        FROM wanted w JOIN series_claims c ON c.symbol = w.symbol
        WHERE w.symbol <> '{MARKET}' AND {_series("c")}
          AND c.source <> %(source)s AND c.claimed_at >= now() - %(ttl)s
        UNION ALL
        SELECT w.symbol, c.source, NULL, true
        FROM wanted w JOIN series_claims c ON c.symbol = '{MARKET}'
        WHERE {_series("c")} AND c.source <> %(source)s
          AND c.claimed_at >= now() - %(ttl)s
          AND (w.symbol = '{MARKET}' OR NOT (
              EXISTS (SELECT 1 FROM datasets d WHERE d.symbol = w.symbol
                      AND {_series("d")} AND d.source = %(source)s)
              OR EXISTS (SELECT 1 FROM series_claims o WHERE o.symbol = w.symbol
                         AND {_series("o")} AND o.source = %(source)s
                         AND o.claimed_at >= now() - %(ttl)s)))
    ), claimed AS (
        INSERT INTO series_claims (multiplier, timespan, adjusted, symbol, holder, source)
        SELECT %(multiplier)s, %(timespan)s, %(adjusted)s, w.symbol, %(holder)s, %(source)s
        FROM wanted w
        WHERE NOT EXISTS (SELECT 1 FROM found f WHERE f.symbol = w.symbol)
          AND NOT EXISTS (SELECT 1 FROM series_claims o WHERE o.symbol = w.symbol AND {_series("o")}
                          AND o.holder = %(holder)s AND o.claimed_at >= now() - %(refresh)s)
        ON CONFLICT (multiplier, timespan, adjusted, symbol, holder) DO UPDATE SET claimed_at = now()
    )
    SELECT DISTINCT ON (symbol) symbol, source, dataset, market FROM found
    ORDER BY symbol, dataset NULLS LAST, market, source
"""

_OTHERS: Final = f"""
    SELECT d.symbol FROM datasets d WHERE {_series("d")} AND d.source <> %(source)s
    UNION
    SELECT c.symbol FROM series_claims c
    WHERE {_series("c")} AND c.source <> %(source)s AND c.symbol <> '{MARKET}'
      AND c.claimed_at >= now() - %(ttl)s
"""


class SeriesCode(msgspec.Struct, frozen=True, kw_only=True):
    """A bar width and adjustment: what claims are made on, per symbol."""

    multiplier: int
    timespan: str
    adjusted: bool


class ClaimConflict(msgspec.Struct, frozen=True, kw_only=True):
    """Why a symbol was refused: the source it is bound to, and how."""

    symbol: str
    source: str
    dataset: str | None
    """A dataset of that source (the series is stored from it); ``None``: a claim (being stored)."""
    market: bool
    """Whether the claim is that source's whole-market lease."""


class ClaimRepository:
    """Rows of the ``series_claims`` table."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def claim(
        self, code: SeriesCode, symbols: Sequence[str], *, source: str, holder: str
    ) -> dict[str, ClaimConflict]:
        """Claim ``symbols`` of ``code`` for ``holder`` (writing from ``source``); return those refused.

        In one transaction under the lock of ``code``: stale claims of ``code`` are dropped, the
        symbols bound to another source are found, and the others are claimed (or the holder's
        claims refreshed). Symbol :data:`MARKET` takes the market lease, refused only while
        another source holds it.
        """
        if not symbols:
            return {}
        params = _params(code) | {"symbols": list(symbols), "source": source, "holder": holder}
        async with self.pool.connection() as conn:
            async with conn.transaction():
                await conn.execute(_LOCK, params)
                await conn.execute(_DROP_STALE, params)
                async with conn.cursor(row_factory=dict_row) as cur:
                    # Never prepared: a generic plan of it joins a batch of thousands of symbols by
                    # nested loops (seconds); planned for each batch it takes milliseconds.
                    await cur.execute(_CLAIM, params, prepare=False)
                    rows = await cur.fetchall()
        return {row["symbol"]: ClaimConflict(**row) for row in rows}

    async def others(self, code: SeriesCode, source: str) -> set[str]:
        """Symbols of ``code`` bound to a source other than ``source`` (by a dataset or a fresh claim).

        While ``source`` holds the market lease of ``code`` no symbol joins them, so a leaseholder
        may compute them once per file it loads.
        """
        params = _params(code) | {"source": source}
        async with self.pool.connection() as conn:
            cur = await conn.execute(_OTHERS, params)
            return {row[0] for row in await cur.fetchall()}

    async def refresh(self, holder: str) -> int:
        """Mark every claim of ``holder`` as made now; return how many it holds."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE series_claims SET claimed_at = now() WHERE holder = %s", (holder,)
            )
            return cur.rowcount

    async def release(self, holder: str) -> int:
        """Drop every claim of ``holder`` (its series are then bound by their datasets alone)."""
        async with self.pool.connection() as conn:
            cur = await conn.execute("DELETE FROM series_claims WHERE holder = %s", (holder,))
            return cur.rowcount

    async def held(self, holder: str) -> list[tuple[SeriesCode, str]]:
        """The series ``holder`` claims, by bar width then symbol."""
        sql = """SELECT multiplier, timespan, adjusted, symbol FROM series_claims WHERE holder = %s
                 ORDER BY multiplier, timespan, adjusted, symbol"""
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, (holder,))
            rows = await cur.fetchall()
        return [
            (
                SeriesCode(multiplier=r["multiplier"], timespan=r["timespan"], adjusted=r["adjusted"]),
                r["symbol"],
            )
            for r in rows
        ]


def _params(code: SeriesCode) -> dict[str, Any]:
    return {
        "multiplier": code.multiplier,
        "timespan": code.timespan,
        "adjusted": code.adjusted,
        "lock": f"{code.multiplier} {code.timespan} {code.adjusted}",
        "ttl": CLAIM_TTL,
        "refresh": CLAIM_REFRESH,
    }
