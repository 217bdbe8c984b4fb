"""Audit reports find planted fraud and flag nothing on a clean seed."""

import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from backoffice import audit
from backoffice.extensions import db
from backoffice.models import AuditEvent, utcnow
from backoffice.services import audit_reports as reports
from backoffice.services import demo
from backoffice.services import members as member_service
from backoffice.services.membership_numbers import format_membership_no
from backoffice.services.units import create_unit
from tests import factories
from tests.views.test_member_forms import FORM


@pytest.fixture
def seeded(app, units):
    with app.test_request_context():
        demo.create_demo_staff(units, "x")
        demo.seed_members(1500, seed=7)
        db.session.commit()
    return units


def window(days=7):
    return reports.Window.last_days(days, utcnow())


def all_reports(user, config):
    w = window(42)
    return {
        "bursts": reports.odd_hour_bursts(user, w, min_signups=config["AUDIT_BURST_MIN_SIGNUPS"],
                                          night=config["AUDIT_NIGHT_HOURS"]),
        "phones": reports.shared_phones(user, w, min_members=config["AUDIT_SHARED_PHONE_MIN"]),
        "runs": reports.consecutive_phone_runs(user, w, min_run=config["AUDIT_PHONE_RUN_MIN"]),
        "epics": reports.epic_duplicate_attempts(user, w),
        "duplicates": reports.possible_duplicates(user, w),
    }


def test_a_clean_seed_flags_nothing(app, seeded, staff):
    with app.test_request_context():
        found = all_reports(staff["state"], app.config)
        assert found == {"bursts": [], "phones": [], "runs": [], "epics": [],
                         "duplicates": []}
        assert reports.signups_per_enroller(staff["state"], window(42))  # but it counts


@pytest.fixture
def planted(app, seeded, staff, units):
    """A night of made-up members by one enroller, a shared phone, a run of numbers."""
    night = (utcnow() - timedelta(days=1)).replace(hour=19, minute=40)  # 01:10 IST
    bilha = units["BLK-BILHA"]
    with app.test_request_context():
        for i in range(12):
            factories.member(bilha, recorded_by_id=staff["enroller"].id,
                             created_at=night + timedelta(minutes=i),
                             mobile=f"+9196300000{i:02d}")  # also a run of 12 numbers
        for i in range(5):
            factories.member(bilha, recorded_by_id=staff["enroller"].id,
                             mobile="+919876500000", epic=f"SHR000000{i}")
        db.session.commit()
    return night


def test_planted_fraud_is_found_and_drills_down(app, planted, staff, browser):
    with app.test_request_context():
        found = all_reports(staff["district"], app.config)
    assert [(row.recorded_by_id, row.signups) for row in found["bursts"]] == [
        (staff["enroller"].id, 12)]
    assert [(row.mobile, row.members) for row in found["phones"]] == [("+919876500000", 5)]
    assert [(row.first, row.last, row.length) for row in found["runs"]] == [
        ("+919630000000", "+919630000011", 12)]
    page = browser(staff["district"]).get("/admin/audit_reports/?days=7").get_data(as_text=True)
    assert "+919876500000" in page and "+919630000000" in page
    drill = browser(staff["district"]).get(
        f"/admin/audit_reports/members/?enroller={staff['enroller'].id}&days=7")
    assert drill.get_data(as_text=True).count("/admin/members/details/?id=") == 17


def test_reports_are_scoped(app, planted, staff, browser):
    with app.test_request_context():
        assert all_reports(staff["other_district"], app.config) == {
            "bursts": [], "phones": [], "runs": [], "epics": [], "duplicates": []}
    page = browser(staff["other_district"]).get("/admin/audit_reports/?days=7")
    assert "+919876500000" not in page.get_data(as_text=True)
    drill = browser(staff["other_district"]).get(
        f"/admin/audit_reports/members/?enroller={staff['enroller'].id}&days=7")
    assert "/admin/members/details/" not in drill.get_data(as_text=True)
    for who in ("bilha", "enroller", "ro"):
        assert browser(staff[who]).get("/admin/audit_reports/").status_code == 403, who


