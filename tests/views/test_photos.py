"""The photo route: a member's photo only for staff who may see the member, the
same 404 for a photo out of scope or missing; shown on the approval queue, the
member's page and the audit drill-downs."""

import io
import re

import pytest
from PIL import Image

from backoffice import storage
from backoffice.extensions import db
from backoffice.services import erasure, photos
from tests import factories
from tests.services.test_photos import jpeg_with_everything

# Who may see a member of Bilha block (in Bilaspur district, Bilaspur division).
SEES_BILHA = {"state", "division", "district", "bilha", "enroller", "ro"}


@pytest.fixture
def with_photo(app, units):
    """A Bilha member waiting for approval, with a photo uploaded the usual way."""
    with app.test_request_context():
        member = factories.member(units["BLK-BILHA"], status="phone_verified")
        photos.attach(member, jpeg_with_everything())
        db.session.commit()
    return member


def url(member) -> str:
    return f"/admin/members/photo/file/?id={member.id}"


def test_the_photo_is_served_bare_and_privately_to_those_who_see_the_member(
        browser, staff, with_photo):
    response = browser(staff["bilha"]).get(url(with_photo))
    assert response.status_code == 200
    assert response.content_type == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in response.headers["Cache-Control"]
    assert "public" not in response.headers["Cache-Control"]
    image = Image.open(io.BytesIO(response.data))
    assert image.format == "JPEG" and len(image.getexif()) == 0
    assert b"PhoneMakerCo" not in response.data
    again = browser(staff["bilha"]).get(url(with_photo),
                                        headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and not again.data


def test_out_of_scope_missing_or_bad_ids_all_answer_the_same_404(
        app, browser, staff, units, with_photo):
    with app.test_request_context():
        no_photo = factories.member(units["BLK-BILHA"])
    db.session.commit()
    for role, user in staff.items():
        b = browser(user)
        answer = b.get(url(with_photo))
        if role == "nobody":  # no role anywhere: the view itself is refused
            assert answer.status_code == 403
            continue
        if role in SEES_BILHA:
            assert answer.status_code == 200, role
        else:
            assert answer.status_code == 404, role
            missing = b.get(url(no_photo))
            assert _page(answer, with_photo) == _page(missing, no_photo), role  # alike
        for other in (url(no_photo), "/admin/members/photo/file/?id=999999999",
                      "/admin/members/photo/file/?id=abc", "/admin/members/photo/file/",
                      f"/admin/members/photo/file/?id={with_photo.id},1"):
            assert b.get(other).status_code == 404, (role, other)


def _page(response, member) -> str:
    """The page, but for the URL it echoes (the language switch) and its CSRF token."""
    page = response.get_data(as_text=True).replace(f"?id={member.id}", "?id=N")
    return re.sub(r'name="csrf_token" value="[^"]+"', "", page)


def test_anonymous_users_are_sent_to_log_in(browser, with_photo):
    answer = browser().get(url(with_photo))
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    assert not answer.data.startswith(b"\xff\xd8")


def test_an_erased_members_photo_is_gone(app, browser, staff, with_photo):
    with app.test_request_context():
        done = erasure.erase(staff["district"], with_photo.id, "asked")
        db.session.commit()
        erasure.discard_photo(done.photo)
    assert browser(staff["district"]).get(url(with_photo)).status_code == 404


def test_a_photo_kept_before_cleaning_is_still_served_as_it_is(app, browser, staff, units):
    """Photos from before uploads were cleaned (PNG or WebP among them) until
    `backoffice photos clean` has been run."""
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), "green").save(buffer, "PNG")
    with app.test_request_context():
        storage.save(photos.stored_name("cd/" + "cd" * 32 + ".png"), buffer.getvalue())
        member = factories.member(units["BLK-BILHA"], photo_path="cd/" + "cd" * 32 + ".png",
                                  photo_sha256="cd" * 32)
    db.session.commit()
    answer = browser(staff["bilha"]).get(url(member))
    assert answer.status_code == 200 and answer.content_type == "image/png"
    assert answer.data == buffer.getvalue()


def _photo_srcs(page: str) -> list[str]:
    return re.findall(r'<img class="member-photo[^"]*" src="([^"]+)" loading="lazy"', page)


def test_the_block_president_sees_the_photo_on_the_queue_and_the_members_page(
        app, browser, staff, units, with_photo):
    with app.test_request_context():
        factories.member(units["BLK-BILHA"], status="phone_verified")  # no photo
    db.session.commit()
    b = browser(staff["bilha"])
    queue = b.get("/admin/queue/").get_data(as_text=True)
    shown = _photo_srcs(queue)
    assert len(shown) == 1 and f"id={with_photo.id}&amp;" in shown[0]
    assert b.get(shown[0].replace("&amp;", "&")).status_code == 200
    details = b.get(f"/admin/members/details/?id={with_photo.id}").get_data(as_text=True)
    shown = _photo_srcs(details)
    assert len(shown) == 1 and b.get(shown[0].replace("&amp;", "&")).status_code == 200


def test_the_district_head_sees_photos_in_the_audit_drill_down(
        app, browser, staff, with_photo):
    b = browser(staff["district"])
    with app.test_request_context():
        with_photo.recorded_by_id = staff["enroller"].id
        db.session.commit()
    drill = b.get(f"/admin/audit_reports/members/?enroller={staff['enroller'].id}&days=7")
    shown = _photo_srcs(drill.get_data(as_text=True))
    assert len(shown) == 1 and b.get(shown[0].replace("&amp;", "&")).status_code == 200
