"""TWILIO_API_BASE_URL: the real Twilio gateway code talking to a stand-in on this host
(the stack test's), and never to any other host."""

from __future__ import annotations

import pytest

from backoffice import sms
from backoffice.settings import ConfigError
from tests.deploy.fake_twilio import FakeTwilio

ACCOUNT = "AC" + "0" * 32
TWILIO = {"SMS_GATEWAY": "twilio_messaging", "TWILIO_ACCOUNT_SID": ACCOUNT,
          "TWILIO_AUTH_TOKEN": "stand-in", "TWILIO_FROM_NUMBER": "+15005550006"}


@pytest.fixture
def fake():
    stand_in = FakeTwilio(ACCOUNT)
    yield stand_in
    stand_in.stop()


@pytest.mark.parametrize("url", ["https://api.twilio.example", "http://10.0.0.5:8080",
                                 "http://127.0.0.1.example.net", "ftp://127.0.0.1/"])
def test_any_other_host_is_refused_at_start(make_app, url):
    with pytest.raises(ConfigError, match="TWILIO_API_BASE_URL may only name this host"):
        make_app(**TWILIO, TWILIO_API_BASE_URL=url)


def test_the_gateway_sends_through_the_stand_in_and_its_dry_call_reads_the_account(
        make_app, fake):
    app = make_app(**TWILIO, TWILIO_API_BASE_URL=fake.url)
    with app.app_context():
        gateway = sms.gateway()
        assert gateway.dry_call()
        sent = gateway.send_code("+919876500011", "123456", "123456 is your code", "en")
    assert sent.provider_sid.startswith("SM")
    assert fake.last_code_for("+919876500011") == "123456"


def test_a_wrong_account_is_twilios_answer_not_a_crash(make_app, fake):
    app = make_app(**TWILIO | {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32},
                   TWILIO_API_BASE_URL=fake.url)
    with app.app_context(), pytest.raises(sms.GatewayError):
        sms.gateway().send_code("+919876500011", "123456", "123456 is your code", "en")
    assert fake.sent == []
