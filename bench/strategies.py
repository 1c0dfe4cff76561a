"""Strategies: the backtest simulation against NumPy, backtesting.py and vectorbt, as ratios.

1,000,000 synthetic minute bars (a seeded geometric random walk) and the SMA 10/20 crossover's
signals (``long_entry = crossover(sma(close, 10), sma(close, 20))``, ``short_entry`` the other way,
built in NumPy as the strategy language builds them). Every figure is milliseconds per 1M bars,
measured in this run:

- **baseline**: the same always-in-the-market strategy in bare NumPy, one unit per trade: the
  position from the last signal, filled at the next open, equity by ``cumsum`` of the position's
  price changes. (Untimed: :func:`~pipelines.strategies.engine.simulate` with ``units(1)`` gives
  the same equity.)
- ``simulate`` in the default mode (all-equity fractional sizing), best of :data:`RUNS` after a
  warm-up call; also with stops, and in the ``backtesting.py`` mode. The numba compile and the
  cache load are timed apart, each in a fresh interpreter. Each run's trade count must equal the
  warm-up call's and the count the signals imply.
- backtesting.py's own SmaCross (its ``SMA``, its ``crossover``, ``position.close()`` then
  ``buy()``/``sell()``) on the first :data:`BT_BARS` bars, scaled to 1M; our ``backtesting.py`` mode
  must make the same trades there.
- vectorbt ``Portfolio.from_signals`` on the same signals (shifted a bar and priced at the open, so
  fills are next-open too), best of :data:`RUNS` after a warm-up (its compile) call.

``python -m bench strategies``; results in ``bench/results/strategies.json``. Extend
:func:`simulation_figures`'s rows with the whole-run-from-text, end-to-end and sweep measurements.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

import numpy as np
import talib
from numpy.typing import NDArray

from bench.common import report
from pipelines.strategies.engine import EngineMode, Simulation, simulate
from pipelines.strategies.signals import Signals

BARS: Final = 1_000_000
BT_BARS: Final = 100_000
"""backtesting.py runs on this many bars (it is slow) and is scaled to :data:`BARS`."""
RUNS: Final = 7
SEED: Final = 13
CASH: Final = 10_000.0
MINUTE_MS: Final = 60_000
FIRST_TS: Final = 1_577_836_800_000  # 2020-01-01 UTC
TARGET: Final = "≤ 20 ms per 1M bars"
STOPS: Final = {"stop_loss": 0.2, "take_profit": 0.4, "trailing_stop": 0.3}
"""Percents for the run with stops (minute bars move about 0.08% each)."""
STOPS_LABEL: Final = "stop 0.2% / target 0.4% / trail 0.3%"


@dataclass(frozen=True, slots=True)
class MinuteBars:
    """Synthetic 1-minute OHLC bars as contiguous arrays."""

    ts: NDArray[np.int64]
    open: NDArray[np.float64]
    high: NDArray[np.float64]
    low: NDArray[np.float64]
    close: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def head(self, count: int) -> MinuteBars:
        """The first ``count`` bars."""
        return MinuteBars(
            ts=self.ts[:count],
            open=self.open[:count],
            high=self.high[:count],
            low=self.low[:count],
            close=self.close[:count],
        )


async def main() -> None:
    from bench.strategy_runs import (
        end_to_end_figures,
        language_figures,
        screen_figures,
    )  # imports this module

    bars = random_walk_bars(BARS, SEED)
    rows = simulation_figures(bars)
    print(f"\nstrategies: ms per {BARS:,} bars, each against a baseline measured in the same run\n")
    report("strategies", rows)
    runs = language_figures(bars) + await end_to_end_figures(bars) + await screen_figures()
    print(f"\nstrategy runs over {BARS:,} bars, each against a baseline measured in the same run\n")
    report("strategy_runs", runs)


def simulation_figures(bars: MinuteBars) -> list[dict[str, Any]]:
    """The simulation's rows: the NumPy baseline, ``simulate`` (runs, compile, cache load), the libraries."""
    scale = BARS / len(bars)
    signals = crossover_signals(bars.close, 10, 20)
    expected = int(np.count_nonzero((signals.long_entry | signals.short_entry)[:-1]))

    numpy_ms = best_ms(lambda: numpy_crossover_equity(bars, signals), RUNS) * scale
    unit = replace(signals, size=np.ones(len(bars)), size_in_units=True)
    assert np.allclose(_run(bars, unit).equity, numpy_crossover_equity(bars, signals), rtol=1e-9, atol=1e-6)

    compile_s, load_s = _compile_and_load_seconds()
    simulate_ms, trades = _simulation_ms(bars, signals, "default", expected)
    stops = replace(signals, **{name: np.full(len(bars), percent) for name, percent in STOPS.items()})
    stops_ms, _ = _simulation_ms(bars, stops, "default", None)
    bt_mode_ms, _ = _simulation_ms(bars, signals, "backtesting.py", expected)
    simulate_ms, stops_ms, bt_mode_ms = simulate_ms * scale, stops_ms * scale, bt_mode_ms * scale

    backtesting_ms, bt_trades, ours_bt_trades = _backtesting_py(bars.head(min(BT_BARS, len(bars))), signals)
    assert bt_trades == ours_bt_trades, (bt_trades, ours_bt_trades)
    backtesting_ms *= BARS / min(BT_BARS, len(bars))
    vectorbt_ms, vectorbt_trades = _vectorbt(bars, signals)
    vectorbt_ms *= scale

    print(
        f"{len(bars):,} bars, {expected:,} trades implied by the signals; simulate: {trades:,}, "
        f"vectorbt: {vectorbt_trades:,}; backtesting.py on {min(BT_BARS, len(bars)):,} bars: "
        f"{bt_trades} closed trades, ours in its mode: {ours_bt_trades}",
        flush=True,
    )
    baseline = "bare NumPy crossover (cumsum)"
    return [
        _row("bare NumPy crossover, 1 unit, equity by cumsum", numpy_ms, baseline, numpy_ms, "-"),
        _row("simulate, default mode (all equity, fractional)", simulate_ms, baseline, numpy_ms, TARGET),
        _row("simulate, default mode, with " + STOPS_LABEL, stops_ms, baseline, numpy_ms, TARGET),
        _row("simulate, backtesting.py mode", bt_mode_ms, baseline, numpy_ms, TARGET),
        _row("simulate: numba compile, empty cache (ms, once)", compile_s * 1000, baseline, numpy_ms, "-"),
        _row("simulate: first call of a process, cached (ms)", load_s * 1000, baseline, numpy_ms, "-"),
        _row(f"backtesting.py SmaCross ({BT_BARS:,} bars, scaled)", backtesting_ms, baseline, numpy_ms, "-"),
        _row("vectorbt Portfolio.from_signals", vectorbt_ms, baseline, numpy_ms, "-"),
    ]


