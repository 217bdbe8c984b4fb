"""`make demo` without Redis: the app process runs jobs in its own threads, and its
pages still show an import's progress while it runs and offer a roll file once made.
The demo as it is set up (`backoffice db upgrade`, `backoffice demo`, `backoffice run`
on SQLite, no job settings), in a process of its own, driven over HTTP."""

from __future__ import annotations

import io
import os
import re
import time
import zipfile
from datetime import date, timedelta

import pyotp
import pytest
from sqlalchemy import select, update

from backoffice import create_app
from backoffice.extensions import db
from backoffice.models import Member, StaffUser, Unit
from backoffice.services import rolls
from tests.conftest import base_config
from tests.jobs.test_workers import forms_csv
from tests.live import AppProcess, Client, command, environment

pytestmark = [
    pytest.mark.slow,
    # The demo runs on its own SQLite file whatever the suite's database: the
    # PostgreSQL pass of .ci/run would only repeat the same run.
    pytest.mark.skipif(bool(os.environ.get("BACKOFFICE_TEST_DATABASE_URL")),
                       reason="the demo runs in the SQLite pass"),
]
PASSWORD = "demo-pass-2026"  # the demo's own (config/defaults.py)
DISTRICT = "district.bilaspur@demo.sadasya.in"
OFFICER = "ro.bilaspur@demo.sadasya.in"
ROWS = 20_000


@pytest.fixture
def demo(tmp_path):
    """The demo's database and logins, served by `backoffice run` in a process of its own;
    and an app in the test to set up a roll (as a returning officer would)."""
    url = f"sqlite:///{tmp_path}/demo.sqlite3"
    env = environment(tmp_path, "demo", DATABASE_URL=url)
    command(env, "db", "upgrade")
    command(env, "demo", "--members", "300")
    helper = create_app(base_config(url, tmp_path / "test") | {"INSTANCE_PATH": str(
        tmp_path / "test")})
    with helper.app_context():
        district = db.session.scalar(select(Unit.id).where(Unit.code == "DIST-BILASPUR"))
        secret = db.session.scalar(select(StaffUser.totp_secret).where(
            StaffUser.email == OFFICER))
    app = AppProcess(env, tmp_path / "demo.log")
    try:
        yield app, helper, {"district": district, "secret": secret}
    finally:
        app.stop()
        with helper.app_context():
            db.engine.dispose()


def published_roll(helper, batch_id: int) -> int:
    """The imported paper forms approved, and a roll of the district published."""
    with helper.app_context(), helper.test_request_context():
        # Test scaffolding, not an approval: 20,000 through the approval screen is no test.
        db.session.execute(update(Member).where(Member.import_batch_id == batch_id)
                           .values(status="approved"), execution_options={"audited": True})
        officer = db.session.scalar(select(StaffUser).where(StaffUser.email == OFFICER))
        district = db.session.scalar(select(Unit).where(Unit.code == "DIST-BILASPUR"))
        roll = rolls.create(officer, district, date.today() + timedelta(days=30), "सम्मेलन")
        rolls.freeze(officer, roll.id)
        rolls.publish(officer, roll.id, date.today() + timedelta(days=30))
        db.session.commit()
        return roll.id


def test_demo_imports_and_roll_files_show_progress_without_redis(demo):
    app, helper, facts = demo

    # An import: uploaded through the page, checked and committed with visible progress.
    head = Client(app.url)
    head.log_in(DISTRICT, PASSWORD)
    uploaded = head.post("/admin/imports/", {
        "unit_id": facts["district"], "receipt_books": "701-760"},
        token_from="/admin/imports/", files={"file": ("forms.csv", forms_csv(ROWS))})
    assert "/admin/imports/batch/?id=" in uploaded.url, uploaded.text[:2000]
    batch_id = int(uploaded.url.rsplit("=", 1)[1])
    page = f"/admin/imports/batch/?id={batch_id}"
    for step, busy, end in (("check", "checking", "checked"),
                            ("commit", "committing", "committed")):
        head.post(f"/admin/imports/run/?id={batch_id}", {"step": step}, token_from=page)
        seen, shown, deadline = [], [], time.monotonic() + 240
        while time.monotonic() < deadline:
            progress = head.get(f"/admin/imports/progress/?id={batch_id}").json()
            seen.append((progress["status"], progress["processed"]))
            if progress["status"] != busy:
                break
            status = re.search(r'data-status="([a-z]+)"', head.get(page).text)
            shown.append(status.group(1) if status else None)
            time.sleep(0.1)
        assert seen[-1] == (end, ROWS), (seen[-5:], app.logs())
        assert any(status == busy and 0 < done < ROWS for status, done in seen), seen
        assert busy in shown, shown  # the batch page itself, while the job ran
    finished = head.get(page).text
    box = re.search(r'<div id="progress".*?</div>', finished, re.S).group(0)
    assert 'data-status="committed">Members added<' in box, box
    assert "Committed: 20,000" in box, box

    # A roll file (the ZIP of booth PDFs): asked for on the roll's page, prepared by a
    # thread while the page shows how far it got, then offered.
    roll_id = published_roll(helper, batch_id)
    officer = Client(app.url)
    officer.log_in(OFFICER, PASSWORD, code=pyotp.TOTP(facts["secret"]).now)
    details = f"/admin/rolls/details/?id={roll_id}"
    asked = officer.get(f"/admin/rolls/download/?id={roll_id}&format=pdf-zip")
    assert asked.status == 200 and details in asked.url
    shown, deadline = [], time.monotonic() + 240
    while time.monotonic() < deadline:
        text = officer.get(details).text
        if offered := re.search(r"/admin/rolls/file/\?job=(\d+)", text):
            break
        shown += [(int(done.replace(",", "")), total) for done, total in
                  re.findall(r"Being prepared: ([\d,]+)(?: / ([\d,]+))?", text)]
        time.sleep(0.1)
    assert offered, app.logs()
    status = officer.get(f"/admin/rolls/file/status/?job={offered.group(1)}").json()
    entries = status["total"]
    assert status["state"] == "done" and status["ready"] and entries > ROWS, status
    assert any(0 < done < entries and total == f"{entries:,}" for done, total in shown), shown
    answer = officer.get(offered.group(0))
    assert answer.status == 200 and "attachment" in answer.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(answer.body)) as booths:  # a PDF per booth
        names = booths.namelist()
        assert names and all(name.endswith(".pdf") for name in names), names
        assert booths.read(names[0]).startswith(b"%PDF")
