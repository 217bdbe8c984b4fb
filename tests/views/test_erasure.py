"""The erase form on a member's page: who sees it, what it asks, what it does."""

import pytest

from backoffice.extensions import db
from backoffice.models import Member
from tests import factories


@pytest.fixture
def member(app, units):
    with app.test_request_context():
        member = factories.member(units["BLK-BILHA"], full_name="Erase Me Kumari",
                                  mobile="+919812300777", status="approved")
        db.session.flush()
        return member.id


def test_the_button_shows_for_district_heads_not_block_presidents(browser, staff, member):
    url = f"/admin/members/details/?id={member}"
    assert "Erase personal data" in browser(staff["district"]).get(url).get_data(as_text=True)
    assert "Erase personal data" not in browser(staff["bilha"]).get(url).get_data(as_text=True)


def test_others_cannot_open_it_and_another_districts_member_looks_missing(browser, staff,
                                                                          member):
    url = f"/admin/members/erase/?id={member}"
    assert browser(staff["bilha"]).get(url).status_code == 403
    assert browser(staff["other_district"]).get(url).status_code == 404
    assert browser(staff["district"]).get("/admin/members/erase/?id=abc").status_code == 404


def test_it_needs_csrf_a_reason_and_the_tick_then_erases(browser, staff, member, app):
    b = browser(staff["district"])
    url = f"/admin/members/erase/?id={member}"
    assert b.client.post(url, data={"reason": "asked", "confirm": "y"}).status_code == 400
    page = b.post(url, {"reason": "asked by letter"}, token_from=url).get_data(as_text=True)
    assert "Tick the box to confirm." in page
    page = b.post(url, {"reason": " ", "confirm": "y"}, token_from=url).get_data(as_text=True)
    assert "Give a reason" in page
    with app.app_context():
        assert db.session.get(Member, member).full_name == "Erase Me Kumari"

    response = b.post(url, {"reason": "asked by letter", "confirm": "y"}, token_from=url)
    assert response.status_code == 302
    details = b.get(response.headers["Location"]).get_data(as_text=True)
    assert "personal data was erased" in details and "Erase Me Kumari" not in details
    listed = b.get("/admin/members/").get_data(as_text=True)
    assert "(personal data erased)" in listed and "9812300777" not in listed
    again = b.get(url)  # nothing left to erase: back to the member, told so
    assert again.status_code == 302
    assert "already erased" in b.get(again.headers["Location"]).get_data(as_text=True)


def test_the_form_is_in_hindi(browser, staff, member):
    page = browser(staff["district"], lang="hi").get(f"/admin/members/erase/?id={member}")
    assert page.status_code == 200
    assert "Erase personal data" not in page.get_data(as_text=True)
