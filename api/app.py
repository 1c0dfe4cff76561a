"""The composition root of the HTTP API: ``create_app(runtime)`` wires routes, providers and errors."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.types import ControllerRouterHandler

from api.deps import provide_runtime, provide_services
from api.errors import problem_details_plugin
from api.routes.health import health, ready
from api.routes.jobs import JobsController
from api.routes.stocks import StocksController
from api.routes.web import web_router
from api.runtime import Runtime

MAX_BODY_BYTES = 1_048_576
"""Largest request body accepted (1 MiB): every API input is a small JSON document."""


def default_web_dist() -> Path | None:
    """``web/dist`` of this checkout, when it has been built."""
    dist = Path(__file__).resolve().parent.parent / "web" / "dist"
    return dist if (dist / "index.html").is_file() else None


def create_app(runtime: Runtime | None) -> Litestar:
    """Build the Litestar app over an already started runtime (None only to render the schema)."""
    handlers: list[ControllerRouterHandler] = [health, ready, StocksController, JobsController]
    dist = (runtime.settings.web_dist if runtime else None) or default_web_dist()
    if dist is not None:
        handlers.append(web_router(dist))
    return Litestar(
        route_handlers=handlers,
        dependencies={
            "runtime": Provide(provide_runtime, sync_to_thread=False),
            "services": Provide(provide_services, sync_to_thread=False),
        },
        state=State({"runtime": runtime}),
        plugins=[problem_details_plugin()],
        openapi_config=OpenAPIConfig(
            title="K2 Quant",
            version=version("k2-quant"),
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
        ),
        request_max_body_size=MAX_BODY_BYTES,
        logging_config=None,
        debug=False,
    )
