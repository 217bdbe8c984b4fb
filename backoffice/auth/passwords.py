"""Password hashing with Argon2id (argon2-cffi), parameters from configuration."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

# A hash of a random string, checked when the login name is unknown, so a
# wrong name and a wrong password cost the same time (no user enumeration).
_DUMMY_PASSWORD = "not-a-real-password-used-for-timing-only"  # noqa: S105


def _hasher() -> PasswordHasher:
    params = current_app.config["PASSWORD_HASH"]
    cache = current_app.extensions.setdefault("password_hasher", {})
    key = tuple(sorted(params.items()))
    if key not in cache:
        cache[key] = PasswordHasher(**params)
    return cache[key]


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def _dummy_hash() -> str:
    cache = current_app.extensions.setdefault("password_dummy_hash", {})
    params = tuple(sorted(current_app.config["PASSWORD_HASH"].items()))
    if params not in cache:
        cache[params] = _hasher().hash(_DUMMY_PASSWORD)
    return cache[params]


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches. An unknown user (None) costs one hash too."""
    try:
        matched = _hasher().verify(password_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return matched and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)
