"""Both Twilio backends, driven through a fake twilio.http.HttpClient.

These assert the exact requests the twilio library sends, and that every
listed failure becomes a reason the enroller can act on.
"""

import pytest

from backoffice.sms import GatewayError
from backoffice.sms.twilio import TwilioMessagingGateway, TwilioVerifyGateway
from tests.fakes import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    TIMEOUT,
    VERIFY_SID,
    FakeTwilioHttp,
    error_body,
    message,
    rfc9457_body,
    verification,
)

PHONE = "+919876543210"
VERIFY_URL = f"https://verify.twilio.com/v2/Services/{VERIFY_SID}"


def verify_gateway(http):
    return TwilioVerifyGateway(ACCOUNT_SID, AUTH_TOKEN, VERIFY_SID, http_client=http)


def messaging_gateway(http, **kwargs):
    kwargs.setdefault("from_number", "+15005550006")
    return TwilioMessagingGateway(ACCOUNT_SID, AUTH_TOKEN, http_client=http, **kwargs)


def test_verify_send_makes_exactly_the_documented_request():
    http = FakeTwilioHttp().answer(201, verification())
    sent = verify_gateway(http).send_code(PHONE, None, None, "hi")
    assert sent.provider_sid.startswith("VE")
    assert http.requests == [{
        "method": "POST", "uri": f"{VERIFY_URL}/Verifications",
        "data": {"To": PHONE, "Channel": "sms", "Locale": "hi"},
        "auth": (ACCOUNT_SID, AUTH_TOKEN)}]


def test_verify_check_is_approved_only_on_status_approved():
    http = FakeTwilioHttp().answer(200, verification("approved")).answer(
        200, verification("pending"))
    gateway = verify_gateway(http)
    assert gateway.check_code(PHONE, "123456") is True
    assert gateway.check_code(PHONE, "654321") is False  # a wrong code is 200 + pending
    assert http.requests[0]["uri"] == f"{VERIFY_URL}/VerificationCheck"
    assert http.requests[0]["data"] == {"To": PHONE, "Code": "123456"}


def test_verify_retries_without_an_unsupported_locale():
    http = FakeTwilioHttp().answer(404, error_body(20404, 404)).answer(201, verification())
    verify_gateway(http).send_code(PHONE, None, None, "hi")
    assert [r["data"] for r in http.requests] == [
        {"To": PHONE, "Channel": "sms", "Locale": "hi"}, {"To": PHONE, "Channel": "sms"}]


def test_messaging_send_makes_exactly_the_documented_request():
    http = FakeTwilioHttp().answer(201, message())
    gateway = messaging_gateway(http, status_callback="https://sadasya.example/sms/status")
    sent = gateway.send_code(PHONE, "123456", "123456 आपका कोड है", "hi")
    assert sent.provider_sid.startswith("SM")
    assert http.requests == [{
        "method": "POST",
        "uri": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
        "data": {"To": PHONE, "From": "+15005550006", "Body": "123456 आपका कोड है",
                 "StatusCallback": "https://sadasya.example/sms/status"},
        "auth": (ACCOUNT_SID, AUTH_TOKEN)}]


def test_messaging_can_send_through_a_messaging_service():
    http = FakeTwilioHttp().answer(201, message())
    messaging_gateway(http, from_number=None, messaging_service_sid="MG" + "5" * 32).send_code(
        PHONE, "1", "1", "en")
    assert http.requests[0]["data"]["MessagingServiceSid"] == "MG" + "5" * 32


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ((429, error_body(20429, 429)), "too_many"),
        ((429, error_body(60203, 429)), "too_many"),
        ((500, ""), "unavailable"),
        ((503, error_body(20503, 503)), "unavailable"),
        ((201, "<html>gateway</html>"), "unavailable"),  # a body that is not JSON
        ((400, rfc9457_body(60200, 400)), "invalid_number"),  # RFC 9457 problem body
        ((403, rfc9457_body(60605, 403)), "blocked"),
        ((400, error_body(21408, 400)), "blocked"),
        ((403, error_body(60605, 403)), "blocked"),
        ((403, error_body(60410, 403)), "blocked"),
        ((400, error_body(21614, 400)), "not_mobile"),
        ((400, error_body(21211, 400)), "invalid_number"),
        ((401, error_body(20003, 401)), "misconfigured"),
    ],
)
@pytest.mark.parametrize("backend", ["verify", "messaging"])
def test_every_listed_failure_becomes_a_reason(answer, reason, backend):
    status, body = answer
    http = FakeTwilioHttp().answer(status, body, raw=isinstance(body, str))
    gateway = verify_gateway(http) if backend == "verify" else messaging_gateway(http)
    with pytest.raises(GatewayError) as error:
        gateway.send_code(PHONE, "123456", "123456", "en")
    assert error.value.reason == reason
    assert str(error.value.message)  # a sentence for the enroller


@pytest.mark.parametrize("backend", ["verify", "messaging"])
def test_a_timeout_is_unavailable_not_a_crash(backend):
    http = FakeTwilioHttp().fail_with(TIMEOUT)
    gateway = verify_gateway(http) if backend == "verify" else messaging_gateway(http)
    with pytest.raises(GatewayError) as error:
        gateway.send_code(PHONE, "123456", "123456", "en")
    assert error.value.reason == "unavailable"


def test_verify_check_limits_and_expiry_are_reasons():
    http = FakeTwilioHttp().answer(429, error_body(60202, 429)).answer(404, error_body(20404, 404))
    gateway = verify_gateway(http)
    with pytest.raises(GatewayError) as error:
        gateway.check_code(PHONE, "123456")
    assert error.value.reason == "wrong_code_limit"
    with pytest.raises(GatewayError) as error:
        gateway.check_code(PHONE, "123456")
    assert error.value.reason == "expired"


def test_missing_settings_are_refused_at_start():
    for make in (lambda: TwilioVerifyGateway("", AUTH_TOKEN, VERIFY_SID),
                 lambda: TwilioVerifyGateway(ACCOUNT_SID, AUTH_TOKEN, ""),
                 lambda: TwilioMessagingGateway(ACCOUNT_SID, AUTH_TOKEN)):
        with pytest.raises(GatewayError) as error:
            make()
        assert error.value.reason == "misconfigured"
