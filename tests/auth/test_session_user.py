"""The session's user as requests read it: a change to the account or its grants, made
anywhere, is seen by the very next request of every app process; code that changes the
account still gets its row."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, insert, update

from backoffice import create_app
from backoffice.auth.scoping import SessionUser, load_user, user_row
from backoffice.extensions import db
from backoffice.models import RoleAssignment, StaffUser
from tests import factories
from tests.conftest import Browser, base_config


@pytest.fixture
def second_app(app, database_url, tmp_path):
    """Another app instance (its own engine, extensions and caches, as another process
    has) on the same database, inside the test's transaction like ``app``."""
    other = create_app(base_config(database_url, tmp_path / "second"))
    shared = db._app_engines[app][None]  # the test's connection, its transaction open
    with other.app_context():
        engine = db.engine
        db._app_engines[other][None] = shared
    yield other
    with other.app_context():
        db.session.remove()
        db._app_engines[other][None] = engine
        engine.dispose()


def _change(statement) -> None:
    """A change made outside the app (another process, a console): plain SQL."""
    db.session.execute(statement, execution_options={"audited": True})
    db.session.flush()


def test_account_and_grant_changes_reach_the_next_request_of_every_process(
        app, second_app, staff, units):
    """Two app instances on one database, each with a browser logged in as the same
    enroller: a grant taken, a grant given back, a new name, a deactivation and a
    password change (session version) are each seen by the next request of both."""
    enroller = staff["enroller"]
    browsers = [Browser(app, enroller), Browser(second_app, enroller)]

    def statuses(url="/admin/members/"):
        return [b.get(url).status_code for b in browsers]

    def names():
        return [enroller.full_name in b.get("/admin/").get_data(as_text=True)
                for b in browsers]

    assert statuses() == [200, 200]
    assert names() == [True, True]

    _change(delete(RoleAssignment).where(RoleAssignment.user_id == enroller.id))
    assert statuses() == [403, 403]

    _change(insert(RoleAssignment).values(user_id=enroller.id, role="enroller",
                                          unit_id=units["BLK-BILHA"].id))
    assert statuses() == [200, 200]

    _change(update(StaffUser).where(StaffUser.id == enroller.id)
            .values(full_name="Renamed enroller"))
    db.session.refresh(enroller)
    assert names() == [True, True]

    _change(update(StaffUser).where(StaffUser.id == enroller.id).values(active=False))
    assert statuses() == [403, 403]  # no grants while inactive, even in a live session

    _change(update(StaffUser).where(StaffUser.id == enroller.id).values(active=True))
    assert statuses() == [200, 200]

    enroller.session_version += 1  # a password change in either process
    db.session.flush()
    answers = [b.get("/admin/members/") for b in browsers]
    assert [r.status_code for r in answers] == [302, 302]
    assert all("/login" in r.headers["Location"] for r in answers)


def test_the_session_user_gives_the_account_row_to_code_that_changes_it(app, staff):
    enroller = staff["enroller"]
    with app.test_request_context():
        loaded = load_user(enroller.id)
        assert isinstance(loaded, SessionUser)
        assert (loaded.id, loaded.full_name, loaded.is_active, loaded.get_id()) == (
            enroller.id, enroller.full_name, True, enroller.get_id())
        assert [grant.role for grant in loaded.grants] == ["enroller"]
        row = user_row(loaded)
        assert row is db.session.get(StaffUser, enroller.id)  # bound to the session
        assert loaded.email == enroller.email  # other columns: read from the row
        try:
            loaded.preferred_locale = "en"
        except AttributeError:
            pass
        else:
            raise AssertionError("a SessionUser took an attribute")


def test_language_and_password_changes_are_saved_on_the_account(app, browser, staff):
    b = browser(staff["bilha"])
    b.post("/language", {"lang": "en", "next": "/admin/"}, token_from="/admin/")
    db.session.expire_all()
    assert db.session.get(StaffUser, staff["bilha"].id).preferred_locale == "en"
    response = b.post("/account/password", {"current": factories.PASSWORD,
                                            "new": "another long password",
                                            "confirm": "another long password"},
                      token_from="/account/password")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(StaffUser, staff["bilha"].id).session_version == 2
    assert b.get("/admin/members/").status_code == 200  # this browser stays logged in
