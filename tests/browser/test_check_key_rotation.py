"""The card checker in chromium across a key rotation (docs/cards.md, Rotating the key):
a card signed by the earlier key checks valid while that key is listed in
CARD_TRUSTED_KEYS, beside a card of the new key, and forged once it is taken off."""

from __future__ import annotations

import base64

from sqlalchemy import select

from backoffice.audit import verify as key_files
from backoffice.extensions import db
from backoffice.models import Member
from backoffice.services import cards
from tests.browser.conftest import SKIPS, watch_security_policy

pytestmark = SKIPS


def verdict(page, text: str) -> str:
    page.fill("#statement", text)
    page.click("#check-form button[type=submit]")
    return page.wait_for_selector("#result[data-verdict]").get_attribute("data-verdict")


def test_cards_of_a_replaced_key_verify_while_trusted_and_not_once_removed(
        live, chromium, tmp_path):
    app, base = live
    saved = {name: app.config[name] for name in ("CARD_SIGNING_KEY", "CARD_TRUSTED_KEYS")}
    problems: list[str] = []
    context = chromium.new_context(viewport={"width": 412, "height": 900})
    watch_security_policy(context, problems)
    try:
        with app.app_context(), app.test_request_context():
            old_member, new_member = db.session.scalars(
                select(Member).where(Member.status == "approved", Member.erased_at.is_(None))
                .order_by(Member.id.desc()).limit(2)).all()
            _card, old_statement = cards.issue(old_member)
            old_public = base64.b64encode(
                cards.raw_public(cards.signing_key().public_key())).decode()
            db.session.commit()
            # The rotation: the old public key trusted, a new key file signing.
            new_key = tmp_path / "new-card-key.pem"
            key_files.new_key(new_key)
            app.config.update(CARD_SIGNING_KEY=str(new_key), CARD_TRUSTED_KEYS=(old_public,))
            _card, new_statement = cards.issue(new_member)
            db.session.commit()

        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{base}/check")
        assert verdict(page, old_statement) == "valid"
        assert verdict(page, new_statement) == "valid"

        app.config["CARD_TRUSTED_KEYS"] = ()  # the old key taken off the list
        page.reload()  # the checker reads the keys afresh when it has a network
        assert verdict(page, old_statement) == "forged"
        assert verdict(page, new_statement) == "valid"
    finally:
        app.config.update(saved)
        context.close()
    assert not problems, "\n".join(problems)
