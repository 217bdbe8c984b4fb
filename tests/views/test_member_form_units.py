"""The member form's block and zone choices: kept between requests, never stale to
the user who changed them (views/member_forms.py)."""

from backoffice.extensions import db
from backoffice.models import RoleAssignment
from backoffice.services import units as unit_service


def test_the_form_offers_units_as_they_are_now(app, browser, staff, units):
    """The choices are kept between requests, yet a unit added or renamed, the other
    language, and a user's changed grant are on the very next form."""
    b = browser(staff["enroller"])
    page = b.get("/admin/members/new/").get_data(as_text=True)
    assert "Bilha" in page and "Nayagaon" not in page and "Katghora" not in page
    with app.test_request_context():
        unit_service.create_unit(level="zone", code="ZONE-NAYAGAON", name_en="Nayagaon",
                                 name_hi="नयागाँव", parent=units["BLK-BILHA"])
        units["BLK-BILHA"].name_en = "Bilha Town"
        db.session.commit()
    page = b.get("/admin/members/new/").get_data(as_text=True)
    assert "Nayagaon" in page and "Bilha Town" in page
    assert "नयागाँव" in browser(staff["enroller"], lang="hi").get(
        "/admin/members/new/").get_data(as_text=True)
    with app.test_request_context():
        db.session.add(RoleAssignment(user_id=staff["enroller"].id, role="enroller",
                                      unit_id=units["BLK-KATGHORA"].id))
        db.session.commit()
    assert "Katghora" in b.get("/admin/members/new/").get_data(as_text=True)


def test_a_save_checks_the_chosen_block_and_zone_against_the_database(browser, staff, units):
    """Block and zone are read together on save: a member is saved with their zone, and
    a block outside the user's units is refused."""
    from tests.views.test_member_forms import FORM

    b = browser(staff["enroller"])
    response = b.post("/admin/members/new/", FORM | {
        "block_id": units["BLK-BILHA"].id, "zone_id": units["ZONE-BILHA-1"].id},
        token_from="/admin/members/new/")
    assert response.status_code == 302
    with_other = b.post("/admin/members/new/", FORM | {
        "block_id": units["BLK-MASTURI"].id, "zone_id": units["ZONE-BILHA-1"].id,
        "epic": "CGB7654322", "mobile": "98765 43212"}, token_from="/admin/members/new/")
    assert with_other.status_code == 200
