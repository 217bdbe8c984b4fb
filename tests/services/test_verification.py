"""SMS one-time codes: every abuse case of docs/sms-otp.md that the service owns."""

import logging
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from backoffice import sms
from backoffice.extensions import db
from backoffice.models import Member, PhoneVerification, utcnow
from backoffice.services import verification as otp
from backoffice.services.errors import ServiceError
from tests import factories
from tests.fakes import ACCOUNT_SID, AUTH_TOKEN, VERIFY_SID, FakeTwilioHttp, error_body
from tests.fakes import verification as verify_body

PHONE = "+919876543210"



@pytest.fixture
def member(ctx, units):
    return factories.member(units["BLK-BILHA"], mobile=PHONE)


def outbox():
    return sms.gateway()


def last_code():
    return outbox().last_code_for(PHONE)


def fresh(member):
    db.session.expire_all()
    return db.session.get(Member, member.id)


def test_send_then_check_verifies_the_phone_once(member, staff):
    result = otp.send_code(member, actor=staff["enroller"], ip="10.0.0.1", locale="hi")
    assert result.ok
    assert "सत्यापन कोड" in outbox().outbox[0].text  # the Hindi SMS text
    code = last_code()
    assert otp.check_code(member, code, actor=staff["enroller"]).ok
    member = fresh(member)
    assert member.status == "phone_verified" and member.verified_by_id == staff["enroller"].id
    # The code is spent: using it again (or another check) changes nothing.
    with pytest.raises(ServiceError):
        otp.send_code(member)
    assert not otp.check_code(member, code).ok


def test_codes_are_stored_only_as_hmacs(member):
    otp.send_code(member)
    row = db.session.scalars(select(PhoneVerification)).one()
    assert row.code_hash and last_code() not in row.code_hash and len(row.code_hash) == 64


def test_the_sixth_wrong_check_is_refused_even_with_the_right_code(member):
    otp.send_code(member)
    code = last_code()
    wrong = "000000" if code != "000000" else "111111"
    messages = [str(otp.check_code(member, wrong).message) for _ in range(5)]
    assert messages[0] == "The code is wrong. 4 tries left."
    assert messages[-1] == "The code is wrong. 0 tries left."
    assert "Too many wrong codes" in str(otp.check_code(member, code).message)
    assert fresh(member).status == "recorded"


@pytest.mark.parametrize("typed", ["१२३४५६", "１２３４５６", "12345", "1234567", "", "12a456",
                                   "1" * 10_000])
def test_only_six_ascii_digits_are_read_as_a_code(member, typed):
    otp.send_code(member)
    result = otp.check_code(member, typed)
    assert not result.ok and "6-digit" in str(result.message)
    assert db.session.scalars(select(PhoneVerification)).one().checks == 0  # not a guess


def test_expired_codes_are_refused(member, app):
    otp.send_code(member)
    code = last_code()
    row = db.session.scalars(select(PhoneVerification)).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    assert "expired" in str(otp.check_code(member, code).message)


def test_a_code_for_one_member_cannot_verify_another_on_the_same_phone(ctx, units):
    first = factories.member(units["BLK-BILHA"], mobile=PHONE)
    second = factories.member(units["BLK-BILHA"], mobile=PHONE)
    otp.send_code(first)
    code = last_code()
    assert not otp.check_code(second, code).ok
    assert fresh(second).status == "recorded"


def test_changing_the_phone_voids_the_code_sent_to_the_old_one(member):
    otp.send_code(member)
    code = last_code()
    member.mobile = "+919812345678"
    db.session.flush()
    assert not otp.check_code(member, code).ok
    assert otp.send_code(member).ok  # a new code goes to the new number
    assert outbox().outbox[0].phone == "+919812345678"


def test_resends_wait_a_growing_cooldown_and_stop_after_five(member, app):
    assert otp.send_code(member).ok
    refused = otp.send_code(member)
    assert not refused.ok and 0 < refused.wait_seconds <= 30
    row = db.session.scalars(select(PhoneVerification)).one()
    app.config["OTP_PHONE_LIMIT"] = "100/hour"
    for expected_wait in (30, 60, 120, 240):
        row.last_sent_at = utcnow() - timedelta(seconds=expected_wait - 5)
        assert not otp.send_code(member).ok
        row.last_sent_at = utcnow() - timedelta(seconds=expected_wait + 1)
        assert otp.send_code(member).ok
    row.last_sent_at = utcnow() - timedelta(days=1)
    row.expires_at = utcnow() + timedelta(minutes=5)
    assert "Too many codes" in str(otp.send_code(member).message)


