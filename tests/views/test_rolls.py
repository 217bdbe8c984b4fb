"""The returning officer's screens and the claims page, end to end."""

import base64
import csv
import hashlib
import io
import json
from datetime import date, datetime, timedelta

from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models import Roll, RollClaim
from backoffice.services.membership_numbers import format_membership_no
from tests import factories


def approved(app, block, **kwargs):
    with app.test_request_context():
        return factories.approved(block, **kwargs)


def test_ro_creates_freezes_publishes_and_downloads(app, browser, staff, units):
    approved(app, units["BLK-BILHA"], full_name="प्रियंका त्रिपाठी", booth_no="4")
    approved(app, units["BLK-MASTURI"], full_name="Kavita Yadav", booth_no="4")
    ro = browser(staff["ro"])
    form = ro.get("/admin/rolls/new/").get_data(as_text=True)
    assert "Bilaspur" in form and "Raipur" not in form
    ro.post("/admin/rolls/new/", {"unit_id": units["DIST-BILASPUR"].id, "title": "सम्मेलन",
                                  "cut_off": "2026-11-15"}, token_from="/admin/rolls/new/")
    roll = db.session.scalar(select(Roll))
    page = f"/admin/rolls/details/?id={roll.id}"
    ro.post(f"/admin/rolls/step/?id={roll.id}", {"action": "freeze"}, token_from=page)
    db.session.refresh(roll)
    assert (roll.status, roll.entry_count) == ("frozen", 2)
    ro.post(f"/admin/rolls/step/?id={roll.id}", {"action": "publish",
                                                 "claims_until": date.today().isoformat()},
            token_from=page)
    db.session.refresh(roll)
    assert roll.status == "preliminary"
    response = ro.get(f"/admin/rolls/download/?id={roll.id}&format=csv")
    body = response.get_data()
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert [r[3] for r in rows[1:]] == ["प्रियंका त्रिपाठी", "Kavita Yadav"]
    manifest = json.loads(base64.b64decode(response.headers["X-Sadasya-Manifest"]))
    assert manifest["sha256"] == hashlib.sha256(body).hexdigest() and manifest["rows"] == 2
    details = ro.get(page).get_data(as_text=True)
    assert "/admin/rolls/manifest/" in details
    xlsx = ro.get(f"/admin/rolls/download/?id={roll.id}&format=xlsx")
    assert xlsx.status_code == 200 and xlsx.get_data()[:2] == b"PK"


def test_block_president_files_a_claim_the_ro_decides(app, browser, staff, units):
    approved(app, units["BLK-BILHA"], full_name="On Time")
    late = approved(app, units["BLK-BILHA"], full_name="Late Joiner")
    with app.test_request_context():
        late.created_at = datetime(2026, 11, 20)
        roll = Roll(unit_id=units["DIST-BILASPUR"].id, title="सम्मेलन", cut_off=date(2026, 11, 15))
        db.session.add(roll)
        db.session.flush()
    ro = browser(staff["ro"])
    page = f"/admin/rolls/details/?id={roll.id}"
    ro.post(f"/admin/rolls/step/?id={roll.id}", {"action": "freeze"}, token_from=page)
    ro.post(f"/admin/rolls/step/?id={roll.id}", {
        "action": "publish", "claims_until": (date.today() + timedelta(days=5)).isoformat()},
        token_from=page)
    president = browser(staff["bilha"])
    assert "सम्मेलन" in president.get("/admin/claims/").get_data(as_text=True)
    president.post("/admin/claims/", {"roll_id": roll.id, "kind": "claim",
                                      "membership_no": _number(app, late.id),
                                      "reason": "शुल्क समय पर जमा"}, token_from="/admin/claims/")
    claim = db.session.scalar(select(RollClaim))
    assert claim is not None and claim.filed_by_id == staff["bilha"].id
    ro.post(f"/admin/rolls/step/?id={roll.id}", {"action": "accept", "claim": claim.id,
                                                 "reason": "रसीद देखी"}, token_from=page)
    db.session.refresh(claim)
    db.session.refresh(roll)
    assert claim.status == "accepted" and roll.entry_count == 2
    for who in ("bilha", "district"):
        assert browser(staff[who]).get(page).status_code == 403, who


def _number(app, member_id):
    with app.test_request_context():
        return format_membership_no(member_id)
