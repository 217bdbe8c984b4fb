"""The member list: scoped reads, search, masking."""

import pytest

from backoffice.extensions import db
from backoffice.services.membership_numbers import format_membership_no
from backoffice.services.units import create_unit
from tests import factories


@pytest.fixture
def people(app, units):
    with app.test_request_context():
        bilha = factories.member(units["BLK-BILHA"], full_name="बिल्हा सदस्य",
                                 mobile="+919812300001", epic="BLH0000001")
        masturi = factories.member(units["BLK-MASTURI"], full_name="Masturi Member",
                                   mobile="+919812300002", epic="MST0000002")
        raipur = factories.member(_raipur_block(units), full_name="Raipur Member")
        db.session.flush()
        return {"bilha": bilha, "masturi": masturi, "raipur": raipur,
                "numbers": {k: format_membership_no(v.id)
                            for k, v in {"bilha": bilha, "masturi": masturi}.items()}}


def _raipur_block(units):
    """The shipped list has blocks for Bilaspur division only."""
    return create_unit(level="block", code="BLK-TEST-RAIPUR", name_en="Raipur test block",
                       name_hi="रायपुर परीक्षण ब्लॉक", parent=units["DIST-RAIPUR"])


@pytest.mark.parametrize(
    ("who", "sees", "hidden"),
    [
        ("state", {"bilha", "masturi", "raipur"}, set()),
        ("division", {"bilha", "masturi"}, {"raipur"}),
        ("district", {"bilha", "masturi"}, {"raipur"}),
        ("other_district", {"raipur"}, {"bilha", "masturi"}),
        ("bilha", {"bilha"}, {"masturi", "raipur"}),
        ("masturi", {"masturi"}, {"bilha", "raipur"}),
        ("enroller", {"bilha"}, {"masturi", "raipur"}),
        ("ro", {"bilha", "masturi"}, {"raipur"}),
    ],
)
def test_each_role_lists_and_opens_only_members_of_its_units(browser, staff, people, who, sees,
                                                              hidden):
    b = browser(staff[who], lang="en")
    page = b.get("/admin/members/").get_data(as_text=True)
    names = {"bilha": "बिल्हा सदस्य", "masturi": "Masturi Member", "raipur": "Raipur Member"}
    for key in sees:
        assert names[key] in page, key
        assert b.get(f"/admin/members/details/?id={people[key].id}").status_code == 200
    for key in hidden:
        assert names[key] not in page, key
        response = b.get(f"/admin/members/details/?id={people[key].id}")
        assert response.status_code == 302  # Flask-Admin's "record does not exist" redirect
        missing = b.get("/admin/members/details/?id=999999")
        assert missing.status_code == response.status_code
        assert missing.headers["Location"] == response.headers["Location"]


def test_bad_ids_do_not_crash_the_details_page(browser, staff, people):
    b = browser(staff["state"])
    for bad in ["1,2", "abc", "", "1 OR 1=1", "9" * 40]:
        assert b.get(f"/admin/members/details/?id={bad}").status_code == 302, bad


@pytest.mark.parametrize(
    "term", ["9812300001", "+91 98123 00001", "blh0000001", "बिल्हा"],
)
def test_search_finds_by_phone_epic_or_name_prefix(browser, staff, people, term):
    page = browser(staff["district"]).get(
        "/admin/members/", query_string={"search": term}).get_data(as_text=True)
    assert "बिल्हा सदस्य" in page
    assert "Masturi Member" not in page


def test_search_by_membership_number_stays_inside_scope(browser, staff, people):
    number = people["numbers"]["masturi"]
    assert "Masturi Member" in browser(staff["district"]).get(
        "/admin/members/", query_string={"search": number}).get_data(as_text=True)
    assert "Masturi Member" not in browser(staff["bilha"]).get(
        "/admin/members/", query_string={"search": number}).get_data(as_text=True)


def test_division_incharge_and_ro_see_masked_phones_block_president_sees_them(
        browser, staff, people):
    full, masked = "+919812300001", "+91 ••••••••01"
    bilha_page = browser(staff["bilha"]).get("/admin/members/").get_data(as_text=True)
    assert full in bilha_page
    for who in ("division", "ro"):
        page = browser(staff[who]).get("/admin/members/").get_data(as_text=True)
        assert full not in page and masked in page, who
        details = browser(staff[who]).get(
            f"/admin/members/details/?id={people['bilha'].id}").get_data(as_text=True)
        assert full not in details and "BLH0000001" not in details


def test_list_counts_and_pages_stop_at_the_bound(browser, staff, units, app):
    """Counting stops past the bound, and a page past the cap shows the last one."""
    from backoffice.models import Member
    from backoffice.views.base import BoundedCountQuery, ScopedModelView

    with app.test_request_context():
        for _ in range(7):
            factories.member(units["BLK-BILHA"], full_name="Bound Test")
        query = BoundedCountQuery([Member.id], session=db.session())
        original = (BoundedCountQuery.bound, ScopedModelView.count_bound)
        BoundedCountQuery.bound, ScopedModelView.count_bound = 4, 100
        try:
            assert query.scalar() == 5
            assert query.filter(Member.block_id == -1).scalar() == 0
            page = browser(staff["bilha"]).get("/admin/members/?page=99999")
            assert page.status_code == 200
            assert "Bound Test" in page.get_data(as_text=True)
        finally:
            BoundedCountQuery.bound, ScopedModelView.count_bound = original


def test_block_filter_offers_only_the_viewers_blocks(browser, staff, people):
    bilha_page = browser(staff["bilha"]).get("/admin/members/").get_data(as_text=True)
    assert "Bilha" in bilha_page and "Masturi" not in bilha_page and "Kota" not in bilha_page
    district_page = browser(staff["district"]).get("/admin/members/").get_data(as_text=True)
    assert "Masturi" in district_page and "Kota" in district_page
    assert "Mungeli" not in district_page


def test_filtering_by_a_foreign_block_shows_nothing(browser, staff, people, units):
    page = browser(staff["bilha"]).get("/admin/members/", query_string={
        "flt2_0": units["BLK-MASTURI"].id}).get_data(as_text=True)
    assert "Masturi Member" not in page
