"""The process's metrics: the instruments every layer records into, in Prometheus' terms.

They live at the bottom of the layers (here, beside the store errors) so the ClickHouse client,
the bar writer, the chart caches, the job runner and the API record into the same instruments;
:func:`exposition` renders them for ``GET /metrics``.

One process (``k2q up``) keeps them in memory. Several processes (API replicas and workers) share
them through files when ``PROMETHEUS_MULTIPROC_DIR`` names a directory they all mount (prometheus-
client's multiprocess mode): then any one API's ``/metrics`` adds up every process. Files are named
by host and pid, so containers (each one pid 1) sharing a volume never write the same file.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import REGISTRY, Collector

MULTIPROCESS_DIR: Final = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
"""The directory processes share their metrics through (``None``: this process alone)."""


def process_identity() -> str:
    """This process among those sharing :data:`MULTIPROCESS_DIR`: host and pid."""
    return f"{socket.gethostname()}-{os.getpid()}"


if MULTIPROCESS_DIR is not None:
    os.makedirs(MULTIPROCESS_DIR, exist_ok=True)
    values.ValueClass = values.MultiProcessValue(process_identity)  # type: ignore[no-untyped-call]

_LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUEST_SECONDS: Final = Histogram(
    "k2q_http_request_duration_seconds",
    "HTTP requests by method, route template and status, from the first byte in to the last byte out.",
    ["method", "route", "status"],
    buckets=_LATENCY_BUCKETS,
)
WEBSOCKET_CLIENTS: Final = Gauge(
    "k2q_websocket_clients", "WebSocket clients connected to /api/v1/ws.", multiprocess_mode="livesum"
)
JOB_SECONDS: Final = Histogram(
    "k2q_job_duration_seconds",
    "Jobs run to their end, by kind and final state (complete, failed, cancelled).",
    ["kind", "state"],
    buckets=(0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0),
)
BARS_INGESTED: Final = Counter("k2q_bars_ingested", "Bars written to the bar store, by source.", ["source"])
CLICKHOUSE_QUERY_SECONDS: Final = Histogram(
    "k2q_clickhouse_query_duration_seconds",
    "ClickHouse calls by kind (slice, insert, stats, ...), including the wait for the client's thread.",
    ["kind"],
    buckets=_LATENCY_BUCKETS,
)
CACHE_REQUESTS: Final = Counter(
    "k2q_cache_requests",
    "Lookups in the shared chart-data cache (slice) and the in-process bar cache (hot), hit or miss.",
    ["cache", "result"],
)


@contextmanager
def timed(histogram: Histogram, *labels: str) -> Iterator[None]:
    """Observe how long the block takes in ``histogram`` (with ``labels``), whether or not it raises."""
    started = time.perf_counter()
    try:
        yield
    finally:
        histogram.labels(*labels).observe(time.perf_counter() - started)


@dataclass(frozen=True)
class Sample:
    """A gauge value read from a store at scrape time (queue depth, pool use, ...)."""

    name: str
    help: str
    value: float
    labels: tuple[tuple[str, str], ...] = ()


class _Snapshot(Collector):
    def __init__(self, samples: Sequence[Sample]) -> None:
        self.samples = samples

    def collect(self) -> Iterator[Metric]:
        families: dict[str, GaugeMetricFamily] = {}
        for sample in self.samples:
            family = families.get(sample.name)
            if family is None:
                names = [name for name, _ in sample.labels]
                family = families[sample.name] = GaugeMetricFamily(sample.name, sample.help, labels=names)
            family.add_metric([value for _, value in sample.labels], sample.value)
        yield from families.values()


class _Process(Collector):
    """The instruments of this process alone (the default registry)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def exposition(samples: Sequence[Sample]) -> bytes:
    """The Prometheus text of every process's instruments plus ``samples`` read at scrape time."""
    registry = CollectorRegistry(auto_describe=False)
    if MULTIPROCESS_DIR is not None:
        MultiProcessCollector(registry, MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Process())
    registry.register(_Snapshot(samples))
    return generate_latest(registry)


def process_ended() -> None:
    """Drop this process's live gauges from the shared directory (a clean exit)."""
    if MULTIPROCESS_DIR is not None:
        mark_process_dead(process_identity(), MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]
