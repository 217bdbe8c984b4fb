"""Approving and rejecting from the lists and the approval queue."""

import pytest

from backoffice.extensions import db
from backoffice.models import Member
from tests import factories


@pytest.fixture
def waiting(app, units):
    with app.test_request_context():
        return {
            "old": factories.member(units["BLK-BILHA"], status="phone_verified",
                                    full_name="Pehla Sadasya"),
            "new": factories.member(units["BLK-BILHA"], status="phone_verified",
                                    full_name="Doosra Sadasya"),
            "unverified": factories.member(units["BLK-BILHA"], full_name="Abhi Nahin"),
            "masturi": factories.member(units["BLK-MASTURI"], status="phone_verified",
                                        full_name="Masturi Waiting"),
        }


def status(member) -> str:
    db.session.refresh(member)
    return member.status


def test_queue_lists_only_verified_members_of_the_block_oldest_first(browser, staff, waiting):
    page = browser(staff["bilha"]).get("/admin/queue/").get_data(as_text=True)
    assert page.index("Pehla Sadasya") < page.index("Doosra Sadasya")
    assert "Abhi Nahin" not in page and "Masturi Waiting" not in page


def test_queue_is_closed_to_roles_that_do_not_approve(browser, staff, waiting):
    for who in ("enroller", "division", "ro", "district"):
        assert browser(staff[who]).get("/admin/queue/").status_code == 403, who


def test_bulk_approve_from_the_queue(browser, staff, waiting):
    b = browser(staff["bilha"])
    ids = [waiting["old"].id, waiting["new"].id, waiting["unverified"].id]
    response = b.post("/admin/queue/action/", {"action": "approve", "rowid": ids},
                      token_from="/admin/queue/", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "2 members: Approve done." in page
    assert "1 member not changed: The member&#39;s phone is not verified yet." in page
    assert status(waiting["old"]) == status(waiting["new"]) == "approved"
    assert status(waiting["unverified"]) == "recorded"


def test_a_crafted_post_cannot_approve_another_blocks_member(browser, staff, waiting):
    b = browser(staff["bilha"])
    b.post("/admin/members/action/", {"action": "approve", "rowid": [waiting["masturi"].id]},
           token_from="/admin/members/")
    assert status(waiting["masturi"]) == "phone_verified"


def test_enroller_cannot_run_the_approve_action(browser, staff, waiting):
    b = browser(staff["enroller"])
    b.post("/admin/members/action/", {"action": "approve", "rowid": [waiting["old"].id]},
           token_from="/admin/members/")
    assert status(waiting["old"]) == "phone_verified"


def test_reject_asks_for_a_reason_then_applies_it(browser, staff, waiting):
    b = browser(staff["bilha"])
    response = b.post("/admin/queue/action/", {"action": "reject", "rowid": [waiting["old"].id]},
                      token_from="/admin/queue/")
    assert "/admin/queue/decide/" in response.headers["Location"]
    form_url = response.headers["Location"]
    page = b.get(form_url).get_data(as_text=True)
    assert "Pehla Sadasya" in page
    blank = b.post(form_url, {"action": "reject", "ids": str(waiting["old"].id), "reason": " "},
                   token_from=form_url)
    assert "Give a reason" in blank.get_data(as_text=True)
    assert status(waiting["old"]) == "phone_verified"
    b.post(form_url, {"action": "reject", "ids": str(waiting["old"].id),
                      "reason": "नाम दोबारा दर्ज"}, token_from=form_url)
    assert status(waiting["old"]) == "rejected"
    assert db.session.get(Member, waiting["old"].id).status_reason == "नाम दोबारा दर्ज"


def test_decide_page_refuses_actions_the_user_may_not_take(browser, staff, waiting):
    b = browser(staff["bilha"])
    url = f"/admin/members/decide/?action=revoke&ids={waiting['old'].id}"
    response = b.get(url)
    assert response.status_code == 302
    b.post("/admin/members/decide/", {"action": "revoke", "ids": str(waiting["old"].id),
                                      "reason": "x"}, token_from="/admin/members/")
    assert status(waiting["old"]) == "phone_verified"
