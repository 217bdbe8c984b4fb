"""Two app processes (`backoffice run`) that share nothing but PostgreSQL, Redis and the
storage (each its own instance folder, environment, secret key and memory), with a real
worker process: a photo uploaded through one is shown by the other, an import started on
one shows its progress on the other, and an erasure through one removes the photo for
both. Driven over HTTP on the loopback, as two browsers would."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from backoffice import storage
from backoffice.extensions import db
from backoffice.models import ImportBatch, Member, Unit
from backoffice.services import photos
from backoffice.services.units import load_units, read_units_csv
from tests import factories
from tests.conftest import POSTGRES_URL
from tests.jobs.test_workers import forms_csv
from tests.jobs.workers import REDIS_URL, Workers, queue_config, remove_committed
from tests.live import AppProcess, Client, environment
from tests.services.test_photos import jpeg_with_everything

pytestmark = [
    pytest.mark.postgres_only, pytest.mark.slow,
    pytest.mark.skipif(not (POSTGRES_URL and REDIS_URL), reason="needs PostgreSQL and Redis"),
]


@pytest.fixture
def hosts(make_app, tmp_path):
    """Committed staff and a member (removed after), two app processes and a worker."""
    config = queue_config() | {"JOB_HEARTBEAT_SECONDS": 0.2}  # a check of 1-2 s shows steps
    setup = make_app(INSTANCE_PATH=str(tmp_path / "test"), **config)
    created = {"batches": [], "jobs": [], "files": []}
    with setup.app_context(), setup.test_request_context():
        before = set(db.session.scalars(select(Unit.id)))
        units = load_units(read_units_csv())
        people = {"enroller": factories.staff_with_role("enroller", units["BLK-BILHA"]),
                  "district": factories.staff_with_role("district_president",
                                                        units["DIST-BILASPUR"])}
        member = factories.member(units["BLK-BILHA"])
        db.session.commit()
        created |= {"units": set(db.session.scalars(select(Unit.id))) - before,
                    "users": [u.id for u in people.values()], "members": [member.id],
                    "member": member.id, "district_unit": units["DIST-BILASPUR"].id,
                    "logins": {k: u.email for k, u in people.items()}}
    shared = config | {"DATABASE_URL": POSTGRES_URL, "RATELIMIT_STORAGE_URL": REDIS_URL}
    started = []
    workers = Workers(config, tmp_path, count=1)
    try:
        for name in ("host-one", "host-two"):
            started.append(AppProcess(environment(tmp_path, name, **shared),
                                      tmp_path / f"{name}.log"))
        yield setup, started, created
    finally:
        for process in started:
            process.stop()
        workers.stop()
        with setup.app_context():
            created["batches"] += db.session.scalars(select(ImportBatch.id).where(
                ImportBatch.unit_id == created["district_unit"])).all()
            created["files"] += db.session.scalars(select(ImportBatch.stored_path).where(
                ImportBatch.id.in_(created["batches"]))).all()
            remove_committed(created)


def test_photo_import_progress_and_erasure_across_two_app_processes(hosts):
    setup, (one, two), created = hosts
    assert one.url != two.url
    member_id = created["member"]
    photo_url = f"/admin/members/photo/file/?id={member_id}"

    def logged_in(host, who: str) -> Client:
        client = Client(host.url)
        client.log_in(created["logins"][who], factories.PASSWORD)
        return client

    # A photo uploaded through host one is shown by host two.
    enroller = logged_in(one, "enroller")
    verify = f"/admin/members/verify/?id={member_id}"
    enroller.post(f"/admin/members/photo/?id={member_id}", {}, token_from=verify,
                  files={"photo": ("photo.jpg", jpeg_with_everything())})
    with setup.app_context():
        reference = db.session.get(Member, member_id).photo_path
        assert reference, one.logs()
        created["files"].append(photos.stored_name(reference))
    head_one, head_two = logged_in(one, "district"), logged_in(two, "district")
    shown = head_two.get(photo_url)
    assert shown.status == 200 and shown.body.startswith(b"\xff\xd8"), two.logs()

    # An import uploaded and started on host one shows its progress on host two.
    uploaded = head_one.post("/admin/imports/", {
        "unit_id": created["district_unit"], "receipt_books": "701-760"},
        token_from="/admin/imports/", files={"file": ("forms.csv", forms_csv(20_000))})
    assert "/admin/imports/batch/?id=" in uploaded.url, uploaded.text[:2000]
    batch_id = int(uploaded.url.rsplit("=", 1)[1])
    page = f"/admin/imports/batch/?id={batch_id}"
    head_one.post(f"/admin/imports/run/?id={batch_id}", {"step": "check"}, token_from=page)
    seen, deadline = [], time.monotonic() + 120
    while time.monotonic() < deadline:
        progress = head_two.get(f"/admin/imports/progress/?id={batch_id}").json()
        seen.append((progress["status"], progress["processed"]))
        if progress["status"] == "checked":
            break
        time.sleep(0.3)
    assert seen[-1] == ("checked", 20_000), seen[-5:]
    assert any(status == "checking" and 0 < done < 20_000 for status, done in seen), seen
    assert "20000" in head_two.get(page).text.replace(",", "")  # the batch page, too

    # Erasure through host two removes the photo for host one too.
    erase = f"/admin/members/erase/?id={member_id}"
    erased = head_two.post(erase, {"reason": "asked at the office", "confirm": "y"},
                           token_from=erase)
    assert erased.status == 200, two.logs()
    with setup.app_context():
        assert db.session.get(Member, member_id).erased_at is not None
        assert not storage.exists(photos.stored_name(reference))
    assert head_one.get(photo_url).status == 404
    assert head_two.get(photo_url).status == 404
