"""Polygon flat files (``us_stocks_sip`` day CSV.gz) parsed by ClickHouse itself into the bar store.

One file is one ``INSERT … SELECT … FROM file(…)`` (or ``s3(…)``): ClickHouse decompresses and
parses the CSV, keeps the wanted tickers and converts ``window_start`` from nanoseconds. The
file is squashed into a single insert block, so a file that fails to parse half-way (a corrupt
gzip stream, a malformed row) stores nothing: ClickHouse writes parts only when a block is
complete. The price is memory: one file's rows are held at once (a whole-market minute file is
a few million rows, a few hundred MB).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any, Final, Literal

import msgspec
from clickhouse_connect.driver.client import Client

from schemas.values import EXCHANGE_TZ, SYMBOL_PATTERN
from warehouse.clickhouse.client import ClickHouse
from warehouse.clickhouse.ddl import BARS_TABLE, ROLLUP_DIRTY_TABLE
from warehouse.clickhouse.rollups import rollup_widths
from warehouse.errors import InvalidQuery, WarehouseClientError

FLAT_FILE_HEADER: Final = ("ticker", "volume", "open", "close", "high", "low", "window_start", "transactions")
"""The columns of Polygon's stock aggregate flat files, in their order."""

STRUCTURE: Final = (
    "ticker String, volume Float64, open Float64, close Float64, high Float64, low Float64,"
    " window_start Int64, transactions String"
)
"""How ClickHouse reads a file. ``transactions`` is read as text so an empty field becomes NULL
while an empty price still fails (``input_format_csv_empty_as_default = 0``)."""

_INSERT_COLUMNS: Final = (
    "symbol, timespan, adjusted, ts, open, high, low, close, volume, vwap, transactions, source, ingested_at"
)

_WHOLE_FILE_BLOCK: Final = 1 << 40
"""Squash thresholds no file reaches: each file becomes one insert block, so one atomic write."""

READ_SETTINGS: Final[dict[str, Any]] = {
    "input_format_allow_errors_num": 0,
    "input_format_allow_errors_ratio": 0,
    "input_format_csv_empty_as_default": 0,
    "input_format_skip_unknown_fields": 0,
    "input_format_with_names_use_header": 1,
}
"""Parse strictly: any malformed row fails the whole file."""

INSERT_SETTINGS: Final[dict[str, Any]] = {
    **READ_SETTINGS,
    "min_insert_block_size_rows": _WHOLE_FILE_BLOCK,
    "min_insert_block_size_bytes": _WHOLE_FILE_BLOCK,
    # A day file has one row per (ticker, minute): nothing to fold inside the block, so skip the
    # ReplacingMergeTree pass over it at insert time (about a third of the insert's cost here).
    # Copies from earlier loads are folded by FINAL, and by ClickHouse's background merges.
    "optimize_on_insert": 0,
}

_BUCKET_RE: Final = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_PREFIX_RE: Final = re.compile(r"^[A-Za-z0-9._\-/]*$")
_DAY_FILE_RE: Final = re.compile(r"(\d{4})-(\d{2})-(\d{2})\.csv\.gz$")


class FlatFileError(WarehouseClientError):
    """A flat file cannot be read or is not in Polygon's format; nothing from it was stored."""


class S3Access(msgspec.Struct, frozen=True, kw_only=True):
    """Where S3 objects are read from and with which credentials (none: unsigned requests)."""

    endpoint: str
    """Base URL of the S3-compatible service; objects are addressed path-style ``endpoint/bucket/key``."""
    access_key_id: str | None = None
    secret_access_key: str | None = None

    def url(self, bucket: str, key: str) -> str:
        """The path-style URL of ``bucket``/``key``."""
        return f"{self.endpoint.rstrip('/')}/{bucket}/{key.lstrip('/')}"