def test_a_voter_id_entered_again_links_to_the_member_holding_it(app, staff, units, browser):
    with app.test_request_context():
        holder = factories.member(units["BLK-MASTURI"], epic="CGB7654321")
        number = format_membership_no(holder.id)
    b = browser(staff["enroller"])
    b.post("/admin/members/new/", FORM | {"block_id": units["BLK-BILHA"].id},
           token_from="/admin/members/new/")
    with app.test_request_context():
        attempts = reports.epic_duplicate_attempts(staff["district"], window())
        event = db.session.scalar(select(AuditEvent.details).where(
            AuditEvent.action == "member.epic_taken"))
    assert [(a.holder_id, a.in_scope) for a in attempts] == [(holder.id, True)]
    assert "CGB7654321" not in event and "hmac:" in event
    page = browser(staff["district"]).get("/admin/audit_reports/").get_data(as_text=True)
    section = page[page.index("report-epics"):]
    assert f"/admin/members/details/?id={holder.id}" in section and number in section
    assert "hmac:" not in page and "CGB7654321" not in page
    assert staff["enroller"].full_name in section


def test_an_older_voter_id_event_finds_its_holder_by_the_hmac(app, staff, units, browser):
    """Events written before they named the holder carry only the voter ID's HMAC; a
    holder outside the viewer's units is neither found nor named."""
    with app.test_request_context():
        holder = factories.member(units["BLK-BILHA"], epic="CGB7654321")
        raipur = create_unit(level="block", code="BLK-T-RPR", name_en="Raipur test",
                             name_hi="रायपुर परीक्षण", parent=units["DIST-RAIPUR"])
        outside = factories.member(raipur, epic="CGB1111111")
        for epic in ("CGB7654321", "CGB1111111"):
            audit.record("member.epic_taken", unit_id=units["BLK-BILHA"].id,
                         details={"epic": audit.pii("epic", epic)})
        db.session.commit()
        found = reports.epic_duplicate_attempts(staff["district"], window())
    assert {(a.holder_id, a.in_scope) for a in found} == {(holder.id, True), (None, False)}
    page = browser(staff["district"]).get("/admin/audit_reports/").get_data(as_text=True)
    assert "hmac:" not in page and f"?id={outside.id}" not in page
    assert f"/admin/members/details/?id={holder.id}" in page


def _signup(actor, block, name, relative, born, mobile):
    data = member_service.MemberInput(
        full_name=name, relative_name=relative, relation="father", gender="female",
        date_of_birth=born, mobile=mobile, epic=None, address="", booth_no=None,
        block_id=block.id)
    return member_service.record(actor, data, channel="enroller", notice_version="2026-11")


def test_one_person_recorded_in_two_scripts_is_flagged_and_reported(app, staff, units,
                                                                   browser):
    """कमला बघेल in Bilha and Kamla Baghel in Masturi (same father, same birth year) and a
    third copy in a Raipur block: each district head sees their own, linked, and how many
    are elsewhere; the member's page names the other; the signups all stand."""
    with app.test_request_context():
        raipur = create_unit(level="block", code="BLK-T-RPR", name_en="Raipur test",
                             name_hi="रायपुर परीक्षण", parent=units["DIST-RAIPUR"])
        first = _signup(staff["bilha"], units["BLK-BILHA"], "कमला बघेल", "रमेश बघेल",
                        date(1980, 3, 4), "9812311111")
        second = _signup(staff["masturi"], units["BLK-MASTURI"], "Kamla Baghel",
                         "Ramesh Baghel", date(1980, 11, 20), "9812322222")
        third = _signup(staff["state"], raipur, "Kamala Baghel", "Ramesh Baghel",
                        date(1980, 1, 1), "9812333333")
        _signup(staff["bilha"], units["BLK-BILHA"], "कमला बघेल", "रमेश बघेल",
                date(1981, 3, 4), "9812344444")  # another year: another person
        db.session.commit()
        flags = db.session.execute(select(AuditEvent.entity_id, AuditEvent.details).where(
            AuditEvent.action == "member.possible_duplicate").order_by(AuditEvent.seq)).all()
        assert {(entity, tuple(json.loads(details)["others"])) for entity, details in flags} \
            == {(second.id, (first.id,)), (first.id, (second.id,)),
                (third.id, (first.id, second.id)), (first.id, (third.id,)),
                (second.id, (third.id,))}  # each side of each pair, in its own block
        groups = reports.possible_duplicates(staff["district"], window())
        theirs = reports.possible_duplicates(staff["other_district"], window())
    assert [([m.id for m in g.members], g.outside) for g in groups] == [
        ([first.id, second.id], 1)]
    assert [([m.id for m in g.members], g.outside) for g in theirs] == [([third.id], 2)]
    page = browser(staff["district"]).get("/admin/audit_reports/").get_data(as_text=True)
    section = page[page.index("report-duplicates"):page.index("report-epics")]
    for member in (first, second):
        assert f"/admin/members/details/?id={member.id}" in section
    assert f"?id={third.id}" not in section and "1 member outside your units" in section
    details = browser(staff["bilha"]).get(f"/admin/members/details/?id={first.id}")
    text = details.get_data(as_text=True)
    assert "Possibly the same person" in text
    assert format_membership_no(second.id) not in text  # Masturi is not Bilha's
    assert "a member outside your units" in text
    district_view = browser(staff["district"]).get(
        f"/admin/members/details/?id={first.id}").get_data(as_text=True)
    assert f"/admin/members/details/?id={second.id}" in district_view


