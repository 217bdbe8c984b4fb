"""`backoffice audit keygen | checkpoint | verify`, as an operator runs them."""

import json

from backoffice import audit
from backoffice.extensions import db


def run(app, *args):
    return app.test_cli_runner().invoke(args=["audit", *args])


def test_keygen_checkpoint_and_verify(app, units, tmp_path):
    app.config["AUDIT_SIGNING_KEY"] = str(tmp_path / "signing.pem")
    with app.test_request_context():
        audit.record("test.event")
        db.session.commit()
    made = run(app, "keygen")
    assert made.exit_code == 0 and "Public key:" in made.output
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
