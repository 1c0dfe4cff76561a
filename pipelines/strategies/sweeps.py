"""Parameter sweeps and walk-forward analysis over one series.

A sweep evaluates every combination of a grid; indicators are shared across combinations through
one :class:`IndicatorCache` (``sma(close, fast)`` is computed once per distinct ``fast``), so a
100-combination sweep costs about 100 simulations, not 100 indicator passes.

Walk-forward splits the series into ``folds`` consecutive out-of-sample windows, each preceded by
an in-sample window: the grid is optimised in sample, and the winner is tested on the next,
unseen window. Signals are causal (the look-ahead audit checks it), so each combination's signals
are computed once over the whole series and simulated on each window; a window starts flat.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Final

import numpy as np

from pipelines.errors import PipelineClientError
from pipelines.strategies.backtest import Backtest, BacktestSettings, head, signals_slice, simulate_signals
from pipelines.strategies.language.evaluate import IndicatorCache, StrategyInputs, evaluate, resolve_params
from pipelines.strategies.language.syntax import Program
from pipelines.strategies.signals import Signals
from schemas.strategies import SweepResult, SweepRow, WalkForwardFold, WalkForwardResult

MAX_COMBINATIONS: Final = 10_000
_IN_FLIGHT: Final = 3
"""Combinations evaluated ahead of their simulation (each holds its signals: a few arrays of bars)."""
LOWER_IS_BETTER: Final = frozenset({"volatility_pct", "max_drawdown_duration_bars"})
"""Metrics where less is better; every other one ranks higher first (drawdowns are negative)."""

Progress = Callable[[int, int], None]


class InvalidGrid(PipelineClientError):
    """A sweep grid names an undeclared parameter, a value out of range, or too many combinations."""


def combinations(
    program: Program, base: Mapping[str, float], grid: Mapping[str, Sequence[float]]
) -> list[dict[str, float]]:
    """Every parameter set of ``grid`` over ``base`` (each checked against its declaration).

    Raises:
        InvalidGrid: an undeclared name, too many combinations.
        StrategyError: a value out of its parameter's range or not whole.
    """
    declared = {spec.name for spec in program.parameters}
    unknown = sorted(set(grid) - declared)
    if unknown:
        raise InvalidGrid(
            f"the grid names {', '.join(unknown)}, which the strategy does not declare"
            f" (it declares {', '.join(sorted(declared)) or 'no parameters'})"
        )
    axes = {name: list(dict.fromkeys(values)) for name, values in grid.items()}
    total = int(np.prod([len(values) for values in axes.values()])) if axes else 1
    if total > MAX_COMBINATIONS:
        raise InvalidGrid(
            f"the grid has {total:,} combinations; at most {MAX_COMBINATIONS:,} run in one sweep"
        )
    names = list(axes)
    return [
        resolve_params(program, {**base, **dict(zip(names, values, strict=True))})
        for values in itertools.product(*(axes[name] for name in names))
    ]


def _score(metrics: Mapping[str, float | None], metric: str) -> float:
    value = metrics.get(metric)
    if value is None:
        return -np.inf
    return -value if metric in LOWER_IS_BETTER else value


def sweep(
    program: Program,
    inputs: StrategyInputs,
    combos: Sequence[dict[str, float]],
    settings: BacktestSettings,
    metric: str,
    grid: Mapping[str, Sequence[float]],
    progress: Progress | None = None,
) -> SweepResult:
    """Backtest every combination; rows ranked by ``metric``, best first.

    Pipelined on two cores: this thread evaluates the next combination's signals (its indicator
    cache is not shared between threads) while a helper thread simulates the one before (the
    compiled loop releases the GIL).
    """
    cache = IndicatorCache()
    rows = []
    pending: deque[tuple[dict[str, float], Future[Backtest]]] = deque()

    def collect() -> None:
        params, future = pending.popleft()
        rows.append(SweepRow(params={name: params[name] for name in grid}, metrics=future.result().metrics))
        if progress is not None:
            progress(len(rows), len(combos))

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sweep") as simulations:
        for params in combos:
            signals = evaluate(program, inputs, params, cache)
            pending.append((params, simulations.submit(simulate_signals, inputs.bars, signals, settings)))
            if len(pending) > _IN_FLIGHT:
                collect()
        while pending:
            collect()
    rows.sort(key=lambda row: _score(row.metrics, metric), reverse=True)
    return SweepResult(
        metric=metric, axes={name: list(dict.fromkeys(values)) for name, values in grid.items()}, rows=rows
    )


def fold_bounds(bars: int, folds: int, in_sample_ratio: float) -> list[tuple[int, int, int]]:
    """``(in_sample_start, out_of_sample_start, out_of_sample_end)`` of each fold.

    The out-of-sample windows are consecutive and end at the last bar; each in-sample window is
    ``in_sample_ratio / (1 - in_sample_ratio)`` times as long and ends where its test begins.
    """
    ratio = in_sample_ratio / (1 - in_sample_ratio)
    test = int(bars / (folds + ratio))
    train = int(test * ratio)
    if test < 2 or train < 2:
        raise InvalidGrid(f"{bars:,} bars are too few for {folds} walk-forward folds")
    end = bars
    bounds = []
    for _ in range(folds):
        start = end - test
        bounds.append((max(0, start - train), start, end))
        end = start
    return bounds[::-1]


def _time(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def walk_forward(
    program: Program,
    inputs: StrategyInputs,
    combos: Sequence[dict[str, float]],
    settings: BacktestSettings,
    metric: str,
    grid: Mapping[str, Sequence[float]],
    folds: int,
    in_sample_ratio: float,
    progress: Progress | None = None,
) -> WalkForwardResult:
    """Optimise in each fold's in-sample window, test the winner on its out-of-sample window."""
    bars = inputs.bars
    bounds = fold_bounds(len(bars), folds, in_sample_ratio)
    cache = IndicatorCache()
    signals: list[Signals] = [evaluate(program, inputs, params, cache) for params in combos]
    results = []
    for done, (train_start, test_start, test_end) in enumerate(bounds, 1):
        train_bars = head(bars, test_start, train_start)
        scored = [
            (simulate_signals(train_bars, signals_slice(each, train_start, test_start), settings).metrics, i)
            for i, each in enumerate(signals)
        ]
        best_metrics, best = max(scored, key=lambda pair: (_score(pair[0], metric), -pair[1]))
        tested = simulate_signals(
            head(bars, test_end, test_start), signals_slice(signals[best], test_start, test_end), settings
        )
        results.append(
            WalkForwardFold(
                in_sample_from=_time(int(bars.ts[train_start])),
                in_sample_to=_time(int(bars.ts[test_start - 1])),
                out_of_sample_from=_time(int(bars.ts[test_start])),
                out_of_sample_to=_time(int(bars.ts[test_end - 1])),
                params={name: combos[best][name] for name in grid},
                in_sample=best_metrics,
                out_of_sample=tested.metrics,
            )
        )
        if progress is not None:
            progress(done, len(bounds))

    def mean(side: str) -> float | None:
        values = [getattr(fold, side).get(metric) for fold in results]
        present = [value for value in values if value is not None]
        return float(np.mean(present)) if present else None

    return WalkForwardResult(
        metric=metric,
        folds=results,
        in_sample_mean=mean("in_sample"),
        out_of_sample_mean=mean("out_of_sample"),
    )
