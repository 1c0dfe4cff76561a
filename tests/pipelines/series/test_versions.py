"""Series versions: the series token changes with every change; month tokens with changes that reach them."""

from __future__ import annotations

import datetime as dt

from api.runtime import Runtime
from pipelines.series.versions import SeriesVersion, months_of
from schemas.bars import SeriesKey

REF = SeriesKey.of(symbol="VER", series="1m", adjusted=True)


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)


def test_a_span_reaches_the_months_within_a_day_of_it() -> None:
    assert months_of((at("2024-03-10"), at("2024-03-20"))) == [202403]
    # a New York evening bar of Feb 29 is March in UTC; its daily rollup row is February
    assert months_of((at("2024-03-01T00:30"), at("2024-03-01T00:30"))) == [202402, 202403]
    assert months_of((at("2023-12-15"), at("2024-02-10"))) == [202312, 202401, 202402]
    naive = dt.datetime(2024, 5, 15)
    assert months_of((naive, naive)) == [202405]


async def test_tokens_change_where_the_change_reaches(clean: Runtime) -> None:
    versions = clean.services.versions
    before = await versions.current(REF)
    assert before.token == await versions.get(REF)

    await versions.bump(REF, (at("2024-03-10"), at("2024-03-12")))
    after = await versions.current(REF)
    assert after.token != before.token
    assert after.month(2024, 3) != before.month(2024, 3)
    assert after.month(2024, 1) == before.month(2024, 1)
    assert after.year(2024) != before.year(2024)
    assert after.year(2023) == before.year(2023)

    await versions.bump_many([REF], None)
    everywhere = await versions.current(REF)
    assert everywhere.month(2024, 1) != after.month(2024, 1)
    assert everywhere.year(2023) != after.year(2023)


async def test_losing_redis_never_brings_back_an_old_token(clean: Runtime) -> None:
    versions = clean.services.versions
    old = await versions.current(REF)
    await clean.stack.redis.flushdb()
    new = await versions.current(REF)
    assert new.token != old.token
    assert new.month(2024, 3) != old.month(2024, 3)


def test_a_fixed_version_names_every_month_alike() -> None:
    fixed = SeriesVersion.fixed("v1")
    assert fixed.month(2024, 1) == fixed.month(2025, 6)
    assert fixed.month(2024, 1) != SeriesVersion.fixed("v2").month(2024, 1)
