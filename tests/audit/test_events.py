"""Every write path leaves an event with its actor; no personal value or secret in it."""

import csv
import hashlib
import io
import json
import logging

import pytest
from sqlalchemy import select

from backoffice import sms
from backoffice.extensions import db
from backoffice.models import AuditEvent
from tests import factories
from tests.views.test_member_forms import FORM


def events(*actions):
    db.session.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.seq)
    if actions:
        query = query.where(AuditEvent.action.in_(actions))
    return db.session.scalars(query).all()


def test_a_members_life_is_in_the_log_with_who_did_what(app, browser, staff, units):
    # Tests that commit leave their events, and SQLite may hand this member the id of one
    # they recorded and removed: only the events written from here on are this member's.
    before = len(events())
    enroller = browser(staff["enroller"])
    created = enroller.post("/admin/members/new/", FORM | {"block_id": units["BLK-BILHA"].id},
                            token_from="/admin/members/new/")
    verify_url = created.headers["Location"]
    member_id = int(verify_url.rsplit("=", 1)[1])
    enroller.post(verify_url, {"step": "send"}, token_from=verify_url)
    with app.app_context():
        code = sms.gateway().last_code_for("+919876543210")
    enroller.post(verify_url, {"step": "check", "code": code}, token_from=verify_url)
    president = browser(staff["bilha"])
    asked = president.post("/admin/queue/action/", {"action": "approve", "rowid": [member_id]},
                           token_from="/admin/queue/")
    confirm_url = asked.headers["Location"]  # "Approve 1 member?"
    president.post(confirm_url, {"action": "approve", "ids": str(member_id)},
                   token_from=confirm_url)
    district = browser(staff["district"])
    district.post("/admin/members/decide/", {"action": "revoke", "ids": str(member_id),
                                             "reason": "दोहरी सदस्यता"},
                  token_from="/admin/members/")
    trail = [(e.action, e.actor_user_id) for e in events()[before:] if e.entity_type == "member"
             and e.entity_id == member_id]
    assert trail == [
        ("member.create", staff["enroller"].id), ("otp.send", staff["enroller"].id),
        ("otp.check", staff["enroller"].id), ("member.verify_phone", staff["enroller"].id),
        ("member.approve", staff["bilha"].id), ("member.revoke", staff["district"].id)]
    revoke = events("member.revoke")[-1]
    assert revoke.reason == "दोहरी सदस्यता"
    assert json.loads(revoke.changes) == {"status": ["approved", "revoked"]}
    assert revoke.unit_id == units["BLK-BILHA"].id
    assert revoke.source_ip == "127.0.0.1" and revoke.request_id and revoke.session_ref is None
    assert "district_president@" in revoke.actor_roles


def test_no_phone_epic_name_code_or_secret_in_any_event(app, browser, staff, units, caplog):
    caplog.set_level(logging.DEBUG)
    enroller = browser(staff["enroller"])
    created = enroller.post("/admin/members/new/", FORM | {"block_id": units["BLK-BILHA"].id},
                            token_from="/admin/members/new/")
    verify_url = created.headers["Location"]
    enroller.post(verify_url, {"step": "send"}, token_from=verify_url)
    with app.app_context():
        code = sms.gateway().last_code_for("+919876543210")
    enroller.post(verify_url, {"step": "check", "code": "000000" if code != "000000"
                               else "111111"}, token_from=verify_url)
    browser().post("/login", {"login": staff["bilha"].email, "password": "wrong password"})
    stored = "\n".join(f"{e.changes}{e.details}{e.reason}{e.actor_roles}" for e in events())
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("9876543210", "CGB7654321", "प्रियंका", "त्रिपाठी", code, "wrong password",
                   staff["bilha"].email, app.config["SECRET_KEY"]):
        assert secret not in stored, secret
        assert secret not in logged, secret
    created_event = events("member.create")[-1]
    assert json.loads(created_event.changes)["mobile"][1].startswith("hmac:")


def test_logins_failures_and_refusals_are_logged(app, browser, staff, units):
    before = len(events())  # tests that commit leave theirs (logins of tests/auth)
    browser().post("/login", {"login": staff["bilha"].email, "password": factories.PASSWORD})
    browser().post("/login", {"login": staff["bilha"].email, "password": "nope"})
    browser(staff["enroller"]).get("/admin/queue/")  # not allowed: 403
    actions = [e.action for e in events()[before:]
               if e.action in ("auth.login", "auth.login_failed", "auth.forbidden")]
    assert actions == ["auth.login", "auth.login_failed", "auth.forbidden"]
    login = events("auth.login")[-1]
    assert login.actor_user_id == staff["bilha"].id and login.session_ref
    forbidden = events("auth.forbidden")[-1]
    assert forbidden.actor_user_id == staff["enroller"].id
    assert json.loads(forbidden.details)["path"] == "/admin/queue/"


