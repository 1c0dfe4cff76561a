"""No route answers 5xx, whatever it is sent, whoever sends it.

A schemathesis pass over the app's own OpenAPI document (as served at ``/schema/openapi.json``) to the
app under uvicorn on loopback: every operation, for an anonymous caller and for an API key of each
role, with generated valid and invalid requests (a fixed number per operation and caller,
derandomized, so a run is reproducible; ``just fuzz`` multiplies the numbers by ``K2Q_FUZZ_SCALE``).
The check is schemathesis' ``not_a_server_error``, except for two 5xx the app sends by design: 504
for a query over its time budget, and 503 with ``Retry-After`` (load shedding); see
:func:`tests.api.fuzz_harness.tolerated`.

The stores first hold a few synthetic datasets and a queued job, and valid requests name them (and
real indicator specs, times near and at the ends of the supported ranges, a CSV file), so they reach
the handlers instead of stopping at 404 or 422. Jobs the pass queues are not run. Deletes run last;
users the pass creates are removed afterwards, and it never changes ``admin`` or the users whose keys
it calls with. A failure lists each distinct 5xx with a request that reproduces it and the
traceback the server logged.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator
from typing import Any, cast
from urllib.parse import unquote

import httpx
import msgspec
import pytest
import talib
from litestar import Litestar

from api.app import create_app
from api.auth.credentials import hash_password
from api.runtime import Runtime
from schemas.auth import ROLES, Role, outranks
from schemas.datasets import FetchRequest
from tests.api.fuzz_harness import Seeds, ServerLog, fuzz, scale, serve, steer
from tests.conftest import app_client

EXAMPLES = 12
"""Requests per operation for each caller allowed to call it: a third invalid, a third valid, a third
valid with times at the edges."""
EXAMPLES_OF = {
    "POST /api/v1/stocks/chart-data": 40,  # the richest inputs
    "POST /api/v1/stocks/import": 24,
    "POST /api/v1/stocks/fetch": 16,
    "POST /api/v1/auth/login": 8,  # each hashes a password (~0.3 s)
    "POST /api/v1/admin/users": 6,
    "PATCH /api/v1/admin/users/{username}": 8,
}
EXAMPLES_OTHERS = 3
"""For callers refused the operation (401/403 before the input is read), and for callers with a key
on a public one (an anonymous caller covers it)."""
MUST_REACH = [
    "POST /api/v1/stocks/chart-data",
    "GET /api/v1/stocks/data/{table}",
    "GET /api/v1/stocks/table/{table}/quality",
    "POST /api/v1/stocks/import",
    "POST /api/v1/stocks/fetch",
    "PATCH /api/v1/admin/users/{username}",
]
"""Operations some generated request must get a 2xx from: the pass reaches their handlers."""

PASSWORD = "fuzzing password 1"
TARGET_USER = "fuzz-target"
"""The user the pass may change (role, password, activity) and make keys for."""
SEED_FETCHES = [
    {"symbols": ["FZA", "FZB"], "from": "2023-01-03", "to": "2024-06-28", "source": "synthetic"},
    {
        "symbols": ["FZA"],
        "from": "2024-06-24",
        "to": "2024-06-28",
        "timespan": "minute",
        "source": "synthetic",
    },
]


@pytest.fixture
async def callers(clean: Runtime) -> AsyncIterator[dict[str, str | None]]:
    """An API key per role (of this test's own users) and ``None`` for anonymous; the users the pass
    creates are removed afterwards."""
    auth = clean.auth
    before = [user.username for user in await auth.users.all()]
    keys: dict[str, str | None] = {"anonymous": None}
    for role in ROLES:
        name = f"fuzz-{role}"
        if await auth.users.by_name(name) is None:
            await auth.users.create(name, hash_password(PASSWORD), role)
        keys[role] = (await auth.create_key(name, "fuzz", None, None)).key
    if await auth.users.by_name(TARGET_USER) is None:
        await auth.users.create(TARGET_USER, hash_password(PASSWORD), "viewer")
    yield keys
    async with clean.stack.pool.connection() as conn:
        await conn.execute("DELETE FROM users WHERE NOT (username = ANY(%s))", (before,))


async def seed(runtime: Runtime, analyst_key: str) -> Seeds:
    """Synthetic day and minute bars, and a queued fetch job of the analyst's."""
    for fetch in SEED_FETCHES:
        await runtime.services.fetcher.run(msgspec.convert(fetch, FetchRequest))
    async with app_client(runtime, analyst_key) as http:
        queued = await http.post("/api/v1/stocks/fetch", json=SEED_FETCHES[0])
        assert queued.status_code == 202, queued.text
    datasets = await runtime.services.datasets.all()
    return Seeds(
        tables=sorted(d.table for d in datasets),
        symbols=sorted({d.symbol for d in datasets}),
        job_ids=[queued.json()["job_id"]],
        usernames=[TARGET_USER],
        indicator_names=sorted(name.lower() for name in cast("Any", talib).get_functions()),
    )


def least_roles(app: Litestar) -> dict[str, Role | None]:
    """The least role of each operation, by its label (``POST /api/v1/stocks/fetch``); None: public."""
    least: dict[str, Role | None] = {}
    for route in app.routes:
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        for handler in getattr(route, "route_handlers", []):
            for method in getattr(handler, "http_methods", ()):
                least[f"{method} {path}"] = None if handler.opt.get("public") else handler.opt.get("role")
    return least


@pytest.mark.slow
# The server's thread (psycopg's pool jitter) uses the global `random` while Hypothesis draws in the
# pass's thread; Hypothesis takes that for a strategy using `random`. Generation does not.
@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
async def test_no_route_answers_5xx_to_any_role(clean: Runtime, callers: dict[str, str | None]):
    key = callers["analyst"]
    assert key is not None
    seeds = await seed(clean, key)
    users = {f"fuzz-{role}" for role in ROLES} | {"admin"}

    def protected(case) -> bool:
        """Whether ``case`` would change this test's own users (the keys it runs with) or ``admin``, or
        write a backup to a generated path on this machine (its refusals are tested in test_backup)."""
        path = unquote(case.formatted_path)
        if case.method == "POST" and path == "/api/v1/admin/backup":
            return True
        return any(path.endswith(f"/users/{name}") for name in users)

    # A longer pass (K2Q_FUZZ_SCALE) sends more requests a minute per key than the rate limit allows:
    # the limit grows with it, so that its requests still reach the handlers rather than a 429.
    auth = msgspec.structs.replace(
        clean.settings.auth, rate_limit_per_minute=clean.settings.auth.rate_limit_per_minute * scale()
    )
    app = create_app(dataclasses.replace(clean, settings=msgspec.structs.replace(clean.settings, auth=auth)))
    least = least_roles(app)

    def examples(operation: str, caller: str) -> int:
        needed = least[operation]
        full = caller == "anonymous" if needed is None else caller != "anonymous" and outranks(caller, needed)
        return EXAMPLES_OF.get(operation, EXAMPLES) if full else EXAMPLES_OTHERS

    async with serve(app) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as http:
            document = (await http.get("/schema/openapi.json")).raise_for_status().json()
        with ServerLog().capture() as log:
            report = await asyncio.to_thread(
                fuzz,
                [steer(document, seeds), steer(document, seeds, edges=True)],
                base_url,
                callers,
                log,
                examples=examples,
                skip=protected,
            )
    if report.findings:
        pytest.fail(report.text(), pytrace=False)
    unreached = [operation for operation in MUST_REACH if not report.reached(operation)]
    assert not unreached, (
        f"no valid request reached {unreached}: is generation still steered? {report.statuses}"
    )
