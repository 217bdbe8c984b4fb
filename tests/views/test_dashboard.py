"""The dashboard: progress against targets, Indian numbers, Hindi, a chart."""

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
