"""Units: the state admin adds, renames and moves them; nobody else can."""

from sqlalchemy import func, select

from backoffice.extensions import db
from backoffice.models import Member, Unit
from tests import factories


def test_state_admin_moves_a_block_and_its_members_follow(app, browser, staff, units):
    with app.test_request_context():
        factories.member(units["BLK-BILHA"])
    bilha = units["BLK-BILHA"]
    url = f"/admin/units/edit/?id={bilha.id}"
    b = browser(staff["state"])
    response = b.post(url, {"code": "BLK-BILHA", "name_hi": "बिल्हा", "name_en": "Bilha",
                            "parent_id": units["DIST-MUNGELI"].id}, token_from=url)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Unit, bilha.id).parent_id == units["DIST-MUNGELI"].id
    assert db.session.scalar(select(func.count()).select_from(Member).where(
        Member.district_id == units["DIST-MUNGELI"].id)) == 1


def test_state_admin_adds_a_block(browser, staff, units):
    b = browser(staff["state"])
    b.post("/admin/units/new/", {"code": "blk-new", "name_hi": "नया ब्लॉक", "name_en": "New",
                                 "level": "block", "parent_id": units["DIST-RAIPUR"].id},
           token_from="/admin/units/new/")
    unit = db.session.scalar(select(Unit).where(Unit.code == "BLK-NEW"))
    assert unit is not None and unit.path.startswith(units["DIST-RAIPUR"].path)


def test_a_block_under_a_division_is_refused(browser, staff, units):
    b = browser(staff["state"])
    page = b.post("/admin/units/new/", {"code": "BAD", "name_hi": "ग़लत", "name_en": "Bad",
                                        "level": "block", "parent_id": units["DIV-RAIPUR"].id},
                  token_from="/admin/units/new/").get_data(as_text=True)
    assert "directly under" in page
    assert db.session.scalar(select(Unit).where(Unit.code == "BAD")) is None


def test_only_the_state_admin_manages_units(browser, staff, units):
    for who in ("district", "bilha", "division", "ro"):
        b = browser(staff[who])
        assert b.get("/admin/units/new/").status_code == 302, who
        url = f"/admin/units/edit/?id={units['BLK-BILHA'].id}"
        b.post(url, {"code": "HACK", "name_hi": "x", "name_en": "x",
                     "parent_id": units["DIST-RAIPUR"].id}, token_from="/admin/units/")
        db.session.expire_all()
        assert db.session.get(Unit, units["BLK-BILHA"].id).code == "BLK-BILHA", who
