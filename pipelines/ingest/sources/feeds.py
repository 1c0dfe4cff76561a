"""What every live feed offers: minute bars of several symbols as they happen, in Arrow batches."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import pyarrow as pa

from schemas.bars import BAR_ARROW_SCHEMA, TS_TYPE
from schemas.values import SourceName

MINUTE_MS: Final = 60_000


@dataclass(frozen=True, slots=True)
class LiveBars:
    """Minute bars of one symbol that a feed delivered together.

    ``bars`` is a batch of :data:`schemas.bars.BAR_ARROW_SCHEMA`, ``ts`` ascending. A ``closed``
    bar is final; an open one (always a single bar) is the minute in progress, which the feed
    sends again as it changes. ``backfill`` marks bars fetched to fill a gap (after a reconnect,
    or since the last stored bar) rather than streamed as they closed.
    """

    symbol: str
    bars: pa.RecordBatch
    closed: bool = True
    backfill: bool = False


class LiveFeed(Protocol):
    """A source of live minute bars for a fixed set of symbols."""

    source: SourceName

    @property
    def symbols(self) -> Sequence[str]:
        """The tickers the feed delivers."""
        ...

    def updates(self, since: Mapping[str, int | None]) -> AsyncIterator[list[LiveBars]]:
        """Yield batches of bars until cancelled.

        Args:
            since: Per symbol, the start (epoch ms) of the last bar already stored, or ``None``.
                The feed first delivers the closed minutes after it that it can still get (within
                its own limit), so a restart leaves no hole.
        """
        ...


def minute_floor(moment: dt.datetime) -> int:
    """Start (epoch ms) of the minute holding ``moment``."""
    ms = int(moment.timestamp() * 1000)
    return ms - ms % MINUTE_MS


def bars_batch(
    ts: Sequence[int],
    open_: Sequence[float],
    high: Sequence[float],
    low: Sequence[float],
    close: Sequence[float],
    volume: Sequence[float],
    vwap: Sequence[float | None],
    transactions: Sequence[int | None],
) -> pa.RecordBatch:
    """One :data:`BAR_ARROW_SCHEMA` batch from columns."""
    return pa.RecordBatch.from_arrays(
        [
            pa.array(ts, TS_TYPE),
            pa.array(open_, pa.float64()),
            pa.array(high, pa.float64()),
            pa.array(low, pa.float64()),
            pa.array(close, pa.float64()),
            pa.array(volume, pa.float64()),
            pa.array(vwap, pa.float64()),
            pa.array(transactions, pa.uint32()),
        ],
        schema=BAR_ARROW_SCHEMA,
    )
