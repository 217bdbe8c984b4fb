"""`backoffice doctor`: names what is wrong with a deployment, prints no secret."""

import pytest
from alembic.script import ScriptDirectory
from flask_migrate import stamp

from backoffice import doctor
from tests.fakes import ACCOUNT_SID, AUTH_TOKEN, VERIFY_SID, FakeTwilioHttp, error_body
from tests.test_health import closed_port


def run(app):
    return app.test_cli_runner().invoke(args=["doctor"])


def problems(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("PROBLEM")]


def test_doctor_names_an_unreachable_redis_by_its_setting_not_its_url(app):
    port = closed_port()
    app.config["JOBS_REDIS_URL"] = f"redis://:secret-pass@127.0.0.1:{port}/11"
    result = run(app)
    assert result.exit_code == 1
    assert "PROBLEM redis: JOBS_REDIS_URL: Redis not reachable." in problems(result)
    for leak in ("secret-pass", str(port), "redis://"):
        assert leak not in result.output


def test_doctor_flags_a_development_configuration_and_the_demo_gateway(app):
    app.config["RATELIMIT_STORAGE_URI"] = "memory://"
    found = problems(run(app))
    assert "PROBLEM configuration: ENV is development: not for a deployment." in found
    assert any("RATELIMIT_STORAGE_URL" in line for line in found)
    assert "PROBLEM sms: SMS_GATEWAY is memory: no SMS reaches a phone." in found
    assert any(line.startswith("PROBLEM audit signing key") for line in found)
    assert not any(line.startswith(("PROBLEM database:", "PROBLEM migrations:",
                                    "PROBLEM storage:", "PROBLEM redis:")) for line in found)


def test_doctor_passes_what_is_fine_and_exits_zero(app, monkeypatch):
    monkeypatch.setattr(doctor, "CHECKS", (doctor.database, doctor.redis, doctor.file_storage))
    result = run(app)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK:")


def test_doctor_leaves_nothing_behind_in_the_file_storage(make_app, tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    app = make_app(STORAGE_BACKEND="filesystem", STORAGE_DIR=str(folder))
    with app.app_context():
        assert doctor.file_storage() == []
    assert list(folder.iterdir()) == []


def test_doctor_names_an_unreachable_database(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/db.sqlite3")
    with app.app_context():
        assert doctor.database() == [doctor.Finding("database",
                                                    "not reachable with DATABASE_URL.")]


def test_doctor_names_migrations_behind(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/stamped.sqlite3")
    with app.app_context():
        script = ScriptDirectory(app.extensions["migrate"].directory)
        stamp(revision=script.get_revision("head").down_revision)
    assert "PROBLEM migrations: behind the code: run `backoffice db upgrade`." in \
        problems(run(app))


TWILIO = {"SMS_GATEWAY": "twilio_verify", "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
          "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_VERIFY_SERVICE_SID": VERIFY_SID}


def test_doctor_asks_twilio_with_a_call_that_sends_nothing(make_app):
    http = FakeTwilioHttp().answer(200, {"sid": VERIFY_SID, "friendly_name": "Sadasya"})
    app = make_app(**TWILIO, SMS_TWILIO_HTTP_CLIENT=http)
    with app.app_context():
        assert doctor.sms_gateway() == []
    assert [(r["method"], r["uri"].rsplit("/", 1)[-1]) for r in http.requests] == \
        [("GET", VERIFY_SID)]


def test_doctor_names_refused_twilio_credentials_without_printing_them(make_app):
    http = FakeTwilioHttp().answer(401, error_body(20003, 401, "Authenticate"))
    app = make_app(**TWILIO, SMS_TWILIO_HTTP_CLIENT=http)
    result = run(app)
    assert ("PROBLEM sms: SMS_GATEWAY twilio_verify: the provider answered misconfigured "
            "(20003) to a call that sends nothing.") in problems(result)
    assert AUTH_TOKEN not in result.output and ACCOUNT_SID not in result.output


def test_doctor_flags_an_app_role_that_is_superuser_or_owns_the_tables(app, dialect):
    if dialect != "postgresql":
        pytest.skip("database roles are PostgreSQL's")
    found = problems(run(app))
    assert "PROBLEM database role: the app connects as a superuser." in found  # CI: postgres
    assert any("owns" in line for line in found)


def test_doctor_asks_twilio_messaging_for_the_account_and_its_service(make_app):
    service = "MG" + "5" * 32
    http = FakeTwilioHttp().answer(200, {"sid": ACCOUNT_SID}).answer(200, {"sid": service})
    app = make_app(SMS_GATEWAY="twilio_messaging", TWILIO_ACCOUNT_SID=ACCOUNT_SID,
                   TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_MESSAGING_SERVICE_SID=service,
                   SMS_TWILIO_HTTP_CLIENT=http)
    with app.app_context():
        assert doctor.sms_gateway() == []
    assert [(r["method"], r["uri"].rsplit("/", 1)[-1]) for r in http.requests] == \
        [("GET", ACCOUNT_SID + ".json"), ("GET", service)]


def test_doctor_flags_a_twilio_stand_in_on_this_host(make_app):
    """TWILIO_API_BASE_URL (the stack test's fake Twilio) would keep every SMS off phones."""
    http = FakeTwilioHttp().answer(200, {"sid": VERIFY_SID, "friendly_name": "Sadasya"})
    app = make_app(**TWILIO, SMS_TWILIO_HTTP_CLIENT=http,
                   TWILIO_API_BASE_URL="http://127.0.0.1:9/")
    result = run(app)
    assert ("PROBLEM sms: TWILIO_API_BASE_URL is set: SMS go to a stand-in on this host, "
            "not to Twilio; unset it.") in problems(result)
    assert "127.0.0.1:9" not in result.output
