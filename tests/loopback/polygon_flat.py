"""Polygon flat files as Polygon lays them out, and a loopback S3 server to serve them.

Files are ``us_stocks_sip/{minute_aggs_v1,day_aggs_v1}/YYYY/MM/YYYY-MM-DD.csv.gz`` with the
header ``ticker,volume,open,close,high,low,window_start,transactions`` and ``window_start`` in
nanoseconds since the epoch: minute bars from 04:00 to 20:00 New York time, day bars at New
York midnight.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

HEADER = "ticker,volume,open,close,high,low,window_start,transactions"
DATASET_DIRS = {"minute": "minute_aggs_v1", "day": "day_aggs_v1"}
NEW_YORK = ZoneInfo("America/New_York")


@dataclass(frozen=True)
class Row:
    """One aggregate as a flat file holds it."""

    ticker: str
    volume: float
    open: float
    close: float
    high: float
    low: float
    window_start_ns: int
    transactions: int | None

    def line(self) -> str:
        tx = "" if self.transactions is None else str(self.transactions)
        return (
            f"{self.ticker},{self.volume!r},{self.open!r},{self.close!r},{self.high!r},{self.low!r},"
            f"{self.window_start_ns},{tx}"
        )

    @property
    def ts(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.window_start_ns // 1_000_000 / 1000, dt.UTC)


def day_rows(
    day: dt.date, timespan: str, tickers: Sequence[str], rng: np.random.Generator, per_ticker: int = 30
) -> list[Row]:
    """Random but well-formed aggregates of ``tickers`` on ``day`` (prices with full float precision)."""
    midnight = dt.datetime.combine(day, dt.time(), NEW_YORK)
    if timespan == "day":
        starts = [midnight]
    else:
        first = midnight + dt.timedelta(hours=4)
        minutes = np.sort(rng.choice(16 * 60, size=per_ticker, replace=False))
        starts = [first + dt.timedelta(minutes=int(m)) for m in minutes]
    rows = []
    for ticker in tickers:
        for start in starts:
            low = float(rng.uniform(5, 500))
            high = low + float(rng.uniform(0, 5))
            rows.append(
                Row(
                    ticker=ticker,
                    volume=float(rng.integers(1, 10_000)) + float(rng.choice([0.0, 0.5, 0.25])),
                    open=float(rng.uniform(low, high)),
                    close=float(rng.uniform(low, high)),
                    high=high,
                    low=low,
                    window_start_ns=int(start.timestamp()) * 1_000_000_000,
                    transactions=int(rng.integers(1, 5_000)),
                )
            )
    return rows


def day_path(root: Path, timespan: str, day: dt.date) -> Path:
    """Where Polygon keeps the ``timespan`` file of ``day`` under ``root`` (which holds ``us_stocks_sip``)."""
    return root / "us_stocks_sip" / DATASET_DIRS[timespan] / f"{day:%Y}" / f"{day:%m}" / f"{day}.csv.gz"


def write_day(root: Path, timespan: str, day: dt.date, rows: Sequence[Row]) -> Path:
    """Write ``rows`` as the ``timespan`` file of ``day``; return its path."""
    return write_text(
        day_path(root, timespan, day), "\n".join([HEADER, *(row.line() for row in rows)]) + "\n"
    )


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` gzipped to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(text.encode(), compresslevel=1))
    return path


@dataclass
class LoopbackS3:
    """A moto S3 server on loopback and a boto3 client for it."""

    endpoint: str
    client: object

    def upload_tree(self, bucket: str, root: Path) -> int:
        """Upload every file under ``root`` to ``bucket`` with keys relative to ``root``."""
        self.client.create_bucket(Bucket=bucket)
        count = 0
        for path in sorted(root.rglob("*")):
            if path.is_file():
                key = path.relative_to(root).as_posix()
                self.client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
                count += 1
        return count


@contextlib.contextmanager
def loopback_s3(access_key: str = "flat-key", secret_key: str = "flat-secret") -> Iterator[LoopbackS3]:
    """A moto S3 server on 127.0.0.1 for the duration of the block."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name="us-east-1",
        )
        yield LoopbackS3(endpoint=endpoint, client=client)
    finally:
        server.stop()
