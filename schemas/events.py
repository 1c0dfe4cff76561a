"""Events published on Redis and relayed to WebSocket clients."""

from __future__ import annotations

from typing import Annotated

import msgspec

from schemas.agents import AgentStatus
from schemas.chat import ChatResponse
from schemas.indicators import IndicatorCalculated
from schemas.jobs import SymbolProgress
from schemas.strategies import StrategyApplied
from schemas.values import JobState, SourceName, Symbol

EVENTS_CHANNEL = "k2q:events"
"""The Redis pub/sub channel every event goes out on."""


class FetchProgress(msgspec.Struct, tag="fetch_progress", tag_field="type", kw_only=True):
    """Progress of a fetch job: per symbol windows done / total, bars stored, errors."""

    job_id: str
    owner: str
    """Relayed only to this user and to admins."""
    state: JobState
    symbols: list[SymbolProgress]


class StockUpdate(msgspec.Struct, tag="stock_update", tag_field="type", kw_only=True):
    """A live minute bar of one symbol, relayed to every socket subscribed to that symbol.

    ``closed`` bars are stored (and their series' versions bumped) before the event goes out;
    an open bar is the minute in progress, sent again as it changes and stored once it closes.
    """

    symbol: str
    adjusted: bool
    """Which series of the symbol the bar belongs to (split-adjusted or raw)."""
    ts: int
    """Start of the minute, epoch milliseconds UTC."""
    open: float
    high: float
    low: float
    close: float
    volume: float
    vwap: float | None = None
    transactions: int | None = None
    closed: bool = True
    """The minute is over and the bar is stored; ``False`` while the minute is still running."""
    series: list[str] = msgspec.field(default_factory=lambda: ["1m"])
    """Stored series the bar is (or, once closed, will be) part of, e.g. ``["1m", "1d"]``."""
    source: SourceName
    """``polygon`` (market data) or ``synthetic`` (the demo feed: never market data)."""


Event = FetchProgress | StockUpdate | IndicatorCalculated | StrategyApplied | ChatResponse | AgentStatus
"""Every event published on :data:`EVENTS_CHANNEL` (a union tagged by ``type``)."""

LiveSymbols = Annotated[list[Symbol], msgspec.Meta(min_length=1, max_length=100)]


class Subscribe(
    msgspec.Struct, tag="subscribe", tag_field="action", forbid_unknown_fields=True, kw_only=True
):
    """A socket asks for the live bars of ``symbols`` (``{"action": "subscribe", "symbols": [...]}``).

    With ``stream``, an analyst also asks the server to stream those symbols from Polygon for as
    long as the socket stays open (what ``k2q stream`` does when a server holds the data).
    """

    symbols: LiveSymbols
    stream: bool = False

    def __post_init__(self) -> None:
        """Upper-case and deduplicate the symbols."""
        self.symbols = sorted({symbol.upper() for symbol in self.symbols})


class Unsubscribe(
    msgspec.Struct, tag="unsubscribe", tag_field="action", forbid_unknown_fields=True, kw_only=True
):
    """A socket stops receiving the live bars of ``symbols``."""

    symbols: LiveSymbols

    def __post_init__(self) -> None:
        """Upper-case and deduplicate the symbols."""
        self.symbols = sorted({symbol.upper() for symbol in self.symbols})


ClientMessage = Subscribe | Unsubscribe
"""What a WebSocket client may send (a union tagged by ``action``)."""


class Subscribed(msgspec.Struct, tag="subscribed", tag_field="type", kw_only=True):
    """The answer to every client message: the symbols this socket now receives live bars of."""

    symbols: list[str]
    streaming: list[str] = msgspec.field(default_factory=list)
    """Symbols the server streams from Polygon on this socket's behalf."""


class SocketError(msgspec.Struct, tag="error", tag_field="type", kw_only=True):
    """A client message the server could not act on; the socket stays open."""

    detail: str
