"""Request rate limits per API key, user or address, counted in Redis so every replica shares them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.middleware.rate_limit import CacheObject, RateLimitConfig, RateLimitMiddleware

from api.auth.addresses import client_address
from api.auth.principal import Principal

if TYPE_CHECKING:
    from litestar.types import Message, Send

STORE_NAME = "rate_limit"


class _RetryAfterRateLimit(RateLimitMiddleware):
    """Litestar's limiter; its refusals also carry the ``Retry-After`` clients and proxies look for.

    Answers it lets through carry the ``RateLimit-*`` headers only: a ``Retry-After`` there would
    mean nothing, and would overwrite the one a sign-in refusal (429) sets for its own, longer wait.
    """

    def create_response_headers(self, cache_object: CacheObject) -> dict[str, str]:
        """Headers of the limiter's own 429."""
        headers = super().create_response_headers(cache_object)
        headers["Retry-After"] = headers[self.config.rate_limit_reset_header_key]
        return headers

    def create_send_wrapper(self, send: Send, cache_object: CacheObject) -> Send:
        """Add the ``RateLimit-*`` headers to an answer let through, keeping any ``Retry-After`` it has."""
        headers = super().create_response_headers(cache_object)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                mutable = MutableScopeHeaders(message)
                for name, value in headers.items():
                    mutable[name] = value
            await send(message)

        return send_wrapper


def _identity(request: Request[Any, Any, Any]) -> str:
    principal = request.scope.get("user")
    if isinstance(principal, Principal):
        return f"key:{principal.key_prefix}" if principal.key_prefix else f"user:{principal.username}"
    return f"ip:{client_address(request.scope) or '-'}"


def rate_limit_config(per_minute: int) -> RateLimitConfig:
    """At most ``per_minute`` requests a minute per caller; health checks and web files are exempt."""
    return RateLimitConfig(
        rate_limit=("minute", per_minute),
        store=STORE_NAME,
        identifier_for_request=_identity,
        exclude=["/health", "/ready", "/assets/"],
        middleware_class=_RetryAfterRateLimit,
    )
