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


PRODUCTION = {
    "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://app@127.0.0.1:5432/sadasya",
    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
    "PROXY_COUNT": 1,
    "AUDIT_SIGNING_KEY": "/etc/sadasya/audit-signing-key.pem",
    "CARD_SIGNING_KEY": "/etc/sadasya/card-signing-key.pem",
}


@pytest.fixture
def production_env(monkeypatch):
    """A production configuration that starts; each test below breaks one setting."""
    for name in ("ENV", "PROXY_COUNT", "AUDIT_SIGNING_KEY", "CARD_SIGNING_KEY",
                 "CARD_TRUSTED_KEYS", "DATABASE_URL", "RATELIMIT_STORAGE_URL"):
        monkeypatch.delenv("BACKOFFICE_" + name, raising=False)
    monkeypatch.setenv("BACKOFFICE_SECRET_KEY", "x" * 64)
    monkeypatch.setenv("BACKOFFICE_SMS_GATEWAY", "twilio_verify")
    monkeypatch.setenv("BACKOFFICE_TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("BACKOFFICE_TWILIO_AUTH_TOKEN", "token")
    monkeypatch.setenv("BACKOFFICE_TWILIO_VERIFY_SERVICE_SID", "VA" + "0" * 32)


def refusal(**config) -> str:
    with pytest.raises(ConfigError) as error:
        create_app(PRODUCTION | config)
    message = str(error.value)
    assert "\n" not in message and message.startswith("Refusing to start in production")
    return message


def test_production_with_a_real_secret_starts_with_secure_cookies(production_env):
    app = create_app(PRODUCTION)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["PROXY_COUNT"] == 1


def test_production_refuses_sqlite(production_env):
    assert "DATABASE_URL is SQLite" in refusal(SQLALCHEMY_DATABASE_URI="sqlite://")


def test_production_refuses_rate_limits_in_memory(production_env):
    assert "RATELIMIT_STORAGE_URL" in refusal(RATELIMIT_STORAGE_URI="memory://")
    # limits reads a scheme in any case as memory: so does the refusal
    assert "RATELIMIT_STORAGE_URL" in refusal(RATELIMIT_STORAGE_URI="Memory://")


def test_production_refuses_proxy_count_not_set_but_takes_an_explicit_zero(production_env):
    assert "PROXY_COUNT is not set" in refusal(PROXY_COUNT=None)
    assert create_app(PRODUCTION | {"PROXY_COUNT": 0}).config["PROXY_COUNT"] == 0


def test_production_refuses_an_empty_proxy_count_from_the_env_file(production_env,
                                                                  monkeypatch):
    # `BACKOFFICE_PROXY_COUNT=` left blank: not 0 (behind nginx every client would be
    # one address to the rate limits), not set.
    monkeypatch.setenv("BACKOFFICE_PROXY_COUNT", "")
    without = {k: v for k, v in PRODUCTION.items() if k != "PROXY_COUNT"}
    with pytest.raises(ConfigError, match="PROXY_COUNT is not set"):
        create_app(without)


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "true"])
def test_a_proxy_count_that_is_not_a_count_is_refused_naming_it(monkeypatch, value):
    monkeypatch.setenv("BACKOFFICE_ENV", "development")
    monkeypatch.setenv("BACKOFFICE_PROXY_COUNT", value)
    with pytest.raises(ConfigError, match="PROXY_COUNT must be the number of reverse proxies"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_a_proxy_count_from_the_environment_is_a_number(monkeypatch):
    monkeypatch.setenv("BACKOFFICE_ENV", "development")
    monkeypatch.setenv("BACKOFFICE_PROXY_COUNT", "2")
    assert create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["PROXY_COUNT"] == 2


def test_production_refuses_a_missing_audit_signing_key(production_env):
    assert "AUDIT_SIGNING_KEY is not set" in refusal(AUDIT_SIGNING_KEY=None)


def test_production_refuses_a_missing_card_signing_key(production_env):
    # Without it the first card asked for would be an error page (docs/cards.md).
    assert "CARD_SIGNING_KEY is not set" in refusal(CARD_SIGNING_KEY=None)


def test_a_trusted_card_key_that_is_not_a_public_key_is_refused(production_env):
    import base64

    with pytest.raises(ConfigError, match="CARD_TRUSTED_KEYS"):
        create_app(PRODUCTION | {"CARD_TRUSTED_KEYS": "not-a-key"})
    good = base64.b64encode(bytes(32)).decode()
    app = create_app(PRODUCTION | {"CARD_TRUSTED_KEYS": f"{good}, {good}"})
    assert app.config["CARD_TRUSTED_KEYS"] == (good, good)


def test_production_refuses_a_secret_key_shorter_than_32_bytes(production_env):
    assert "SECRET_KEY is 31 bytes" in refusal(SECRET_KEY="x" * 31)
    assert create_app(PRODUCTION | {"SECRET_KEY": "x" * 32}).config["ENV"] == "production"


def test_production_refuses_the_memory_sms_gateway(production_env):
    with pytest.raises(ConfigError, match="with the memory SMS gateway: set "
                                          "BACKOFFICE_SMS_GATEWAY"):
        create_app(PRODUCTION | {"SMS_GATEWAY": "memory"})


def test_development_takes_no_proxies_when_proxy_count_is_unset(monkeypatch):
    monkeypatch.setenv("BACKOFFICE_ENV", "development")
    monkeypatch.delenv("BACKOFFICE_PROXY_COUNT", raising=False)
    assert create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["PROXY_COUNT"] == 0


def test_production_refuses_the_console_sms_gateway_and_missing_twilio_settings(
        production_env, monkeypatch):
    monkeypatch.delenv("BACKOFFICE_SMS_GATEWAY")
    with pytest.raises(ConfigError, match="console SMS gateway"):
        create_app(PRODUCTION)
    monkeypatch.setenv("BACKOFFICE_SMS_GATEWAY", "twilio_verify")
    monkeypatch.delenv("BACKOFFICE_TWILIO_AUTH_TOKEN")
    with pytest.raises(ConfigError, match="missing its setting"):
        create_app(PRODUCTION)


def test_redis_rate_limit_url_is_passed_to_the_limiter(monkeypatch):
    monkeypatch.setenv("BACKOFFICE_ENV", "development")
    monkeypatch.setenv("BACKOFFICE_RATELIMIT_STORAGE_URL", "redis://127.0.0.1:6379/3")
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/3"


def test_a_production_server_refuses_a_signing_key_path_with_no_file(production_env,
                                                                      tmp_path):
    from backoffice.settings import refuse_to_serve_without_keys

    audit_key, card_key = tmp_path / "audit.pem", tmp_path / "card.pem"
    app = create_app(PRODUCTION | {"AUDIT_SIGNING_KEY": str(audit_key),
                                   "CARD_SIGNING_KEY": str(card_key)})
    with pytest.raises(ConfigError, match="AUDIT_SIGNING_KEY"):
        refuse_to_serve_without_keys(app)
    audit_key.write_text("key")
    with pytest.raises(ConfigError, match="CARD_SIGNING_KEY"):
        refuse_to_serve_without_keys(app)
    card_key.write_text("key")
    refuse_to_serve_without_keys(app)  # both there: the server starts
