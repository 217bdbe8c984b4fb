"""Backends without a provider: the console (demo) and an in-memory outbox (tests)."""

from __future__ import annotations

import logging
import secrets
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from backoffice.models.base import utcnow
from backoffice.services.privacy import mask_phone
from backoffice.sms.base import Gateway, Sent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboxMessage:
    phone: str
    text: str
    sent_at: datetime
    sid: str  # unique, so the outbox page can tell which member a message was for


class MemoryGateway(Gateway):
    """Keeps what it 'sends' in memory: the tests read codes from here."""

    name = "memory"

    def __init__(self, size: int = 200) -> None:
        self.outbox: deque[OutboxMessage] = deque(maxlen=size)

    def send_code(self, phone, code, text, locale) -> Sent:
        sid = f"LOCAL{secrets.token_hex(8)}"
        self.outbox.appendleft(OutboxMessage(phone, text, utcnow(), sid))
        return Sent(provider_sid=sid)

    def last_code_for(self, phone: str) -> str | None:
        for message in self.outbox:
            if message.phone == phone:
                return "".join(c for c in message.text if c.isdigit())[:6]
        return None


class ConsoleGateway(MemoryGateway):
    """The demo's default: the SMS is printed to the server's console and kept for
    the development outbox page. Never used in production (the app refuses)."""

    name = "console"

    def send_code(self, phone, code, text, locale) -> Sent:
        sent = super().send_code(phone, code, text, locale)
        log.warning("[console SMS, development only] to %s: %s", mask_phone(phone), text)
        return sent
