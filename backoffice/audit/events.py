"""Building events: who, from where, what; personal values only as keyed HMACs."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

from flask import current_app, g, has_request_context, request, session
from flask_login import current_user

from backoffice.auth.scoping import grants
from backoffice.extensions import db
from backoffice.models import utcnow

PENDING = "audit_pending"
SESSION_KEY = "audit_sid"


def canonical(value) -> str:
    """The one JSON spelling of a value: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def _key() -> bytes:
    key = current_app.extensions.get("audit_hmac_key")
    if key is None:
        base = current_app.config.get("AUDIT_HMAC_KEY") or current_app.config["SECRET_KEY"]
        key = hmac.new(base.encode(), b"sadasya-audit-pii", hashlib.sha256).digest()
        current_app.extensions["audit_hmac_key"] = key
    return key


def pii(field: str, value) -> str | None:
    """A keyed HMAC standing for a personal value: equal values match, nothing reads back.

    Erasing a member (DPDP Act s.8(7)) then never needs to touch the log.
    """
    if value is None or value == "":
        return None
    digest = hmac.new(_key(), f"{field}:{value}".encode(), hashlib.sha256).hexdigest()
    return f"hmac:{digest[:32]}"


def start_session() -> None:
    """A random reference for this login; the log keeps only its hash."""
    session[SESSION_KEY] = secrets.token_hex(16)


#: ``actor`` of a member's own act (at /status): no staff user is named, even one logged
#: in in the same browser
MEMBER_SELF = "member-self"


def _context(actor) -> dict:
    context = {"actor_user_id": None, "actor_roles": "[]", "source_ip": None,
               "request_id": None, "session_ref": None}
    own = actor is MEMBER_SELF
    if own:
        actor = None
    if actor is None and not own and has_request_context() and getattr(
            current_user, "is_authenticated", False):
        actor = current_user
    if actor is not None:
        context["actor_user_id"] = actor.id
        context["actor_roles"] = canonical(sorted(f"{g_.role}@{g_.unit_id}"
                                                  for g_ in grants(actor)))
    if has_request_context():
        context["source_ip"] = (request.remote_addr or "")[:45] or None
        context["request_id"] = g.get("request_id")
        sid = session.get(SESSION_KEY)
        if sid:
            context["session_ref"] = hashlib.sha256(sid.encode()).hexdigest()
    return context


def record(action: str, *, entity_type: str | None = None, entity_id: int | None = None,
           unit_id: int | None = None, changes: dict | None = None, reason: str | None = None,
           details: dict | None = None, actor=None, session=None) -> None:
    """Queue an event; it is written, chained, at the session's commit (or dropped
    with its rollback)."""
    event = _context(actor) | {
        "occurred_at": utcnow().isoformat(timespec="microseconds"),
        "action": action, "entity_type": entity_type, "entity_id": entity_id,
        "unit_id": unit_id, "changes": canonical(changes or {}), "reason": reason,
        "details": canonical(details or {}),
    }
    (session or db.session()).info.setdefault(PENDING, []).append(event)

