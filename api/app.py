"""The composition root of the HTTP API: ``create_app(runtime)`` wires routes, providers and errors."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Any

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.stores.base import Store
from litestar.stores.redis import RedisStore
from litestar.types import ControllerRouterHandler

from api.auth.guards import PUBLIC, authorize
from api.auth.headers import add_security_headers
from api.auth.middleware import AuditMiddleware, AuthenticationMiddleware
from api.auth.ratelimit import STORE_NAME, rate_limit_config
from api.deadline import DeadlineMiddleware
from api.deps import provide_runtime, provide_services
from api.errors import problem_details_plugin
from api.events import EventHub
from api.live import ServerStreams
from api.request_ids import RequestIdMiddleware
from api.request_metrics import RequestMetricsMiddleware
from api.routes.admin import AdminController
from api.routes.agents import AgentsController
from api.routes.auth import AuthController
from api.routes.chat import ChatController
from api.routes.events import events
from api.routes.flat_files import FlatFilesController
from api.routes.health import health, ready
from api.routes.imports import ImportController
from api.routes.indicators import IndicatorsController
from api.routes.jobs import JobsController
from api.routes.metrics import metrics
from api.routes.projections import ProjectionsController
from api.routes.quality import QualityController
from api.routes.screens import screen
from api.routes.stocks import StocksController
from api.routes.strategies import StrategiesController
from api.routes.web import web_router
from api.runtime import Runtime

MAX_BODY_BYTES = 1_048_576
"""Largest request body accepted (1 MiB): every API input is a small JSON document, except a file
import, whose route sets its own limit (``schemas.imports.MAX_IMPORT_BYTES``, 512 MiB)."""


def default_web_dist() -> Path | None:
    """``web/dist`` of this checkout, when it has been built."""
    dist = Path(__file__).resolve().parent.parent / "web" / "dist"
    return dist if (dist / "index.html").is_file() else None


def create_app(runtime: Runtime | None) -> Litestar:
    """Build the Litestar app over an already started runtime (None only to render the schema)."""
    handlers: list[ControllerRouterHandler] = [
        health,
        ready,
        metrics,
        StocksController,
        IndicatorsController,
        StrategiesController,
        screen,
        ProjectionsController,
        ChatController,
        AgentsController,
        ImportController,
        FlatFilesController,
        QualityController,
        JobsController,
        AuthController,
        AdminController,
        events,
    ]
    dist = (runtime.settings.web_dist if runtime else None) or default_web_dist()
    if dist is not None:
        handlers.append(web_router(dist))
    middleware: list[Any] = [
        RequestMetricsMiddleware,
        RequestIdMiddleware,
        DeadlineMiddleware,
        AuthenticationMiddleware,
    ]
    stores: dict[str, Store] = {}
    if runtime is not None:
        middleware.append(rate_limit_config(runtime.settings.auth.rate_limit_per_minute).middleware)
        stores[STORE_NAME] = RedisStore(runtime.stack.redis, namespace="k2q-rate-limit")
    middleware.append(AuditMiddleware)
    hub = EventHub(runtime.stack.redis) if runtime is not None else None
    streams = ServerStreams(runtime) if runtime is not None else None
    origins = list(runtime.settings.auth.cors_origins) if runtime else []
    return Litestar(
        route_handlers=handlers,
        guards=[authorize],
        middleware=middleware,
        stores=stores,
        after_request=add_security_headers,
        cors_config=CORSConfig(allow_origins=origins, allow_credentials=True) if origins else None,
        dependencies={
            "runtime": Provide(provide_runtime, sync_to_thread=False),
            "services": Provide(provide_services, sync_to_thread=False),
        },
        state=State({"runtime": runtime, "event_hub": hub, "live_streams": streams}),
        on_startup=[hub.start] if hub else [],
        on_shutdown=[hub.stop, streams.stop] if hub and streams else [],
        plugins=[problem_details_plugin()],
        openapi_config=OpenAPIConfig(
            title="K2 Quant",
            version=version("k2-quant"),
            openapi_router=Router(path="/schema", route_handlers=[], opt=PUBLIC),
            render_plugins=[JsonRenderPlugin()],
        ),
        request_max_body_size=MAX_BODY_BYTES,
        logging_config=None,
        debug=False,
    )
