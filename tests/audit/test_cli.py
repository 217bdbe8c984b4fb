"""`backoffice audit keygen | checkpoint | verify`, as an operator runs them."""

import base64
import json

import pytest

from backoffice import audit, create_app
from backoffice.audit.verify import checkpoint, load_private_key, new_key, write_checkpoint
from backoffice.extensions import db
from backoffice.settings import ConfigError
from tests.conftest import base_config

KEY_A = base64.b64encode(b"a" * 32).decode()
KEY_B = base64.b64encode(b"b" * 32).decode()


def run(app, *args):
    return app.test_cli_runner().invoke(args=["audit", *args])


def test_keygen_checkpoint_and_verify(app, units, tmp_path):
    app.config["AUDIT_SIGNING_KEY"] = str(tmp_path / "signing.pem")
    with app.test_request_context():
        audit.record("test.event")
        db.session.commit()
    made = run(app, "keygen")
    assert made.exit_code == 0 and "AUDIT_TRUSTED_KEYS" in made.output
    app.config["AUDIT_TRUSTED_KEYS"] = (made.output.split("Public key: ")[1].split()[0],)
    assert run(app, "keygen").exit_code != 0  # never replaces a key
    out = tmp_path / "cp.json"
    signed = run(app, "checkpoint", "--out", str(out))
    assert signed.exit_code == 0, signed.output
    data = json.loads(out.read_text())
    assert set(data) == {"seq", "row_hash", "signed_at", "public_key", "signature"}
    ok = run(app, "verify")
    assert ok.exit_code == 0 and "OK" in ok.output
    against = run(app, "verify", "--checkpoint", str(out))
    assert against.exit_code == 0 and f"up to checkpoint {data['seq']}" in against.output


def test_verify_names_the_broken_position(app, units):
    with app.test_request_context():
        audit.record("test.event")
        db.session.commit()
    connection = db.session.connection()
    last = connection.exec_driver_sql("SELECT max(seq) FROM audit_event").scalar()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER USER")
    else:
        connection.exec_driver_sql("DROP TRIGGER audit_no_update")
    connection.exec_driver_sql(f"UPDATE audit_event SET reason = 'x' WHERE seq = {last}")
    result = run(app, "verify")
    assert result.exit_code == 1
    assert f"BROKEN at position {last}" in result.output


def test_checkpoint_without_a_key_says_how_to_make_one(app, tmp_path):
    app.config["AUDIT_SIGNING_KEY"] = str(tmp_path / "missing.pem")
    result = run(app, "checkpoint")
    assert result.exit_code != 0 and "backoffice audit keygen" in result.output


def _signed_by_someone_else(app, tmp_path):
    """A checkpoint that an intruder signed with their own key, naming it in the file."""
    with app.test_request_context():
        audit.record("test.event")
        db.session.commit()
    intruder = tmp_path / "intruder.pem"
    new_key(intruder)
    out = tmp_path / "forged.json"
    write_checkpoint(checkpoint(db.session, load_private_key(intruder)), out)
    return out


def test_a_checkpoint_signed_by_an_untrusted_key_always_fails(app, units, tmp_path):
    forged = _signed_by_someone_else(app, tmp_path)
    app.config["AUDIT_TRUSTED_KEYS"] = (new_key(tmp_path / "ours.pem"),)
    result = run(app, "verify", "--checkpoint", str(forged))
    assert result.exit_code == 1 and "not signed by a trusted key" in result.output
    app.config["AUDIT_TRUSTED_KEYS"] = ()  # nothing configured: nothing is trusted
    result = run(app, "verify", "--checkpoint", str(forged))
    assert result.exit_code == 1 and "AUDIT_TRUSTED_KEYS" in result.output
    assert "--public-key" not in run(app, "verify", "--help").output


def test_a_broken_checkpoint_file_is_refused_with_a_reason(app, units, tmp_path):
    path = tmp_path / "cp.json"
    for content in ("not json", "{}", '{"seq": "x"}', "[]"):
        path.write_text(content)
        result = run(app, "verify", "--checkpoint", str(path))
        assert result.exit_code == 1 and "not a checkpoint" in result.output, content


@pytest.mark.parametrize(("value", "keys"), [
    ("", ()), (KEY_A, (KEY_A,)), (f"{KEY_A}, {KEY_B}", (KEY_A, KEY_B)),
    ([KEY_A, KEY_B], (KEY_A, KEY_B))])
def test_trusted_keys_come_from_configuration(tmp_path, value, keys):
    app = create_app(base_config(f"sqlite:///{tmp_path}/x.db", tmp_path)
                     | {"AUDIT_TRUSTED_KEYS": value})
    assert app.config["AUDIT_TRUSTED_KEYS"] == keys


@pytest.mark.parametrize("value", ["not-base64!", "c2hvcnQ=", [KEY_A, 12]])
def test_a_malformed_trusted_key_stops_the_app(tmp_path, value):
    with pytest.raises(ConfigError, match="AUDIT_TRUSTED_KEYS"):
        create_app(base_config(f"sqlite:///{tmp_path}/x.db", tmp_path)
                   | {"AUDIT_TRUSTED_KEYS": value})
