"""Paper imports through the screens and the command line."""

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backoffice.extensions import db
from backoffice.jobs import queue
from backoffice.models import ImportBatch, Member
from tests.conftest import POSTGRES_URL
from tests.services.test_imports import GOOD, csv_bytes, with_


def upload(b, units, data, name="forms.csv"):
    return b.client.post("/admin/imports/", data={
        "csrf_token": b.csrf_token("/admin/imports/"), "unit_id": units["DIST-BILASPUR"].id,
        "receipt_books": "101-105", "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data")


def test_upload_check_and_commit_from_the_screens(app, browser, staff, units):
    b = browser(staff["district"])
    response = upload(b, units, csv_bytes([GOOD, with_(c0="", c6="")]))
    assert "/admin/imports/batch/?id=" in response.headers["Location"]
    batch = db.session.scalar(select(ImportBatch))
    page = b.get(f"/admin/imports/batch/?id={batch.id}").get_data(as_text=True)
    assert "<option selected>नाम</option>" in page  # the column guessed from its heading
    url = f"/admin/imports/run/?id={batch.id}"
    b.post(url, {"step": "check"}, token_from=f"/admin/imports/batch/?id={batch.id}")
    progress = b.get(f"/admin/imports/progress/?id={batch.id}").get_json()
    assert progress["status"] == "checked" and progress["rejected"] == 1
    problems = b.get(f"/admin/imports/problems/?id={batch.id}").get_data(as_text=True)
    assert '"3","full_name"' in problems
    b.post(url, {"step": "commit"}, token_from=f"/admin/imports/batch/?id={batch.id}")
    assert db.session.scalar(select(func.count()).select_from(Member)) == 1


def test_imports_are_scoped_and_closed_to_enrollers(app, browser, staff, units):
    b = browser(staff["district"])
    upload(b, units, csv_bytes([GOOD]))
    batch = db.session.scalar(select(ImportBatch))
    assert browser(staff["other_district"]).get(
        f"/admin/imports/batch/?id={batch.id}").status_code == 404
    assert browser(staff["enroller"]).get("/admin/imports/").status_code == 403


@pytest.mark.skipif(bool(POSTGRES_URL), reason="the in-process runner is the SQLite demo's; "
                    "on PostgreSQL, workers run jobs (tests/jobs/test_workers.py)")
def test_without_redis_a_check_runs_in_process_and_reports_progress(app, browser, staff,
                                                                     units, monkeypatch):
    """The demo's runner (no Redis): the request returns at once, a thread of the app
    runs the same job code and the page reads its outcome."""
    b = browser(staff["district"])
    upload(b, units, csv_bytes([GOOD, with_(c0="", c6="")]))
    batch = db.session.scalar(select(ImportBatch))
    app.config["JOBS_QUEUE"] = "thread"
    app.config["JOB_THREADS"] = 1  # the test's one connection: one thread at a time
    handed = []
    real_deliver = queue.deliver
    with monkeypatch.context() as patch:  # the request ends before the thread starts
        patch.setattr(queue, "deliver", lambda job_id, again=False: handed.append(job_id))
        b.post(f"/admin/imports/run/?id={batch.id}", {"step": "check"},
               token_from=f"/admin/imports/batch/?id={batch.id}")
    assert b.get(f"/admin/imports/progress/?id={batch.id}").get_json()["status"] == "checking"
    with app.test_request_context():
        for job_id in handed:
            real_deliver(job_id)
    app.extensions["jobs_pool"].shutdown(wait=True)
    progress = b.get(f"/admin/imports/progress/?id={batch.id}").get_json()
    assert (progress["status"], progress["valid"], progress["rejected"]) == ("checked", 1, 1)
    assert progress["job"]["state"] == "done" and progress["processed"] == 2


def test_the_cli_checks_and_commits(app, staff, units, tmp_path):
    source = tmp_path / "forms.csv"
    source.write_bytes(csv_bytes([GOOD, with_(c5="123", c6="")]))
    problems = tmp_path / "problems.csv"
    result = app.test_cli_runner().invoke(args=[
        "members", "import", "--as", staff["district"].email, str(source), "--unit",
        "DIST-BILASPUR", "--receipt-books", "101", "--problems", str(problems), "--commit"])
    assert result.exit_code == 0, result.output
    assert "2 rows, 1 valid, 1 refused" in result.output
    assert '"3","mobile"' in problems.read_text(encoding="utf-8-sig")
    assert db.session.scalar(select(func.count()).select_from(Member)) == 1


def test_unreadable_files_are_refused_on_the_page_in_hindi(app, browser, staff, units):
    b = browser(staff["district"], lang="hi")
    for data, name in (("नाम,पिता\nJosé,Ramé\n".encode("cp1252", "replace"), "ansi.csv"),
                       (b"name\nRam\n", "one.csv"), (b"PK\x03\x04broken", "forms.xlsx")):
        response = upload(b, units, data, name)
        page = response.get_data(as_text=True)
        assert response.status_code == 200, name
        assert "फ़ाइल" in page or "कॉलम" in page, name  # the reason, in Hindi
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 0
    assert not (Path(app.instance_path) / "imports").exists() or not any(
        (Path(app.instance_path) / "imports").iterdir())


def test_a_file_over_the_limit_gets_a_413_page_in_the_users_language(app, browser, staff,
                                                                      units):
    app.config["IMPORT_MAX_BYTES"] = 200_000  # the test client spools bodies over 500 kB
    b = browser(staff["district"], lang="hi")
    response = upload(b, units, csv_bytes([GOOD]) + b"x" * 300_000)
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "0.2 MB" in page and "फ़ाइल बहुत बड़ी है" in page and "<html" in page
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_every_other_form_takes_a_small_body_only(app, browser):
    b = browser(lang="en")
    response = b.post("/login", {"login": "x" * 1_200_000, "password": "y"})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_a_batch_status_is_shown_in_the_reader_language(app, browser, staff, units):
    """The list and the batch page name the status in words, in Hindi or English,
    never the stored code."""
    upload(browser(staff["district"]), units, csv_bytes([GOOD]))
    batch = db.session.scalar(select(ImportBatch))
    page = f"/admin/imports/batch/?id={batch.id}"
    hindi, english = browser(staff["district"], lang="hi"), browser(staff["district"])
    for shown, words in ((hindi, "अपलोड हो गई"), (english, "Uploaded")):
        for url in (page, "/admin/imports/"):
            text = shown.get(url).get_data(as_text=True)
            assert words in text and ">uploaded<" not in text, url
    english.post(f"/admin/imports/run/?id={batch.id}", {"step": "check"}, token_from=page)
    assert 'data-status="checked">जाँच पूरी<' in hindi.get(page).get_data(as_text=True)
