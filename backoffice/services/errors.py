"""Errors services raise; their messages are lazy gettext strings."""

from __future__ import annotations


class ServiceError(Exception):
    """A rule refused the action. ``message`` is shown to the user as is."""

    def __init__(self, message, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field
        self.code = code  # a stable name for callers that must tell errors apart


class ValidationError(ServiceError):
    """Input that can never be accepted as typed; ``field`` names the input."""


class NotFound(ServiceError):
    """Missing, or outside the actor's scope: the two must look the same."""
