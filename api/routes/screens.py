"""``/api/v1/screens``: one expression of the strategy language over every stored series."""

from __future__ import annotations

from litestar import post
from litestar.params import JSONBody

from api.auth.guards import role
from api.deps import ServicesDep
from schemas.strategies import ScreenRequest, ScreenResult


@post(
    "/api/v1/screens",
    operation_id="screen",
    status_code=200,
    tags=["strategies"],
    opt={**role("viewer"), "audit": False},
)
async def screen(data: JSONBody[ScreenRequest], services: ServicesDep) -> ScreenResult:
    """The symbols whose last bar (or last bar at or before ``at``) satisfies ``expression``.

    E.g. ``rsi(close, 14) < 30 and close > sma(close, 200)`` over every dataset of the timeframe;
    each match carries the values the expression used, sorted by ``sort`` and paged.
    """
    return await services.screener.screen(data)
