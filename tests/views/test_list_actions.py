"""List actions ("with selected") on every model view: never a 5xx, whatever is selected.

The views and their actions come from the admin itself, so a new view or action is
probed without a change here. Each role that sees rows of a view posts each action on
one row, on every row shown, on those rows and one that does not exist, and on more rows
than one action takes. Flask-Admin's own delete once filtered ``id IN ('7')`` with the
ids as strings, which PostgreSQL refuses (integer = character varying): every bulk delete
of role assignments was a 500 there, never on SQLite.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from backoffice.extensions import db
from backoffice.models import RoleAssignment
from backoffice.views.base import MAX_ACTION_ROWS, ScopedModelView
from tests import factories

ROLES = ("state", "district", "bilha", "enroller", "ro", "division")
ROW_ID = re.compile(r'name="rowid" class="action-checkbox" value="(\d+)"')
TOO_MANY = "Select at most 500 rows at a time."


def _actions(app) -> dict[str, list[str]]:
    """{view endpoint: the names of its actions}, for every scoped model view."""
    admin = app.extensions["admin"][0]
    return {view.endpoint: [name for name, _label in view._actions]
            for view in admin._views if isinstance(view, ScopedModelView) and view._actions}


def _post(b, view, token, name, ids):
    body = "&".join([f"csrf_token={token}", f"action={name}", *(f"rowid={i}" for i in ids)])
    return b.client.post(f"/admin/{view}/action/", data=body,
                         content_type="application/x-www-form-urlencoded")


@pytest.mark.parametrize("who", ROLES)
def test_every_action_on_any_selection_answers_without_a_5xx(app, browser, staff, units, who):
    with app.test_request_context():
        factories.member(units["BLK-BILHA"], status="phone_verified")
        factories.approved(units["BLK-BILHA"])
    b = browser(staff[who])
    token = b.csrf_token("/admin/")
    failures, probed = [], 0
    for view, names in _actions(app).items():
        listing = b.get(f"/admin/{view}/")
        if listing.status_code != 200:
            continue
        rows = ROW_ID.findall(listing.get_data(as_text=True))
        for name in names:
            for ids in (rows[:1], rows, [*rows, "2147483647"], ["2147483647"]):
                if not ids:
                    continue
                response = _post(b, view, token, name, ids)
                probed += 1
                if response.status_code >= 500:
                    failures.append((view, name, len(ids), response.status_code))
    assert not failures, failures
    assert probed or who in ("enroller", "ro", "division")


def test_the_bulk_delete_of_roles_deletes_them(app, browser, staff):
    """The delete that was a 500 on PostgreSQL: the selected assignments are gone, the
    others kept."""
    b = browser(staff["state"])
    mine = db.session.scalars(select(RoleAssignment.id).where(
        RoleAssignment.user_id.in_([staff["enroller"].id, staff["zone_enroller"].id]))).all()
    before = db.session.scalar(select(func.count()).select_from(RoleAssignment))
    response = _post(b, "roles", b.csrf_token("/admin/roles/"), "delete", [str(i) for i in mine])
    assert response.status_code == 302
    page = b.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 records were successfully deleted." in page
    assert db.session.scalar(select(func.count()).select_from(RoleAssignment)) == before - 2


@pytest.mark.parametrize("count", [MAX_ACTION_ROWS + 1, 70_000])
def test_more_rows_than_an_action_takes_are_refused_with_a_message(app, browser, staff, count):
    """A page shows 50 rows; a crafted post of 70,000 ids was more parameters than one
    PostgreSQL statement carries (then answered as if the database were down)."""
    b = browser(staff["state"], lang="hi")
    token = b.csrf_token("/admin/")
    before = db.session.scalar(select(func.count()).select_from(RoleAssignment))
    for view, names in _actions(app).items():
        for name in names:
            response = _post(b, view, token, name, [str(i) for i in range(1, count + 1)])
            assert response.status_code == 302, (view, name)
            page = b.get(response.headers["Location"]).get_data(as_text=True)
            assert "एक बार में अधिकतम 500 पंक्तियाँ चुनें।" in page, (view, name)
    assert db.session.scalar(select(func.count()).select_from(RoleAssignment)) == before
    english = browser(staff["state"])
    response = _post(english, "roles", english.csrf_token("/admin/"), "delete",
                     [str(i) for i in range(1, MAX_ACTION_ROWS + 2)])
    assert TOO_MANY in english.get(response.headers["Location"]).get_data(as_text=True)
