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
TABLE = "badin_1day_2023-06-01_2024-06-28"
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


RANGE = r"outside the supported times, 1970-01-01 to 2099-12-31 \(UTC\)"
NESTED_REASON = r"nested too deeply"
NUL_REASON = r"may not contain NUL"


def _csv(*rows: str) -> bytes:
    return ("date,open,high,low,close,volume\n" + "".join(f"{row}\n" for row in rows)).encode()


CASES = {
    "chart-data mavp (its inputs are not OHLCV)": Bad(
        "POST",
        "/api/v1/stocks/chart-data",
        r"mavp needs periods as input, which is not a bar column",
        json={"symbol": SYMBOL, "indicators": ["mavp"]},
    ),
    "chart-data from at the far offset": Bad(
        "POST", "/api/v1/stocks/chart-data", RANGE, json={"symbol": SYMBOL, "from": FAR_OFFSET}
    ),
    "chart-data to at the far offset": Bad(
        "POST", "/api/v1/stocks/chart-data", RANGE, json={"symbol": SYMBOL, "to": FAR_OFFSET}
    ),
    "chart-data from at year 1 +14:00": Bad(
        "POST", "/api/v1/stocks/chart-data", RANGE, json={"symbol": SYMBOL, "from": "0001-01-01T00:00+14:00"}
    ),
    "download from at the far offset": Bad(
        "GET", f"/api/v1/stocks/data/{TABLE}?format=csv&from={FAR_OFFSET.replace('+', '%2B')}", RANGE
    ),
    "quality to at the far offset": Bad(
        "GET", f"/api/v1/stocks/table/{TABLE}/quality?to={FAR_OFFSET.replace('+', '%2B')}", RANGE
    ),
    "chart-data 100,000 nested [": Bad(
        "POST", "/api/v1/stocks/chart-data", NESTED_REASON, content=NESTED, content_type="application/json"
    ),
    "login 100,000 nested [": Bad(
        "POST", "/api/v1/auth/login", NESTED_REASON, content=NESTED, content_type="application/json"
    ),
    "token-login 100,000 nested [": Bad(
        "POST", "/api/v1/auth/token-login", NESTED_REASON, content=NESTED, content_type="application/json"
    ),
    "login with a NUL in the user name": Bad(
        "POST", "/api/v1/auth/login", NUL_REASON, json={"username": "a\u0000b", "password": "x"}
    ),
    "api key named with a NUL": Bad("POST", "/api/v1/auth/api-keys", NUL_REASON, json={"name": "a\u0000b"}),
    "audit search for a NUL": Bad("GET", "/api/v1/admin/audit?actor=a%00b", NUL_REASON),
    "import of a bar dated 1800": Bad(
        "POST", "/api/v1/stocks/import?symbol=OLDBAR&timespan=day", RANGE,
        content=_csv("1800-01-02,1,1,1,1,100"), content_type="text/csv",
    ),
    "import of a bar dated 0000-01-01": Bad(
        "POST", "/api/v1/stocks/import?symbol=OLDBAR&timespan=day", r"not a date|supported times",
        content=_csv("0000-01-01,1,1,1,1,100"), content_type="text/csv",
    ),
    "import of a bar dated 0200-01-01": Bad(
        "POST", "/api/v1/stocks/import?symbol=OLDBAR&timespan=day", RANGE,
        content=_csv("0200-01-01,1,1,1,1,100"), content_type="text/csv",
    ),
    "import of one control byte": Bad(
        "POST", "/api/v1/stocks/import?symbol=OLDBAR&timespan=day", r"first line should name the columns",
        content=b"\r", content_type="text/csv",
    ),
    "fetch to 9999-12-31": Bad(
        "POST",
        "/api/v1/stocks/fetch",
        r"'to' \(9999-12-31\) is after 2099-12-31",
        json={"symbols": [SYMBOL], "from": "2024-01-02", "to": "9999-12-31", "source": "synthetic"},
    ),
}  # fmt: skip


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
    assert isinstance(detail, str), answer.text[:500]
    assert detail.strip(), answer.text[:500]
    assert re.search(case.reason, detail, re.IGNORECASE), f"the detail does not say why: {detail!r}"
