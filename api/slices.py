"""Answering chart-data: ETags from series versions, 304s, and a Redis cache every replica shares."""

from __future__ import annotations

import hashlib
from typing import Any, Final

import msgspec
from litestar import Request, Response

from api.arrow import slice_response, wants_json
from api.runtime import Runtime
from schemas.bars import ChartDataRequest
from warehouse.metrics import CACHE_REQUESTS

CACHE_TTL_S: Final = 600
CACHE_MAX_BYTES: Final = 8 * 1024 * 1024
"""Larger answers are not cached (they are rare: most charts ask for a few thousand points)."""


class _Cached(msgspec.Struct, array_like=True):
    body: bytes
    media_type: str
    headers: dict[str, str]


def _etag(version: str, data: ChartDataRequest, as_json: bool) -> str:
    digest = hashlib.sha256(version.encode() + msgspec.json.encode(data) + (b"j" if as_json else b"a"))
    return f'"{digest.hexdigest()[:32]}"'


async def chart_data(
    runtime: Runtime, request: Request[Any, Any, Any], data: ChartDataRequest
) -> Response[bytes]:
    """The chart-data answer: 304 when the client holds it, from the cache when a replica made it."""
    services = runtime.services
    plan = await services.charts.plan(data)
    as_json = wants_json(request)
    version = await services.versions.current(plan.ref)
    etag = _etag(version.token, data, as_json)
    validators = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(b"", status_code=304, headers=validators)
    key = "k2q:slice:" + etag.strip('"')
    redis = runtime.stack.redis
    hit = await redis.get(key)
    CACHE_REQUESTS.labels("slice", "hit" if hit else "miss").inc()
    if hit:
        cached = msgspec.msgpack.decode(hit, type=_Cached)
        headers = cached.headers | validators | {"X-K2Q-Cache": "hit"}
        return Response(cached.body, media_type=cached.media_type, headers=headers)
    async with services.work.admit():
        result, meta = await services.charts.chart_slice(plan, data, version)
        response = await services.work.run(slice_response, wants_json(request), result.table, meta)
    body = response.content
    if len(body) <= CACHE_MAX_BYTES and not meta.truncated:
        entry = _Cached(body=body, media_type=str(response.media_type), headers=dict(response.headers))
        await redis.set(key, msgspec.msgpack.encode(entry), ex=CACHE_TTL_S)
    response.headers.update(validators | {"X-K2Q-Cache": "miss"})
    return response
