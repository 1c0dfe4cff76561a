"""Stored indicator outputs: computed over whole series, kept current as bars arrive, read by charts.

An indicator's value at a bucket is TA-Lib (or our function) run over every bucket of the series
at that width from the series' first bar, so it is the same whichever window, zoom or page asks
for it. Computing that on each chart request would mean reading the whole series each time, so
the outputs are stored (:mod:`warehouse.clickhouse.indicator_values`, one record per key in
:mod:`warehouse.catalog.indicator_outputs` saying at which series version they are complete).

:meth:`IndicatorOutputs.current` makes a key current before it is read:

* stored at the series' current version: reused;
* stored at an older version: *extended* from the first bucket that may have changed (the
  version's per-month counts say which months did). Unstable functions (EMA, RSI …) carry state
  from every earlier bucket, so the update recomputes over a warm-up of earlier buckets and
  checks, on the last stored buckets before the change, that it reproduces the stored values
  (within 1e-9 relative): then its state has caught up, and the new values equal a full
  recompute's. A running total (OBV, AD) differs by a constant there, which is added back. If
  neither, the warm-up grows, and at the start of the series it is a full recompute;
* not stored: computed over the whole series and stored.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Sequence
from typing import Any, Final, Literal

import msgspec
import numpy as np

from pipelines.indicators.own import OwnContext
from pipelines.indicators.specs import (
    BucketSeries,
    IndicatorSpec,
    InvalidIndicator,
    Values,
    compute,
    parse_indicator,
    stable_index,
)
from pipelines.publish import EventPublisher
from pipelines.series.versions import SeriesVersion, SeriesVersions, Span
from pipelines.work_pool import WorkPool
from schemas.bars import SeriesKey
from schemas.indicators import IndicatorCalculated, IndicatorPoint, OutputKey
from schemas.values import BarWidth, Session
from warehouse.catalog.indicator_outputs import IndicatorOutputRepository, StoredOutput, StoredVersion
from warehouse.clickhouse.bars import BarStore, epoch_ms
from warehouse.clickhouse.indicator_values import IndicatorValueStore, chunk_starts

AGREEMENT: Final = 1e-9
"""Relative agreement an extension must reach with the stored values before the change."""
CHECKED: Final = 32
"""Stored buckets before the change an extension must reproduce."""
LIVE_POINTS: Final = 5
"""Most changed buckets a live ``indicator_calculated`` event carries."""

How = Literal["reused", "extended", "computed"]


class OutputState(msgspec.Struct, frozen=True, kw_only=True):
    """One indicator's stored outputs over one series after :meth:`IndicatorOutputs.current`."""

    key: OutputKey
    spec: IndicatorSpec
    rows: int
    first_ts: int | None
    last_ts: int | None
    stable_from: int | None
    """First stable bucket (epoch ms), None when the series is shorter than that."""
    how: How
    duration_ms: float
    changed_from: int | None = None
    """First bucket (epoch ms) an extension rewrote."""
    generation: str = ""
    """When the outputs were last written (see :func:`generation_of`)."""

    def event(self, *, job_id: str | None = None, owner: str | None = None) -> IndicatorCalculated:
        """The ``indicator_calculated`` event announcing this state."""
        return IndicatorCalculated(
            symbol=self.key.symbol,
            adjusted=self.key.adjusted,
            series=self.key.series,
            session=self.key.session,
            timeframe=self.key.width,
            spec=self.spec.text,
            columns=self.spec.columns,
            rows=self.rows,
            stable_from=self.stable_from,
            duration_ms=round(self.duration_ms, 3),
            reused=self.how == "reused",
            live=False,
            job_id=job_id,
            owner=owner,
        )


def session_of(ref: SeriesKey, session: Session) -> Session:
    """The session outputs are keyed by: ``regular`` only for an intraday series (others have none)."""
    return "regular" if session == "regular" and BarWidth.of(ref.series).is_intraday else "extended"


