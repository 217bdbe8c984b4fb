"""Searching the member list as a user types: what it finds, for whom, and the hint
when it finds no one."""

from __future__ import annotations

import pytest

from backoffice.services.membership_numbers import format_membership_no
from tests import factories


@pytest.fixture
def people(app, units):
    bilha = units["BLK-BILHA"]
    return {"hindi": factories.member(bilha, full_name="कमला बघेल", mobile="+919812345678"),
            "latin": factories.member(bilha, full_name="Ramesh Tandon")}


def _page(browser, user, term, lang="en"):
    return browser(user, lang=lang).get(
        "/admin/members/", query_string={"search": term}).get_data(as_text=True)


def test_a_surname_or_a_latin_spelling_finds_a_devanagari_name(browser, staff, people):
    for term in ("बघेल", "kamla", "Baghel", "kaml"):
        assert "कमला बघेल" in _page(browser, staff["district"], term), term
    assert "Ramesh Tandon" in _page(browser, staff["bilha"], "रमेश")


def test_the_number_without_its_prefix_and_a_phone_tail(app, browser, staff, people):
    number = format_membership_no(people["latin"].id)
    without = number[len(app.config["MEMBERSHIP_PREFIX"]):].lstrip("0")
    assert "Ramesh Tandon" in _page(browser, staff["bilha"], without)
    assert "कमला बघेल" in _page(browser, staff["bilha"], "45678")


def test_a_masked_role_gets_no_phone_tail_and_a_hint_without_it(browser, staff, people):
    page = _page(browser, staff["ro"], "45678")
    assert "कमला बघेल" not in page
    assert "No member found." in page and "last 4" not in page
    assert "by mobile number or its last 4 or more digits" in _page(
        browser, staff["bilha"], "Zzyzx")


def test_the_hint_is_in_hindi(browser, staff, people):
    page = _page(browser, staff["bilha"], "Zzyzx", lang="hi")
    assert "कोई सदस्य नहीं मिला" in page
