"""The SMS provider down or slow: a short time-out, a circuit breaker that makes sends
fail at once while it is open, the member kept, a plain message, nothing counted against
the limits, a retry from the member's page; and no database transaction or row lock held
while the provider is asked (the member and the claimed send are committed first)."""

from __future__ import annotations

import re
import socket
import sqlite3
import threading

import pytest
import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from backoffice import sms
from backoffice.audit import chain
from backoffice.extensions import db
from backoffice.models import AuditEvent, Member, PhoneVerification, StaffUser, Unit
from backoffice.sms.breaker import CircuitBreaker
from backoffice.sms.twilio import TwilioVerifyGateway
from tests import factories
from tests.conftest import Browser
from tests.fakes import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    TIMEOUT,
    VERIFY_SID,
    FakeTwilioHttp,
    error_body,
    verification,
)

PHONE = "+919812300011"
TWILIO = {"SMS_GATEWAY": "twilio_verify", "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
          "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_VERIFY_SERVICE_SID": VERIFY_SID}
UNAVAILABLE_EN = "The SMS service is not answering right now. The member is saved"
UNAVAILABLE_HI = "SMS सेवा इस समय जवाब नहीं दे रही है"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def gateway(http, failures=3, clock=None):
    return TwilioVerifyGateway(ACCOUNT_SID, AUTH_TOKEN, VERIFY_SID, http_client=http,
                               breaker=CircuitBreaker(failures, 60, clock=clock or Clock()))


def send(g):
    return g.send_code(PHONE, None, None, "hi")


def test_the_breaker_opens_after_outages_in_a_row_and_a_trial_send_closes_it():
    clock = Clock()
    http = (FakeTwilioHttp().fail_with(TIMEOUT).answer(500, "", raw=True)
            .fail_with(requests.ConnectionError("refused")).answer(201, verification()))
    g = gateway(http, failures=3, clock=clock)
    for _ in range(3):
        with pytest.raises(sms.GatewayError) as failed:
            send(g)
        assert failed.value.reason == "unavailable"
    assert g.breaker.state == "open"
    with pytest.raises(sms.GatewayError) as refused:
        send(g)
    assert (refused.value.reason, refused.value.code) == ("unavailable", "circuit_open")
    assert len(http.requests) == 3  # open: the provider is not asked, the answer is at once
    clock.now = 59
    with pytest.raises(sms.GatewayError):
        send(g)
    clock.now = 61  # past the reset time: one trial send goes, and it works
    assert send(g).provider_sid.startswith("VE")
    assert len(http.requests) == 4 and g.breaker.state == "closed"


def test_a_failed_trial_opens_the_breaker_again():
    clock = Clock()
    http = FakeTwilioHttp().fail_with(TIMEOUT).fail_with(TIMEOUT)
    g = gateway(http, failures=1, clock=clock)
    with pytest.raises(sms.GatewayError):
        send(g)
    clock.now = 61
    with pytest.raises(sms.GatewayError):
        send(g)  # the trial: asked, and failed
    assert len(http.requests) == 2 and g.breaker.state == "open"


def test_answers_about_one_number_do_not_open_the_breaker():
    http = FakeTwilioHttp()
    for _ in range(5):
        http.answer(400, error_body(21211, 400))
    g = gateway(http, failures=2)
    for _ in range(5):
        with pytest.raises(sms.GatewayError) as failed:
            send(g)
        assert failed.value.reason == "invalid_number"
    assert len(http.requests) == 5 and g.breaker.state == "closed"


def test_a_provider_that_never_answers_is_given_up_on_after_the_time_out():
    """Twilio's own HTTP client (requests) against a server that accepts the connection
    and never answers: the send fails as "unavailable" after SMS_TIMEOUT_SECONDS."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    config = TWILIO | {"SMS_TIMEOUT_SECONDS": 0.5, "SMS_BREAKER_FAILURES": 5,
                       "SMS_BREAKER_RESET_SECONDS": 60,
                       "TWILIO_API_BASE_URL": f"http://127.0.0.1:{port}"}
    outcome = []

    def attempt():
        try:
            send(sms.build(config))
        except sms.GatewayError as error:
            outcome.append(error.reason)

    worker = threading.Thread(target=attempt, daemon=True)
    try:
        worker.start()
        worker.join(20)  # bounded: without a time-out this would wait for ever
        assert not worker.is_alive(), "the send did not give up"
    finally:
        listener.close()
    assert outcome == ["unavailable"]


@pytest.fixture
def http():
    return FakeTwilioHttp()


@pytest.fixture
def app_config(http):
    return TWILIO | {"SMS_TWILIO_HTTP_CLIENT": http, "SMS_BREAKER_FAILURES": 2,
                     "OTP_PHONE_LIMIT": "1/hour"}


@pytest.mark.parametrize("lang, message", [("en", UNAVAILABLE_EN), ("hi", UNAVAILABLE_HI)])
def test_while_the_provider_is_down_the_enroller_hears_so_at_once_and_retries_later(
        app, browser, staff, units, http, lang, message):
    with app.test_request_context():
        member = factories.member(units["BLK-BILHA"], mobile=PHONE)
    db.session.commit()
    http.fail_with(TIMEOUT).fail_with(TIMEOUT)
    b = browser(staff["enroller"], lang=lang)
    page = f"/admin/members/verify/?id={member.id}"

    def send_step() -> str:
        answer = b.post(page, {"step": "send"}, token_from=page, follow_redirects=True)
        assert answer.status_code == 200
        return answer.get_data(as_text=True)

    for _ in range(3):  # two time-outs open the breaker; the third is refused at once
        assert message in send_step()
    assert len(http.requests) == 2
    db.session.expire_all()
    assert db.session.get(Member, member.id).status == "recorded"  # the member is kept
    assert 'value="send"' in b.get(page).get_data(as_text=True)  # the page offers a retry

    breaker = app.extensions["sms_gateway"].breaker
    breaker.clock = lambda: 10 ** 6  # minutes later: the breaker lets a trial send through
    http.answer(201, verification())
    retried = send_step()
    assert message not in retried and len(http.requests) == 3
    # The failed sends used up none of the phone's 1 send an hour: this one was allowed.
    sent = db.session.scalar(select(PhoneVerification).where(
        PhoneVerification.member_id == member.id, PhoneVerification.status == "pending"))
    assert sent.sends == 1 and sent.provider_sid.startswith("VE")


class BlockingTwilioHttp(FakeTwilioHttp):
    """A provider that takes its time: the request waits inside until the test lets it."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = threading.Event()
        self.release = threading.Event()

    def request(self, *args, **kwargs):
        self.inside.set()
        assert self.release.wait(60), "the test never let the provider answer"
        return super().request(*args, **kwargs)


