"""The SMS gateway interface, and the one error type every backend raises."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

# What went wrong, as the enroller or member should hear it. Keys are stable:
# tests and the audit log use them.
REASONS = {
    "invalid_number": _l("This number cannot receive SMS. Check the mobile number."),
    "not_mobile": _l("This number is a landline or cannot receive SMS. Use a mobile number."),
    "blocked": _l("SMS to this number is blocked by the SMS provider. Use another mobile "
                  "number or ask the district office."),
    "too_many": _l("Too many codes were sent to this number. Wait a while and try again."),
    "wrong_code_limit": _l("Too many wrong codes. Ask for a new code."),
    "expired": _l("This code has expired or was already used. Ask for a new code."),
    "unavailable": _l("The SMS service is not answering right now. The member is saved; "
                      "try sending the code again in a few minutes."),
    "misconfigured": _l("SMS sending is not set up correctly. The member is saved; tell "
                        "the state office."),
}


class GatewayError(Exception):
    """A send or check failed. ``reason`` is a REASONS key; ``code`` the provider's."""

    def __init__(self, reason: str, code: int | str | None = None) -> None:
        super().__init__(f"{reason} ({code})")
        self.reason = reason
        self.code = code

    @property
    def message(self):
        return REASONS[self.reason]


@dataclass(frozen=True)
class Sent:
    """What the provider answered to a send: its reference for the message."""

    provider_sid: str | None


class Gateway:
    """A way to get a one-time code to a phone.

    Backends that ``manage_codes`` (Twilio Verify) make and check the code
    themselves; the others are handed the app's code to deliver.
    """

    name = "base"
    manages_codes = False

    def send_code(self, phone: str, code: str | None, text: str | None, locale: str) -> Sent:
        raise NotImplementedError

    def check_code(self, phone: str, code: str) -> bool:
        raise NotImplementedError

    def dry_call(self) -> bool:
        """Ask the provider whether it accepts our credentials, sending nothing; False when
        this gateway has no provider to ask. Raises GatewayError when it refuses them."""
        return False
