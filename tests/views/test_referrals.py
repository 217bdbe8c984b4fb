"""Recruiter links: /r/<code> to /join, attribution (audited), the code step kept, and
the leaderboard per block and district scoped to the viewer."""

import re

import pytest
from sqlalchemy import select

from backoffice import sms
from backoffice.extensions import db
from backoffice.models import AuditEvent, Member
from backoffice.services import referrals
from backoffice.services.units import create_unit
from tests import factories
from tests.test_join import DETAILS


@pytest.fixture
def join_app(app):
    app.config["JOIN_MIN_SECONDS"] = 0
    return app


def join_through(b, units, link, **overrides):
    form = b.get(link, follow_redirects=True).get_data(as_text=True)
    started = re.search(r'name="started" type="hidden" value="([^"]*)"', form).group(1)
    ref = re.search(r'name="ref" type="hidden" value="([^"]*)"', form).group(1)
    data = DETAILS | {"block_id": units["BLK-KOTA"].id, "started": started, "ref": ref} \
        | overrides
    return b.post("/join", data, token_from="/join")


def test_a_signup_through_a_recruiters_link_names_the_recruiter_after_the_code(
        join_app, browser, units, staff):
    page = browser(staff["enroller"]).get("/admin/recruiters/").get_data(as_text=True)
    link = re.search(r'class="recruiter-link" href="http://localhost(/r/[a-z0-9]+)"',
                     page).group(1)
    assert "<svg" in page  # the QR code, drawn in the page
    b = browser()
    response = b.get(link)
    assert response.status_code == 302 and "/join?ref=" in response.headers["Location"]
    assert join_through(b, units, link).headers["Location"] == "/join/verify"
    member = db.session.scalar(select(Member))
    assert member.referrer_staff_id == staff["enroller"].id
    assert member.status == "recorded"  # the referral skipped nothing
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "member.referred"))
    assert event.entity_id == member.id and f"staff:{staff['enroller'].id}" in event.details
    board = browser(staff["state"]).get("/admin/recruiters/").get_data(as_text=True)
    assert staff["enroller"].full_name not in board  # not counted before the code
    with join_app.app_context():
        code = sms.gateway().last_code_for("+919876543210")
    b.post("/join/verify", {"code": code}, token_from="/join/verify")
    board = browser(staff["state"]).get("/admin/recruiters/").get_data(as_text=True)
    assert staff["enroller"].full_name in board


@pytest.mark.parametrize("code", ["AAAA", "x" * 200, "zzzzzzzz", "%00", "ab'cdefg"])
def test_a_bad_or_unknown_code_is_just_no_referral(join_app, browser, units, code):
    b = browser()
    assert b.get(f"/r/{code}").status_code in (302, 400)  # crafted: 4xx, never a 500
    assert join_through(b, units, "/join", ref=code).status_code == 302  # a posted one
    assert db.session.scalar(select(Member)).referrer_staff_id is None


def test_a_member_recruits_through_their_own_link(join_app, browser, units):
    recruiter = factories.member(units["BLK-BILHA"], status="approved")
    code = referrals.code_for(recruiter)
    join_through(browser(), units, f"/r/{code}")
    recruit = db.session.scalar(select(Member).where(Member.id != recruiter.id))
    assert recruit.referrer_member_id == recruiter.id


