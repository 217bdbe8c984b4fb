"""Approving and rejecting from the lists, the approval queue and the member's page;
the confirmation naming the count; undo."""

import re

import pytest

from backoffice.extensions import db
from backoffice.models import Member, utcnow
from tests import factories


@pytest.fixture
def waiting(app, units):
    with app.test_request_context():
        return {
            "old": factories.member(units["BLK-BILHA"], status="phone_verified",
                                    verified_at=utcnow(), full_name="Pehla Sadasya"),
            "new": factories.member(units["BLK-BILHA"], status="phone_verified",
                                    verified_at=utcnow(), full_name="Doosra Sadasya"),
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


def test_bulk_approve_from_the_queue_is_confirmed_with_its_count(browser, staff, waiting):
    b = browser(staff["bilha"])
    ids = [waiting["old"].id, waiting["new"].id, waiting["unverified"].id]
    asked = b.post("/admin/queue/action/", {"action": "approve", "rowid": ids},
                   token_from="/admin/queue/")
    confirm_url = asked.headers["Location"]
    assert "/admin/queue/decide/?action=approve" in confirm_url
    assert status(waiting["old"]) == "phone_verified"  # nothing yet: asked first
    page = b.get(confirm_url).get_data(as_text=True)
    assert "Approve 3 members?" in page and "Pehla Sadasya" in page
    response = b.post(confirm_url, {"action": "approve", "ids": ",".join(map(str, ids))},
                      token_from=confirm_url, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "2 members: Approve done." in page
    assert "1 member not changed: The member&#39;s phone is not verified yet." in page
    assert status(waiting["old"]) == status(waiting["new"]) == "approved"
    assert status(waiting["unverified"]) == "recorded"
    # the undo is offered on the next page, for the two approved together
    assert "Your approval of 2 members can be undone" in page
    undone = b.post("/admin/queue/undo/", {"action": "approve", "at": _offer_at(page)},
                    token_from="/admin/queue/", follow_redirects=True).get_data(as_text=True)
    assert "2 members: the decision is undone." in undone
    assert status(waiting["old"]) == status(waiting["new"]) == "phone_verified"


def _offer_at(page: str) -> str:
    return re.search(r'name="at" value="([^"]+)"', page).group(1)


def test_each_queue_row_has_the_photo_and_approve_and_reject_buttons(browser, staff,
                                                                       waiting):
    b = browser(staff["bilha"])
    page = b.get("/admin/queue/").get_data(as_text=True)
    old = waiting["old"].id
    assert f'form="decide-one" name="id" value="{old}"' in page
    assert f"decide/?action=reject&amp;ids={old}" in page
    assert '<form id="decide-one" method="post"' in page and 'name="csrf_token"' in page
    response = b.post("/admin/queue/decide-one/?url=/admin/queue/",
                      {"action": "approve", "id": old}, token_from="/admin/queue/")
    assert response.headers["Location"].endswith("/admin/queue/")
    assert status(waiting["old"]) == "approved"
    page = b.get("/admin/queue/").get_data(as_text=True)
    assert "Your approval of 1 member can be undone" in page and "Pehla Sadasya" not in page


def test_the_members_page_has_the_buttons_and_its_own_undo(browser, staff, waiting):
    b = browser(staff["bilha"])
    url = f"/admin/members/details/?id={waiting['old'].id}"
    page = b.get(url).get_data(as_text=True)
    assert 'id="decide-approve"' in page and "decide/?action=reject" in page
    b.post(f"/admin/members/decide-one/?url={url}", {"action": "approve",
                                                     "id": waiting["old"].id}, token_from=url)
    assert status(waiting["old"]) == "approved"
    page = b.get(url).get_data(as_text=True)
    assert 'id="undo-member"' in page and 'id="decide-approve"' not in page
    b.post(f"/admin/members/undo/?url={url}", {"id": waiting["old"].id}, token_from=url)
    assert status(waiting["old"]) == "phone_verified"
    # someone else's page shows no undo of the block president's decision
    b.post(f"/admin/members/decide-one/?url={url}", {"action": "approve",
                                                     "id": waiting["old"].id}, token_from=url)
    other = browser(staff["district"]).get(url).get_data(as_text=True)
    assert 'id="undo-member"' not in other


def test_buttons_and_undo_need_the_right_the_scope_and_csrf(browser, staff, waiting):
    enroller = browser(staff["enroller"])
    assert 'id="decide-approve"' not in enroller.get(
        f"/admin/members/details/?id={waiting['old'].id}").get_data(as_text=True)
    enroller.post("/admin/members/decide-one/", {"action": "approve", "id": waiting["old"].id},
                  token_from="/admin/members/")
    assert status(waiting["old"]) == "phone_verified"
    bilha = browser(staff["bilha"])
    bilha.post("/admin/queue/decide-one/", {"action": "approve", "id": waiting["masturi"].id},
               token_from="/admin/queue/")
    assert status(waiting["masturi"]) == "phone_verified"
    bilha.client.post("/admin/queue/decide-one/", data={"action": "approve",
                                                        "id": waiting["old"].id})
    assert status(waiting["old"]) == "phone_verified"  # no CSRF token: nothing
    assert bilha.client.get("/admin/queue/decide-one/").status_code == 405
    for bad in ("abc", "1e3", "-1", "99999999999999999999"):
        response = bilha.post("/admin/queue/decide-one/", {"action": "approve", "id": bad},
                              token_from="/admin/queue/")
        assert response.status_code == 404, bad
        response = bilha.post("/admin/queue/undo/", {"id": bad}, token_from="/admin/queue/")
        assert response.status_code == 404, bad
    # masturi's president cannot undo bilha's approval
    bilha.post("/admin/queue/decide-one/", {"action": "approve", "id": waiting["old"].id},
               token_from="/admin/queue/")
    browser(staff["masturi"]).post("/admin/queue/undo/", {"id": waiting["old"].id},
                                   token_from="/admin/queue/")
    assert status(waiting["old"]) == "approved"


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


def test_the_undo_offer_ends_with_its_time(app, browser, staff, waiting):
    b = browser(staff["bilha"])
    b.post("/admin/queue/decide-one/", {"action": "approve", "id": waiting["old"].id},
           token_from="/admin/queue/")
    assert 'id="undo-offer"' in b.get("/admin/queue/").get_data(as_text=True)
    app.config["UNDO_SECONDS"] = 0
    assert 'id="undo-offer"' not in b.get("/admin/queue/").get_data(as_text=True)
    page = b.get(f"/admin/members/details/?id={waiting['old'].id}").get_data(as_text=True)
    assert 'id="undo-member"' not in page
