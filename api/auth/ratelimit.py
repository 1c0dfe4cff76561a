"""Request rate limits per API key, user or address, counted in Redis so every replica shares them."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.middleware.rate_limit import CacheObject, RateLimitConfig, RateLimitMiddleware

from api.auth.principal import Principal

STORE_NAME = "rate_limit"


class _RetryAfterRateLimit(RateLimitMiddleware):
    """Litestar's limiter, plus the ``Retry-After`` header clients and proxies look for."""

    def create_response_headers(self, cache_object: CacheObject) -> dict[str, str]:
        headers = super().create_response_headers(cache_object)
        headers["Retry-After"] = headers[self.config.rate_limit_reset_header_key]
        return headers


def _identity(request: Request[Any, Any, Any]) -> str:
    principal = request.scope.get("user")
    if isinstance(principal, Principal):
        return f"key:{principal.key_prefix}" if principal.key_prefix else f"user:{principal.username}"
    client = request.client
    return f"ip:{client.host if client else '-'}"


def rate_limit_config(per_minute: int) -> RateLimitConfig:
    """At most ``per_minute`` requests a minute per caller; health checks and web files are exempt."""
    return RateLimitConfig(
        rate_limit=("minute", per_minute),
        store=STORE_NAME,
        identifier_for_request=_identity,
        exclude=["/health", "/ready", "/assets/"],
        middleware_class=_RetryAfterRateLimit,
    )