class FlatFile(msgspec.Struct, frozen=True, kw_only=True):
    """One day file: a local absolute path or an S3 object."""

    day: dt.date
    kind: Literal["file", "s3"]
    path: str
    """Absolute local path, or the object's key inside ``bucket``."""
    bucket: str | None = None

    @property
    def display(self) -> str:
        """How messages name the file."""
        return f"s3://{self.bucket}/{self.path}" if self.kind == "s3" else self.path


class FileLoad(msgspec.Struct, frozen=True, kw_only=True):
    """What one file added to the bar store: bars per symbol."""

    bars: dict[str, int]

    @property
    def total(self) -> int:
        """Bars stored from the file."""
        return sum(self.bars.values())


def check_s3_location(bucket: str, prefix: str) -> None:
    """Refuse bucket names and prefixes that are not plain names (no globs, no escapes).

    Raises:
        InvalidQuery: either is not a plain name.
    """
    if not _BUCKET_RE.match(bucket):
        raise InvalidQuery(f"not an S3 bucket name: {bucket!r}")
    if not _PREFIX_RE.match(prefix) or "//" in prefix or ".." in prefix.split("/"):
        raise InvalidQuery(f"S3 prefixes may hold letters, digits, '.', '_', '-' and '/' only: {prefix!r}")


def day_of(name: str) -> dt.date | None:
    """The day a flat file's name stands for (``2024-01-02.csv.gz``), or None if it is not a day file."""
    match = _DAY_FILE_RE.search(name)
    if match is None:
        return None
    try:
        return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


