"""Read and check a file of bars (CSV or Parquet) with Polars: a path in, Arrow bars or problems out.

Pure work on one file, meant to run off the event loop (see :mod:`pipelines.ingest.file_imports`). The file is
scanned lazily and collected with Polars' streaming engine (see :mod:`pipelines.ingest.bar_reader` for
the checks). CSV cells are read as text, so a bad cell marks its row instead of failing the file,
with a spare column after the last one, so a line with more fields than the header is named too.

Line numbers assume one record per line (no line breaks inside quoted fields), which holds for
every OHLCV export we know of.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Final

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.ingest.bar_reader import (
    EXTRA,
    REQUIRED,
    ROW,
    BarFile,
    FileError,
    Mapping,
    Problem,
    Reader,
    Rejected,
    file_problem,
    line_of,
)
from schemas.imports import MAX_COLUMNS, MAX_HEADER_BYTES, ImportFormat, ImportOptions

__all__ = ["ALIASES", "BarFile", "Problem", "Rejected", "line_of", "read_bar_file", "sniff_format"]

ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "ts": ("timestamp", "datetime", "date_time", "ts", "t", "time", "date"),
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c"),
    "volume": ("volume", "vol", "v"),
    "vwap": ("vwap", "vw"),
    "transactions": ("transactions", "trades", "n"),
}
"""Header names (compared lower-cased, without surrounding ``<>``) for each field, preferred first.
A ``date`` column with a ``time`` column beside it is read as one timestamp."""

_FIELD_WORDS: Final = {"ts": "timestamp"}
_SEPARATORS: Final = (",", ";", "\t", "|")


def sniff_format(path: Path) -> ImportFormat | str:
    """``csv`` or ``parquet`` from the file's first bytes, or why the file is neither."""
    with path.open("rb") as handle:
        head = handle.read(4)
    if not head:
        return "the file is empty"
    if head == b"PAR1":
        return "parquet"
    if head[:2] == b"\x1f\x8b":
        return "the file is gzip-compressed: decompress it first"
    if head == b"PK\x03\x04":
        return "the file is a ZIP archive (or a spreadsheet): export it as CSV first"
    return "csv"


def read_bar_file(path: Path, options: ImportOptions) -> BarFile | Rejected:
    """Read ``path`` as bars of the series ``options`` names, or say everything wrong with it."""
    kind = sniff_format(path)
    if kind not in ("csv", "parquet"):
        return file_problem(None, kind)
    fmt: ImportFormat = "parquet" if kind == "parquet" else "csv"
    try:
        source, names = _scan_parquet(path) if fmt == "parquet" else _scan_csv(path)
        schema = source.collect_schema()
    except FileError as exc:
        return file_problem(fmt, str(exc))
    except (pl.exceptions.PolarsError, pa.ArrowException, OSError, UnicodeDecodeError, csv.Error) as exc:
        return file_problem(fmt, f"not a readable {fmt.upper()} file: {_first_line(exc)}")
    mapping = _map_columns(names)
    missing = [name for name in REQUIRED if name not in mapping.fields]
    if missing:
        problems = [
            Problem(
                None,
                _FIELD_WORDS.get(name, name),
                f"no {_FIELD_WORDS.get(name, name)} column (looked for: {', '.join(ALIASES[name])})",
            )
            for name in missing
        ]
        return Rejected(fmt, problems, len(problems))
    try:
        return Reader(fmt, source, schema, mapping, options).read()
    except FileError as exc:
        return file_problem(fmt, str(exc))
    except pl.exceptions.PolarsError as exc:
        return file_problem(fmt, f"not a readable {fmt.upper()} file: {_first_line(exc)}")


# ---------------------------------------------------------------------------------------------
# Sources and column mapping


def _scan_csv(path: Path) -> tuple[pl.LazyFrame, list[str]]:
    with path.open("rb") as handle:
        head = handle.readline(MAX_HEADER_BYTES + 1)
    if len(head) > MAX_HEADER_BYTES:
        raise FileError(f"the header line is longer than {MAX_HEADER_BYTES:,} bytes: is this a file of bars?")
    line = head.decode("utf-8-sig", errors="replace").strip("\r\n")
    if not line.strip():
        raise FileError("the first line should name the columns, but it is empty")
    separator = max(_SEPARATORS, key=line.count)
    names = next(csv.reader(io.StringIO(line), delimiter=separator))
    _check_width(len(names))
    internal = {f"c{index}": pl.String for index in range(len(names))} | {EXTRA: pl.String}
    frame = pl.scan_csv(
        path,
        has_header=False,
        skip_rows=1,
        separator=separator,
        schema=internal,
        missing_columns="insert",
        truncate_ragged_lines=True,
        encoding="utf8-lossy",
        row_index_name=ROW,
    )
    return frame, names


def _check_width(columns: int) -> None:
    if columns > MAX_COLUMNS:
        raise FileError(f"the file has {columns:,} columns; imports read at most {MAX_COLUMNS}")


def _scan_parquet(path: Path) -> tuple[pl.LazyFrame, list[str]]:
    _check_width(pq.read_metadata(path).num_columns)
    frame = pl.scan_parquet(path)
    names = frame.collect_schema().names()
    renamed = frame.select([pl.col(name).alias(f"c{index}") for index, name in enumerate(names)])
    return renamed.with_row_index(ROW).with_columns(pl.lit(None, pl.String).alias(EXTRA)), names


def _normal(name: str) -> str:
    return name.strip().strip("<>").strip().lower()


def _map_columns(names: list[str]) -> Mapping:
    by_name: dict[str, str] = {}
    for index, name in enumerate(names):
        by_name.setdefault(_normal(name), f"c{index}")
    display = {f"c{index}": name for index, name in enumerate(names)}
    fields: dict[str, str] = {}
    time_column = None
    for name, aliases in ALIASES.items():
        found = [by_name[alias] for alias in aliases if alias in by_name]
        if (
            name == "ts"
            and "date" in by_name
            and "time" in by_name
            and found[0] in (by_name["time"], by_name["date"])
        ):
            fields["ts"], time_column = by_name["date"], by_name["time"]
        elif found:
            fields[name] = found[0]
    used = set(fields.values()) | ({time_column} if time_column else set())
    ignored = [display[column] for column in display if column not in used]
    return Mapping(fields=fields, display=display, time_column=time_column, ignored=ignored)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
