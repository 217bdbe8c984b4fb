"""One key per purpose, derived from SECRET_KEY.

A value keyed for one purpose must never verify, or be recomputed, for another:
a rate-limit bucket's name is not a code's hash, and a /join time stamp is not a
session cookie. Signers get a salt of their own (itsdangerous derives the key
from it); HMACs get a key derived here. The purposes in use, and what rotating
SECRET_KEY does to each, are listed in docs/secret-key.md.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app
from itsdangerous import URLSafeTimedSerializer

PREFIX = b"sadasya/"


def derived_key(purpose: str) -> bytes:
    """HMAC-SHA256(SECRET_KEY, "sadasya/" + purpose): a key for this purpose alone."""
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, PREFIX + purpose.encode(), hashlib.sha256).digest()


def keyed_hash(purpose: str, message: str) -> str:
    """The hex HMAC-SHA256 of ``message`` under the purpose's key."""
    return hmac.new(derived_key(purpose), message.encode(), hashlib.sha256).hexdigest()


def serializer(purpose: str) -> URLSafeTimedSerializer:
    """A signer of time-stamped values for one purpose (loads(..., max_age=) to expire)."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"],
                                  salt=(PREFIX + purpose.encode()).decode())
