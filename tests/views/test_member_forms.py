"""Recording and correcting a member through the backoffice forms."""

from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models import Member
from tests import factories

FORM = {"full_name": "प्रियंका  त्रिपाठी", "relative_name": "श्रीराम त्रिपाठी",
        "relation": "father", "gender": "female", "date_of_birth": "1994-08-15",
        "mobile": "098765 43210", "epic": "cgb7654321", "address": "वार्ड 4, बिल्हा",
        "booth_no": "17", "zone_id": "", "fee_receipt_no": "R-77", "consent": "y"}


def test_enroller_records_a_member_from_the_form(browser, staff, units):
    b = browser(staff["enroller"])
    page = b.get("/admin/members/new/").get_data(as_text=True)
    assert "Bilha" in page and "Masturi" not in page
    response = b.post("/admin/members/new/", FORM | {"block_id": units["BLK-BILHA"].id},
                      token_from="/admin/members/new/")
    assert response.status_code == 302
    member = db.session.scalar(select(Member).where(Member.epic == "CGB7654321"))
    assert member.full_name == "प्रियंका त्रिपाठी" and member.mobile == "+919876543210"
    assert member.recorded_by_id == staff["enroller"].id and member.channel == "enroller"


def test_a_bad_field_is_shown_next_to_the_field_in_hindi(browser, staff, units):
    b = browser(staff["enroller"], lang="hi")
    page = b.post("/admin/members/new/", FORM | {"block_id": units["BLK-BILHA"].id,
                                                 "mobile": "1800 180 1551"},
                  token_from="/admin/members/new/").get_data(as_text=True)
    assert "यह नंबर मोबाइल नंबर नहीं है" in page  # the reason, next to the field, in Hindi
    assert db.session.scalar(select(Member).where(Member.epic == "CGB7654321")) is None


def test_without_consent_nothing_is_saved(browser, staff, units):
    b = browser(staff["enroller"])
    data = FORM | {"block_id": units["BLK-BILHA"].id}
    data.pop("consent")
    page = b.post("/admin/members/new/", data, token_from="/admin/members/new/")
    assert "privacy notice" in page.get_data(as_text=True)
    assert db.session.scalar(select(Member).where(Member.epic == "CGB7654321")) is None


def test_roles_that_only_read_have_no_member_form(browser, staff):
    for who in ("division", "ro"):
        b = browser(staff[who])
        assert b.get("/admin/members/new/").status_code == 302, who
        assert "/admin/members/new/" not in b.get("/admin/members/").get_data(as_text=True)


def test_correcting_the_phone_from_the_edit_form_clears_verification(app, browser, staff,
                                                                     units):
    with app.test_request_context():
        member = factories.member(units["BLK-BILHA"], status="phone_verified",
                                  epic="CGB7654321")
    b = browser(staff["bilha"])
    url = f"/admin/members/edit/?id={member.id}"
    assert "consent" not in b.get(url).get_data(as_text=True)
    b.post(url, FORM | {"block_id": units["BLK-BILHA"].id, "mobile": "9812399999"},
           token_from=url)
    db.session.refresh(member)
    assert member.mobile == "+919812399999" and member.status == "recorded"


def test_members_are_never_deleted(browser, staff, units, app):
    with app.test_request_context():
        member = factories.member(units["BLK-BILHA"])
    b = browser(staff["state"])
    b.post("/admin/members/delete/", {"id": member.id}, token_from="/admin/members/")
    assert db.session.get(Member, member.id) is not None


def test_every_mistake_is_marked_beside_its_field_at_once_in_hindi(browser, staff, units):
    """Three mistakes, one round trip: each reason beside its field, in Hindi, and the
    browser's own one-at-a-time checks switched off."""
    b = browser(staff["enroller"], lang="hi")
    page = b.post("/admin/members/new/", FORM | {
        "block_id": units["BLK-BILHA"].id, "mobile": "1800 180 1551", "epic": "12345",
        "date_of_birth": "2015-01-01"}, token_from="/admin/members/new/").get_data(as_text=True)
    form = page[page.index("<form"):]
    for field, reason in (("date_of_birth", "सदस्य की आयु कम से कम 18 वर्ष होनी चाहिए"),
                          ("mobile", "यह नंबर मोबाइल नंबर नहीं है"),
                          ("epic", "ABC1234567")):
        at = form.index(f'id="{field}"')
        assert reason in form[at:at + 1200], field  # the reason right after its input
    assert form.count("is-invalid") == 3 and "novalidate" in form
    assert db.session.scalar(select(Member).where(Member.full_name == "प्रियंका त्रिपाठी")) is None


def test_a_blank_form_marks_the_forms_and_the_rules_mistakes_together(browser, staff, units):
    b = browser(staff["enroller"])
    page = b.post("/admin/members/new/", {"relation": "father", "gender": "female",
                                          "mobile": "12", "block_id": units["BLK-BILHA"].id},
                  token_from="/admin/members/new/").get_data(as_text=True)
    # the form's own checks (required fields) and the service's (the mobile, consent)
    assert "This is not a valid mobile number" in page or "valid Indian mobile" in page
    assert "privacy notice" in page and page.count("is-invalid") >= 5


def test_saving_a_member_leads_only_to_the_sms_step(browser, staff, units):
    """No "save and add another" that would skip the phone check."""
    b = browser(staff["enroller"])
    page = b.get("/admin/members/new/").get_data(as_text=True)
    assert "_add_another" not in page and "_continue_editing" not in page
    response = b.post("/admin/members/new/", FORM | {"block_id": units["BLK-BILHA"].id},
                      token_from="/admin/members/new/")
    assert "/admin/members/verify/?id=" in response.headers["Location"]


def test_a_posted_save_and_add_another_still_leads_to_the_sms_step(browser, staff, units):
    b = browser(staff["enroller"])
    for extra in ("_add_another", "_continue_editing"):
        epic = "CGB765432" + str(len(extra) % 10)
        response = b.post("/admin/members/new/", FORM | {
            "block_id": units["BLK-BILHA"].id, extra: "1", "epic": epic,
            "mobile": "98765 4321" + str(len(extra) % 10)}, token_from="/admin/members/new/")
        assert "/admin/members/verify/?id=" in response.headers["Location"], extra


def test_the_blank_form_is_each_users_own_and_keeps_nothing_of_a_refused_save(browser, staff,
                                                                             units):
    """A blank member form is drawn once and kept: it must stay the user's own (their
    units, their language) and blank after someone's refused save."""
    hindi = browser(staff["enroller"], lang="hi")
    assert "नाम" in hindi.get("/admin/members/new/").get_data(as_text=True)
    refused = hindi.post("/admin/members/new/", FORM | {"block_id": units["BLK-BILHA"].id,
                                                        "mobile": "1800 180 1551"},
                         token_from="/admin/members/new/").get_data(as_text=True)
    assert "यह नंबर मोबाइल नंबर नहीं है" in refused and "श्रीराम" in refused
    blank = hindi.get("/admin/members/new/").get_data(as_text=True)
    assert "नाम" in blank
    assert "यह नंबर मोबाइल नंबर नहीं है" not in blank and "श्रीराम" not in blank
    assert "is-invalid" not in blank
    english = browser(staff["enroller"], lang="en").get("/admin/members/new/")
    assert ">Name" in english.get_data(as_text=True)
    assert "Bilha" in english.get_data(as_text=True)
    assert "Masturi" not in english.get_data(as_text=True)
    other = browser(staff["masturi"], lang="en").get("/admin/members/new/")
    assert "Masturi" in other.get_data(as_text=True)
    assert "Bilha" not in other.get_data(as_text=True)
