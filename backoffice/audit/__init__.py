"""The audit log: events recorded in the same transaction as the change they
describe, hash-chained, append-only, verifiable against signed checkpoints.

- record(): queue an event on the current session (services call it);
- capture: ORM changes to members, staff, roles and units become events by
  themselves (after_flush); bulk UPDATE/DELETE/INSERT on those tables is
  refused unless the caller logs each row and says so (execution option
  ``audited``);
- chain: at commit, the queued events get their positions and hashes under
  a lock on the chain's head row, in the same transaction.
"""

from __future__ import annotations

from flask import Flask

from backoffice.audit.capture import AUDITED_TABLES, install
from backoffice.audit.events import MEMBER_SELF, pii, record, start_session

__all__ = ["AUDITED_TABLES", "MEMBER_SELF", "init_app", "pii", "record", "start_session"]


def init_app(app: Flask) -> None:
    install(app)
