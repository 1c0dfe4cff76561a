"""The checks of a file of bars: cells parsed by vectorised Polars expressions, rows checked together.

Parsed values are named columns built in stages (cells, then what derives from them, then the
timestamp) and every check is a boolean column referring to them by name, so one streaming pass
computes everything and no expression is evaluated twice. Only when some row fails are the few
offending rows read again to word the problems. The form of a file's timestamps (epoch unit,
ISO-8601 layout) is told from its first rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import polars as pl
import pyarrow as pa

from schemas.bars import BAR_ARROW_SCHEMA, MAX_PRICE, MAX_VOLUME, PRICE_FIELDS
from schemas.imports import EPOCH_UNIT_BOUNDS, MAX_REPORTED_PROBLEMS, EpochUnit, ImportFormat, ImportOptions
from schemas.values import BARS_FROM, BARS_UNTIL, EXCHANGE_TZ, SUPPORTED_TIMES, BarWidth, series_code

ENGINE: Final = "streaming"
ROW: Final = "__row"
EXTRA: Final = "__extra"
TS: Final = "ts"

VALUE_FIELDS: Final = ("open", "high", "low", "close", "volume", "vwap", "transactions")
REQUIRED: Final = ("ts", "open", "high", "low", "close")

MIN_MS: Final = int(BARS_FROM.timestamp() * 1000)
MAX_MS: Final = int(BARS_UNTIL.timestamp() * 1000)
_MS_PER: Final[dict[EpochUnit, float]] = {"s": 1000.0, "ms": 1.0, "us": 1e-3, "ns": 1e-6}
_UNIT_WORDS: Final[dict[EpochUnit, str]] = {
    "s": "seconds",
    "ms": "milliseconds",
    "us": "microseconds",
    "ns": "nanoseconds",
    "auto": "",
}
_ISO_FORMS: Final = (
    *(
        (kind, f"%Y-%m-%d{sep}%H:%M{rest}")
        for sep in ("T", " ")
        for kind, rest in (("aware", ":%S%.f%#z"), ("aware", "%#z"), ("naive", ":%S%.f"), ("naive", ""))
    ),
    ("date", "%Y-%m-%d"),
)
"""ISO-8601 forms: ``%.f`` takes an optional fraction; ``%#z`` takes ``Z``, ``+05``, ``+0500``, ``+05:00``."""
_ISO_TYPES: Final[dict[str, pl.DataType]] = {
    "aware": pl.Datetime("ms", "UTC"),
    "naive": pl.Datetime("ms"),
    "date": pl.Date(),
}
_SAMPLE_ROWS: Final = 10_000


@dataclass
class Problem:
    """A problem of one row (``row`` counts data rows from 0) or of the whole file (``row`` None)."""

    row: int | None
    column: str | None
    message: str


@dataclass
class Rejected:
    """The file cannot be imported: its first problems (in file order) and how many there are."""

    format: ImportFormat | None
    problems: list[Problem]
    total: int


@dataclass
class BarFile:
    """A file's bars, checked and sorted, in :data:`BAR_ARROW_SCHEMA`, and how they were read."""

    format: ImportFormat
    bars: pa.Table
    rows: int
    duplicates_dropped: int
    columns: dict[str, str]
    ignored_columns: list[str]
    timestamps: str
    warnings: list[str] = field(default_factory=list)


class FileError(Exception):
    """A problem of the whole file found while reading it."""


@dataclass
class Mapping:
    """Which of a file's columns holds each field."""

    fields: dict[str, str]
    """Field (``open`` …) -> internal column name; ``ts`` may be a date column with ``time_column``."""
    display: dict[str, str]
    """Internal column name -> the name in the file."""
    time_column: str | None
    ignored: list[str]


def file_problem(fmt: ImportFormat | None, message: str, column: str | None = None) -> Rejected:
    """A rejection for one problem of the whole file."""
    return Rejected(fmt, [Problem(None, column, message)], 1)


def line_of(fmt: ImportFormat | None, row: int | None) -> int | None:
    """The CSV line (header = 1) or Parquet row (first = 1) of data row ``row`` (from 0)."""
    if row is None:
        return None
    return row + 2 if fmt == "csv" else row + 1


# ---------------------------------------------------------------------------------------------
# Checks


Message = Callable[[dict[str, str | None], int | None], str]
"""Words a problem from the row's raw cells (by field) and an optional other row it refers to."""


@dataclass
class _Check:
    name: str
    column: str | None
    mask: pl.Expr
    message: Message


