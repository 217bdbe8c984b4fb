"""Twilio status callbacks: signatures checked, proxies handled, replays applied once."""

import pytest
from sqlalchemy import delete, select
from twilio.request_validator import RequestValidator

from backoffice.extensions import db
from backoffice.models import SmsStatusEvent
from tests.fakes import AUTH_TOKEN

PUBLIC = "https://sadasya.example"
REPORT = {"MessageSid": "SM" + "6" * 32, "MessageStatus": "delivered", "AccountSid": "AC1"}


def sign(url: str, params: dict, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


@pytest.fixture
def hook(app):
    app.config.update(TWILIO_AUTH_TOKEN=AUTH_TOKEN, PUBLIC_BASE_URL=PUBLIC)
    return app.test_client()


def events():
    db.session.expire_all()
    return db.session.scalars(select(SmsStatusEvent)).all()


def test_a_signed_report_is_stored_once_however_often_it_comes(hook):
    signature = sign(f"{PUBLIC}/sms/status", REPORT)
    for _ in range(3):
        response = hook.post("/sms/status", data=REPORT,
                             headers={"X-Twilio-Signature": signature})
        assert response.status_code == 204
    assert [(e.message_sid, e.status) for e in events()] == [(REPORT["MessageSid"],
                                                              "delivered")]


@pytest.mark.parametrize("headers", [
    {},  # missing
    {"X-Twilio-Signature": ""},
    {"X-Twilio-Signature": "not-base64!"},
    {"X-Twilio-Signature": sign(f"{PUBLIC}/sms/status", REPORT, token="other-token")},
    {"X-Twilio-Signature": sign(f"{PUBLIC}/sms/status", REPORT | {"MessageStatus": "sent"})},
])
def test_missing_wrong_or_tampered_signatures_get_403_never_500(hook, headers):
    response = hook.post("/sms/status", data=REPORT, headers=headers)
    assert response.status_code == 403
    assert events() == []


def test_without_a_configured_token_nothing_is_accepted(app):
    app.config["TWILIO_AUTH_TOKEN"] = None
    response = app.test_client().post("/sms/status", data=REPORT,
                                      headers={"X-Twilio-Signature": "x"})
    assert response.status_code == 403


def test_port_variants_of_the_public_url_validate(hook):
    signature = sign(f"{PUBLIC}:443/sms/status", REPORT)
    assert hook.post("/sms/status", data=REPORT,
                     headers={"X-Twilio-Signature": signature}).status_code == 204


def test_behind_a_tls_proxy_without_a_public_url_proxyfix_restores_https(make_app):
    app = make_app(TWILIO_AUTH_TOKEN=AUTH_TOKEN, PUBLIC_BASE_URL=None, PROXY_COUNT=1)
    report = REPORT | {"MessageSid": "SM" + "7" * 32}
    signature = sign(f"{PUBLIC}/sms/status", report)
    client = app.test_client()
    plain = client.post("/sms/status", data=report, base_url="http://10.0.0.5:8000",
                        headers={"X-Twilio-Signature": signature})
    assert plain.status_code == 403  # http://10.0.0.5:8000 is not what Twilio signed
    proxied = client.post("/sms/status", data=report, base_url="http://10.0.0.5:8000",
                          headers={"X-Twilio-Signature": signature,
                                   "X-Forwarded-Proto": "https",
                                   "X-Forwarded-Host": "sadasya.example",
                                   "X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 204
    with app.app_context():  # this app commits for real: leave nothing behind
        db.session.execute(delete(SmsStatusEvent).where(
            SmsStatusEvent.message_sid == report["MessageSid"]))
        db.session.commit()


def test_the_webhook_needs_no_csrf_token_but_the_rest_of_the_site_does(hook):
    assert hook.post("/login", data={"login": "x", "password": "y"}).status_code == 400

