"""Configuration loading: defaults -> instance/config.py -> BACKOFFICE_* -> tests."""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from flask import Flask

DEFAULTS_FILE = Path(__file__).resolve().parent.parent / "config" / "defaults.py"
DEFAULT_SECRET = "change-me"  # noqa: S105 - the sentinel that production refuses
MIN_SECRET_BYTES = 32


class ConfigError(RuntimeError):
    """The configuration cannot run; the message says why, in one line."""


def load_config(app: Flask, test_config: dict | None = None) -> None:
    app.config.from_pyfile(str(DEFAULTS_FILE))
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("BACKOFFICE")
    if test_config:
        app.config.from_mapping(test_config)
    _derive(app)
    _check(app)


def _derive(app: Flask) -> None:
    """Settings computed from others (the short public names map to the extensions')."""
    config = app.config
    url = config.get("DATABASE_URL") or config.get("SQLALCHEMY_DATABASE_URI")
    if not url:
        url = "sqlite:///" + os.path.join(app.instance_path, "backoffice.sqlite3")
    config["SQLALCHEMY_DATABASE_URI"] = url
    # Bound values (phones, names, voter IDs) never appear in SQLAlchemy's messages,
    # its exceptions included, whatever options a deployment sets (docs/logging.md).
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {**config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
                                           "hide_parameters": True}
    if config.get("RATELIMIT_STORAGE_URL"):
        config["RATELIMIT_STORAGE_URI"] = config["RATELIMIT_STORAGE_URL"]
    if config.get("SESSION_COOKIE_SECURE") is None:
        config["SESSION_COOKIE_SECURE"] = config["ENV"] == "production"
    config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]
    config["PROXY_COUNT"] = _proxy_count(config.get("PROXY_COUNT"))
    if config["PROXY_COUNT"] is None and config["ENV"] != "production":
        config["PROXY_COUNT"] = 0  # production must say how many proxies; development: none
    for name in ("AUDIT_TRUSTED_KEYS", "CARD_TRUSTED_KEYS"):
        keys = config.get(name) or ()
        config[name] = tuple(keys.replace(",", " ").split() if isinstance(keys, str) else keys)
    # Flask-Babel reads each translation folder with the domain at the same place in
    # BABEL_DOMAIN: named once, the folder was read for "messages" only, and WTForms'
    # Hindi catalog (wtforms.po) never at all.
    folder = str(Path(app.root_path) / "translations")
    config.setdefault("BABEL_TRANSLATION_DIRECTORIES", f"{folder};{folder}")
    config["BABEL_DOMAIN"] = "messages;wtforms"


def _check(app: Flask) -> None:
    config = app.config
    if config["ENV"] not in ("production", "development"):
        raise ConfigError(
            f"BACKOFFICE_ENV must be production or development, not {config['ENV']!r}."
        )
    if config["ENV"] == "production" and config.get("SECRET_KEY") in (None, "", DEFAULT_SECRET):
        raise ConfigError(
            "Refusing to start in production without a secret key: set BACKOFFICE_SECRET_KEY "
            "or SECRET_KEY in instance/config.py (python -c 'import secrets; "
            "print(secrets.token_hex(32))')."
        )
    for key in config["AUDIT_TRUSTED_KEYS"]:
        if not _is_public_key(key):
            raise ConfigError(f"AUDIT_TRUSTED_KEYS: {str(key)[:60]!r} is not an Ed25519 public "
                              "key (32 bytes in base64, as `backoffice audit keygen` prints).")
    for key in config["CARD_TRUSTED_KEYS"]:
        if not _is_public_key(key):
            raise ConfigError(f"CARD_TRUSTED_KEYS: {str(key)[:60]!r} is not an Ed25519 public "
                              "key (32 bytes in base64, as `backoffice cards public-key` "
                              "prints).")
    if config["ENV"] == "production" and config["SMS_GATEWAY"] in ("console", "memory"):
        raise ConfigError(
            f"Refusing to start in production with the {config['SMS_GATEWAY']} SMS gateway: set "
            "BACKOFFICE_SMS_GATEWAY to twilio_verify or twilio_messaging and its credentials."
        )
    if config["ENV"] == "production":
        problem = next((message for unsafe, message in production_risks(config) if unsafe),
                       None)
        if problem:
            raise ConfigError("Refusing to start in production: " + problem)


def production_risks(config) -> list[tuple[bool, str]]:
    """Settings that work on one laptop and fail a real deployment (README, Production)."""
    secret = config.get("SECRET_KEY") or ""
    secret_bytes = len(secret.encode() if isinstance(secret, str) else secret)
    return [
        (secret_bytes < MIN_SECRET_BYTES,
         f"SECRET_KEY is {secret_bytes} bytes; it needs at least {MIN_SECRET_BYTES} "
         "(python -c 'import secrets; print(secrets.token_hex(32))')."),
        (config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"),
         "DATABASE_URL is SQLite; set BACKOFFICE_DATABASE_URL to a PostgreSQL database."),
        # limits reads the scheme as urllib does, in any case ("Memory://" is memory too)
        (str(config.get("RATELIMIT_STORAGE_URI") or "memory://").lower().startswith("memory"),
         "RATELIMIT_STORAGE_URL keeps rate limits in memory (per process, lost on restart); "
         "set BACKOFFICE_RATELIMIT_STORAGE_URL to a Redis URL."),
        (config.get("PROXY_COUNT") is None,
         "PROXY_COUNT is not set; set BACKOFFICE_PROXY_COUNT to the number of reverse "
         "proxies in front of the app (0 if none)."),
        (not config.get("AUDIT_SIGNING_KEY"),
         "AUDIT_SIGNING_KEY is not set; set BACKOFFICE_AUDIT_SIGNING_KEY to the key file's "
         "path on the app host (then `backoffice audit keygen` makes it)."),
        (not config.get("CARD_SIGNING_KEY"),
         "CARD_SIGNING_KEY is not set; set BACKOFFICE_CARD_SIGNING_KEY to the card key file's "
         "path on the app host (then `backoffice cards keygen` makes it)."),
    ]


def refuse_to_serve_without_keys(app) -> None:
    """Production app servers (wsgi.py) refuse to start when a signing key file named
    by the configuration is not there: the first roll export or membership card would
    fail in front of a user instead. Only the server: `backoffice audit keygen` and
    `backoffice cards keygen` start the same app to make the files."""
    if app.config["ENV"] != "production":
        return
    for setting, command in (("AUDIT_SIGNING_KEY", "backoffice audit keygen"),
                             ("CARD_SIGNING_KEY", "backoffice cards keygen")):
        path = app.config.get(setting)
        if path and not os.path.isfile(path):
            raise ConfigError(f"Refusing to start in production: no key file at {setting}'s "
                              f"path; make it with `{command}` (`backoffice doctor` checks "
                              "it).")


def _proxy_count(value):
    """PROXY_COUNT as a number of proxies, or None when not set. An empty value
    (``BACKOFFICE_PROXY_COUNT=`` in an env file) is not set: taken as 0 it would make
    every client behind nginx one address to the rate limits."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ConfigError(f"PROXY_COUNT must be the number of reverse proxies in front of the "
                      f"app (0 if none), not {str(value)[:20]!r}: set BACKOFFICE_PROXY_COUNT.")


def _is_public_key(key) -> bool:
    try:
        return isinstance(key, str) and len(base64.b64decode(key, validate=True)) == 32
    except binascii.Error:
        return False