def changed_since(stored: StoredVersion, now: SeriesVersion) -> int | None:
    """The earliest instant (epoch ms) whose bars may differ between two versions; None: anywhere.

    >>> was = StoredVersion(token="e.1", epoch="e", months={202403: 1})
    >>> changed_since(was, SeriesVersion(token="e.2", epoch="e", months={202403: 1, 202404: 1}))
    1711929600000
    """
    if stored.epoch != now.epoch or stored.everywhere != now.everywhere:
        return None
    months = [
        m for m in set(now.months) | set(stored.months) if now.months.get(m, 0) != stored.months.get(m, 0)
    ]
    if not months:
        return None
    first = min(months)
    return epoch_ms(dt.datetime(first // 100, first % 100, 1, tzinfo=dt.UTC))


def _one_change(stored: StoredVersion, now: SeriesVersion) -> bool:
    """Whether exactly one change was counted between two versions of the same epoch."""
    before, after = stored.token.rpartition(".")[2], now.token.rpartition(".")[2]
    return (
        stored.epoch == now.epoch and before.isdigit() and after.isdigit() and int(after) == int(before) + 1
    )


def _stored_version(version: SeriesVersion) -> StoredVersion:
    return StoredVersion(
        token=version.token, epoch=version.epoch, everywhere=version.everywhere, months=dict(version.months)
    )


def _compute_many(
    specs: Sequence[IndicatorSpec], series: BucketSeries, context: OwnContext
) -> list[list[Values]]:
    return [compute(spec, series, context) for spec in specs]


class IndicatorOutputs:
    """Computes, stores, extends and reads indicator outputs over whole series."""

    def __init__(
        self,
        bars: BarStore,
        values: IndicatorValueStore,
        registry: IndicatorOutputRepository,
        versions: SeriesVersions,
        work: WorkPool,
        publisher: EventPublisher,
    ) -> None:
        self.bars = bars
        self.values = values
        self.registry = registry
        self.versions = versions
        self.work = work
        self.publisher = publisher
        self._locks: dict[OutputKey, asyncio.Lock] = {}

    def key(self, ref: SeriesKey, width: str, session: Session, spec: IndicatorSpec) -> OutputKey:
        """Where ``spec`` over ``ref`` at ``width`` is stored."""
        return OutputKey(
            symbol=ref.symbol,
            series=ref.series,
            adjusted=ref.adjusted,
            session=session_of(ref, session),
            width=width,
            spec=spec.text,
        )

    async def current(
        self,
        ref: SeriesKey,
        width: str,
        session: Session,
        specs: Sequence[IndicatorSpec],
        *,
        written: Span | None = None,
    ) -> list[OutputState]:
        """Make every spec's outputs over ``ref`` at ``width`` stored and current; return their states.

        ``written`` is the span of the bars of the caller's last write: when that write is the one
        change since the outputs were stored, they are extended from exactly there (else from the
        first month the series' version says changed).

        Raises:
            InvalidQuery: ``ref`` cannot be cut into ``width`` buckets.
        """
        keys = [self.key(ref, width, session, spec) for spec in specs]
        locks = [self._locks.setdefault(key, asyncio.Lock()) for key in keys]
        for lock in locks:
            await lock.acquire()
        try:
            return await self._current(ref, width, keys, specs, written)
        finally:
            for lock in locks:
                lock.release()

    async def _current(
        self,
        ref: SeriesKey,
        width: str,
        keys: Sequence[OutputKey],
        specs: Sequence[IndicatorSpec],
        written: Span | None,
    ) -> list[OutputState]:
        version = await self.versions.current(ref)  # before the bars are read: never newer than them
        states: dict[int, OutputState] = {}
        full: list[int] = []
        previous: dict[int, StoredOutput | None] = {}
        stale: list[tuple[int, StoredOutput, int]] = []
        records = await self.registry.get_many(keys)
        for index, (key, spec) in enumerate(zip(keys, specs, strict=True)):
            stored = previous[index] = records.get(key)
            if stored is None or stored.outputs != list(spec.outputs):
                full.append(index)
            elif stored.version.token == version.token:
                states[index] = _state(stored, spec, "reused", 0.0)
            else:
                changed = changed_since(stored.version, version)
                if changed is not None and written is not None and _one_change(stored.version, version):
                    changed = max(changed, epoch_ms(written[0]))
                if changed is None or stored.stable_from is None:
                    full.append(index)
                else:
                    stale.append((index, stored, changed))
        if stale:
            # the longest warm-up first: the bars it reads serve the others too
            stale.sort(key=lambda item: -stable_index(specs[item[0]]))
            bars = _BarsSince(self.bars, ref, width, keys[0].session)
            extensions: list[tuple[int, _Extension]] = []
            for index, stored, changed in stale:
                extension = await self._extend(stored, specs[index], changed, bars)
                if extension is None:
                    full.append(index)
                else:
                    extensions.append((index, extension))
            states.update(await self._save_extensions(extensions, specs, version))
        if full:
            computed = await self._compute_full(
                ref,
                width,
                [keys[i] for i in full],
                [specs[i] for i in full],
                version,
                [previous[i] for i in full],
            )
            states.update(zip(full, computed, strict=True))
        return [states[index] for index in range(len(specs))]

    async def _compute_full(
        self,
        ref: SeriesKey,
        width: str,
        keys: Sequence[OutputKey],
        specs: Sequence[IndicatorSpec],
        version: SeriesVersion,
        previous: Sequence[StoredOutput | None],
    ) -> list[OutputState]:
        """Compute ``specs`` over the whole series and store them (one read, one insert)."""
        started = time.perf_counter()
        session = keys[0].session
        series = BucketSeries.of(await self.bars.bucket_series(ref, width, session))
        context = OwnContext(width=width, session=session)
        results = await self.work.run(_compute_many, specs, series, context)
        # a series that lost buckets at either end leaves chunks no write replaces: delete first
        first, last = (int(series.ts[0]), int(series.ts[-1])) if len(series) else (2**62, -(2**62))
        shrank = any(
            entry is not None and ((entry.first_ts or first) < first or (entry.last_ts or last) > last)
            for entry in previous
        )
        computed_at = dt.datetime.now(dt.UTC)
        await self.values.write_many(
            [
                (key, spec.outputs, series.ts, outputs)
                for key, spec, outputs in zip(keys, specs, results, strict=True)
            ],
            replace=shrank,
            generation=generation_of(computed_at),
        )
        duration_ms = (time.perf_counter() - started) * 1000 / max(len(specs), 1)
        states = []
        for key, spec in zip(keys, specs, strict=True):
            index = stable_index(spec)
            stored = StoredOutput(
                key=key,
                outputs=list(spec.outputs),
                version=_stored_version(version),
                rows=len(series),
                first_ts=int(series.ts[0]) if len(series) else None,
                last_ts=int(series.ts[-1]) if len(series) else None,
                stable_from=int(series.ts[index]) if index < len(series) else None,
                computed_at=computed_at,
                duration_ms=duration_ms,
            )
            await self.registry.save(stored)
            states.append(_state(stored, spec, "computed", duration_ms))
        return states

    async def _extend(
        self, stored: StoredOutput, spec: IndicatorSpec, changed_ms: int, bars: _BarsSince
    ) -> _Extension | None:
        """``stored`` recomputed from ``changed_ms`` on, not written yet (None: only a full recompute can)."""
        started = time.perf_counter()
        key, width = stored.key, stored.key.width
        if stored.last_ts is None or stored.first_ts is None:
            return None
        width_ms = BarWidth.of(width).approx_ms
        warmup = max(2 * stable_index(spec) + CHECKED, 256)
        context = OwnContext(width=width, session=key.session)
        changed_ms = max(changed_ms, stored.first_ts)
        generation = generation_of(stored.computed_at)
        # buckets are sparser than the width (nights, weekends): read well before the change
        reach = warmup * width_ms * 4 + 10 * 86_400_000
        while True:
            stored_ts, stored_values = await self.values.read(
                key, spec.outputs, changed_ms - reach, stored.last_ts, generation=generation
            )
            if len(stored_ts) == 0:
                return None
            first_changed = max(int(np.searchsorted(stored_ts, changed_ms, side="right")) - 1, 0)
            if first_changed < warmup:
                if stored_ts[0] <= stored.first_ts:
                    return None  # the warm-up reaches the start of the series: recompute it all
                reach *= 4
                continue
            series = await bars.since(int(stored_ts[first_changed - warmup]))
            outputs = await self.work.run(compute, spec, series, context)
            offsets = _reproduces(
                series, outputs, stored_ts, stored_values, first_changed, warmup - stable_index(spec)
            )
            if offsets is not None:
                outputs = [
                    out + offset if offset else out for out, offset in zip(outputs, offsets, strict=True)
                ]
                break
            warmup *= 4  # the state has not caught up yet: warm up longer
            reach *= 4
        # the chunk holding the first changed bucket is written whole: stored values before it, new after
        boundary = int(stored_ts[first_changed])
        chunk = int(chunk_starts(width, np.array([boundary], dtype=np.int64))[0])
        if chunk < stored_ts[0]:  # the read began inside the chunk: read the whole of it
            stored_ts, stored_values = await self.values.read(
                key, spec.outputs, chunk, stored.last_ts, generation=generation
            )
            first_changed = int(np.searchsorted(stored_ts, boundary))
        keep = (stored_ts >= chunk) & (stored_ts < boundary)
        new = series.ts >= boundary
        return _Extension(
            stored=stored,
            ts=np.concatenate([stored_ts[keep], series.ts[new]]),
            values=[
                np.concatenate([old[keep], out[new]]) for old, out in zip(stored_values, outputs, strict=True)
            ],
            rows=stored.rows - (len(stored_ts) - first_changed) + int(new.sum()),
            last_ts=int(series.ts[-1]),
            changed_from=_first_difference(
                series.ts[new], [out[new] for out in outputs], stored_ts, stored_values
            ),
            started=started,
        )

    async def _save_extensions(
        self,
        extensions: Sequence[tuple[int, _Extension]],
        specs: Sequence[IndicatorSpec],
        version: SeriesVersion,
    ) -> dict[int, OutputState]:
        """Write every extension's chunks in one insert, then record each."""
        if not extensions:
            return {}
        computed_at = dt.datetime.now(dt.UTC)
        await self.values.write_many(
            [(e.stored.key, specs[i].outputs, e.ts, e.values) for i, e in extensions],
            generation=generation_of(computed_at),
            previous={e.stored.key: generation_of(e.stored.computed_at) for _, e in extensions},
        )
        states: dict[int, OutputState] = {}
        for index, extension in extensions:
            updated = msgspec.structs.replace(
                extension.stored,
                version=_stored_version(version),
                rows=extension.rows,
                last_ts=extension.last_ts,
                computed_at=computed_at,
                duration_ms=(time.perf_counter() - extension.started) * 1000,
            )
            await self.registry.save(updated)
            state = _state(updated, specs[index], "extended", updated.duration_ms)
            states[index] = msgspec.structs.replace(state, changed_from=extension.changed_from)
        return states

    async def read(
        self, state: OutputState, start_ms: int, end_ms: int
    ) -> tuple[np.ndarray[Any, np.dtype[np.int64]], list[Values]]:
        """The stored buckets of ``state`` from ``start_ms`` to ``end_ms`` and each output's values."""
        return await self.values.read(
            state.key, state.spec.outputs, start_ms, end_ms, generation=state.generation
        )

    async def extend_live(
        self,
        ref: SeriesKey,
        span: Span,
        specs: dict[str, IndicatorSpec],
        announced: frozenset[OutputKey] = frozenset(),
    ) -> list[tuple[OutputState, IndicatorCalculated]]:
        """Bring every stored output over ``ref`` up to date after new bars in ``span``; publish each.

        ``specs`` caches parsed specs by text across calls; the outputs in ``announced`` are stored
        but not announced again (the caller announced them already). Returns each state extended
        and its event (with the values of the buckets that changed, newest last).
        """
        events: list[tuple[OutputState, IndicatorCalculated]] = []
        groups: dict[tuple[str, Session], list[IndicatorSpec]] = {}
        for stored in await self.registry.for_series(ref.symbol, ref.series, ref.adjusted):
            spec = specs.get(stored.key.spec)
            if spec is None:
                try:
                    spec = specs[stored.key.spec] = parse_indicator(stored.key.spec)
                except InvalidIndicator:
                    continue
            groups.setdefault((stored.key.width, stored.key.session), []).append(spec)
        states = [
            state
            for (width, session), group in groups.items()
            for state in await self.current(ref, width, session, group, written=span)
        ]
        for state in states:
            if state.how == "reused":
                continue
            since = state.changed_from if state.changed_from is not None else epoch_ms(span[0])
            ts, values = await self.read(state, since, state.last_ts or since)
            tail = slice(max(0, len(ts) - LIVE_POINTS), len(ts))
            points = [
                IndicatorPoint(ts=int(at), values=[None if np.isnan(v[i]) else float(v[i]) for v in values])
                for i, at in zip(range(tail.start, tail.stop), ts[tail], strict=True)
            ]
            event = msgspec.structs.replace(state.event(), live=True, points=points)
            if state.key not in announced:
                await self.publisher.publish(event)
            events.append((state, event))
        return events

    async def forget_series(self, ref: SeriesKey) -> None:
        """Delete every stored output over ``ref`` (its dataset was deleted)."""
        await self.registry.delete_series(ref.symbol, ref.series, ref.adjusted)
        await self.values.delete_series(ref.symbol, ref.series, ref.adjusted)


class _Extension(msgspec.Struct, frozen=True, kw_only=True):
    """An extension computed and not yet written: the whole chunks from the change on."""

    stored: StoredOutput
    ts: np.ndarray[Any, np.dtype[np.int64]]
    values: list[Values]
    rows: int
    last_ts: int
    changed_from: int | None
    started: float


class _BarsSince:
    """The buckets of one series from some bucket on, read once for every extension that needs them."""

    def __init__(self, bars: BarStore, ref: SeriesKey, width: str, session: Session) -> None:
        self.bars, self.ref, self.width, self.session = bars, ref, width, session
        self._read: BucketSeries | None = None

    async def since(self, start_ts: int) -> BucketSeries:
        """Every bucket from ``start_ts`` on (a slice of what was read, when that reaches back far enough)."""
        held = self._read
        if held is None or len(held) == 0 or int(held.ts[0]) > start_ts:
            start = dt.datetime.fromtimestamp(start_ts / 1000, dt.UTC)
            held = self._read = BucketSeries.of(
                await self.bars.bucket_series(self.ref, self.width, self.session, start=start)
            )
        return held.tail(int(np.searchsorted(held.ts, start_ts)))


def _reproduces(
    series: BucketSeries,
    outputs: Sequence[Values],
    stored_ts: np.ndarray[Any, np.dtype[np.int64]],
    stored_values: Sequence[Values],
    first_changed: int,
    settled: int,
) -> list[float] | None:
    """How the new outputs line up with the stored ones on the buckets just before the change.

    Returns, per output, the offset to add to the new values (0 when they agree; the difference
    when it is constant, as for a running total such as OBV counted from a later first bar), or
    None when they do not line up yet.
    """
    check = slice(first_changed - min(CHECKED, settled), first_changed)
    want = stored_ts[check]
    if len(want) == 0:
        return None
    positions = np.searchsorted(series.ts, want)
    if positions[-1] >= len(series) or not np.array_equal(series.ts[positions], want):
        return None
    offsets = []
    for new, old in zip(outputs, stored_values, strict=True):
        before, after = old[check], new[positions]
        scale = float(np.nanmax(np.abs(before))) if np.isfinite(before).any() else 0.0
        tolerance = AGREEMENT * scale
        if np.allclose(after, before, rtol=AGREEMENT, atol=tolerance, equal_nan=True):
            offsets.append(0.0)
            continue
        if not (np.isfinite(before).all() and np.isfinite(after).all()):
            return None
        difference = before - after
        if float(np.ptp(difference)) > tolerance:
            return None
        offsets.append(float(difference[-1]))
    return offsets


def _first_difference(
    ts: np.ndarray[Any, np.dtype[np.int64]],
    values: Sequence[Values],
    stored_ts: np.ndarray[Any, np.dtype[np.int64]],
    stored_values: Sequence[Values],
) -> int | None:
    """The first of ``ts`` that is new or whose values moved from the stored ones (None: none).

    A recompute over a warm-up may move an unchanged bucket's value in its last digits (TA-Lib's
    running sums start elsewhere); that is not a change.
    """
    positions = np.minimum(np.searchsorted(stored_ts, ts), max(len(stored_ts) - 1, 0))
    same = stored_ts[positions] == ts if len(stored_ts) else np.zeros(len(ts), dtype=bool)
    for new, old in zip(values, stored_values, strict=True):
        same &= np.isclose(new, old[positions], rtol=AGREEMENT, atol=0.0, equal_nan=True)
    differs = np.flatnonzero(~same)
    return int(ts[differs[0]]) if differs.size else None


def generation_of(computed_at: dt.datetime) -> str:
    """The tag of outputs written at ``computed_at``: whole microseconds, as the catalog keeps it.

    >>> generation_of(dt.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC))
    '1704164645678901'
    """
    return str((computed_at - _EPOCH) // dt.timedelta(microseconds=1))


_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _state(stored: StoredOutput, spec: IndicatorSpec, how: How, duration_ms: float) -> OutputState:
    return OutputState(
        generation=generation_of(stored.computed_at),
        key=stored.key,
        spec=spec,
        rows=stored.rows,
        first_ts=stored.first_ts,
        last_ts=stored.last_ts,
        stable_from=stored.stable_from,
        how=how,
        duration_ms=duration_ms,
    )
