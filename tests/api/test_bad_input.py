"""Inputs that once made the server fail are refused as the caller's fault, with the reason.

Each case is a concrete request that answered 5xx (found by ``test_no_server_errors`` and by hand);
the answer must be a 4xx problem-details document (400, 413 or 422) whose ``detail`` names why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
import msgspec
import pytest

from api.runtime import Runtime
from schemas.datasets import FetchRequest

SYMBOL = "BADIN"
NESTED = b"[" * 100_000
"""A JSON body nested deeper than any parser's recursion allows."""
FAR_OFFSET = "9999-12-31T23:59:59-14:00"
"""The last second of year 9999 at the westernmost offset: in UTC it is past year 9999."""


@dataclass(frozen=True)
class Bad:
    """A request, and what the refusal's ``detail`` should mention (a regular expression)."""

    method: str
    path: str
    reason: str
    json: object = None
    content: bytes | None = None
    content_type: str | None = None


CASES = {
    # At 1d the warm-up of sma(6000) fits after 1970 and the chart is drawn (200); at 1M it reached
    # back before year 1 (OverflowError).
    "chart-data sma(6000) at 1M": Bad(
        "POST",
        "/api/v1/stocks/chart-data",
        r"sma|period|warm|earlier|range",
        json={"symbol": SYMBOL, "timeframe": "1M", "indicators": ["sma(6000)"]},
    ),
    "chart-data mavp (its inputs are not OHLCV)": Bad(
        "POST",
        "/api/v1/stocks/chart-data",
        r"mavp|input|period",
        json={"symbol": SYMBOL, "indicators": ["mavp"]},
    ),
    "chart-data from at the far offset": Bad(
        "POST",
        "/api/v1/stocks/chart-data",
        r"9999|range|offset|year|from",
        json={"symbol": SYMBOL, "from": FAR_OFFSET},
    ),
    "chart-data to at the far offset": Bad(
        "POST",
        "/api/v1/stocks/chart-data",
        r"9999|range|offset|year|to",
        json={"symbol": SYMBOL, "to": FAR_OFFSET},
    ),
    "chart-data 100,000 nested [": Bad(
        "POST", "/api/v1/stocks/chart-data", r"nest|deep|depth|JSON", content=NESTED, content_type="application/json"
    ),
    "login 100,000 nested [": Bad(
        "POST", "/api/v1/auth/login", r"nest|deep|depth|JSON", content=NESTED, content_type="application/json"
    ),
    "token-login 100,000 nested [": Bad(
        "POST", "/api/v1/auth/token-login", r"nest|deep|depth|JSON", content=NESTED, content_type="application/json"
    ),
    "import of a bar dated 1800": Bad(
        "POST",
        "/api/v1/stocks/import?symbol=OLDBAR&timespan=day",
        r"1800|range|before|date|old",
        content=b"date,open,high,low,close,volume\n1800-01-02,1,1,1,1,100\n",
        content_type="text/csv",
    ),
    "fetch to 9999-12-31": Bad(
        "POST",
        "/api/v1/stocks/fetch",
        r"9999|after|range|to",
        json={"symbols": [SYMBOL], "from": "2024-01-02", "to": "9999-12-31", "source": "synthetic"},
    ),
}


@pytest.fixture
async def bars(clean: Runtime) -> Runtime:
    """A year of synthetic day bars of ``SYMBOL``, so chart requests reach the indicator code."""
    request = {"symbols": [SYMBOL], "from": "2023-06-01", "to": "2024-06-28", "source": "synthetic"}
    await clean.services.fetcher.run(msgspec.convert(request, FetchRequest))
    return clean


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
async def test_refused_with_the_reason(bars: Runtime, client: httpx.AsyncClient, case: Bad):
    headers = {"content-type": case.content_type} if case.content_type else {}
    if case.content is not None:
        answer = await client.request(case.method, case.path, content=case.content, headers=headers)
    else:
        answer = await client.request(case.method, case.path, json=case.json)
    assert answer.status_code in (400, 413, 422), (answer.status_code, answer.text[:500])
    assert answer.headers["content-type"] == "application/problem+json"
    detail = answer.json().get("detail")
    assert isinstance(detail, str) and detail.strip(), answer.text[:500]
    assert re.search(case.reason, detail, re.IGNORECASE), f"the detail does not say why: {detail!r}"