def _shown(value: str | None) -> str:
    if value is None:
        return "(empty)"
    text = value if len(value) <= 40 else value[:37] + "..."
    return repr(text)


class Reader:
    """Builds the expressions of one file, collects them in one pass, and checks rows against each other.

    Parsed values are named columns built in stages (cells, then what derives from them, then the
    timestamp), and every check refers to them by name, so no expression is evaluated twice.
    """

    def __init__(
        self,
        fmt: ImportFormat,
        source: pl.LazyFrame,
        schema: pl.Schema,
        mapping: Mapping,
        options: ImportOptions,
    ) -> None:
        self.fmt = fmt
        self.schema = schema
        self.mapping = mapping
        self.options = options
        self.width = BarWidth.of(series_code(options.multiplier, options.timespan))
        self.intraday = options.timespan != "day"
        # A blank CSV line reads as a row of nulls: skipped, and it keeps the line count right.
        blank = pl.all_horizontal(pl.col(name).is_null() for name in schema.names() if name != ROW)
        self.source = source.filter(~blank) if fmt == "csv" else source
        self.stages: tuple[dict[str, pl.Expr], ...] = ({}, {}, {})
        self.checks: list[_Check] = []
        self.warnings: list[str] = []
        self.naive = False
        """Whether some timestamps were wall-clock times placed in ``options.tz``."""

    def label(self, name: str) -> str:
        """The file's name of field ``name``'s column."""
        if name == "ts" and self.mapping.time_column:
            return f"{self.display('ts')} + {self.mapping.display[self.mapping.time_column]}"
        return self.display(name)

    def display(self, name: str) -> str:
        """The file's own name of the column read as field ``name``."""
        return self.mapping.display[self.mapping.fields[name]]

    def put(self, stage: int, name: str, expr: pl.Expr) -> pl.Expr:
        """Compute ``expr`` as column ``name`` in ``stage`` (0: from cells, 1: from stage 0, 2: ``ts``)."""
        self.stages[stage][name] = expr
        return pl.col(name)

    def check(self, name: str, column: str | None, mask: pl.Expr, message: Message) -> None:
        """Flag the rows where ``mask`` holds as failing check ``name`` (on ``column``)."""
        self.checks.append(_Check(name, column, mask.fill_null(False), message))

    # -- values --------------------------------------------------------------------------------

    def value(self, name: str) -> None:
        """Field ``name`` as a Float64 column of that name, with its checks."""
        column = self.mapping.fields.get(name)
        if column is None:
            if name == "volume":
                self.warnings.append("no volume column: volume is stored as 0")
            self.put(0, name, pl.lit(0.0 if name == "volume" else None, pl.Float64))
            return
        dtype = self.schema[column]
        label = self.display(name)
        raw = pl.col(column)
        if dtype == pl.String:
            text = raw.str.strip_chars()
            value = self.put(0, name, text.cast(pl.Float64, strict=False))
            missing = self.put(0, f"{name}:empty", raw.is_null() | (text == ""))
            self.check(
                f"{name}:bad",
                label,
                ~missing & value.is_null(),
                lambda r, _: f"{_shown(r[name])} is not a number",
            )
        elif dtype.is_numeric():
            value = self.put(0, name, raw.cast(pl.Float64))
            missing = raw.is_null()
        else:
            raise FileError(f"column {label!r} holds {dtype}, not numbers")
        if name in REQUIRED or name == "volume":
            self.check(f"{name}:missing", label, missing, lambda r, _: "is empty")
        self.check(
            f"{name}:finite",
            label,
            value.is_not_null() & ~value.is_finite(),
            lambda r, _: f"{_shown(r[name])} is not finite",
        )
        if name in PRICE_FIELDS:
            self.check(
                f"{name}:positive",
                label,
                value <= 0,
                lambda r, _: f"{_shown(r[name])}: prices must be positive",
            )
            self.check(
                f"{name}:magnitude",
                label,
                value.is_finite() & (value > MAX_PRICE),
                lambda r, _: f"{_shown(r[name])}: prices must be at most {MAX_PRICE:g}",
            )
        if name == "volume":
            self.check(
                f"{name}:magnitude",
                label,
                value.is_finite() & (value > MAX_VOLUME),
                lambda r, _: f"{_shown(r[name])}: volumes must be at most {MAX_VOLUME:g}",
            )
        if name in ("volume", "transactions"):
            self.check(f"{name}:negative", label, value < 0, lambda r, _: f"{_shown(r[name])} is negative")
        if name == "transactions":
            self.check(
                f"{name}:count",
                label,
                value.is_finite() & (value >= 0) & ((value != value.floor()) | (value > 4_294_967_295)),
                lambda r, _: f"{_shown(r[name])} is not a whole number of trades",
            )

    # -- timestamps ----------------------------------------------------------------------------

    def timestamp(self) -> str:
        """Build column ``ts`` (epoch ms UTC) with its checks; say in words how it was read."""
        column = self.mapping.fields["ts"]
        dtype = self.schema[column]
        raw = pl.col(column)
        if self.mapping.time_column is not None:
            time = pl.col(self.mapping.time_column).cast(pl.String)
            raw = pl.concat_str([raw.cast(pl.String), time], separator=" ", ignore_nulls=True)
            dtype = pl.String()
        label = self.label("ts")
        if dtype == pl.String:
            stripped = raw.str.strip_chars()
            text = pl.when(stripped != "").then(stripped)
            given = self.put(0, "ts:given", text.is_not_null())
            self.check("ts:missing", label, ~given, lambda r, _: "is empty")
            return self._from_text(text, label)
        self.check("ts:missing", label, raw.is_null(), lambda r, _: "is empty")
        if isinstance(dtype, pl.Datetime):
            if dtype.time_zone is None:
                naive = self.put(0, "ts:naive", raw.dt.cast_time_unit("ms"))
                return self._from_naive(naive, label, "Parquet date-times without a zone")
            if not self.intraday:
                self._day(raw.dt.date())
                return "Parquet date-times, each naming its day in its own zone"
            self.put(2, TS, raw.dt.convert_time_zone("UTC").dt.epoch("ms"))
            return "Parquet date-times with a zone"
        if dtype == pl.Date:
            self._from_date(self.put(0, "ts:date", raw), label)
            return "Parquet dates"
        if dtype.is_numeric():
            return self._from_number(raw.cast(pl.Float64), raw.cast(pl.Int64, strict=False), label)
        raise FileError(f"column {label!r} holds {dtype}, not dates or times")

    def _sample(self, **exprs: pl.Expr) -> dict[str, Any]:
        """Statistics of the first rows (the form of a file's timestamps shows in its first rows)."""
        return self.source.head(_SAMPLE_ROWS).select(**exprs).collect(engine=ENGINE).row(0, named=True)

    def _from_text(self, text: pl.Expr, label: str) -> str:
        number, integer = text.cast(pl.Float64, strict=False), text.cast(pl.Int64, strict=False)
        ymd = integer.is_between(19_000_101, 21_001_231)
        sample = self._sample(given=text.is_not_null().sum(), numeric=number.is_finite().sum(), ymd=ymd.sum())
        given, numeric = sample["given"], sample["numeric"]
        if self.options.epoch_unit == "auto" and sample["ymd"] * 2 > given > 0:
            day = self.put(0, "ts:date", text.str.strptime(pl.Date, "%Y%m%d", strict=False))
            self.check(
                "ts:unreadable",
                label,
                pl.col("ts:given") & day.is_null(),
                lambda r, _: f"{_shown(r['ts'])} is not a YYYYMMDD date",
            )
            self._from_date(day, label)
            return "YYYYMMDD dates"
        if self.options.epoch_unit != "auto" or numeric * 2 > given > 0:
            self.check(
                "ts:unreadable",
                label,
                pl.col("ts:given") & ~pl.col("ts:f").is_finite(),
                lambda r, _: f"{_shown(r['ts'])} is not an epoch number",
            )
            return self._from_number(number, integer, label)
        return self._from_iso(text, label)

    def _from_iso(self, text: pl.Expr, label: str) -> str:
        """``ts`` from ISO-8601 text.

        A parse that fails costs as much as one that works, so only the forms seen in the first
        rows are tried on the whole file (all of them when none fits there).
        """
        sample = self._sample(
            example=text.drop_nulls().first(),
            **{
                f"f{i}": _parse_iso(text, kind, fmt).is_not_null().sum()
                for i, (kind, fmt) in enumerate(_ISO_FORMS)
            },
        )
        forms = [form for i, form in enumerate(_ISO_FORMS) if sample[f"f{i}"]] or list(_ISO_FORMS)
        parsed = {
            kind: pl.coalesce([_parse_iso(text, k, fmt) for k, fmt in forms if k == kind])
            if any(k == kind for k, _ in forms)
            else pl.lit(None, _ISO_TYPES[kind])
            for kind in _ISO_TYPES
        }
        aware = self.put(0, "ts:aware", parsed["aware"])
        naive = self.put(0, "ts:naive", parsed["naive"])
        date = self.put(0, "ts:date", parsed["date"])
        readable = aware.is_not_null() | naive.is_not_null() | date.is_not_null()
        example = sample["example"] if len(forms) < len(_ISO_FORMS) else None

        def unreadable(raw: dict[str, str | None], _: int | None) -> str:
            if example is not None:
                return f"{_shown(raw['ts'])} is not a timestamp like the file's others (e.g. {example!r})"
            return f"{_shown(raw['ts'])} is not a date, an ISO-8601 date-time or an epoch number"

        self.check("ts:unreadable", label, pl.col("ts:given") & ~readable, unreadable)
        if not self.intraday:
            written = self.put(
                0, "ts:written", text.str.slice(0, 10).str.strptime(pl.Date, "%Y-%m-%d", strict=False)
            )
            self._day(pl.when(readable).then(written))
            return "ISO-8601 dates and date-times, each naming its day as written"
        self.check("ts:date-only", label, date.is_not_null(), self._date_only)
        local = self._localize(naive, label)
        self.put(2, TS, pl.coalesce([aware.dt.epoch("ms"), local]))
        return f"ISO-8601 date-times; those without an offset in {self.options.tz}"

    def _from_naive(self, naive: pl.Expr, label: str, words: str) -> str:
        if not self.intraday:
            self._day(naive.dt.date())
            return f"{words}, each naming its day"
        self.put(2, TS, self._localize(naive, label))
        return f"{words}, in {self.options.tz}"

    def _localize(self, naive: pl.Expr, label: str) -> pl.Expr:
        """Epoch ms of wall-clock times in ``options.tz`` (a stage-1 column), checking clock changes."""
        self.naive = True
        zoned = naive.dt.replace_time_zone(self.options.tz, ambiguous="null", non_existent="null")
        local = self.put(1, "ts:local", zoned.dt.epoch("ms"))
        tz = self.options.tz
        self.check(
            "ts:dst",
            label,
            naive.is_not_null() & local.is_null(),
            lambda r, _: (
                f"{_shown(r['ts'])} is skipped or repeated by a daylight-saving change in {tz}:"
                " write it with an offset"
            ),
        )
        return local

    def _from_date(self, day: pl.Expr, label: str) -> None:
        if self.intraday:
            self.check("ts:date-only", label, day.is_not_null(), self._date_only)
            self.put(2, TS, pl.lit(None, pl.Int64))
        else:
            self._day(day)

    def _date_only(self, raw: dict[str, str | None], _: int | None) -> str:
        return f"{_shown(raw['ts'])} has no time of day, which a {self.options.timespan} bar needs"

    def _from_number(self, parsed: pl.Expr, whole: pl.Expr, label: str) -> str:
        """``ts`` from epoch numbers: ``parsed`` as Float64, ``whole`` as Int64 where they are integers."""
        unit = self.options.epoch_unit
        detected = ""
        number = self.put(0, "ts:f", parsed)
        integer = self.put(0, "ts:i", whole)
        if unit == "auto":
            largest = self._sample(largest=parsed.abs().filter(parsed.is_finite()).max())["largest"] or 0.0
            unit = next((u for bound, u in EPOCH_UNIT_BOUNDS if largest < bound), "ns")
            detected = " (told from their magnitude)"
        factor = _MS_PER[unit]
        as_ms = number * factor
        in_range = self.put(1, "ts:in-range", (as_ms >= MIN_MS) & (as_ms < MAX_MS))
        words = _UNIT_WORDS[unit]
        self.check(
            "ts:range",
            label,
            number.is_finite() & ~in_range,
            lambda r, _: (
                f"{_shown(r['ts'])} as epoch {words} is outside the supported times, {SUPPORTED_TIMES}"
            ),
        )
        exact = integer * int(factor) if factor >= 1 else integer.floordiv(round(1 / factor))
        ms = pl.when(in_range).then(pl.coalesce([exact, as_ms.floor().cast(pl.Int64)]))
        if not self.intraday:
            self._day(ms.cast(pl.Datetime("ms", "UTC")).dt.date())
            return f"epoch {words}{detected}, each naming its UTC date"
        self.put(2, TS, ms)
        return f"epoch {words}{detected}"

    def _day(self, day: pl.Expr) -> None:
        """``ts`` at 00:00 New York time of each date (how every source stores day bars)."""
        self.put(2, TS, day.cast(pl.Datetime("ms")).dt.replace_time_zone(EXCHANGE_TZ).dt.epoch("ms"))

    # -- the whole file ------------------------------------------------------------------------

    def read(self) -> BarFile | Rejected:
        """Collect the file in one streaming pass, then check rows against each other."""
        words = self.timestamp()
        for name in VALUE_FIELDS:
            self.value(name)
        label = self.label("ts")
        ts = pl.col(TS)
        flagged = [check.mask for check in self.checks if check.name.startswith("ts:")]
        self.check(  # never drop a row silently: a row without a timestamp and no other reason is named too
            "ts:none",
            label,
            ts.is_null() & ~pl.any_horizontal(flagged),
            lambda r, _: "has no usable timestamp",
        )
        self.check(
            "ts:span",
            label,
            (ts < MIN_MS) | (ts >= MAX_MS),
            lambda r, _: f"{_shown(r['ts'])} is outside the supported times, {SUPPORTED_TIMES}",
        )
        if self.intraday:
            self.check(
                "ts:minute",
                label,
                ts % 60_000 != 0,
                lambda r, _: f"{_shown(r['ts'])} does not start on a whole minute",
            )
        self.check(
            "fields", None, pl.col(EXTRA).is_not_null(), lambda r, _: "has more fields than the header"
        )
        self.check(
            "high<low",
            f"{self.display('high')}/{self.display('low')}",
            pl.col("high") < pl.col("low"),
            lambda r, _: f"high {r['high']} is below low {r['low']}",
        )
        plan = self.source
        for stage in self.stages:
            plan = plan.with_columns(**stage)
        masks = [check.mask.alias(check.name) for check in self.checks]
        frame = plan.select(pl.col(ROW), ts, *(pl.col(name) for name in VALUE_FIELDS), *masks).collect(
            engine=ENGINE
        )
        if frame.height == 0:
            return file_problem(self.fmt, "the file holds no bars")
        return self._finish(frame, words)

    def _finish(self, frame: pl.DataFrame, words: str) -> BarFile | Rejected:
        names = [check.name for check in self.checks]
        counts = frame.select(pl.col(name).sum() for name in names).row(0)
        usable = pl.col(TS).is_not_null() & ~pl.any_horizontal(names)
        clean = frame.filter(usable).select(ROW, TS, *VALUE_FIELDS)
        if not clean.get_column(TS).is_sorted():
            clean = clean.sort(TS, maintain_order=True)
        bars, conflicts = _without_repeats(clean)
        close = self._too_close(bars)
        total = sum(counts) + conflicts.height + close.height
        if total:
            found: list[tuple[int, int, str, int | None]] = []  # (row, order, check, other row)
            for order, (name, count) in enumerate(zip(names, counts, strict=True)):
                if count:
                    rows = frame.filter(pl.col(name)).get_column(ROW).head(MAX_REPORTED_PROBLEMS).to_list()
                    found += [(row, order, name, None) for row in rows]
            for order, (name, pairs) in enumerate(
                (("duplicate", conflicts), ("too-close", close)), len(names)
            ):
                found += [
                    (row, order, name, other) for row, other in pairs.head(MAX_REPORTED_PROBLEMS).iter_rows()
                ]
            return self._rejection(sorted(found)[:MAX_REPORTED_PROBLEMS], total)
        return BarFile(
            format=self.fmt,
            bars=_arrow(bars),
            rows=frame.height,
            duplicates_dropped=clean.height - bars.height,
            columns={name: self.label(name) for name in self.mapping.fields},
            ignored_columns=self.mapping.ignored,
            timestamps=words,
            warnings=self.warnings + self._advice(bars),
        )

    def _too_close(self, bars: pl.DataFrame) -> pl.DataFrame:
        """Bars starting less than one bar width after the bar before them: (row, that bar's row)."""
        gap = pl.col(TS) - pl.col(TS).shift(1)
        if self.intraday:
            close = gap < self.width.fixed_ms
        else:  # day bars start at New York midnights, 23 to 25 hours apart across a clock change
            close = (gap / 86_400_000).round() < self.options.multiplier
        previous = pl.col(ROW).shift(1).alias("other")
        return bars.select(ROW, previous, close.fill_null(False).alias("close")).filter("close").drop("close")

    def _rejection(self, found: list[tuple[int, int, str, int | None]], total: int) -> Rejected:
        """Word the first problems, reading only their rows again."""
        rows = sorted({row for row, *_ in found})
        raw = {
            field: pl.col(column).cast(pl.String)
            for field, column in self.mapping.fields.items()
            if field != "ts"
        }
        ts = pl.col(self.mapping.fields["ts"]).cast(pl.String)
        if self.mapping.time_column is not None:
            ts = pl.concat_str(
                [ts, pl.col(self.mapping.time_column).cast(pl.String)], separator=" ", ignore_nulls=True
            )
        cells = (
            self.source.filter(pl.col(ROW).is_in(rows))
            .select(pl.col(ROW), ts.alias("ts"), *(expr.alias(name) for name, expr in raw.items()))
            .collect(engine=ENGINE)
        )
        by_row: dict[int, dict[str, str | None]] = {row[ROW]: row for row in cells.iter_rows(named=True)}
        checks = {check.name: check for check in self.checks}
        problems = []
        for row, _, name, other in found:
            values = by_row.get(row, {})
            if name == "duplicate":
                line = line_of(self.fmt, other)
                problems.append(
                    Problem(row, self.label("ts"), f"repeats the timestamp of line {line} with other values")
                )
            elif name == "too-close":
                line = line_of(self.fmt, other)
                width = series_code(self.options.multiplier, self.options.timespan)
                message = (
                    f"starts less than one {width} bar after the bar on line {line}"
                    f" (are these {self.options.multiplier} {self.options.timespan} bars?)"
                )
                problems.append(Problem(row, self.label("ts"), message))
            else:
                check = checks[name]
                problems.append(Problem(row, check.column, check.message(values, other)))
        return Rejected(self.fmt, problems, total)

    def _advice(self, bars: pl.DataFrame) -> list[str]:
        """Warnings about bars that were stored but look odd."""
        advice = []
        outside = bars.select(
            ((pl.col("open") > pl.col("high")) | (pl.col("open") < pl.col("low"))
             | (pl.col("close") > pl.col("high")) | (pl.col("close") < pl.col("low"))).sum()
        ).item()  # fmt: skip
        if outside:
            advice.append(f"{outside:,} bar(s) open or close outside their high-low range")
        if self.naive and not self.options.symbol.startswith(("X:", "C:")):
            minute = pl.col(TS).cast(pl.Datetime("ms", "UTC")).dt.convert_time_zone(EXCHANGE_TZ)
            of_day = minute.dt.hour().cast(pl.Int32) * 60 + minute.dt.minute().cast(pl.Int32)
            late = bars.select(((of_day < 240) | (of_day >= 1200)).sum()).item()
            if late:
                advice.append(
                    f"{late:,} bar(s) start outside 04:00-20:00 New York time; if the file's times are not"
                    f" {self.options.tz} times, import it again with the right time zone"
                )
        return advice


