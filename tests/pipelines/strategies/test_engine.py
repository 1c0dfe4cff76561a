"""The simulation on hand-worked backtests of a few bars: every number below is worked out in a comment.

Bars are ``(open, high, low, close)``; signals name the bars they are true on. Cash is 1,000 unless
a test says otherwise; signals act at the next bar's open.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
import pytest

from pipelines.strategies.engine import EXIT_REASONS, EngineMode, Simulation, simulate
from pipelines.strategies.signals import Signals

Bar = tuple[float, float, float, float]
RISING: list[Bar] = [
    (10, 10.6, 9.9, 10.5),
    (11, 11.6, 10.9, 11.5),
    (12, 12.6, 11.9, 12.5),
    (13, 13.6, 12.9, 13.5),
    (14, 14.6, 13.9, 14.5),
]
FALLING: list[Bar] = [
    (20, 20.1, 19.4, 19.5),
    (19, 19.1, 18.4, 18.5),
    (18, 18.1, 17.4, 17.5),
    (17, 17.1, 16.4, 16.5),
    (16, 16.1, 15.4, 15.5),
]


def signals(
    n: int,
    *,
    long_entry: Sequence[int] = (),
    long_exit: Sequence[int] = (),
    short_entry: Sequence[int] = (),
    short_exit: Sequence[int] = (),
    stop_loss: float = np.nan,
    take_profit: float = np.nan,
    trailing_stop: float = np.nan,
    size: float = np.nan,
    units: float | None = None,
) -> Signals:
    def flags(bars: Sequence[int]) -> np.ndarray:
        out = np.zeros(n, dtype=np.bool_)
        out[list(bars)] = True
        return out

    return Signals(
        long_entry=flags(long_entry),
        long_exit=flags(long_exit),
        short_entry=flags(short_entry),
        short_exit=flags(short_exit),
        stop_loss=np.full(n, stop_loss),
        take_profit=np.full(n, take_profit),
        trailing_stop=np.full(n, trailing_stop),
        size=np.full(n, size if units is None else units),
        size_in_units=units is not None,
        series={},
    )


def run(
    rows: Sequence[Bar],
    *,
    cash: float = 1000.0,
    commission: float = 0.0,
    slippage: float = 0.0,
    mode: EngineMode = "default",
    **rules: object,
) -> Simulation:
    n = len(rows)
    columns = np.array(rows, dtype=np.float64).reshape(n, 4).T.copy()
    ts = np.arange(n, dtype=np.int64) * 86_400_000
    return simulate(
        ts, columns[0], columns[1], columns[2], columns[3], signals(n, **rules),
        cash=cash, commission=commission, slippage=slippage, mode=mode,
    )  # fmt: skip


def only_trade(simulation: Simulation) -> dict[str, object]:
    trades = simulation.trades
    assert len(trades) == 1, len(trades)
    return {
        "entry_bar": int(trades.entry_bar[0]),
        "exit_bar": int(trades.exit_bar[0]),
        "entry_price": float(trades.entry_price[0]),
        "exit_price": float(trades.exit_price[0]),
        "size": float(trades.size[0]),
        "pnl": float(trades.pnl[0]),
        "return_pct": float(trades.return_pct[0]),
        "reason": trades.reasons()[0],
        "commission": float(trades.commission[0]),
    }


def approx(value: float) -> object:
    return pytest.approx(value, rel=1e-12, abs=1e-12)


# --- fills, sizing, costs --------------------------------------------------------------------------


def test_signals_fill_at_the_next_open_with_all_the_equity() -> None:
    simulation = run(RISING, long_entry=[0], long_exit=[2])
    units = 1000 / 11  # bar 0's signal fills at bar 1's open, 11: 90.909 units
    assert only_trade(simulation) == {
        "entry_bar": 1,
        "exit_bar": 3,  # bar 2's exit fills at bar 3's open, 13
        "entry_price": 11.0,
        "exit_price": 13.0,
        "size": approx(units),
        "pnl": approx(units * 2),  # 181.82
        "return_pct": approx(2 / 11 * 100),  # 18.18%
        "reason": "signal",
        "commission": 0.0,
    }
    # marked at each close: 1,000 flat; 90.909 × 11.5; × 12.5; then cash 1,181.82 flat
    assert simulation.equity == pytest.approx([1000, units * 11.5, units * 12.5, units * 13, units * 13])
    assert simulation.position == pytest.approx([0, units, units, 0, 0])


def test_commission_is_paid_on_both_fills_and_sizing_leaves_room_for_it() -> None:
    simulation = run(RISING, commission=0.01, long_entry=[0], long_exit=[2])
    units = 1000 / (11 * 1.01)  # 90.009: units × 11 plus 1% of it is the whole 1,000
    entry_fee = 0.01 * units * 11  # 9.90
    exit_fee = 0.01 * units * 13  # 11.70
    pnl = units * 2 - entry_fee - exit_fee  # 180.02 − 21.60 = 158.42
    trade = only_trade(simulation)
    assert trade["size"] == approx(units)
    assert trade["commission"] == approx(entry_fee + exit_fee)
    assert trade["pnl"] == approx(pnl)
    assert trade["return_pct"] == approx(pnl / (units * 11) * 100)
    assert simulation.equity[1] == approx(1000 - entry_fee + units * 0.5)  # 1,035.10 at bar 1's close
    assert simulation.equity[-1] == approx(1000 + pnl)


def test_slippage_moves_each_fill_against_the_trade() -> None:
    simulation = run(RISING, slippage=0.02, long_entry=[0], long_exit=[2])
    # buys at 11 × 1.02 = 11.22 (1,000 / 11.22 = 89.127 units), sells at 13 × 0.98 = 12.74
    units = 1000 / 11.22
    trade = only_trade(simulation)
    assert (trade["entry_price"], trade["exit_price"]) == (approx(11.22), approx(12.74))
    assert trade["pnl"] == approx(units * (12.74 - 11.22))  # 135.47
    assert simulation.equity[-1] == approx(1000 + units * 1.52)


def test_a_fraction_of_equity_or_a_number_of_units() -> None:
    half = only_trade(run(RISING, size=0.5, long_entry=[0], long_exit=[2]))
    assert half["size"] == approx(500 / 11)  # 45.45 units
    assert half["pnl"] == approx(500 / 11 * 2)  # 90.91
    simulation = run(RISING, units=30, long_entry=[0], long_exit=[2])
    assert only_trade(simulation)["size"] == 30
    assert only_trade(simulation)["pnl"] == approx(60)  # 30 × (13 − 11)
    assert simulation.equity[1] == approx(1015)  # 1,000 + 30 × (11.5 − 11)
    assert len(run(RISING, size=0.0, long_entry=[0]).trades) == 0  # nothing to buy


def test_a_short_gains_as_the_price_falls() -> None:
    trade = only_trade(run(FALLING, short_entry=[0], short_exit=[2]))
    units = 1000 / 19  # sold at bar 1's open, 19: 52.63 units
    assert trade["size"] == approx(-units)
    assert (trade["entry_bar"], trade["exit_bar"], trade["exit_price"]) == (1, 3, 17.0)
    assert trade["pnl"] == approx(units * 2)  # bought back at 17: 105.26
    assert trade["return_pct"] == approx(2 / 19 * 100)


def test_an_opposite_entry_reverses_and_the_last_trade_stays_open() -> None:
    rows: list[Bar] = [
        (10, 10, 10, 10),
        (10, 10.6, 9.9, 10.5),
        (11, 11.6, 10.9, 11.5),
        (12, 12.3, 11.9, 12.2),
        (12.5, 12.6, 12.3, 12.4),
        (12, 12.1, 10.9, 11),
    ]
    simulation = run(rows, long_entry=[0], short_entry=[2])
    trades = simulation.trades
    assert trades.reasons() == ["reverse", "end"]
    # long 100 units at bar 1's open, 10; bar 2's short entry closes it at bar 3's open, 12: +200
    assert trades.entry_bar.tolist() == [1, 3]
    assert trades.exit_bar.tolist() == [3, -1]
    assert trades.size.tolist() == pytest.approx([100, -100])  # 1,200 of equity short at 12
    assert trades.pnl.tolist() == pytest.approx([200, 100])  # the short, open, valued at the last close 11
    assert trades.exit_price.tolist() == pytest.approx([12, 11])
    assert simulation.equity[-1] == approx(1300)
    assert simulation.position.tolist() == pytest.approx([0, 100, 100, -100, -100, -100])


def test_conflicting_rules_on_one_bar() -> None:
    assert len(run(RISING, long_entry=[0], short_entry=[0]).trades) == 0  # ambiguous: neither
    assert len(run(RISING, long_entry=[0], long_exit=[0]).trades) == 0  # the exit wins
    # long from bar 1; at bar 2 an entry and an exit of the long side: the exit wins (out at bar 3)
    assert only_trade(run(RISING, long_entry=[0, 2], long_exit=[2]))["exit_bar"] == 3
    # long; a short entry with a short exit on one bar is no short entry: the long stays
    assert only_trade(run(RISING, long_entry=[0], short_entry=[2], short_exit=[2]))["reason"] == "end"


def test_a_signal_on_the_last_bar_does_nothing() -> None:
    simulation = run(RISING, long_entry=[4])
    assert len(simulation.trades) == 0
    assert simulation.equity.tolist() == [1000.0] * 5
    exit_last = run(RISING, long_entry=[0], long_exit=[4])
    assert only_trade(exit_last)["reason"] == "end"


def test_the_open_trade_at_the_end_is_valued_at_the_last_close() -> None:
    simulation = run(RISING, commission=0.01, long_entry=[0])
    units = 1000 / (11 * 1.01)
    entry_fee = 0.01 * units * 11
    assert only_trade(simulation) == {
        "entry_bar": 1,
        "exit_bar": -1,
        "entry_price": 11.0,
        "exit_price": 14.5,  # the last close; no exit fee
        "size": approx(units),
        "pnl": approx(units * 3.5 - entry_fee),
        "return_pct": approx((units * 3.5 - entry_fee) / (units * 11) * 100),
        "reason": "end",
        "commission": approx(entry_fee),
    }
    assert simulation.equity[-1] == approx(1000 + units * 3.5 - entry_fee)


def test_equity_at_zero_ends_the_run() -> None:
    rows: list[Bar] = [(10, 10, 10, 10), (10, 15, 10, 15), (15, 21, 15, 21), (21, 22, 20, 20)]
    simulation = run(rows, units=100, short_entry=[0])
    # short 100 at 10: equity 1,000 − 100 × 5 = 500 at bar 1; −100 at bar 2's close → closed there
    assert simulation.equity.tolist() == pytest.approx([1000, 500, 0, 0])
    assert simulation.position.tolist() == pytest.approx([0, -100, 0, 0])
    trade = only_trade(simulation)
    assert (trade["exit_bar"], trade["exit_price"], trade["reason"]) == (2, 21.0, "end")
    assert trade["pnl"] == approx(-1100)


# --- stops ----------------------------------------------------------------------------------------

FLAT: Bar = (100, 100, 100, 100)


def test_stop_loss_at_its_level() -> None:
    rows: list[Bar] = [FLAT, (100, 102, 97, 101), (99, 100, 94, 96), FLAT]
    trade = only_trade(run(rows, stop_loss=5, long_entry=[0]))
    # 10 units at 100; the stop sits at 95; bar 1's low 97 holds, bar 2's low 94 reaches it
    assert (trade["exit_bar"], trade["exit_price"], trade["reason"]) == (2, approx(95), "stop_loss")
    assert trade["pnl"] == approx(-50)


def test_a_gap_through_the_stop_fills_at_the_open() -> None:
    rows: list[Bar] = [FLAT, (100, 102, 97, 101), (93, 94, 90, 92), FLAT]
    trade = only_trade(run(rows, stop_loss=5, long_entry=[0]))
    assert (trade["exit_bar"], trade["exit_price"], trade["reason"]) == (2, 93.0, "stop_loss")
    assert trade["pnl"] == approx(-70)


def test_the_stop_is_live_on_the_entry_bar_and_pays_slippage_and_commission() -> None:
    rows: list[Bar] = [FLAT, (100, 101, 94, 96), FLAT]
    simulation = run(rows, stop_loss=5, slippage=0.01, commission=0.001, long_entry=[0])
    trade = only_trade(simulation)
    fill = 101.0  # 100 × 1.01
    units = 1000 / (fill * 1.001)
    level = fill * 0.95  # 95.95, reached by bar 1's low 94 in the entry bar
    exit_fill = level * 0.99  # sold with slippage: 94.99
    assert (trade["exit_bar"], trade["reason"]) == (1, "stop_loss")
    assert trade["exit_price"] == approx(exit_fill)
    assert trade["commission"] == approx(0.001 * units * (fill + exit_fill))
    assert trade["pnl"] == approx(units * (exit_fill - fill) - 0.001 * units * (fill + exit_fill))


def test_take_profit_at_its_level_or_a_better_open() -> None:
    rows: list[Bar] = [FLAT, (100, 104, 99, 103), (105, 111, 104, 108), FLAT]
    trade = only_trade(run(rows, take_profit=10, long_entry=[0]))
    assert (trade["exit_bar"], trade["exit_price"], trade["reason"]) == (2, approx(110), "take_profit")
    assert trade["pnl"] == approx(100)  # 10 units × 10
    gapped: list[Bar] = [FLAT, (100, 104, 99, 103), (112, 113, 111, 112), FLAT]
    assert only_trade(run(gapped, take_profit=10, long_entry=[0]))["exit_price"] == 112.0


def test_a_short_stop_and_target() -> None:
    rows: list[Bar] = [FLAT, (100, 103, 99, 102), (102, 106, 101, 105), FLAT]
    trade = only_trade(run(rows, stop_loss=5, short_entry=[0]))
    # short 10 at 100, stop at 105 reached by bar 2's high 106: −50
    assert (trade["exit_bar"], trade["exit_price"], trade["pnl"]) == (2, approx(105), approx(-50))
    falling: list[Bar] = [FLAT, (100, 101, 96, 97), (97, 98, 89, 90), FLAT]
    trade = only_trade(run(falling, take_profit=10, short_entry=[0]))
    assert (trade["exit_bar"], trade["exit_price"], trade["pnl"]) == (2, approx(90), approx(100))


def test_trailing_stop_follows_the_highest_high_up_to_the_bar_before() -> None:
    rows: list[Bar] = [FLAT, (100, 105, 98, 104), (104, 120, 100, 118), (115, 116, 107, 110), FLAT]
    trade = only_trade(run(rows, trailing_stop=10, stop_loss=5, long_entry=[0]))
    # bar 1 (entry at 100): level 90; bar 2: 10% under bar 1's high 105 = 94.5 (low 100 holds);
    # bar 3: 10% under 120 = 108, above the 95 stop-loss, reached by the low 107
    assert (trade["exit_bar"], trade["exit_price"], trade["reason"]) == (3, approx(108), "trailing_stop")
    assert trade["pnl"] == approx(80)


def test_stop_and_target_in_one_bar_take_the_stop() -> None:
    rows: list[Bar] = [FLAT, (100, 102, 98, 101), (100, 112, 94, 105), FLAT]
    trade = only_trade(run(rows, stop_loss=5, take_profit=10, long_entry=[0]))
    assert (trade["exit_bar"], trade["exit_price"], trade["reason"]) == (2, approx(95), "stop_loss")


# --- the backtesting.py mode -----------------------------------------------------------------------

STEPS: list[Bar] = [
    (29, 29.5, 28.5, 29),
    (29, 29.5, 28.5, 29),
    (30, 30.5, 29.5, 30),
    (31, 31.5, 30.5, 31),
    (33, 33.5, 32.5, 33),
]


def test_backtesting_py_whole_units_and_commission_twice() -> None:
    simulation = run(STEPS, commission=0.01, mode="backtesting.py", long_entry=[1], long_exit=[3])
    # a unit costs 30 + 1% of 30 = 30.3: int(1,000 × (1 − ε) // 30.3) = 33 units (999.90)
    assert int(1000 * (1 - sys.float_info.epsilon) // 30.3) == 33
    fees = 33 * 30 * 0.01 + 33 * 33 * 0.01  # 9.90 at the entry, 10.89 at the exit
    assert only_trade(simulation) == {
        "entry_bar": 2,
        "exit_bar": 4,
        "entry_price": 30.0,
        "exit_price": 33.0,
        "size": 33.0,
        "pnl": approx(33 * 3 - fees),  # 78.21
        "return_pct": approx(((33 / 30 - 1) - fees / (33 * 30)) * 100),  # 7.9%
        "reason": "signal",
        "commission": approx(fees),
    }
    assert simulation.equity[-1] == approx(1000 + 33 * 3 - fees)


def test_backtesting_py_spread_on_the_entry_only_and_no_signal_on_bar_0() -> None:
    trade = only_trade(run(STEPS, slippage=0.01, mode="backtesting.py", long_entry=[1], long_exit=[3]))
    # entry at 30 × 1.01 = 30.3 (33 units), exit at the raw open 33
    assert (trade["entry_price"], trade["exit_price"], trade["size"]) == (approx(30.3), 33.0, 33.0)
    assert trade["pnl"] == approx(33 * (33 - 30.3))
    assert len(run(STEPS, mode="backtesting.py", long_entry=[0]).trades) == 0
    assert len(run(STEPS, mode="default", long_entry=[0]).trades) == 1


def test_backtesting_py_units() -> None:
    trade = only_trade(run(STEPS, units=10.7, mode="backtesting.py", long_entry=[1]))
    assert trade["size"] == 10.0  # whole units
    assert len(run(STEPS, units=40, mode="backtesting.py", long_entry=[1]).trades) == 0  # 1,200 > 1,000


def test_backtesting_py_stops_from_the_signal_close() -> None:
    rows: list[Bar] = [FLAT, FLAT, (102, 103, 96, 97), (96, 97, 94, 95), FLAT]
    trade = only_trade(run(rows, stop_loss=5, mode="backtesting.py", long_entry=[1]))
    # buy(sl=100 × 0.95): the level is 95 whatever the fill (102); bar 3's low 94 reaches it
    assert (trade["entry_price"], trade["exit_bar"], trade["exit_price"]) == (102.0, 3, approx(95))
    gapped: list[Bar] = [FLAT, FLAT, (102, 103, 96, 97), (93, 97, 92, 95), FLAT]
    assert only_trade(run(gapped, stop_loss=5, mode="backtesting.py", long_entry=[1]))["exit_price"] == 93.0
    both: list[Bar] = [FLAT, FLAT, (102, 112, 94, 97), FLAT]
    trade = only_trade(run(both, stop_loss=5, take_profit=10, mode="backtesting.py", long_entry=[1]))
    assert (trade["exit_bar"], trade["exit_price"], trade["reason"]) == (2, approx(95), "stop_loss")


def test_backtesting_py_trailing_stop_from_each_close_from_the_next_bar() -> None:
    rows: list[Bar] = [FLAT, FLAT, (100, 111, 80, 110), (110, 111, 100, 104), (104, 105, 98, 99), FLAT]
    trade = only_trade(run(rows, trailing_stop=10, mode="backtesting.py", long_entry=[1]))
    # no stop in the entry bar (its low 80 passes); after it, sl = 110 × 0.9 = 99, held at bar 3
    # (104 × 0.9 = 93.6 is lower), reached by bar 4's low 98
    assert (trade["exit_bar"], trade["exit_price"], trade["reason"]) == (
        4,
        approx(110 * 0.9),
        "trailing_stop",
    )


def test_exit_reason_codes() -> None:
    assert EXIT_REASONS == ("signal", "stop_loss", "take_profit", "trailing_stop", "reverse", "end")


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="same length"):
        simulate(
            np.arange(3), np.ones(3), np.ones(3), np.ones(3), np.ones(2), signals(3), cash=1000.0
        )  # fmt: skip
    with pytest.raises(ValueError, match="cash"):
        run(RISING, cash=0.0)
    empty = run([])
    assert (len(empty.equity), len(empty.trades)) == (0, 0)
