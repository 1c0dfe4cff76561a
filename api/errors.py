"""The one mapping from errors to HTTP problem details (RFC 9457)."""

from __future__ import annotations

import errno
from typing import Any, Final

import msgspec
import psycopg
import psycopg_pool
import pyarrow as pa
import redis.exceptions
import structlog
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)

from api.auth.service import AuthError, Forbidden, Throttled
from api.request_ids import current_request_id
from pipelines.assistant.chat import NOT_CONFIGURED_HELP
from pipelines.assistant.errors import AssistantUnavailable, TokenBudgetSpent, TurnBusy
from pipelines.errors import NotYours, PipelineClientError, PipelineError, SourceError
from pipelines.ingest.fetch import SourceConflict
from pipelines.ingest.file_imports import ImportRejected, ImportTooLarge
from pipelines.llm import ModelUnavailable
from pipelines.strategies.language.errors import StrategyError
from pipelines.work_pool import Overloaded
from warehouse.errors import (
    Conflict,
    InvalidQuery,
    NotFound,
    QueryBudgetExceeded,
    StorageFull,
    Unavailable,
    WarehouseError,
)

log = structlog.get_logger(__name__)

_TITLES: Final = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal server error",
    502: "Upstream failure",
    503: "Unavailable",
    504: "Query took too long",
    507: "Insufficient storage",
}

UNAVAILABLE_RETRY_AFTER_S: Final = 5
"""What a 503 for a store that is down asks the client to wait before trying again."""
_FULL_DISK: Final = frozenset({errno.ENOSPC, errno.EDQUOT})


def problem(status: int, detail: str, **extra: Any) -> ProblemDetailsException:
    """A problem-details exception with the standard title of ``status``."""
    return ProblemDetailsException(
        status_code=status, title=_TITLES.get(status, "Error"), detail=detail, extra=extra or None
    )


def to_problem(exc: Exception) -> ProblemDetailsException:
    """Map any error to the problem details sent to the client (internals never leak)."""
    match exc:
        case ProblemDetailsException():
            return exc
        case ValidationException():
            errors = exc.extra if isinstance(exc.extra, list) else []
            detail = "; ".join(str(item.get("message", "")) for item in errors if isinstance(item, dict))
            return problem(422, detail or str(exc.detail), errors=errors)
        case HTTPException():
            return ProblemDetailsException(
                status_code=exc.status_code,
                title=_TITLES.get(exc.status_code, "Error"),
                detail=str(exc.detail),
                headers=exc.headers,
            )
        case AuthError():
            return problem(401, str(exc))
        case Forbidden():
            return problem(403, str(exc))
        case Throttled():
            throttled = problem(429, str(exc))
            throttled.headers = {"Retry-After": str(exc.retry_after)}
            return throttled
        case Overloaded():
            busy = problem(503, str(exc))
            busy.headers = {"Retry-After": str(exc.retry_after)}
            return busy
        case psycopg.DataError() if "NUL" in str(exc):  # text with a \x00, which Postgres cannot store
            return problem(422, "text in the request may not contain NUL (\\x00) characters")
        case RecursionError():  # a JSON body nested deeper than a decoder can follow
            return problem(400, "the request body is nested too deeply to read")
        case NotFound():
            return problem(404, str(exc))
        case Conflict() | SourceConflict():
            return problem(409, str(exc))
        case StrategyError():
            return problem(422, str(exc), problems=msgspec.to_builtins(exc.problems))
        case NotYours():
            return problem(403, str(exc))
        case AssistantUnavailable():
            unavailable = problem(503, str(exc), configure=NOT_CONFIGURED_HELP)
            unavailable.headers = {"X-K2Q-Unconfigured": "assistant"}
            return unavailable
        case TokenBudgetSpent():
            spent = problem(429, str(exc))
            spent.headers = {"Retry-After": "3600"}
            return spent
        case TurnBusy():
            return problem(409, str(exc))
        case ModelUnavailable():
            return problem(502, str(exc))
        case ImportRejected():
            problems = msgspec.to_builtins(exc.problems)
            return problem(422, str(exc), format=exc.format, problems=problems, problem_count=exc.total)
        case ImportTooLarge():
            return problem(413, str(exc))
        case pa.ArrowException():  # a ValueError too, but our bug, not the caller's
            log.exception("arrow error", exc_info=exc)
            return internal_error()
        case InvalidQuery() | PipelineClientError() | ValueError():
            return problem(422, str(exc))
        case SourceError():
            return problem(502, str(exc), source=exc.source)
        case QueryBudgetExceeded():
            log.warning("query over its time budget", error=str(exc), cause=str(exc.__cause__ or ""))
            return problem(504, str(exc))
        case Unavailable():
            log.error("store unavailable", error=str(exc))
            return _unavailable("a store is unavailable; see /ready")
        case psycopg_pool.PoolTimeout() | psycopg.OperationalError():  # Postgres down, restarting or swamped
            log.error("catalog unavailable", error=type(exc).__name__, detail=str(exc))
            return _unavailable("the catalog (Postgres) is unavailable; try again shortly (see /ready)")
        case redis.exceptions.ConnectionError() | redis.exceptions.TimeoutError():
            log.error("redis unavailable", error=type(exc).__name__, detail=str(exc))
            return _unavailable("Redis is unreachable; try again shortly (see /ready)")
        case StorageFull():
            log.error("store full", error=str(exc))
            return problem(507, str(exc))
        case OSError() if exc.errno in _FULL_DISK:
            log.error("disk full", error=str(exc))
            return problem(
                507, "the server's disk is full, so the request was stopped; free space, then try again"
            )
        case WarehouseError() | PipelineError():
            log.exception("unhandled domain error", exc_info=exc)
            return internal_error()
    log.exception("unhandled error", exc_info=exc)
    return internal_error()


def _unavailable(detail: str) -> ProblemDetailsException:
    unavailable = problem(503, detail)
    unavailable.headers = {"Retry-After": str(UNAVAILABLE_RETRY_AFTER_S)}
    return unavailable


def internal_error() -> ProblemDetailsException:
    """A 500 that names the request's id, which the log line with the stack carries too."""
    error_id = current_request_id()
    if error_id is None:
        return problem(500, "the server failed to answer; the error is logged")
    return problem(
        500,
        f"the server failed to answer; the error is logged (quote this id: {error_id})",
        error_id=error_id,
    )


def problem_details_plugin() -> ProblemDetailsPlugin:
    """The plugin that turns every error into problem details through :func:`to_problem`."""
    return ProblemDetailsPlugin(
        ProblemDetailsConfig(
            exception_to_problem_detail_map={Exception: to_problem, HTTPException: to_problem}
        )
    )