def _parse_iso(text: pl.Expr, kind: str, fmt: str) -> pl.Expr:
    return text.str.strptime(_ISO_TYPES[kind], fmt, strict=False)  # type: ignore[arg-type]


def _without_repeats(bars: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Drop rows that repeat an earlier row exactly; of the rest, name those that repeat a timestamp.

    Args:
        bars: Rows sorted by time, rows of one time in file order.

    Returns:
        The bars, one per time, and (row, the row whose time it repeats) of each conflicting row.
    """
    ts = pl.col(TS)
    repeated = (ts == ts.shift(1)) | (ts == ts.shift(-1))
    if not bars.select(repeated.any()).item():  # the usual case, and it costs two comparisons a row
        return bars, pl.DataFrame(schema={ROW: pl.UInt32, "other": pl.UInt32})
    distinct = bars.filter(pl.struct(TS, *VALUE_FIELDS).is_first_distinct())
    first = distinct.with_columns(pl.col(ROW).first().over(TS).alias("other"))
    conflicts = first.filter(pl.col(ROW) != pl.col("other")).select(ROW, "other")
    return first.filter(pl.col(ROW) == pl.col("other")).drop("other"), conflicts


def _arrow(bars: pl.DataFrame) -> pa.Table:
    """Checked bars, sorted by time, as :data:`BAR_ARROW_SCHEMA`."""
    table = bars.select(
        pl.col(TS).cast(pl.Datetime("ms", "UTC")),
        *(pl.col(name) for name in ("open", "high", "low", "close", "volume", "vwap")),
        pl.col("transactions").cast(pl.UInt32),
    ).to_arrow()
    return pa.Table.from_arrays(
        [table.column(index).cast(target.type) for index, target in enumerate(BAR_ARROW_SCHEMA)],
        schema=BAR_ARROW_SCHEMA,
    )
