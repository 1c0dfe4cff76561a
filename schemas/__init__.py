"""Data contracts of K2 Quant: msgspec Structs, Arrow schemas and validated value types."""

from schemas.bars import (
    ARROW_STREAM_MEDIA_TYPE,
    BAR_ARROW_SCHEMA,
    CHART_SLICE_ARROW_SCHEMA,
    BarPage,
    BarRow,
    ChartDataRequest,
    ChartSliceMeta,
    SeriesKey,
    SeriesRequest,
)
from schemas.datasets import Dataset, DateRange, DeletedDataset, FetchRequest
from schemas.events import EVENTS_CHANNEL, Event, FetchProgress
from schemas.health import Liveness, Readiness, StoreHealth
from schemas.jobs import JobAccepted, JobStatus, SymbolProgress
from schemas.values import (
    TIMEFRAMES,
    TIMESPANS,
    BarWidth,
    JobState,
    SourceName,
    Symbol,
    Timeframe,
    Timespan,
    normalize_symbol,
    parse_time_point,
    series_code,
)

__all__ = [
    "ARROW_STREAM_MEDIA_TYPE",
    "BAR_ARROW_SCHEMA",
    "CHART_SLICE_ARROW_SCHEMA",
    "EVENTS_CHANNEL",
    "TIMEFRAMES",
    "TIMESPANS",
    "BarPage",
    "BarRow",
    "BarWidth",
    "ChartDataRequest",
    "ChartSliceMeta",
    "Dataset",
    "DateRange",
    "DeletedDataset",
    "Event",
    "FetchProgress",
    "FetchRequest",
    "JobAccepted",
    "JobState",
    "JobStatus",
    "Liveness",
    "Readiness",
    "SeriesKey",
    "SeriesRequest",
    "SourceName",
    "StoreHealth",
    "Symbol",
    "SymbolProgress",
    "Timeframe",
    "Timespan",
    "normalize_symbol",
    "parse_time_point",
    "series_code",
]
