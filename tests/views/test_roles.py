"""Staff and role screens: scoped choices, crafted posts refused."""

import re

from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models import RoleAssignment, StaffUser


def test_role_form_offers_only_units_roles_and_people_in_scope(browser, staff, units):
    b = browser(staff["bilha"])
    page = b.get("/admin/roles/new/").get_data(as_text=True)
    assert "Enroller" in page and "Block president" not in page
    assert 'data-role="select2-ajax"' in page  # people and units: search as one types
    assert staff["enroller"].full_name not in page  # nobody chosen in advance
    assert re.search(r'<select[^>]*id="role"[^>]*><option value="">Choose a role</option>', page)

    def lookup(name, query=""):
        return [label for _id, label in b.get(
            f"/admin/roles/ajax/lookup/?name={name}&query={query}").get_json()]

    assert lookup("unit") == ["Block: Bilha (Bilaspur)", "Zone: Bilha zone 1 (Bilha)"]
    assert lookup("unit", "बिल्हा") == ["Block: Bilha (Bilaspur)", "Zone: Bilha zone 1 (Bilha)"]
    assert lookup("unit", "Masturi") == []
    people = " ".join(lookup("user"))
    assert staff["enroller"].full_name in people
    assert staff["masturi"].full_name not in people
    assert staff["bilha"].full_name not in people  # not oneself


def test_lookups_are_scoped_per_user_and_bounded(browser, staff, units):
    state = browser(staff["state"])
    units_found = state.get("/admin/roles/ajax/lookup/?name=unit&query=Raipur&limit=100000")
    labels = [label for _id, label in units_found.get_json()]
    assert "Division: Raipur" in labels and "District: Raipur (Raipur)" in labels
    assert len(state.get("/admin/roles/ajax/lookup/?name=user&query=&limit=100000")
               .get_json()) <= 20
    enroller = browser(staff["enroller"])  # manages nobody
    assert enroller.get("/admin/roles/ajax/lookup/?name=user&query=").status_code in (403,) \
        or enroller.get("/admin/roles/ajax/lookup/?name=user&query=").get_json() == []


def test_a_refusal_says_which_levels_the_role_is_held_at(browser, staff, units):
    b = browser(staff["state"])
    page = b.post("/admin/roles/new/", {"user": staff["enroller"].id, "role": "block_president",
                                        "unit": units["CG"].id},
                  token_from="/admin/roles/new/").get_data(as_text=True)
    assert "Block president is held at: Block; Chhattisgarh is a unit of level State." in page


def test_crafted_post_with_a_foreign_unit_or_higher_role_is_refused(browser, staff, units):
    b = browser(staff["bilha"])
    target = staff["enroller"]
    for role, unit in [("enroller", units["BLK-MASTURI"]), ("block_president", units["BLK-BILHA"]),
                       ("state_admin", units["CG"])]:
        b.post("/admin/roles/new/", {"user": target.id, "role": role, "unit": unit.id},
               token_from="/admin/roles/new/")
    roles = db.session.scalars(select(RoleAssignment).where(
        RoleAssignment.user_id == target.id)).all()
    assert [(r.role, r.unit_id) for r in roles] == [("enroller", units["BLK-BILHA"].id)]


def test_block_president_appoints_a_zone_enroller(browser, staff, units):
    b = browser(staff["bilha"])
    response = b.post("/admin/roles/new/", {"user": staff["enroller"].id, "role": "enroller",
                                            "unit": units["ZONE-BILHA-1"].id},
                      token_from="/admin/roles/new/")
    assert response.status_code == 302
    assert db.session.scalar(select(RoleAssignment).where(
        RoleAssignment.user_id == staff["enroller"].id,
        RoleAssignment.unit_id == units["ZONE-BILHA-1"].id)) is not None


