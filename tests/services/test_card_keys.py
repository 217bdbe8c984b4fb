"""The card signing key: made by `backoffice cards keygen`, checked by the doctor, and
rotated: cards signed by an earlier key verify while its public key is listed in
CARD_TRUSTED_KEYS, and read as forged once it is taken off (docs/cards.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backoffice import doctor
from backoffice.services import cards
from tests import factories


@pytest.fixture
def member(ctx, units):
    return factories.approved(units["BLK-BILHA"], full_name="प्रियंका त्रिपाठी")


def cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["cards", *args])


def kids(app) -> list[str]:
    with app.test_client() as client:
        return [key["kid"] for key in client.get("/check/key.json").get_json()["keys"]]


def test_keygen_makes_the_key_once_and_public_key_prints_it(app, tmp_path):
    path = tmp_path / "keys" / "card.pem"
    app.config["CARD_SIGNING_KEY"] = str(path)
    assert "No card signing key" in cli(app, "public-key").output
    made = cli(app, "keygen")
    assert made.exit_code == 0, made.output
    assert path.is_file() and path.stat().st_mode & 0o777 == 0o600
    public = cli(app, "public-key").output.strip()
    assert f"Public key: {public}" in made.output
    again = cli(app, "keygen")
    assert again.exit_code != 0 and "refusing to replace it" in again.output
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_a_rotated_key_keeps_old_cards_valid_while_trusted_and_forged_once_removed(
        app, member, tmp_path):
    app.config["CARD_SIGNING_KEY"] = str(tmp_path / "old.pem")
    cli(app, "keygen")
    old_public = cli(app, "public-key").output.strip()
    _card, old_statement = cards.issue(member)
    old_kid = kids(app)
    assert cards.verify(old_statement).valid

    # Rotation (docs/cards.md): the old public key trusted, a new key signs.
    app.config["CARD_TRUSTED_KEYS"] = (old_public,)
    app.config["CARD_SIGNING_KEY"] = str(tmp_path / "new.pem")
    cli(app, "keygen")
    listed = kids(app)
    assert len(listed) == 2 and listed[1:] == old_kid  # the current key first
    assert cards.verify(old_statement).valid  # an old card still checks
    new_member = factories.approved(member.block, full_name="रमेश साहू")
    _card, new_statement = cards.issue(new_member)
    assert cards.verify(new_statement).valid
    assert cards.revocation_list()["kid"] == listed[0]  # the list: the current key
    # The member's card shown again is reissued with the new key; the old one superseded.
    reissued = cards.current_statement(member)
    assert reissued != old_statement and cards.verify(reissued).valid
    assert cards.verify(old_statement).payload["c"] in cards.revoked_ids()

    # The old key taken off the list: its cards no longer verify, new ones do.
    app.config["CARD_TRUSTED_KEYS"] = ()
    assert kids(app) == listed[:1]
    assert not cards.verify(old_statement).valid
    assert cards.verify(new_statement).valid


def test_the_doctor_names_a_missing_or_unusable_card_key(app, tmp_path):
    path = tmp_path / "card.pem"
    app.config["CARD_SIGNING_KEY"] = str(path)

    def found() -> list[str]:
        result = app.test_cli_runner().invoke(args=["doctor"])
        return [line for line in result.output.splitlines()
                if line.startswith("PROBLEM card signing key")]

    assert found() == ["PROBLEM card signing key: no key file at CARD_SIGNING_KEY's path: "
                       "run `backoffice cards keygen`."]
    Path(path).write_text("not a key")
    assert found() and "not an Ed25519 private key" in found()[0]
    path.unlink()
    cli(app, "keygen")
    with app.app_context():
        assert doctor.card_key() == []
    assert found() == []