def test_a_resent_code_replaces_the_old_one(member, app):
    otp.send_code(member)
    old = last_code()
    row = db.session.scalars(select(PhoneVerification)).one()
    row.last_sent_at = utcnow() - timedelta(minutes=2)
    otp.send_code(member)
    new = last_code()
    if old != new:
        assert not otp.check_code(member, old).ok
    assert otp.check_code(member, new).ok


@pytest.mark.parametrize(
    ("limit", "kwargs_for", "expected_sends"),
    [
        ("OTP_PHONE_LIMIT", lambda staff, n: {}, 3),
        ("OTP_IP_LIMIT", lambda staff, n: {"ip": "10.9.9.9"}, 3),
        ("OTP_ENROLLER_LIMIT", lambda staff, n: {"actor": staff["enroller"]}, 3),
    ],
)
def test_per_phone_per_address_and_per_enroller_caps(ctx, app, units, staff, limit, kwargs_for,
                                                     expected_sends):
    app.config.update(OTP_PHONE_LIMIT="100/hour", OTP_IP_LIMIT="100/hour",
                      OTP_ENROLLER_LIMIT="100/hour")
    app.config[limit] = "3/hour"
    sent = 0
    for n in range(5):
        phone = PHONE if limit == "OTP_PHONE_LIMIT" else f"+9198765432{n:02d}"
        someone = factories.member(units["BLK-BILHA"], mobile=phone)  # a family's phone
        sent += otp.send_code(someone, **kwargs_for(staff, n)).ok
    assert sent == expected_sends


def test_wrong_codes_per_phone_earn_waits_and_a_lifetime_cap(member, app):
    app.config.update(OTP_MAX_CHECKS=100, OTP_PHONE_FAILURE_CAP=12)
    otp.send_code(member)
    code = last_code()
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        otp.check_code(member, wrong)
    blocked = otp.check_code(member, code)
    assert not blocked.ok and blocked.wait_seconds > 0  # a wait after five in a row
    record = otp.phone_record(PHONE)
    for _ in range(7):
        record.blocked_until = None
        db.session.flush()
        otp.check_code(member, wrong)
    db.session.expire_all()
    record = otp.phone_record(PHONE)
    assert record.failures == 12
    assert record.blocked_until > utcnow() + timedelta(days=365)  # the cap: staff must act
    assert not otp.send_code(member).ok


def test_a_failed_send_keeps_the_member_and_a_later_send_works(ctx, app, member):
    http = FakeTwilioHttp().answer(503, error_body(20503, 503)).answer(201, verify_body())
    app.extensions["sms_gateway"] = sms.TwilioVerifyGateway(ACCOUNT_SID, AUTH_TOKEN,
                                                            VERIFY_SID, http_client=http)
    failed = otp.send_code(member)
    assert not failed.ok and "not answering" in str(failed.message)
    db.session.commit()
    assert fresh(member) is not None and fresh(member).status == "recorded"
    assert otp.send_code(fresh(member)).ok
    http.answer(200, verify_body("approved"))
    assert otp.check_code(fresh(member), "123456").ok
    assert fresh(member).status == "phone_verified"
    assert db.session.scalars(select(PhoneVerification.status).order_by(
        PhoneVerification.id)).all() == ["failed", "approved"]


def test_no_code_phone_or_token_reaches_the_logs(ctx, app, member, caplog):
    caplog.set_level(logging.DEBUG)
    http = FakeTwilioHttp().answer(201, {"sid": "SM1", "status": "queued"}).answer(
        400, error_body(21614, 400))
    app.extensions["sms_gateway"] = sms.TwilioMessagingGateway(
        ACCOUNT_SID, AUTH_TOKEN, from_number="+15005550006", http_client=http)
    otp.send_code(member)
    sent_text = http.requests[0]["data"]["Body"]
    code = "".join(c for c in sent_text if c.isdigit())[:6]
    row = db.session.scalars(select(PhoneVerification)).one()
    row.last_sent_at = utcnow() - timedelta(minutes=5)
    otp.send_code(member)  # fails: landline
    otp.check_code(member, "000000" if code != "000000" else "111111")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert logged  # something was logged (the failed send)
    for secret in (code, "9876543210", AUTH_TOKEN):
        assert secret not in logged


