"""The dashboard: next steps, progress against targets, Indian numbers, Hindi, a chart;
every number labelled and linked to its list."""

import re

from backoffice.services import targets
from tests import factories


def test_dashboard_shows_progress_days_left_and_a_chart(app, browser, staff, units):
    with app.test_request_context():
        targets.set_target(staff["state"], units["CG"], 1_000_000)
        targets.set_target(staff["state"], units["DIST-BILASPUR"], 150_000)
        for _ in range(3):
            factories.member(units["BLK-BILHA"], recorded_by_id=staff["enroller"].id)
    page = browser(staff["district"], lang="hi").get("/admin/").get_data(as_text=True)
    assert "1,50,000" in page  # Indian grouping
    assert "daily-chart" in page and "<rect" in page
    assert "बिल्हा" in page  # the leaderboard of blocks, in Hindi
    assert staff["enroller"].full_name in page  # enrollers this week
    state = browser(staff["state"], lang="en").get("/admin/").get_data(as_text=True)
    assert "10,00,000" in state


def test_targets_page_is_for_those_who_set_them(app, browser, staff, units):
    assert browser(staff["bilha"]).get("/admin/targets/").status_code == 403
    b = browser(staff["state"])
    b.post("/admin/targets/", {"unit_id": units["CG"].id, "target": "10,00,000"},
           token_from="/admin/targets/")
    with app.test_request_context():
        [item] = targets.progress([units["CG"]])
    assert item.target == 1_000_000


def test_every_number_is_labelled_links_to_its_list_and_adds_up(app, browser, staff, units):
    with app.test_request_context():
        for status in ("recorded", "phone_verified", "phone_verified", "approved", "rejected"):
            factories.member(units["BLK-BILHA"], status=status)
    page = browser(staff["bilha"]).get("/admin/").get_data(as_text=True)
    assert 'href="/admin/queue/"' in page  # phone verified: the queue it counts
    assert "flt0_0=approved" in page and "flt0_0=rejected" in page
    assert "Counted toward the target" in page
    # five in all; four counted toward the target (rejected is not)
    assert re.search(r"Members in your units</div>\s*<div[^>]*>5</div>", page)
    assert re.search(r"counted toward the target: 4<", page)
    listed = browser(staff["bilha"]).get("/admin/members/?flt0_0=approved").get_data(
        as_text=True)
    assert listed.count('class="col-status"') == 1


def test_the_next_step_of_each_role_is_one_tap_from_the_dashboard(app, browser, staff, units):
    with app.test_request_context():
        factories.member(units["BLK-BILHA"], recorded_by_id=staff["enroller"].id)
        factories.member(units["BLK-BILHA"], status="phone_verified")
    enroller = browser(staff["enroller"]).get("/admin/").get_data(as_text=True)
    assert 'id="new-member" href="/admin/members/new/"' in enroller
    assert re.search(r'id="waiting-for-code" href="/admin/members/waiting/">[^<]*: 1<', enroller)
    assert 'id="to-approve"' not in enroller
    president = browser(staff["bilha"]).get("/admin/").get_data(as_text=True)
    assert re.search(r'id="to-approve" href="/admin/queue/">[^<]*: 1<', president)
    reader = browser(staff["ro"]).get("/admin/").get_data(as_text=True)
    assert 'id="new-member"' not in reader and 'id="to-approve"' not in reader


def test_my_members_waiting_for_a_code_lead_back_to_the_sms_step(app, browser, staff, units):
    with app.test_request_context():
        mine = factories.member(units["BLK-BILHA"], recorded_by_id=staff["enroller"].id,
                                full_name="Mera Sadasya")
        factories.member(units["BLK-BILHA"], full_name="Kisi Aur Ka")
        factories.member(units["BLK-BILHA"], recorded_by_id=staff["enroller"].id,
                         status="phone_verified", full_name="Ho Gaya")
    page = browser(staff["enroller"]).get("/admin/members/waiting/").get_data(as_text=True)
    assert "Mera Sadasya" in page and f"/admin/members/verify/?id={mine.id}" in page
    assert "Kisi Aur Ka" not in page and "Ho Gaya" not in page
    details = browser(staff["enroller"]).get(f"/admin/members/details/?id={mine.id}")
    assert 'id="verify-phone"' in details.get_data(as_text=True)
    assert browser(staff["ro"]).get("/admin/members/waiting/").status_code == 403