class FlatFileStore:
    """Reads Polygon flat files into the ``bars`` table with ClickHouse's own parser."""

    def __init__(self, clickhouse: ClickHouse, s3: S3Access | None = None) -> None:
        self.clickhouse = clickhouse
        self.s3 = s3

    @property
    def reads_local_files(self) -> bool:
        """Whether ``file()`` reads this machine's files (embedded chDB), not a server's."""
        return self.clickhouse.embedded

    async def list_s3(self, bucket: str, prefix: str, years: Sequence[int] | None = None) -> list[FlatFile]:
        """Day files under ``bucket``/``prefix``/``YYYY``/``MM``/ (``years`` or all), listed by ClickHouse.

        Raises:
            FlatFileError: the bucket cannot be listed (missing, refused, unreachable).
        """
        check_s3_location(bucket, prefix)
        s3 = self._s3()
        year_glob = "*" if years is None else "{" + ",".join(str(year) for year in sorted(set(years))) + "}"
        pattern = s3.url(bucket, f"{prefix.strip('/')}/{year_glob}/*/*.csv.gz")
        sql = f"SELECT _path FROM s3({self._s3_args(s3)}, 'One')"
        params = {"url": pattern, **self._s3_params(s3)}
        try:
            result = await self.clickhouse.run(
                lambda client: client.query(sql, parameters=params), "flat_files"
            )
        except Exception as exc:
            raise FlatFileError(f"cannot list s3://{bucket}/{prefix}: {self._clean(exc)}") from exc
        files: list[FlatFile] = []
        for (path,) in result.result_rows:
            key = str(path).split("/", 1)[1] if "/" in str(path) else str(path)
            day = day_of(key)
            if day is not None and key.endswith(f"/{day:%Y}/{day:%m}/{day.isoformat()}.csv.gz"):
                files.append(FlatFile(day=day, kind="s3", path=key, bucket=bucket))
        return sorted(files, key=lambda item: item.day)

    async def now(self) -> dt.datetime:
        """The store's clock, to stamp a load's rows (``ingested_at`` orders replacements)."""
        result = await self.clickhouse.run(lambda client: client.query("SELECT now64(3, 'UTC')"), "ping")
        return _utc(result.result_rows[0][0])

    async def load(
        self,
        file: FlatFile,
        series: str,
        version: dt.datetime,
        *,
        symbols: Sequence[str] | None,
        exclude: Sequence[str] = (),
    ) -> FileLoad:
        """Store the bars of ``file`` as unadjusted Polygon bars of ``series``; nothing if it fails.

        Args:
            file: The day file.
            series: Series code of its bars (``1m`` or ``1d``).
            version: ``ingested_at`` of every row; unique per file, later than any earlier load.
            symbols: Tickers to keep (None: every ticker that is a valid symbol).
            exclude: Tickers to leave out.

        Raises:
            FlatFileError: the file is missing, not gzip, not Polygon's CSV, or has a malformed row
                or a ``window_start`` outside its day.
        """
        if file.kind == "file" and not self.reads_local_files:
            raise FlatFileError(
                "a ClickHouse server cannot read files on this machine: load flat files from S3"
                " (s3://bucket/prefix), or use the embedded store"
            )
        source, params = self._source(file)
        # Rows may start up to a day either side of the file's New York day (a window in UTC
        # covering every time zone convention); anything else is a unit or data error.
        lo = dt.datetime.combine(file.day - dt.timedelta(days=1), dt.time(), dt.UTC)
        hi = dt.datetime.combine(file.day + dt.timedelta(days=2), dt.time(), dt.UTC)
        ts = "fromUnixTimestamp64Milli(intDiv(window_start, 1000000), 'UTC')"
        wanted = (
            "ticker IN {symbols:Array(String)}" if symbols is not None else "match(ticker, {pattern:String})"
        )
        insert = (
            f"INSERT INTO {BARS_TABLE} ({_INSERT_COLUMNS})"
            f" SELECT ticker, {{series:String}}, false, {ts}, open, high, low, close, volume, NULL,"
            " CAST(nullIf(transactions, ''), 'Nullable(UInt32)'), 'polygon', {version:DateTime64(3, 'UTC')}"
            f" FROM {source}"
            f" WHERE throwIf({ts} < {{lo:DateTime64(3, 'UTC')}} OR {ts} >= {{hi:DateTime64(3, 'UTC')}},"
            " 'a window_start lies outside the file''s day (expected nanoseconds since the epoch)') = 0"
            f" AND {wanted} AND ticker NOT IN {{exclude:Array(String)}}"
        )
        params |= {
            "series": series,
            "version": version,
            "lo": lo,
            "hi": hi,
            "symbols": list(symbols or ()),
            "pattern": SYMBOL_PATTERN,
            "exclude": list(exclude),
        }
        stored = (
            f"SELECT symbol, toDate32(ts, '{EXCHANGE_TZ}') AS day, count() FROM {BARS_TABLE}"
            " WHERE timespan = {series:String} AND adjusted = false"
            " AND ts >= {lo:DateTime64(3, 'UTC')} AND ts < {hi:DateTime64(3, 'UTC')}"
            " AND ingested_at = {version:DateTime64(3, 'UTC')} GROUP BY symbol, day"
        )
        head_sql = f"SELECT line FROM {self._line_source(file)} LIMIT 1"
        mark_rollups = bool(rollup_widths(series))

        def run(client: Client) -> dict[str, int]:
            head = client.query(head_sql, parameters=params, settings=READ_SETTINGS).result_rows
            _check_header(head[0][0] if head else None)
            client.command(insert, parameters=params, settings=INSERT_SETTINGS)
            rows = client.query(stored, parameters=params).result_rows
            if mark_rollups and rows:  # the days whose rollups must be rebuilt, as BarStore.insert marks them
                client.insert(
                    ROLLUP_DIRTY_TABLE,
                    [[symbol, series, False, day, 0] for symbol, day, _ in rows],
                    column_names=["symbol", "timespan", "adjusted", "day", "removed"],
                )
            bars: dict[str, int] = {}
            for symbol, _, count in rows:
                bars[str(symbol)] = bars.get(str(symbol), 0) + int(count)
            return bars

        try:
            bars = await self.clickhouse.run(run, "flat_files")
        except FlatFileError as exc:
            raise FlatFileError(f"{file.display}: {exc}") from exc
        except Exception as exc:
            raise FlatFileError(f"{file.display}: {self._clean(exc)}") from exc
        return FileLoad(bars=bars)

    async def series_stats(
        self, series: str, symbols: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> dict[str, tuple[int, dt.datetime | None, dt.datetime | None]]:
        """Distinct unadjusted bars of ``series`` per symbol in ``[start, end]``: count, first, last."""
        sql = (
            f"SELECT symbol, count(), min(ts), max(ts) FROM {BARS_TABLE} FINAL"
            " WHERE symbol IN {symbols:Array(String)} AND timespan = {series:String} AND adjusted = false"
            " AND ts >= {start:DateTime64(3, 'UTC')} AND ts <= {end:DateTime64(3, 'UTC')} GROUP BY symbol"
        )
        params = {"symbols": list(symbols), "series": series, "start": start, "end": end}
        result = await self.clickhouse.run(lambda client: client.query(sql, parameters=params), "flat_files")
        return {
            str(symbol): (int(count), _utc(first), _utc(last))
            for symbol, count, first, last in result.result_rows
        }

    def _source(self, file: FlatFile) -> tuple[str, dict[str, Any]]:
        """The table function reading ``file`` as CSV, and its bound parameters."""
        if file.kind == "file":
            return "file({path:String}, 'CSVWithNames', {structure:String})", {
                "path": file.path,
                "structure": STRUCTURE,
            }
        s3 = self._s3()
        assert file.bucket is not None
        params = {"url": s3.url(file.bucket, file.path), "structure": STRUCTURE, **self._s3_params(s3)}
        return f"s3({self._s3_args(s3)}, 'CSVWithNames', {{structure:String}})", params

    def _line_source(self, file: FlatFile) -> str:
        if file.kind == "file":
            return "file({path:String}, 'LineAsString', 'line String')"
        return f"s3({self._s3_args(self._s3())}, 'LineAsString', 'line String')"

    def _s3(self) -> S3Access:
        if self.s3 is None:
            raise FlatFileError("S3 is not configured")
        return self.s3

    @staticmethod
    def _s3_args(s3: S3Access) -> str:
        if s3.access_key_id and s3.secret_access_key:
            return "{url:String}, {access_key_id:String}, {secret_access_key:String}"
        return "{url:String}, NOSIGN"

    @staticmethod
    def _s3_params(s3: S3Access) -> dict[str, str]:
        if s3.access_key_id and s3.secret_access_key:
            return {"access_key_id": s3.access_key_id, "secret_access_key": s3.secret_access_key}
        return {}

    def _clean(self, exc: Exception) -> str:
        """ClickHouse's message, first line only, with any secret masked."""
        message = str(exc).strip()
        match = re.search(r"DB::Exception: (.*)", message, re.DOTALL)
        if match:
            message = match.group(1)
        message = re.split(
            r":\s*(?:while executing|while reading|\(in file/uri)|\s\(version \d|\n",
            message,
            maxsplit=1,
            flags=re.I,
        )[0].strip()
        if "inflate failed" in message:
            message = f"corrupt or truncated gzip data ({message})"
        elif "(at row " in message:
            message = f"malformed CSV: {message}"
        if self.s3 is not None and self.s3.secret_access_key:
            message = message.replace(self.s3.secret_access_key, "***")
        return message.rstrip(":. ") or type(exc).__name__


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _check_header(line: str | None) -> None:
    """Require Polygon's header (any order: ClickHouse maps columns by name).

    Raises:
        FlatFileError: the file is empty or its header lacks or adds columns.
    """
    if line is None:
        raise FlatFileError("the file is empty (expected a CSV header)")
    names = [name.strip().strip('"') for name in line.lstrip("\ufeff").rstrip("\r").split(",")]
    if sorted(names) != sorted(FLAT_FILE_HEADER):
        raise FlatFileError(f"expected the header {','.join(FLAT_FILE_HEADER)}, found {line[:200]!r}")