def test_staff_roles_and_units_changes_are_logged(browser, staff, units):
    b = browser(staff["district"])
    b.post("/admin/staff/new/", {"full_name": "नया अध्यक्ष", "email": "naya@example.test",
                                 "mobile": "", "password": "a long password",
                                 "role": "block_president", "unit": units["BLK-KOTA"].id},
           token_from="/admin/staff/new/")
    created = events("staff.create")[-1]
    assert created.actor_user_id == staff["district"].id
    assert json.loads(created.changes)["password_hash"] == [None, "<changed>"]
    role = events("role.create")[-1]
    assert json.loads(role.changes)["role"] == [None, "block_president"]
    assert role.unit_id == units["BLK-KOTA"].id
    url = f"/admin/units/edit/?id={units['BLK-BILHA'].id}"
    browser(staff["state"]).post(url, {"code": "BLK-BILHA", "name_hi": "बिल्हा",
                                       "name_en": "Bilha", "parent_id": units["DIST-MUNGELI"].id},
                                 token_from=url)
    moved = [e for e in events("unit.update") if e.entity_id == units["BLK-BILHA"].id][-1]
    assert json.loads(moved.changes)["parent_id"] == [units["DIST-BILASPUR"].id,
                                                      units["DIST-MUNGELI"].id]


def test_an_export_is_logged_once_with_the_rows_and_hash_of_the_file_delivered(
        app, browser, staff, units):
    with app.test_request_context():
        for _ in range(3):
            factories.member(units["BLK-BILHA"])
    response = browser(staff["bilha"]).get("/admin/members/export/csv/")
    body = response.get_data()
    exports = [event for event in events("member.export")  # tests that commit leave theirs
               if event.actor_user_id == staff["bilha"].id]
    assert len(exports) == 1
    details = json.loads(exports[0].details)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert details["rows"] == len(rows) - 1 == 3
    assert details["sha256"] == hashlib.sha256(body).hexdigest()
    assert exports[0].actor_user_id == staff["bilha"].id


@pytest.mark.parametrize("bad", ["approve", "reject"])
def test_refused_decisions_leave_no_event(app, staff, units, bad):
    from backoffice.services import workflow

    with app.test_request_context():
        member = factories.member(units["BLK-MASTURI"], status="phone_verified")
        workflow.apply(staff["bilha"], bad, [member.id], reason="x")
        db.session.commit()
    # this member's: on PostgreSQL the workflow race test commits a real member.approve
    assert [e for e in events(f"member.{bad}") if e.entity_id == member.id] == []


def test_an_events_roles_show_only_those_held_in_the_viewers_units(app, browser, staff, units):
    """An enroller of Bilha who also enrols in Raipur records a member in Bilha: the
    event's page shows Bilaspur's district head the Bilha role only, the state both."""
    from backoffice.models import RoleAssignment
    from backoffice.services.units import create_unit

    raipur_block = create_unit(level="block", code="BLK-RAIPUR-1", name_en="Raipur block 1",
                               name_hi="रायपुर ब्लॉक 1", parent=units["DIST-RAIPUR"])
    db.session.add(RoleAssignment(user_id=staff["enroller"].id, role="enroller",
                                  unit_id=raipur_block.id))
    db.session.flush()
    browser(staff["enroller"]).post("/admin/members/new/",
                                    FORM | {"block_id": units["BLK-BILHA"].id},
                                    token_from="/admin/members/new/")
    created = events("member.create")[-1]
    assert f"@{raipur_block.id}" in created.actor_roles  # the log keeps what was true
    url = f"/admin/audit/details/?id={created.seq}"
    for viewer, sees_raipur in (("district", False), ("division", False), ("state", True)):
        page = browser(staff[viewer]).get(url).get_data(as_text=True)
        assert "Enroller · Bilha" in page, viewer
        assert ("Raipur block 1" in page) == sees_raipur, viewer
        assert f"enroller@{raipur_block.id}" not in page, viewer
