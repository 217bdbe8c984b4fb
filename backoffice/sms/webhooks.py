"""Twilio's delivery reports (status callbacks), signed with X-Twilio-Signature.

A missing or wrong signature gets 403, never 500; a report sent twice is
stored once.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, request
from sqlalchemy.exc import IntegrityError
from twilio.request_validator import RequestValidator

from backoffice.extensions import csrf, db
from backoffice.models import SmsStatusEvent

bp = Blueprint("sms", __name__)
log = logging.getLogger(__name__)


def _signed_url() -> str:
    """The URL Twilio signed: the configured public address if set (behind a TLS
    proxy request.url says http://), else the request's own (ProxyFix-corrected)."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if base:
        query = request.query_string.decode()
        return f"{base}{request.path}" + (f"?{query}" if query else "")
    return request.url


def _valid_signature() -> bool:
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    try:
        return RequestValidator(token).validate(_signed_url(), request.form.to_dict(), signature)
    except Exception:  # noqa: BLE001 - a malformed request is a bad signature, not a crash
        return False


@bp.post("/sms/status")
@csrf.exempt
def status_callback():
    if not _valid_signature():
        abort(403)
    sid = (request.form.get("MessageSid") or request.form.get("SmsSid") or "")[:64]
    status = (request.form.get("MessageStatus") or request.form.get("SmsStatus") or "")[:20]
    if not sid or not status:
        return "", 204
    try:
        with db.session.begin_nested():
            db.session.add(SmsStatusEvent(message_sid=sid, status=status,
                                          error_code=(request.form.get("ErrorCode") or None)))
    except IntegrityError:
        pass  # Twilio retries: this report is already stored
    db.session.commit()
    log.info("SMS delivery report: status=%s error=%s", status, request.form.get("ErrorCode"))
    return "", 204
