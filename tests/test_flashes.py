"""Messages waiting for a page are kept few: a client that posts without following the
redirects does not grow its session cookie for ever."""

from backoffice import sms
from backoffice.extensions import db
from backoffice.flashes import FLASHES_KEPT
from tests import factories


def test_only_the_newest_messages_wait_and_the_page_shows_them(app, browser, staff, units):
    with app.test_request_context():
        member = factories.member(units["BLK-BILHA"], recorded_by_id=staff["enroller"].id)
    b = browser(staff["enroller"])
    url = f"/admin/members/verify/?id={member.id}"
    b.post(url, {"step": "send"}, token_from=url)
    token = b.csrf_token(url)  # the page read once; the posts below never show it
    with app.app_context():
        code = sms.gateway().last_code_for(member.mobile)
    wrong = "000000" if code != "000000" else "111111"
    b.client.post(url, data={"csrf_token": token, "step": "check", "code": wrong})
    sizes = []
    for _ in range(FLASHES_KEPT * 3):  # refused before they count as a try
        answer = b.client.post(url, data={"csrf_token": token, "step": "check",
                                          "code": "1234567890123"})
        assert answer.status_code == 302
        sizes.append(len(b.client.get_cookie("session").value))
    with b.client.session_transaction() as session:
        waiting = session["_flashes"]
    assert len(waiting) == FLASHES_KEPT
    assert sizes[-1] == sizes[FLASHES_KEPT]  # the cookie stopped growing
    page = b.get(url).get_data(as_text=True)
    assert page.count("Enter the 6-digit code, using the digits 0-9.") >= FLASHES_KEPT
    assert "The code is wrong" not in page  # the oldest message went first
    with b.client.session_transaction() as session:
        assert "_flashes" not in session  # shown once, then gone
    answer = b.client.post(url, data={"csrf_token": b.csrf_token(url), "step": "check",
                                      "code": code}, follow_redirects=True)
    assert answer.status_code == 200
    assert "The code is wrong" not in answer.get_data(as_text=True)
    db.session.refresh(member)
    assert member.status == "phone_verified"  # the capped refusals used no try