@pytest.mark.skipif(not __import__("os").environ.get("BACKOFFICE_TEST_DATABASE_URL"),
                    reason="needs PostgreSQL row locks")
def test_two_concurrent_right_codes_verify_once(make_app):
    """Two requests with the right code at the same moment: one verification."""
    import threading

    from tests.services.test_workflow import _committed_race_fixture, _remove_race_fixture

    app = make_app()
    with app.app_context(), app.test_request_context():
        created = _committed_race_fixture()
        member = db.session.get(Member, created["member"])
        member.status = "recorded"
        otp.send_code(member)
        db.session.commit()
        code = sms.gateway().last_code_for(member.mobile)
    results, barrier = [], threading.Barrier(2)

    def check():
        with app.app_context(), app.test_request_context():
            someone = db.session.get(Member, created["member"])
            barrier.wait(5)
            results.append(otp.check_code(someone, code))
            db.session.commit()

    threads = [threading.Thread(target=check) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(15)
        with app.app_context():
            rows = db.session.scalars(select(PhoneVerification).where(
                PhoneVerification.member_id == created["member"])).all()
            assert [row.status for row in rows] == ["approved"]
            assert db.session.get(Member, created["member"]).status == "phone_verified"
        assert len(results) == 2
    finally:
        with app.app_context():
            db.session.execute(delete(PhoneVerification).where(
                PhoneVerification.member_id == created["member"]))
            db.session.commit()
            _remove_race_fixture(created)


def test_send_caps_hold_under_parallel_requests(ctx, app):
    """Twenty requests at once for one phone: exactly the allowed number get through."""
    import threading

    from backoffice import ratelimits

    results, start = [], threading.Barrier(20)

    def attempt():
        with app.app_context():
            start.wait(5)
            results.append(ratelimits.hit("otp-phone", "+919812345678", "5/hour"))

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(results) == [False] * 15 + [True] * 5


@pytest.mark.skipif(not __import__("os").environ.get("BACKOFFICE_TEST_REDIS_URL"),
                    reason="set BACKOFFICE_TEST_REDIS_URL to test Redis")
def test_code_limits_are_shared_by_two_workers_through_redis(make_app):
    """Two app instances (two gunicorn workers) count one phone's codes together."""
    import os
    import uuid

    from backoffice import ratelimits

    url = os.environ["BACKOFFICE_TEST_REDIS_URL"]
    apps = [make_app(RATELIMIT_STORAGE_URI=url) for _ in range(2)]
    phone = f"+9198{uuid.uuid4().int % 10 ** 8:08d}"
    allowed = []
    for attempt in range(6):
        with apps[attempt % 2].app_context():
            allowed.append(ratelimits.hit("otp-phone", phone, "3/hour"))
    assert allowed == [True, True, True, False, False, False]


def test_a_new_code_after_five_wrong_ones_works(member):
    """The per-code cap ends that code only: after the phone's wait, a new code is checked
    on its own count (before, the new send reused the spent one and was refused too)."""
    otp.send_code(member)
    code = last_code()
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        otp.check_code(member, wrong)
    assert "Too many wrong codes" in str(otp.check_code(member, code).message)
    waiting = otp.send_code(member)
    assert not waiting.ok and waiting.wait_seconds > 0  # the phone's wait still holds
    otp.phone_record(PHONE).blocked_until = utcnow() - timedelta(seconds=1)  # it has passed
    db.session.scalars(select(PhoneVerification)).one().last_sent_at = (
        utcnow() - timedelta(minutes=5))
    db.session.flush()
    assert otp.send_code(member).ok
    assert len(outbox().outbox) == 2
    assert otp.check_code(member, last_code()).ok
    assert fresh(member).status == "phone_verified"
    assert otp.phone_record(PHONE).failures == 5  # the lifetime count keeps the wrong ones


def _failing_gateway(app, failures):
    http = FakeTwilioHttp()
    for _ in range(failures):
        http.answer(503, error_body(20503, 503))
    app.extensions["sms_gateway"] = sms.TwilioVerifyGateway(ACCOUNT_SID, AUTH_TOKEN,
                                                            VERIFY_SID, http_client=http)


def test_an_sms_outage_uses_up_no_budget(ctx, app, units, staff, member):
    """Only sends the gateway accepted count against the phone, address and enroller."""
    app.config.update(OTP_PHONE_LIMIT="3/hour;6/day", OTP_IP_LIMIT="3/hour",
                      OTP_ENROLLER_LIMIT="3/hour")
    who = {"actor": staff["enroller"], "ip": "10.7.7.7"}
    _failing_gateway(app, 8)
    for _ in range(8):
        failed = otp.send_code(member, **who)
        assert not failed.ok and "not answering" in str(failed.message)
    app.extensions["sms_gateway"] = sms.MemoryGateway()  # the gateway is back
    family = [member] + [factories.member(units["BLK-BILHA"], mobile=PHONE) for _ in range(3)]
    answers = [otp.send_code(someone, **who) for someone in family]
    assert [a.ok for a in answers] == [True, True, True, False]
    assert "Too many codes" in str(answers[-1].message)
    assert len(outbox().outbox) == 3


def test_a_failed_resend_keeps_the_code_count_and_cooldown_as_they_were(ctx, app, member):
    assert otp.send_code(member).ok
    code = last_code()
    row = db.session.scalars(select(PhoneVerification)).one()
    row.last_sent_at = sent_at = utcnow() - timedelta(seconds=31)
    db.session.flush()
    _failing_gateway(app, 1)
    assert not otp.send_code(member).ok
    db.session.expire_all()
    row = db.session.scalars(select(PhoneVerification)).one()
    assert (row.status, row.sends, row.last_sent_at) == ("pending", 1, sent_at)
    app.extensions["sms_gateway"] = sms.MemoryGateway()
    assert otp.check_code(fresh(member), code).ok  # the code the member holds still works


@pytest.mark.parametrize("storage", ["memory://", "redis"])
def test_a_given_back_use_frees_its_slot(make_app, storage):
    """Pins the limits library behaviour ratelimits.Charge.refund relies on: a hit with
    a negative cost lowers the sliding-window counter, on memory and on Redis."""
    import os
    import uuid

    from backoffice import ratelimits

    if storage == "redis":
        storage = os.environ.get("BACKOFFICE_TEST_REDIS_URL")
        if not storage:
            pytest.skip("set BACKOFFICE_TEST_REDIS_URL to test Redis")
    app = make_app(RATELIMIT_STORAGE_URI=storage)
    phone = f"+9198{uuid.uuid4().int % 10 ** 8:08d}"
    with app.app_context():
        taken = [ratelimits.charge([("otp-phone", phone, "2/hour")]) for _ in range(2)]
        assert ratelimits.charge([("otp-phone", phone, "2/hour")]) is None
        taken[0].refund()
        assert ratelimits.charge([("otp-phone", phone, "2/hour")]) is not None
        assert ratelimits.charge([("otp-phone", phone, "2/hour")]) is None


def test_each_send_logs_one_outcome_line_with_reason_codes_only(ctx, app, member, caplog):
    caplog.set_level(logging.INFO, logger="backoffice.services.verification")
    test_outbox = outbox()
    _failing_gateway(app, 1)
    assert not otp.send_code(member).ok
    app.extensions["sms_gateway"] = test_outbox
    assert otp.send_code(member).ok
    outcomes = [r for r in caplog.records if hasattr(r, "sms_outcome")]
    assert [(r.sms_outcome, r.levelname) for r in outcomes] == [("failed", "WARNING"),
                                                                ("sent", "INFO")]
    assert outcomes[0].sms_reason and outcomes[0].provider_code == "20503"
    rows = db.session.scalars(select(PhoneVerification.id).order_by(PhoneVerification.id))
    assert [r.verification_id for r in outcomes] == rows.all()
    logged = "\n".join(f"{r.getMessage()} {vars(r)}" for r in outcomes)
    assert "9876543210" not in logged and last_code() not in logged
