"""``/health`` and ``/ready``."""

from __future__ import annotations

from importlib.metadata import version

from litestar import Response, get

from api.deps import RuntimeDep
from schemas.health import Liveness, Readiness, StoreHealth


@get("/health", operation_id="health", tags=["health"])
async def health() -> Liveness:
    """The process is alive."""
    return Liveness(ok=True, version=version("k2-quant"))


@get("/ready", operation_id="ready", tags=["health"])
async def ready(runtime: RuntimeDep) -> Response[Readiness]:
    """Every store answers (HTTP 503 when one does not)."""
    checks = await runtime.stack.check()
    stores = {
        name: StoreHealth(ok=ok, mode=runtime.stack.modes[name], latency_ms=round(latency, 2), error=error)
        for name, (ok, latency, error) in checks.items()
    }
    readiness = Readiness(ok=all(store.ok for store in stores.values()), stores=stores)
    return Response(readiness, status_code=200 if readiness.ok else 503)
