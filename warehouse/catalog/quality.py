"""Stored data quality: one row per dataset, its summary and every gap (``dataset_quality``)."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from psycopg_pool import AsyncConnectionPool

from schemas.quality import DataQuality
from warehouse.errors import NotFound


class StoredGaps(msgspec.Struct, frozen=True, kw_only=True):
    """Every gap of a dataset, oldest first: start and end (exclusive) in UTC epoch ms, missing bars."""

    starts: list[int]
    ends: list[int]
    missing: list[int]


class StoredQuality(msgspec.Struct, frozen=True, kw_only=True):
    """A dataset's last assessment."""

    quality: DataQuality
    gaps: StoredGaps


class QualityRepository:
    """Rows of ``dataset_quality`` (deleted with their dataset)."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def save(
        self,
        table: str,
        quality: DataQuality,
        starts: Sequence[int],
        ends: Sequence[int],
        missing: Sequence[int],
    ) -> None:
        """Record ``quality`` and every gap of dataset ``table``, replacing the last assessment.

        Raises:
            NotFound: there is no dataset ``table`` (it was deleted meanwhile).
        """
        sql = """
            INSERT INTO dataset_quality (table_name, assessed_at, summary, gap_starts, gap_ends, gap_missing)
            SELECT table_name, %(at)s, %(summary)s::jsonb, %(starts)s, %(ends)s, %(missing)s
              FROM datasets WHERE table_name = %(table)s
            ON CONFLICT (table_name) DO UPDATE SET
                assessed_at = EXCLUDED.assessed_at, summary = EXCLUDED.summary,
                gap_starts = EXCLUDED.gap_starts, gap_ends = EXCLUDED.gap_ends,
                gap_missing = EXCLUDED.gap_missing
        """
        params = {
            "table": table,
            "at": quality.assessed_at,
            "summary": msgspec.json.encode(quality).decode(),
            "starts": list(starts),
            "ends": list(ends),
            "missing": list(missing),
        }
        async with self.pool.connection() as conn:
            cur = await conn.execute(sql, params)
            if cur.rowcount == 0:
                raise NotFound(f"no dataset named {table!r}")

    async def summary(self, table: str) -> DataQuality | None:
        """The last assessment of dataset ``table`` without its gaps; ``None`` when never assessed."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT summary::text FROM dataset_quality WHERE table_name = %s", (table,)
            )
            row = await cur.fetchone()
        return None if row is None else decode_summary(row[0])

    async def get(self, table: str) -> StoredQuality | None:
        """The last assessment of dataset ``table`` with every gap; ``None`` when never assessed."""
        sql = """SELECT summary::text, gap_starts, gap_ends, gap_missing
                   FROM dataset_quality WHERE table_name = %s"""
        async with self.pool.connection() as conn:
            cur = await conn.execute(sql, (table,))
            row = await cur.fetchone()
        if row is None:
            return None
        summary, starts, ends, missing = row
        return StoredQuality(
            quality=msgspec.json.decode(summary, type=DataQuality),
            gaps=StoredGaps(starts=starts, ends=ends, missing=missing),
        )


def decode_summary(summary: str | None) -> DataQuality | None:
    """A stored summary (``summary::text`` of a row, ``None`` when never assessed) as a struct."""
    return None if summary is None else msgspec.json.decode(summary, type=DataQuality)
