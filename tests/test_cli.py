"""`backoffice demo` and the migrations, as a newcomer runs them."""

import os

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, func, inspect, select, text

from backoffice import create_app
from backoffice.extensions import db
from backoffice.models import Member, RoleAssignment, Unit
from backoffice.models.staff import ROLES
from tests.conftest import POSTGRES_URL, base_config


def test_demo_loads_units_a_login_for_every_role_and_members(app):
    result = app.test_cli_runner().invoke(args=["demo", "--members", "400"])
    assert result.exit_code == 0, result.output
    assert "Members added: 400" in result.output
    for role in ROLES:
        assert role in result.output
    assert "admin@demo.sadasya.in" in result.output
    assert db.session.scalar(select(func.count()).select_from(Member)) == 400
    generated = db.session.scalars(select(Unit).where(Unit.is_generated)).all()
    assert {unit.level for unit in generated} == {"block", "zone"}
    districts_without_blocks = db.session.scalar(
        select(func.count()).select_from(Unit).where(
            Unit.level == "district",
            ~Unit.id.in_(select(Unit.parent_id).where(Unit.level == "block"))))
    assert districts_without_blocks == 0
    roles = set(db.session.scalars(select(RoleAssignment.role)))
    assert roles == set(ROLES)


def test_demo_members_are_valid_and_consistent_with_their_block(app):
    app.test_cli_runner().invoke(args=["demo", "--members", "300"])
    from backoffice.services.validation import clean_name, normalise_epic, normalise_mobile

    scripts = set()
    for member in db.session.scalars(select(Member)):
        assert normalise_mobile(member.mobile) == member.mobile
        assert normalise_epic(member.epic) == member.epic
        assert clean_name(member.full_name) == member.full_name
        block = db.session.get(Unit, member.block_id)
        assert block.ancestor_ids[1:3] == [member.division_id, member.district_id]
        scripts.add("hi" if "\u0900" <= member.full_name[0] <= "\u097f" else "en")
    assert scripts == {"hi", "en"}


def test_demo_refuses_to_run_in_production(app):
    app.config["ENV"] = "production"
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code != 0
    assert "development only" in result.output


def test_second_demo_run_adds_no_members_by_default(app):
    runner = app.test_cli_runner()
    runner.invoke(args=["demo", "--members", "50"])
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "Members added: 0" in result.output


@pytest.fixture
def scratch_url(tmp_path):
    """An empty database of the kind under test, separate from the suite's."""
    if not POSTGRES_URL:
        yield "sqlite:///" + str(tmp_path / "scratch.sqlite3")
        return
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS migration_check CASCADE"))
        connection.execute(text("CREATE SCHEMA migration_check"))
    yield POSTGRES_URL
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA migration_check CASCADE"))
    engine.dispose()


def test_migrations_upgrade_and_downgrade_to_base(scratch_url, tmp_path):
    config = base_config(scratch_url, tmp_path)
    if scratch_url.startswith("postgresql"):
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "connect_args": {"options": "-csearch_path=migration_check"}}
    app = create_app(config)
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"unit", "staff_user", "role_assignment", "member"} <= tables
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        db.engine.dispose()
    assert os.path.exists(tmp_path)