def test_one_photo_on_several_members_is_a_line_naming_them_in_scope(app, staff, units,
                                                                     browser):
    """The same picture, as uploaded and as a smaller re-encoded copy, on members of
    Bilaspur (one of them recorded long ago) and of Raipur: each district head sees
    a line naming their own members only, with links to them and their photos."""
    import io

    from PIL import Image

    from backoffice.services import photos
    from backoffice.services.units import create_unit
    from tests.services.test_photos import jpeg_with_everything, picture

    copy = io.BytesIO()
    picture().resize((600, 400), Image.Resampling.BICUBIC).save(copy, "JPEG", quality=55)
    with app.test_request_context():
        raipur_block = create_unit(level="block", code="BLK-PHOTO-RAIPUR",
                                   name_en="Raipur block", name_hi="रायपुर ब्लॉक",
                                   parent=units["DIST-RAIPUR"])
        mine = [factories.member(units["BLK-BILHA"], recorded_by_id=staff["enroller"].id),
                factories.member(units["BLK-MASTURI"]),
                factories.member(units["BLK-BILHA"], created_at=utcnow() - timedelta(days=80))]
        theirs = factories.member(raipur_block)
        alone = factories.member(units["BLK-BILHA"])
        for member, upload in zip([*mine, theirs], [jpeg_with_everything(), copy.getvalue(),
                                                    jpeg_with_everything(), copy.getvalue()],
                              strict=True):
            photos.attach(member, upload)
        other = io.BytesIO()
        picture().rotate(90, expand=True).save(other, "JPEG")
        photos.attach(alone, other.getvalue())
        db.session.commit()
        assert len({m.photo_sha256 for m in mine}) == 2  # two different files, one picture
        lines = reports.reused_photos(staff["district"], window())
        assert [(line.members, sorted(m.id for m in line.first)) for line in lines] == [
            (3, sorted(m.id for m in mine))]
        assert reports.reused_photos(staff["other_district"], window()) == []
        assert [line.members for line in reports.reused_photos(staff["state"], window())] == [4]

    page = browser(staff["district"]).get("/admin/audit_reports/?days=7").get_data(as_text=True)
    line = page.split('class="table table-sm report-photos"')[1].split("</table>")[0]
    for member in mine:
        assert f"/admin/members/details/?id={member.id}\"" in line
    assert f"?id={theirs.id}\"" not in line and f"?id={alone.id}\"" not in line
    assert "/admin/members/photo/file/?id=" in line
    drill_url = re.search(r'href="(/admin/audit_reports/members/\?[^"]*photo=[^"]+)"', line)
    drill = browser(staff["district"]).get(drill_url.group(1).replace("&amp;", "&"))
    listed = drill.get_data(as_text=True)
    assert listed.count("/admin/members/details/?id=") == 3
    assert listed.count("/admin/members/photo/file/?id=") == 3
    assert f"details/?id={theirs.id}\"" not in listed
    other_page = browser(staff["other_district"]).get("/admin/audit_reports/?days=7")
    assert "/admin/members/photo/file/" not in other_page.get_data(as_text=True)


def test_a_crafted_photo_drill_down_lists_nothing_and_never_fails(app, staff, units, browser):
    with app.test_request_context():
        factories.member(units["BLK-BILHA"], photo_phash="0123456789abcdef")
        db.session.commit()
    b = browser(staff["district"])
    assert b.get("/admin/audit_reports/members/?photo=0123456789abcdef").get_data(
        as_text=True).count("/admin/members/details/?id=") == 1
    for crafted in ("%00", "0123456789abcde%00", "0123456789ABCDEF", "x" * 5000, "%ff%fe",
                    "0123456789abcdef%0A"):
        answer = b.get(f"/admin/audit_reports/members/?photo={crafted}")
        assert answer.status_code in (200, 400), crafted  # 400: refused as unreadable input
        assert "/admin/members/details/?id=" not in answer.get_data(as_text=True), crafted
