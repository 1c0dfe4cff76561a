"""What the assistant refuses before a turn starts."""

from __future__ import annotations

from pipelines.errors import PipelineError


class AssistantUnavailable(PipelineError):
    """No model provider is configured (the API answers 503 with how to configure one)."""


class TokenBudgetSpent(PipelineError):
    """The user's model tokens for the last 24 hours are spent (the API answers 429)."""


class TurnBusy(PipelineError):
    """The session's turn is still running or waits for a confirmation (the API answers 409)."""
