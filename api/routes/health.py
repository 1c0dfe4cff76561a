"""``/health`` and ``/ready``."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from litestar import Request, Response, get

from api.auth.guards import PUBLIC
from api.deps import RuntimeDep
from schemas.health import Liveness, Readiness, StoreHealth


@get("/health", operation_id="health", tags=["health"], opt=PUBLIC)
async def health() -> Liveness:
    """The process is alive."""
    return Liveness(ok=True, version=version("k2-quant"))


@get("/ready", operation_id="ready", tags=["health"], opt=PUBLIC)
async def ready(runtime: RuntimeDep, request: Request[Any, Any, Any]) -> Response[Readiness]:
    """Every store answers (HTTP 503 when one does not); only signed-in callers see per-store detail.

    The API listens only once start-up is done (see :func:`api.serve.run`): when this answers 200,
    the first admin and ``K2Q_BOOTSTRAP_API_KEY`` authenticate.
    """
    checks = await runtime.stack.check()
    stores = {
        name: StoreHealth(ok=ok, mode=runtime.stack.modes[name], latency_ms=round(latency, 2), error=error)
        for name, (ok, latency, error) in checks.items()
    }
    ok = all(store.ok for store in stores.values())
    readiness = Readiness(ok=ok, stores=stores if request.scope.get("user") else None)
    return Response(readiness, status_code=200 if readiness.ok else 503)