def test_district_head_creates_a_block_president(browser, staff, units):
    b = browser(staff["district"])
    b.post("/admin/staff/new/", {"full_name": "नया अध्यक्ष", "email": "naya@example.test",
                                 "mobile": "", "password": "a long password",
                                 "role": "block_president", "unit": units["BLK-KOTA"].id},
           token_from="/admin/staff/new/")
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == "naya@example.test"))
    assert user is not None and user.roles[0].role == "block_president"


def test_viewers_without_staff_manage_cannot_create(browser, staff, units):
    b = browser(staff["division"])
    assert b.get("/admin/staff/").status_code == 200
    assert b.get("/admin/staff/new/").status_code == 302  # Flask-Admin: create not allowed
    b.post("/admin/staff/new/", {"full_name": "X", "email": "x@example.test",
                                 "password": "a long password", "role": "enroller",
                                 "unit": units["BLK-BILHA"].id}, token_from="/admin/staff/")
    assert db.session.scalar(select(StaffUser).where(
        StaffUser.email == "x@example.test")) is None


def test_staff_list_shows_only_staff_of_ones_units(browser, staff):
    page = browser(staff["bilha"]).get("/admin/staff/").get_data(as_text=True)
    assert staff["enroller"].full_name in page
    assert staff["masturi"].full_name not in page
    assert staff["other_district"].full_name not in page


def _edit(b, user, **data):
    url = f"/admin/staff/edit/?id={user.id}"
    form = {"full_name": user.full_name, "email": user.email, "mobile": "", "active": "y"}
    return b.post(url, {**form, **data}, token_from="/admin/staff/")


def test_staff_list_shows_only_the_roles_held_in_ones_units(browser, staff, units):
    """An enroller of Bilha who also enrols in Raipur: Bilha's block president and
    Bilaspur's district head see the Bilha role only; the state admin sees both."""
    from backoffice.services.units import create_unit

    raipur_block = create_unit(level="block", code="BLK-RAIPUR-1", name_en="Raipur block 1",
                               name_hi="रायपुर ब्लॉक 1", parent=units["DIST-RAIPUR"])
    db.session.add(RoleAssignment(user_id=staff["enroller"].id, role="enroller",
                                  unit_id=raipur_block.id))
    db.session.flush()
    for viewer, sees_raipur in (("bilha", False), ("district", False), ("division", False),
                                ("state", True)):
        page = browser(staff[viewer]).get("/admin/staff/", query_string={
            "search": staff["enroller"].full_name}).get_data(as_text=True)
        assert "Enroller · Bilha" in page, viewer
        assert ("Raipur block 1" in page) == sees_raipur, viewer
    page = browser(staff["other_district"]).get("/admin/staff/", query_string={
        "search": staff["enroller"].full_name}).get_data(as_text=True)
    assert "Enroller · Raipur block 1" in page and "Bilha" not in page


def test_block_president_deactivates_an_enroller_and_their_sessions_end(browser, staff):
    enroller_browser = browser(staff["enroller"])
    assert enroller_browser.get("/admin/").status_code == 200
    form = {"full_name": staff["enroller"].full_name, "email": staff["enroller"].email,
            "mobile": ""}  # the "active" box left unticked
    url = f"/admin/staff/edit/?id={staff['enroller'].id}"
    browser(staff["bilha"]).post(url, form, token_from=url)
    db.session.refresh(staff["enroller"])
    assert staff["enroller"].active is False
    assert enroller_browser.get("/admin/").status_code == 302


def test_nobody_edits_a_superior_a_peer_or_themselves(browser, staff):
    b = browser(staff["bilha"])
    for target in (staff["district"], staff["masturi"], staff["bilha"]):
        _edit(b, target, full_name="Changed By Bilha")
        db.session.refresh(target)
        assert target.full_name != "Changed By Bilha", target.email


def test_manager_sets_a_new_password(browser, staff):
    _edit(browser(staff["bilha"]), staff["enroller"], new_password="fresh password 1")
    fresh = browser()
    response = fresh.post("/login", {"login": staff["enroller"].email,
                                     "password": "fresh password 1"})
    assert response.status_code == 302