def test_the_leaderboard_shows_each_viewer_only_their_units_recruits(browser, units, staff):
    bilha_enroller = factories.staff_with_role("enroller", units["BLK-BILHA"],
                                               full_name="Bilha Recruiter")
    masturi_enroller = factories.staff_with_role("enroller", units["BLK-MASTURI"],
                                                 full_name="Masturi Recruiter")
    raipur = units["DIST-RAIPUR"]
    raipur_block = create_unit(level="block", code="BLK-TEST-RAIPUR", name_en="Raipur test",
                               name_hi="रायपुर परीक्षण", parent=raipur)
    raipur_enroller = factories.staff_with_role("enroller", raipur_block,
                                                full_name="Raipur Recruiter")
    for block, recruiter, count in ((units["BLK-BILHA"], bilha_enroller, 3),
                                    (units["BLK-MASTURI"], masturi_enroller, 2),
                                    (raipur_block, raipur_enroller, 1)):
        for _ in range(count):
            factories.member(block, status="phone_verified", referrer_staff_id=recruiter.id)
    factories.member(units["BLK-BILHA"], status="recorded",
                     referrer_staff_id=masturi_enroller.id)  # never verified: not counted

    def seen(user):
        page = browser(user).get("/admin/recruiters/").get_data(as_text=True)
        return {name for name in ("Bilha Recruiter", "Masturi Recruiter", "Raipur Recruiter")
                if name in page}

    assert seen(staff["bilha"]) == {"Bilha Recruiter"}
    assert seen(staff["masturi"]) == {"Masturi Recruiter"}
    assert seen(staff["district"]) == {"Bilha Recruiter", "Masturi Recruiter"}
    assert seen(staff["other_district"]) == {"Raipur Recruiter"}
    assert seen(staff["state"]) == {"Bilha Recruiter", "Masturi Recruiter", "Raipur Recruiter"}
    district_rows = referrals.leaderboard(staff["district"], "member.view", "district",
                                          since=referrals.week_start())
    assert [(r.name, r.recruits) for r in district_rows] == [
        ("Bilha Recruiter", 3), ("Masturi Recruiter", 2)]
    assert browser(staff["nobody"]).get("/admin/recruiters/").status_code == 403


def test_one_recruiters_recruits_on_one_phone_or_address_show_in_the_audit_report(
        app, browser, units, staff):
    recruiter = factories.staff_with_role("enroller", units["BLK-BILHA"],
                                          full_name="Busy Recruiter")
    code = referrals.code_for(recruiter)
    for _ in range(3):  # AUDIT_REFERRAL_PHONE_MIN: one phone
        factories.member(units["BLK-BILHA"], mobile="+919812345678")
    app.config["AUDIT_REFERRAL_ADDRESS_MIN"] = 2
    with app.test_request_context(environ_base={"REMOTE_ADDR": "203.0.113.9"}):
        for member in db.session.scalars(select(Member)).all():
            referrals.attribute(member, code)
        db.session.commit()
    page = browser(staff["district"]).get("/admin/audit_reports/").get_data(as_text=True)
    section = page.split("report-referrals", 1)[1].split("</table>", 1)[0]
    assert "Busy Recruiter" in section and "203.0.113.9" in section
    assert "9812345678" in section or "5678" in section  # the phone, masked or not
    other = browser(staff["other_district"]).get("/admin/audit_reports/").get_data(
        as_text=True)
    assert "Busy Recruiter" not in other.split("report-referrals", 1)[1].split("</table>")[0]


def test_the_recruiters_page_reads_in_hindi(browser, staff):
    page = browser(staff["bilha"], lang="hi").get("/admin/recruiters/").get_data(as_text=True)
    assert "आपकी भर्ती लिंक" in page and "इस सप्ताह ब्लॉक-वार भर्तीकर्ता" in page
    assert "Your recruiter link" not in page


def _shape(page: str, code: str) -> str:
    """The page with what differs from visit to visit (the code itself, the CSRF token,
    the signed time stamp, the CSP nonce) taken out."""
    page = page.replace(code, "CODE")
    page = re.sub(r'(<input[^>]*name="(?:csrf_token|started)"[^>]*value=")[^"]*', r"\1", page)
    return re.sub(r'nonce="[^"]*"', 'nonce=""', page)


def test_a_link_tells_nothing_of_whether_its_code_is_anyones(join_app, browser, units, staff):
    """/r/<code> and /join?ref=<code> answer alike for a staff user's code, a member's,
    a retired one's and a code nobody has: a prober learns nothing from the links."""
    member = factories.member(units["BLK-BILHA"], status="approved")
    retired = staff["other_district"]
    codes = {"staff": referrals.code_for(staff["enroller"]), "member": referrals.code_for(member),
             "retired": referrals.code_for(retired)}
    retired.active = False
    db.session.commit()
    codes["nobody"] = next(c for c in ("abcdefgh", "hgfedcba") if c not in codes.values())
    answers = {}
    for kind, code in codes.items():
        b = browser(lang="hi")
        link = b.get(f"/r/{code}")
        page = b.get(link.headers["Location"])
        answers[kind] = (link.status_code, link.headers["Location"].replace(code, "CODE"),
                         sorted(link.headers.keys()), page.status_code,
                         _shape(page.get_data(as_text=True), code))
    assert answers["staff"][3] == 200
    assert answers["staff"] == answers["member"] == answers["retired"] == answers["nobody"]
