"""`backoffice rolls ...`: the same steps from the command line, audited as the officer."""

import hashlib
import json
from datetime import date, datetime, timedelta

from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models import AuditEvent, AuditHead, Roll
from tests import factories


def run(app, *args):
    return app.test_cli_runner().invoke(args=["rolls", *args])


def test_freeze_publish_finalise_export_from_the_cli(app, staff, units, tmp_path):
    with app.test_request_context():
        factories.member(units["BLK-BILHA"], status="approved", booth_no="2",
                         verified_at=datetime(2026, 11, 1), created_at=datetime(2026, 11, 1))
    ro = ["--as", staff["ro"].email]
    db.session.commit()
    base = db.session.scalar(select(AuditHead.seq))  # events before it are not this test's
    made = run(app, "create", *ro, "--unit", "DIST-BILASPUR", "--cut-off", "2026-11-15",
               "--title", "सम्मेलन")
    assert made.exit_code == 0, made.output
    roll_id = db.session.scalar(select(Roll.id))
    assert "1 members" in run(app, "freeze", *ro, str(roll_id)).output
    until = date.today().isoformat()
    assert run(app, "publish", *ro, str(roll_id), "--claims-until", until).exit_code == 0
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    final = run(app, "finalise", *ro, str(roll_id), "--today", tomorrow)
    assert final.exit_code == 0, final.output
    out = tmp_path / "roll.csv"
    exported = run(app, "export", *ro, str(roll_id), "--format", "csv", "--out", str(out))
    assert exported.exit_code == 0, exported.output
    manifest = json.loads((tmp_path / "roll.csv.manifest.json").read_text())
    assert manifest["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert manifest["status"] == "final" and manifest["rows"] == 1
    event = db.session.scalars(select(AuditEvent).where(  # this test's export only
        AuditEvent.action == "roll.export", AuditEvent.seq > base)).one()
    assert event.actor_user_id == staff["ro"].id


def test_the_cli_refuses_someone_who_is_not_the_officer(app, staff, units):
    result = run(app, "create", "--as", staff["bilha"].email, "--unit", "DIST-BILASPUR",
                 "--cut-off", "2026-11-15", "--title", "x")
    assert result.exit_code != 0 and "ऐसी कोई इकाई नहीं" in result.output  # CLI speaks Hindi
