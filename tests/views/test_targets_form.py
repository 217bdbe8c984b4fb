"""Targets set a level at a time, units told apart by level, numbers grouped."""

import re

from backoffice.services import targets


def test_each_level_is_one_form_with_its_heading(app, browser, staff, units):
    page = browser(staff["state"]).get("/admin/targets/").get_data(as_text=True)
    forms = re.findall(r'<form method="post" class="targets" data-level="(\w+)"', page)
    assert forms == ["state", "division", "district"]
    for heading in ("State", "Division", "District"):
        assert f'<h2 class="h6 mt-3">{heading}</h2>' in page
    assert page.count(">Save the targets of this level<") == 3


def test_a_level_is_saved_at_once_and_an_overshoot_names_the_unit_in_indian_digits(
        app, browser, staff, units):
    b = browser(staff["state"])
    b.post("/admin/targets/", {"unit_id": [units["CG"].id], "target": ["10,00,000"]},
           token_from="/admin/targets/")
    divisions = [units["DIV-BILASPUR"].id, units["DIV-RAIPUR"].id]
    b.post("/admin/targets/", {"unit_id": divisions, "target": ["6,00,000", "4,00,000"]},
           token_from="/admin/targets/")
    with app.test_request_context():
        rows = targets.progress([units["DIV-BILASPUR"], units["DIV-RAIPUR"]])
    assert [row.target for row in rows] == [600_000, 400_000]
    b.post("/admin/targets/", {"unit_id": divisions, "target": ["7,00,000", ""]},
           token_from="/admin/targets/")
    page = b.get("/admin/targets/").get_data(as_text=True)
    assert "would add up to more than its own target (10,00,000)" in page
    assert 'value="6,00,000"' in page  # nothing of the refused form was kept


def test_a_target_that_is_not_a_number_is_named_with_its_unit(app, browser, staff, units):
    b = browser(staff["state"])
    b.post("/admin/targets/", {"unit_id": [units["DIST-RAIPUR"].id], "target": ["lots"]},
           token_from="/admin/targets/")
    page = b.get("/admin/targets/").get_data(as_text=True)
    assert "Raipur: enter the target as a whole number." in page


def test_a_unit_outside_ones_list_is_not_found(app, browser, staff, units):
    b = browser(staff["district"])
    response = b.post("/admin/targets/", {"unit_id": [units["BLK-KORBA"].id],
                                          "target": ["5"]}, token_from="/admin/targets/")
    assert response.status_code == 404
