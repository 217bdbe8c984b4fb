"""The card checker in chromium: opened once with the network, then offline, it finds a
card signed by the app valid, the same card with one byte changed forged, and, once
the member is revoked and the list refreshed, revoked."""

from __future__ import annotations

import io

from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models import Member, RoleAssignment, StaffUser
from backoffice.services import cards, workflow
from tests.browser.conftest import CHROMIUM, SKIPS, watch_security_policy

pytestmark = SKIPS


def flipped(statement: str) -> str:
    data = bytearray(cards.unb64u(statement[len(cards.PREFIX):]))
    data[12] ^= 0x01  # inside the name's JSON
    return cards.PREFIX + cards.b64u(bytes(data))


def verdict(page, text: str) -> str:
    page.fill("#statement", text)
    page.click("#check-form button[type=submit]")
    return page.wait_for_selector("#result[data-verdict]").get_attribute("data-verdict")


def test_typed_statement_checked_offline_then_revoked(live, chromium):
    app, base = live
    with app.app_context(), app.test_request_context():
        member = db.session.scalar(select(Member).where(Member.status == "approved")
                                   .order_by(Member.id).limit(1))
        _card, statement = cards.issue(member)
        member_id, name = member.id, member.full_name
        db.session.commit()
    problems: list[str] = []
    context = chromium.new_context(viewport={"width": 412, "height": 900})
    watch_security_policy(context, problems)
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{base}/check")
        page.wait_for_selector("#checker[data-offline-ready='1']", state="attached")
        context.set_offline(True)
        page.reload()  # the page itself now comes from the service worker's cache
        assert page.locator("#check-form").is_visible()

        assert verdict(page, statement) == "valid"
        assert page.locator("#result").inner_text().count(name) == 1
        assert "वैध कार्ड" in page.locator("#result").inner_text()
        assert verdict(page, flipped(statement)) == "forged"
        assert verdict(page, "hello") == "unreadable"

        with app.app_context(), app.test_request_context():
            head = db.session.scalar(select(StaffUser).join(
                RoleAssignment, RoleAssignment.user_id == StaffUser.id).where(
                RoleAssignment.role == "state_admin").limit(1))
            outcome = workflow.apply(head, "revoke", [member_id], reason="दोहरी सदस्यता")
            assert outcome.done == [member_id]
            db.session.commit()
        app.extensions.pop("check_revoked", None)  # CHECK_REVOKED_SECONDS have passed
        assert verdict(page, statement) == "valid"  # offline: the list it holds is older
        context.set_offline(False)
        assert verdict(page, statement) == "revoked"  # each check refreshes the list
        context.set_offline(True)
        page.reload()
        assert verdict(page, statement) == "revoked"  # and keeps the new one offline
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def y4m_of(png: bytes, path) -> None:
    """A one-frame YUV4MPEG2 video of an image, for chromium's fake camera."""
    from PIL import Image
    image = Image.open(io.BytesIO(png)).convert("RGB")
    frame = Image.new("RGB", (image.width + image.width % 2 + 40,
                              image.height + image.height % 2 + 40), "white")
    frame.paste(image, (20, 20))
    y, cb, cr = frame.convert("YCbCr").split()
    half = (frame.width // 2, frame.height // 2)
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{frame.width} H{frame.height} F5:1 Ip A1:1 C420jpeg\n".encode())
        out.write(b"FRAME\n" + y.tobytes() + cb.resize(half).tobytes()
                  + cr.resize(half).tobytes())


def test_a_card_shown_to_the_camera_is_checked_offline(live, chromium, tmp_path):
    app, base = live
    with app.app_context(), app.test_request_context():
        member = db.session.scalar(select(Member).where(Member.status == "approved")
                                   .order_by(Member.id.desc()).limit(1))
        _card, statement = cards.issue(member)
        payload = cards.verify(statement).payload
        png = cards.render_png(payload, statement, None)
        name = member.full_name
        db.session.commit()
    video = tmp_path / "card.y4m"
    y4m_of(png, video)
    browser = chromium.browser_type.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream",
              "--use-fake-device-for-media-stream",
              f"--use-file-for-fake-video-capture={video}"])
    problems: list[str] = []
    try:
        context = browser.new_context(viewport={"width": 412, "height": 900},
                                      permissions=["camera"])
        watch_security_policy(context, problems)
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{base}/check")
        page.wait_for_selector("#checker[data-offline-ready='1']", state="attached")
        context.set_offline(True)
        page.reload()
        page.click("#scan-start")
        verdict = page.wait_for_selector("#result[data-verdict]").get_attribute("data-verdict")
        assert verdict == "valid"
        assert name in page.locator("#result").inner_text()
        assert page.input_value("#statement") == statement
    finally:
        browser.close()
    assert not problems, "\n".join(problems)
