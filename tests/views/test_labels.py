"""Stored codes and times as people read them: labels in the user's language, IST."""

from datetime import datetime

from backoffice import labels
from backoffice.models import CHANNELS, GENDERS, RELATIONS, ROLL_STATES, STATUSES
from backoffice.models.imports import IMPORT_STATES
from backoffice.models.jobs import JOB_STATES
from backoffice.models.rolls import CLAIM_KINDS, CLAIM_STATES
from backoffice.views.audit import ACTIONS
from tests import factories
from tests.browser.page_checks import hindi_problems, html_text


def test_every_stored_code_has_a_label():
    kinds = {"status": STATUSES, "channel": CHANNELS, "gender": GENDERS,
             "relation": RELATIONS, "roll": ROLL_STATES, "claim": CLAIM_KINDS + CLAIM_STATES,
             "import": IMPORT_STATES, "job": JOB_STATES, "action": ACTIONS}
    for kind, codes in kinds.items():
        assert set(codes) <= set(labels.LABELS[kind]), kind


def test_a_member_page_in_hindi_has_no_codes_and_no_utc(app, browser, units, staff):
    member = factories.member(units["BLK-BILHA"], relation="husband", gender="female",
                              full_name="Kavita Yadav", relative_name="Rajesh Yadav",
                              created_at=datetime(2026, 11, 30, 5, 9, 39, 123456))
    b = browser(staff["state"], lang="hi")
    text = html_text(b.get(f"/admin/members/details/?id={member.id}").get_data(as_text=True))
    assert "पति" in text and "महिला" in text and "नामांकनकर्ता" in text
    assert "30/11/2026 10:39" in text  # 05:09 UTC is 10:39 in India
    names = ["Kavita Yadav", "Rajesh Yadav", *staff_names(staff)]
    problems = hindi_problems(text, names=names, allow={"Toggle", "navigation"})
    assert problems == [], problems


def test_audit_log_names_events_in_hindi_at_indian_time(app, browser, units, staff):
    factories.member(units["BLK-BILHA"])
    b = browser(staff["state"], lang="hi")
    b.get("/admin/members/")  # something to log
    text = html_text(b.get("/admin/audit/").get_data(as_text=True))
    assert "member.create" not in text and "UTC" not in text
    english = html_text(browser(staff["state"], lang="en").get("/admin/audit/")
                        .get_data(as_text=True))
    assert "UTC" not in english


def test_rolls_and_roles_show_states_and_times_in_words(app, browser, units, staff):
    from tests.browser.page_checks import time_problems

    b = browser(staff["state"], lang="hi")
    roles = html_text(b.get("/admin/roles/").get_data(as_text=True))
    assert time_problems(roles) == []  # no "2026-11-30 10:20:47.021108"


def staff_names(staff) -> list[str]:
    return [user.full_name for user in staff.values()]
