"""The member list: scoped reads, search, masking."""

import re

import pytest

from backoffice.extensions import db
from backoffice.services.membership_numbers import format_membership_no
from backoffice.services.units import create_unit
from backoffice.views.members import MemberView
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


def test_a_searched_list_pages_newest_first_and_counts_every_match(browser, staff, units,
                                                                   monkeypatch):
    """A name search's count and pages (read in one statement, MemberView._get_page):
    60 matches, 50 on the first page newest first, 10 on the second, a page past the
    end shows the last; past the count bound, the stock bounded count and page."""
    made = [factories.member(units["BLK-BILHA"], full_name=f"Pagetest Sahu {n}").id
            for n in range(60)]
    factories.member(units["BLK-MASTURI"], full_name="Pagetest Outside")  # the block's only
    db.session.flush()
    b = browser(staff["bilha"])

    def listed(**args):
        page = b.get("/admin/members/", query_string={"search": "pagetest", **args})
        text = page.get_data(as_text=True)
        return (re.search(r"List \(([\d,+]+)\)", text).group(1),
                [int(ids) for ids in re.findall(r"details/\?id=(\d+)", text)])

    count, first = listed()
    assert count == "60" and first == sorted(made, reverse=True)[:50]
    assert listed(page=1) == ("60", sorted(made, reverse=True)[50:])
    assert listed(page=7) == ("60", sorted(made, reverse=True)[50:])
    monkeypatch.setattr(MemberView, "count_bound", 30)
    count, first = listed()
    assert count == "30+" and first[:1] == [max(made)]


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
            BoundedCountQuery.bound = ScopedModelView.count_bound = 4
            tab = browser(staff["bilha"]).get("/admin/members/").get_data(as_text=True)
            assert "List (4+)" in tab and "List (5)" not in tab
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


def _cells(page: str) -> list[list[str]]:
    """Each body row's cells, whitespace collapsed (the stock template indents them)."""
    body = page.split("</thead>", 1)[1].split("</table>", 1)[0]
    return [[" ".join(cell.split()) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_rows_drawn_in_python_match_flask_admins_row_template(browser, staff, units, app,
                                                              monkeypatch, lang):
    """MemberView draws its rows in one call (ScopedModelView.list_row_cells); what a
    user sees must be what Flask-Admin's own row template draws, escaping included."""
    from backoffice.views.base import ScopedModelView

    with app.test_request_context():
        factories.member(units["BLK-BILHA"], full_name='<b>Asha & "Co"</b>',
                         relative_name="O'Neil", booth_no=None)
        factories.member(units["ZONE-BILHA-1"].parent, zone=units["ZONE-BILHA-1"],
                         full_name="राधा बाई", status="phone_verified")
        db.session.flush()
    b = browser(staff["bilha"], lang=lang)
    for url in ("/admin/members/", "/admin/queue/"):
        drawn = b.get(url).get_data(as_text=True)
        with monkeypatch.context() as patch:
            patch.setattr(ScopedModelView, "draws_rows_itself", property(lambda self: False))
            stock = b.get(url).get_data(as_text=True)
        assert _cells(drawn) == _cells(stock), url
        assert _cells(drawn), url
    rows = _cells(b.get("/admin/members/").get_data(as_text=True))
    assert len(rows) == 2 and any("&lt;b&gt;Asha &amp; &#34;Co&#34;&lt;/b&gt;" in cell
                                  for row in rows for cell in row)


def test_a_list_page_reads_its_rows_in_one_query(browser, staff, units, app):
    """Listed columns only, loaded with the page: no query per row, however many rows,
    and no personal data the list does not show (address, photo) read at all."""
    from sqlalchemy import event

    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    b = browser(staff["bilha"])
    b.get("/admin/members/")  # warm: translations, grants' first load
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        with app.test_request_context():
            factories.member(units["BLK-BILHA"])
            db.session.flush()
        statements.clear()
        assert b.get("/admin/members/").status_code == 200
        with_one = len(statements)
        with app.test_request_context():
            for _ in range(20):
                factories.member(units["BLK-BILHA"])
            db.session.flush()
        statements.clear()
        page = b.get("/admin/members/").get_data(as_text=True)
        assert len(_cells(page)) == 21
        assert len(statements) == with_one
        page_query = [s for s in statements if "member.full_name" in s]
        assert len(page_query) == 1
        assert "member.address" not in page_query[0]
        assert "member.photo_path" not in page_query[0]
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _listed_count(page: str) -> int:
    return int(re.search(r"List \((\d+)\)", page).group(1))


def test_list_counts_come_from_the_tallies_and_match_the_rows(browser, staff, units, app):
    """The unfiltered list's count is summed from member_tally (no walk over member
    rows), and is what the user could page through, for every role, zones and a
    user with overlapping grants included; a search counts the rows it finds."""
    from sqlalchemy import event, func, select

    from backoffice.auth.roles import MEMBER_APPROVE, MEMBER_VIEW
    from backoffice.auth.scoping import member_filter
    from backoffice.models import Member, RoleAssignment

    with app.test_request_context():
        zone = units["ZONE-BILHA-1"]
        for _ in range(3):
            factories.member(units["BLK-BILHA"], full_name="Bilha Count")
        factories.member(units["BLK-BILHA"], zone=zone, full_name="Zone Count",
                         status="phone_verified")
        factories.member(units["BLK-MASTURI"], full_name="Masturi Count",
                         status="phone_verified")
        factories.member(_raipur_block(units), full_name="Raipur Count")
        both = factories.staff_with_role("block_president", units["BLK-BILHA"])
        db.session.add(RoleAssignment(user_id=both.id, role="block_president",
                                      unit_id=units["BLK-MASTURI"].id))
        db.session.add(RoleAssignment(user_id=both.id, role="enroller", unit_id=zone.id))
        db.session.flush()
    people = {**staff, "both": both}
    del people["nobody"]

    statements = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for who, user in people.items():
            b = browser(user)
            for url, permission, status in (("/admin/members/", MEMBER_VIEW, None),
                                            ("/admin/queue/", MEMBER_APPROVE, "phone_verified")):
                with app.test_request_context():
                    from flask_login import login_user
                    login_user(user)
                    clause = member_filter(user, permission)
                    if status:
                        clause = clause & (Member.status == status)
                    expected = db.session.scalar(
                        select(func.count()).select_from(Member).where(clause))
                response = b.get(url)
                if response.status_code == 403:  # roles without the queue
                    continue
                statements.clear()
                page = b.get(url).get_data(as_text=True)
                assert (_listed_count(page) if expected else 0) == expected, (who, url)
                assert len(_cells(page)) == expected, (who, url)
                walked = [s for s in statements if "count(" in s.lower()
                          and "FROM member " in s and "zone_id" not in s]
                assert not walked, (who, url, walked)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    searched = browser(staff["district"]).get("/admin/members/?search=Bilha+Count")
    assert _listed_count(searched.get_data(as_text=True)) == 3


@pytest.mark.parametrize("page", ["-3", "-99999999"])
def test_a_negative_page_shows_the_first(browser, staff, people, page):
    response = browser(staff["bilha"]).get(f"/admin/members/?page={page}")
    assert response.status_code == 200
    assert "बिल्हा सदस्य" in response.get_data(as_text=True)
