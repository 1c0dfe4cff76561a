"""Errors raised by pipelines (sources, jobs).

The tree::

    PipelineError
    ├── PipelineClientError        the request itself is wrong; retrying will not help (HTTP 4xx)
    │   ├── NotYours               someone else's strategy or projection (HTTP 403)
    │   └── UnsupportedRequest     valid, but this source cannot serve it
    └── SourceError                an upstream data source failed
        ├── SourceAuthError        401/403: key missing, unknown or not entitled
        ├── SourceRateLimited      429 persisted through every retry
        ├── SourceUnavailable      5xx, timeouts or connection failures persisted
        └── SourceProtocolError    the answer was not the documented wire format
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every pipelines error."""


class PipelineClientError(PipelineError):
    """The request is wrong; the caller must change it."""


class NotYours(PipelineClientError):
    """Only the owner of a thing (or an admin) may change or delete it (HTTP 403)."""


class UnsupportedRequest(PipelineClientError):
    """The request is well-formed, but the chosen source cannot serve it."""


class SourceError(PipelineError):
    """An upstream data source failed; ``source`` names it, ``status`` is its HTTP status if any."""

    def __init__(self, message: str, *, source: str, status: int | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.status = status


class SourceAuthError(SourceError):
    """The source refused our credentials (401) or our entitlement (403)."""


class SourceRateLimited(SourceError):
    """The source kept answering 429 after every retry."""


class SourceUnavailable(SourceError):
    """The source kept failing (5xx, timeouts, connection errors) after every retry."""


class SourceProtocolError(SourceError):
    """The source answered something that is not its documented wire format."""