# --- data and signals ------------------------------------------------------------------------------


def random_walk_bars(count: int, seed: int) -> MinuteBars:
    """``count`` minute bars of a seeded geometric random walk (each open the previous close)."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.0008, count)))
    open_ = np.empty(count)
    open_[0] = 100.0
    open_[1:] = close[:-1]
    wick = np.abs(rng.normal(0.0, 0.0004, (2, count)))
    return MinuteBars(
        ts=FIRST_TS + np.arange(count, dtype=np.int64) * MINUTE_MS,
        open=open_,
        high=np.maximum(open_, close) * (1.0 + wick[0]),
        low=np.minimum(open_, close) * (1.0 - wick[1]),
        close=close,
    )


def crossover(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.bool_]:
    """``a`` above ``b`` now and at or below it on the bar before (the language's ``crossover``)."""
    crossed = np.zeros(a.shape[0], dtype=np.bool_)
    crossed[1:] = (a[1:] > b[1:]) & (a[:-1] <= b[:-1])
    return crossed


def crossover_signals(close: NDArray[np.float64], fast: int, slow: int) -> Signals:
    """SMA ``fast``/``slow`` crossover: long on the cross up, short on the cross down."""
    fast_sma, slow_sma = talib.SMA(close, fast), talib.SMA(close, slow)
    none = np.zeros(close.shape[0], dtype=np.bool_)
    nan = np.full(close.shape[0], np.nan)
    return Signals(
        long_entry=crossover(fast_sma, slow_sma),
        long_exit=none,
        short_entry=crossover(slow_sma, fast_sma),
        short_exit=none,
        stop_loss=nan,
        take_profit=nan,
        trailing_stop=nan,
        size=nan,
        size_in_units=False,
        series={},
    )


def _run(bars: MinuteBars, signals: Signals, mode: EngineMode = "default") -> Simulation:
    return simulate(bars.ts, bars.open, bars.high, bars.low, bars.close, signals, cash=CASH, mode=mode)


def _simulation_ms(
    bars: MinuteBars, signals: Signals, mode: EngineMode, expected: int | None
) -> tuple[float, int]:
    """Best ms of :data:`RUNS` ``simulate`` calls after an untimed reference call, and its trade count.

    Every timed call must make as many trades as the reference, and the reference ``expected`` (when given).
    """
    reference = len(_run(bars, signals, mode).trades)
    assert expected is None or reference == expected, (mode, reference, expected)
    samples = []
    for _ in range(RUNS):
        began = time.perf_counter()
        simulation = _run(bars, signals, mode)
        samples.append((time.perf_counter() - began) * 1000)
        assert len(simulation.trades) == reference, (mode, len(simulation.trades), reference)
    return min(samples), reference


# --- the baseline ----------------------------------------------------------------------------------


def numpy_crossover_equity(bars: MinuteBars, signals: Signals) -> NDArray[np.float64]:
    """Equity of one unit always in the market, from the last signal on, filled at the next open."""
    n = len(bars)
    direction = signals.long_entry.view(np.int8) - signals.short_entry.view(np.int8)
    last = np.arange(n)
    last[direction == 0] = 0
    np.maximum.accumulate(last, out=last)  # the bar of the latest signal (0 before any)
    held = np.empty(n)
    held[0] = 0.0
    held[1:] = direction[last[:-1]]  # from the open after the signal
    change = bars.close - bars.open
    change *= held
    gap = bars.open[1:] - bars.close[:-1]  # the gap to the next open belongs to the old position
    gap *= held[:-1]
    change[1:] += gap
    return CASH + np.cumsum(change)


# --- the other libraries ---------------------------------------------------------------------------


def _backtesting_py(bars: MinuteBars, signals: Signals) -> tuple[float, int, int]:
    """backtesting.py's documented SmaCross on ``bars``: ms, its closed trades, ours in its mode."""
    import pandas as pd
    from backtesting import Backtest, Strategy  # type: ignore[import-untyped]
    from backtesting.lib import crossover as bt_crossover  # type: ignore[import-untyped]
    from backtesting.test import SMA  # type: ignore[import-untyped]

    class SmaCross(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.fast = self.I(SMA, self.data.Close, 10)
            self.slow = self.I(SMA, self.data.Close, 20)

        def next(self) -> None:
            if bt_crossover(self.fast, self.slow):
                self.position.close()
                self.buy()
            elif bt_crossover(self.slow, self.fast):
                self.position.close()
                self.sell()

    frame = pd.DataFrame(
        {"Open": bars.open, "High": bars.high, "Low": bars.low, "Close": bars.close},
        index=pd.to_datetime(bars.ts, unit="ms"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        began = time.perf_counter()
        stats = Backtest(frame, SmaCross, cash=CASH, commission=0.002).run()
        ms = (time.perf_counter() - began) * 1000
    head = signals_head(signals, len(bars))
    ours = simulate(
        bars.ts, bars.open, bars.high, bars.low, bars.close, head, cash=CASH, commission=0.002,
        mode="backtesting.py",
    )  # fmt: skip
    closed = int(np.count_nonzero(ours.trades.exit_bar >= 0))
    return ms, len(stats._trades), closed


def signals_head(signals: Signals, count: int) -> Signals:
    """The first ``count`` bars of ``signals``."""
    rules = ("long_entry", "long_exit", "short_entry", "short_exit", "stop_loss", "take_profit")
    arrays = {name: getattr(signals, name)[:count] for name in (*rules, "trailing_stop", "size")}
    return replace(
        signals, **arrays, series={name: values[:count] for name, values in signals.series.items()}
    )


def _vectorbt(bars: MinuteBars, signals: Signals) -> tuple[float, int]:
    """ms of ``Portfolio.from_signals`` (after a compiling warm-up) and its trade count."""
    import vectorbt as vbt  # type: ignore[import-untyped]

    def shifted(flags: NDArray[np.bool_]) -> NDArray[np.bool_]:
        moved = np.zeros_like(flags)
        moved[1:] = flags[:-1]
        return moved

    long_entries, short_entries = shifted(signals.long_entry), shifted(signals.short_entry)

    def run() -> Any:
        return vbt.Portfolio.from_signals(
            bars.close, entries=long_entries, short_entries=short_entries, price=bars.open, init_cash=CASH
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ms = best_ms(run, RUNS)
        trades = int(run().trades.count())
    return ms, trades


# --- timing ----------------------------------------------------------------------------------------

_FIRST_CALL = """
import time
import numpy as np
from pipelines.strategies.engine import simulate
from pipelines.strategies.signals import Signals
n = 50
prices = np.linspace(100.0, 110.0, n)
flags = np.zeros(n, dtype=np.bool_)
flags[5] = True
nan = np.full(n, np.nan)
signals = Signals(flags, flags, flags, flags, nan, nan, nan, nan, False, {})
began = time.perf_counter()
simulate(np.arange(n, dtype=np.int64), prices, prices, prices, prices, signals, cash=1000.0)
print(time.perf_counter() - began)
"""


def _compile_and_load_seconds() -> tuple[float, float]:
    """The first ``simulate`` call of a fresh interpreter: with an empty numba cache, then with it filled."""
    with tempfile.TemporaryDirectory(prefix="k2q-numba-") as cache:
        environment = {**os.environ, "NUMBA_CACHE_DIR": cache}
        root = Path(__file__).resolve().parent.parent

        def first_call() -> float:
            done = subprocess.run(
                [sys.executable, "-c", _FIRST_CALL],
                env=environment,
                cwd=root,
                capture_output=True,
                check=True,
            )
            return float(done.stdout.decode().split()[-1])

        return first_call(), first_call()


def best_ms(fn: Callable[[], object], runs: int = RUNS) -> float:
    """The fastest of ``runs`` calls of ``fn`` after a warm-up call, in ms."""
    fn()  # warm-up
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    return min(samples)


def _row(measurement: str, ms: float, baseline: str, baseline_ms: float, target: str) -> dict[str, Any]:
    return {
        "measurement": measurement,
        "ms per 1M bars": ms,
        "baseline": baseline,
        "baseline ms": baseline_ms,
        "ratio": ms / baseline_ms,
        "target": target,
    }
