"""The enroller's journey: record the member, send the code, type it in, take the photo."""

import hashlib
import io

from PIL import Image
from sqlalchemy import select

from backoffice import sms, storage
from backoffice.extensions import db
from backoffice.models import Member, PhoneVerification
from backoffice.services import photos
from tests import factories
from tests.views.test_member_forms import FORM


def png_bytes(colour=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(buffer, "PNG")
    return buffer.getvalue()


def test_enroller_records_and_verifies_a_member_end_to_end(app, browser, staff, units):
    b = browser(staff["enroller"], lang="hi")
    created = b.post("/admin/members/new/", FORM | {"block_id": units["BLK-BILHA"].id},
                     token_from="/admin/members/new/")
    verify_url = created.headers["Location"]
    assert "/admin/members/verify/?id=" in verify_url
    page = b.get(verify_url).get_data(as_text=True)
    assert "SMS से कोड भेजें" in page or "Send the code" in page
    assert "+91 ••••••••10" in page  # the phone, masked
    sent = b.post(verify_url, {"step": "send"}, token_from=verify_url, follow_redirects=True)
    assert sent.status_code == 200
    with app.app_context():
        code = sms.gateway().last_code_for("+919876543210")
    assert code and len(code) == 6
    b.post(verify_url, {"step": "check", "code": f" {code[:3]} {code[3:]} "},
           token_from=verify_url)
    member = db.session.scalar(select(Member).where(Member.epic == "CGB7654321"))
    assert member.status == "phone_verified"
    assert member.verified_by_id == staff["enroller"].id


def test_a_wrong_code_is_explained_and_nothing_changes(app, browser, staff, units):
    with app.test_request_context():
        member = factories.member(units["BLK-BILHA"])
    b = browser(staff["enroller"])
    url = f"/admin/members/verify/?id={member.id}"
    b.post(url, {"step": "send"}, token_from=url)
    page = b.post(url, {"step": "check", "code": "000000"}, token_from=url,
                  follow_redirects=True).get_data(as_text=True)
    assert "The code is wrong" in page or "Enter the 6-digit" in page
    db.session.refresh(member)
    assert member.status == "recorded"


def test_verify_page_is_scoped(app, browser, staff, units):
    with app.test_request_context():
        masturi = factories.member(units["BLK-MASTURI"])
    for who in ("enroller", "division", "ro"):
        b = browser(staff[who])
        url = f"/admin/members/verify/?id={masturi.id}"
        assert b.get(url).status_code in (403, 404), who
    # the Masturi block president may
    assert browser(staff["masturi"]).get(f"/admin/members/verify/?id={masturi.id}").status_code \
        == 200


def test_photo_is_checked_stored_by_hash_and_reused_photos_are_visible(app, browser, staff,
                                                                        units, tmp_path):
    app.config["PHOTO_DIR"] = str(tmp_path)
    with app.test_request_context():
        first = factories.member(units["BLK-BILHA"])
        second = factories.member(units["BLK-BILHA"])
    b = browser(staff["enroller"])
    for member in (first, second):
        url = f"/admin/members/verify/?id={member.id}"
        b.client.post(f"/admin/members/photo/?id={member.id}", data={
            "csrf_token": b.csrf_token(url),
            "photo": (io.BytesIO(png_bytes()), "photo.png")},
            content_type="multipart/form-data")
    db.session.refresh(first)
    db.session.refresh(second)
    assert first.photo_sha256 and first.photo_sha256 == second.photo_sha256
    assert first.photo_phash and first.photo_phash == second.photo_phash
    with app.app_context():  # re-encoded: tests/services/test_photos.py
        kept = storage.read(photos.stored_name(first.photo_path))
    assert kept.startswith(b"\xff\xd8") and hashlib.sha256(kept).hexdigest() == first.photo_sha256


def test_a_file_that_is_not_a_photo_is_refused(app, browser, staff, units, tmp_path):
    app.config["PHOTO_DIR"] = str(tmp_path)
    with app.test_request_context():
        member = factories.member(units["BLK-BILHA"])
    b = browser(staff["enroller"])
    url = f"/admin/members/verify/?id={member.id}"
    for payload in (b"%PDF-1.4 not an image", b"", b"\x89PNG\r\n\x1a\n broken"):
        page = b.client.post(f"/admin/members/photo/?id={member.id}", data={
            "csrf_token": b.csrf_token(url), "photo": (io.BytesIO(payload), "x.png")},
            content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
        assert "not a photo" in page or "Choose or take a photo" in page
    db.session.refresh(member)
    assert member.photo_sha256 is None
    assert not any(tmp_path.rglob("*.*"))


def test_a_photo_too_large_is_refused_in_hindi_and_never_kept(app, browser, staff, units,
                                                              tmp_path):
    """Over the photo limit: the service says so; far over it, the request itself is
    refused (413) before it is read, with a page in the user's language."""
    app.config.update(PHOTO_DIR=str(tmp_path), PHOTO_MAX_BYTES=100_000)
    with app.test_request_context():
        member = factories.member(units["BLK-BILHA"])
    b = browser(staff["enroller"], lang="hi")
    url = f"/admin/members/verify/?id={member.id}"

    def post(size):
        return b.client.post(f"/admin/members/photo/?id={member.id}", data={
            "csrf_token": b.csrf_token(url),
            "photo": (io.BytesIO(png_bytes() + b"\0" * size), "big.png")},
            content_type="multipart/form-data", follow_redirects=True)

    slightly = post(120_000)
    assert slightly.status_code == 200 and "फ़ोटो बहुत बड़ी है" in slightly.get_data(as_text=True)
    far = post(400_000)  # under the test client's 500 kB spooling threshold
    assert far.status_code == 413
    assert "फ़ाइल बहुत बड़ी है" in far.get_data(as_text=True) and "0.1 MB" in far.get_data(
        as_text=True)
    db.session.refresh(member)
    assert member.photo_sha256 is None
    assert not any(tmp_path.rglob("*.*"))


def test_after_the_code_the_photo_and_the_next_member_follow(app, browser, staff, units):
    """The photo step stays after the phone check, and the next member is one tap on."""
    with app.test_request_context():
        member = factories.member(units["BLK-BILHA"], recorded_by_id=staff["enroller"].id)
    b = browser(staff["enroller"])
    url = f"/admin/members/verify/?id={member.id}"
    b.post(url, {"step": "send"}, token_from=url)
    with app.app_context():
        code = sms.gateway().last_code_for(member.mobile)
    checked = b.post(url, {"step": "check", "code": code}, token_from=url)
    assert checked.headers["Location"].endswith(url)  # back to the steps, not away
    page = b.get(url).get_data(as_text=True)
    assert 'id="save-photo"' in page and 'id="next-member"' in page
    assert 'id="check-code"' not in page  # checked: no second code
    assert 'href="/admin/members/new/"' in page
    details = b.get(f"/admin/members/details/?id={member.id}").get_data(as_text=True)
    assert f"/admin/members/verify/?id={member.id}" in details  # the photo, again
    assert 'id="verify-phone"' not in details  # the check is done


def test_a_sent_code_shows_as_sent_and_offers_a_resend(app, browser, staff, units):
    with app.test_request_context():
        member = factories.member(units["BLK-BILHA"], recorded_by_id=staff["enroller"].id)
    b = browser(staff["enroller"])
    url = f"/admin/members/verify/?id={member.id}"
    assert "Send the code by SMS" in b.get(url).get_data(as_text=True)
    b.post(url, {"step": "send"}, token_from=url)
    page = b.get(url).get_data(as_text=True)
    assert "✓ Code sent" in page and "Send the code again" in page


def test_a_code_too_long_is_refused_in_hindi_without_using_an_attempt(app, browser, staff,
                                                                      units):
    with app.test_request_context():
        member = factories.member(units["BLK-BILHA"], recorded_by_id=staff["enroller"].id)
    b = browser(staff["enroller"], lang="hi")
    url = f"/admin/members/verify/?id={member.id}"
    b.post(url, {"step": "send"}, token_from=url)
    with app.app_context():
        code = sms.gateway().last_code_for(member.mobile)
    for typed in ("1234567890123", "९" * 40, code * 3, "x" * 5000):
        answer = b.post(url, {"step": "check", "code": typed}, token_from=url)
        assert answer.status_code == 302 and answer.headers["Location"].endswith(url)
        page = b.get(url).get_data(as_text=True)
        assert "6 अंकों का कोड दर्ज करें (केवल 0-9 अंक)।" in page, typed[:20]
        assert "सदस्य द्वारा पढ़कर बताया गया कोड" in page  # the field, drawn in Hindi
    pending = db.session.scalar(select(PhoneVerification).where(
        PhoneVerification.member_id == member.id, PhoneVerification.status == "pending"))
    assert pending.checks == 0  # none of them counted as a try
    b.post(url, {"step": "check", "code": code}, token_from=url)  # the right code still works
    db.session.refresh(member)
    assert member.status == "phone_verified"


def test_the_code_field_is_drawn_in_each_users_language(app, browser, staff, units):
    with app.test_request_context():
        member = factories.member(units["BLK-BILHA"], recorded_by_id=staff["enroller"].id)
    url = f"/admin/members/verify/?id={member.id}"
    for lang, label, photo in (("en", "Code the member reads out", "Member's photo"),
                               ("hi", "सदस्य द्वारा पढ़कर बताया गया कोड", "सदस्य की फ़ोटो"),
                               ("en", "Code the member reads out", "Member's photo")):
        page = browser(staff["enroller"], lang=lang).get(url).get_data(as_text=True)
        assert label in page and photo in page, lang
        steps = page[page.index("verify-step"):page.index("next-member")]
        assert steps.count('name="csrf_token"') == 3  # send, check and photo each post one
        assert 'inputmode="numeric"' in page and 'capture="environment"' in page
