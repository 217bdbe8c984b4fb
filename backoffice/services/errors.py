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


class ValidationErrors(ValidationError):
    """Several inputs refused at once, so a form can mark every field in one round trip.

    ``errors`` holds one ValidationError per refusal, in the form's order; the first
    is also this error's own message, field and code, for callers that show one.
    """

    def __init__(self, errors: list[ValidationError]) -> None:
        first = errors[0]
        super().__init__(first.message, field=first.field, code=first.code)
        self.errors = list(errors)


class Refusals:
    """Collects the ValidationErrors of several checks instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[ValidationError] = []

    def check(self, rule, *args, **kwargs):
        """rule(*args, **kwargs), or None after noting its refusal(s)."""
        try:
            return rule(*args, **kwargs)
        except ValidationError as error:
            self.errors.extend(getattr(error, "errors", [error]))
            return None

    def raise_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise ValidationErrors(self.errors)