def no_locks_while_the_provider_answers(url: str, member_id: int) -> None:
    """From a connection of its own: the member and its claimed send are committed and
    nothing holds a lock on them or keeps a transaction open."""
    if url.startswith("sqlite"):
        path = make_url(url).database
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # fails at once if a writer is mid-transaction
            assert other.execute("SELECT sends FROM phone_verification WHERE member_id = ?",
                                 (member_id,)).fetchall() == [(1,)]
            other.execute("ROLLBACK")
        finally:
            other.close()
        return
    engine = create_engine(url)
    try:
        with engine.connect() as other:
            other.execute(text("SET lock_timeout = '2s'"))
            other.execute(text("SELECT id FROM member WHERE id = :id FOR UPDATE"),
                          {"id": member_id})
            sends = other.execute(text(
                "UPDATE phone_verification SET sends = sends WHERE member_id = :id "
                "RETURNING sends"), {"id": member_id}).scalars().all()
            assert sends == [1]
            states = other.execute(text(
                "SELECT state FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'")).scalars()
            assert set(states) <= {"idle"}, "a transaction is open during the SMS call"
            other.rollback()
    finally:
        engine.dispose()


def _blocked(fn) -> tuple[threading.Thread, list]:
    answers: list = []
    worker = threading.Thread(target=lambda: answers.append(fn()), daemon=True)
    worker.start()
    return worker, answers


@pytest.mark.parametrize("path", ["enroller", "join"])
def test_no_transaction_or_row_lock_is_held_while_the_provider_answers(scratch, path):
    blocking = BlockingTwilioHttp().answer(201, verification())
    app = scratch.app(**TWILIO, SMS_TWILIO_HTTP_CLIENT=blocking, JOIN_MIN_SECONDS=0)
    phone = "+91981230" + ("0021" if path == "enroller" else "0022")
    try:
        with app.app_context():
            if path == "enroller":
                with app.test_request_context():
                    member = factories.member(db.session.get(Unit, scratch.people["bilha"]),
                                              mobile=phone)
                    db.session.commit()
                    member_id = member.id
                b = Browser(app, db.session.get(StaffUser, scratch.people["enroller"]))
                b.client.set_cookie("lang", "en")
                page = f"/admin/members/verify/?id={member_id}"
                token = b.csrf_token(page)
                worker, answers = _blocked(lambda: b.client.post(
                    page, data={"step": "send", "csrf_token": token}))
            else:
                b = Browser(app)
                b.client.set_cookie("lang", "en")
                form = b.get("/join").get_data(as_text=True)
                started = re.search(r'name="started" type="hidden" value="([^"]*)"',
                                    form).group(1)
                token = b.csrf_token("/join")
                data = {"full_name": "Kavita Yadav", "relation": "husband",
                        "relative_name": "Rajesh Yadav", "gender": "female",
                        "date_of_birth": "1991-02-03", "mobile": phone[3:], "epic": "",
                        "address": "Kota", "booth_no": "8", "consent": "y", "website": "",
                        "block_id": scratch.people["kota"], "started": started,
                        "csrf_token": token}
                worker, answers = _blocked(lambda: b.client.post("/join", data=data))
            assert blocking.inside.wait(60), "the provider was never asked"
            # the request left its events to the background appender: let it finish its
            # round (a short transaction of its own) before looking for open transactions
            assert chain.caught_up(db.engine, timeout=60)
            db.session.remove()
            member_id = db.session.scalar(select(Member.id).where(Member.mobile == phone))
            assert member_id, "the member is committed before the provider is asked"
            assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.entity_type == "member", AuditEvent.entity_id == member_id))
            db.session.remove()
            no_locks_while_the_provider_answers(scratch.url, member_id)
            blocking.release.set()
            worker.join(60)
            assert not worker.is_alive() and answers[0].status_code == 302
            sent = db.session.scalar(select(PhoneVerification).where(
                PhoneVerification.member_id == member_id))
            assert sent.provider_sid and sent.provider_sid.startswith("VE")
    finally:
        blocking.release.set()
        with app.app_context():
            db.engine.dispose()
