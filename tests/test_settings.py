import pytest

from backoffice import create_app
from backoffice.settings import ConfigError


def test_production_refuses_the_default_or_a_missing_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("BACKOFFICE_SECRET_KEY", raising=False)
    monkeypatch.delenv("BACKOFFICE_ENV", raising=False)
    for secret in ("change-me", "", None):
        with pytest.raises(ConfigError) as error:
            create_app({"SECRET_KEY": secret, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
        message = str(error.value)
        assert "\n" not in message and "secret key" in message


def test_environment_overrides_defaults_and_tests_override_the_environment(monkeypatch):
    monkeypatch.setenv("BACKOFFICE_ENV", "development")
    monkeypatch.setenv("BACKOFFICE_DATABASE_URL", "sqlite:////tmp/from-env.sqlite3")
    monkeypatch.setenv("BACKOFFICE_LIST_PAGE_SIZE", "25")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:////tmp/from-env.sqlite3"
    assert app.config["LIST_PAGE_SIZE"] == 25
    assert app.config["SESSION_COOKIE_SECURE"] is False  # development over plain http
    app = create_app({"LIST_PAGE_SIZE": 10})
    assert app.config["LIST_PAGE_SIZE"] == 10


def test_default_database_is_a_sqlite_file_under_instance(monkeypatch):
    monkeypatch.setenv("BACKOFFICE_ENV", "development")
    monkeypatch.delenv("BACKOFFICE_DATABASE_URL", raising=False)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == (
        "sqlite:///" + app.instance_path + "/backoffice.sqlite3"
    )


def test_production_with_a_real_secret_starts_with_secure_cookies(monkeypatch):
    monkeypatch.delenv("BACKOFFICE_ENV", raising=False)
    monkeypatch.setenv("BACKOFFICE_SECRET_KEY", "x" * 64)
    monkeypatch.setenv("BACKOFFICE_SMS_GATEWAY", "twilio_verify")
    monkeypatch.setenv("BACKOFFICE_TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("BACKOFFICE_TWILIO_AUTH_TOKEN", "token")
    monkeypatch.setenv("BACKOFFICE_TWILIO_VERIFY_SERVICE_SID", "VA" + "0" * 32)
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_production_refuses_the_console_sms_gateway_and_missing_twilio_settings(monkeypatch):
    monkeypatch.delenv("BACKOFFICE_ENV", raising=False)
    monkeypatch.setenv("BACKOFFICE_SECRET_KEY", "x" * 64)
    with pytest.raises(ConfigError, match="console SMS gateway"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    monkeypatch.setenv("BACKOFFICE_SMS_GATEWAY", "twilio_verify")
    with pytest.raises(ConfigError, match="missing its setting"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_redis_rate_limit_url_is_passed_to_the_limiter(monkeypatch):
    monkeypatch.setenv("BACKOFFICE_ENV", "development")
    monkeypatch.setenv("BACKOFFICE_RATELIMIT_STORAGE_URL", "redis://127.0.0.1:6379/3")
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/3"
