"""Two app hosts that share nothing but PostgreSQL, Redis and the storage (each its own
instance folder, engine and memory), with a real worker: a photo uploaded through one is
shown by the other, an import started on one shows its progress on the other, and an
erasure through one removes the photo for both."""

from __future__ import annotations

import io
import time

import pytest
from sqlalchemy import select

from backoffice import storage
from backoffice.extensions import db
from backoffice.models import Member, StaffUser, Unit
from backoffice.services import imports, photos
from backoffice.services.units import load_units, read_units_csv
from tests import factories
from tests.conftest import POSTGRES_URL, Browser
from tests.jobs.test_workers import forms_csv
from tests.jobs.workers import REDIS_URL, Workers, queue_config, remove_committed, wait_for
from tests.services.test_photos import jpeg_with_everything

pytestmark = [
    pytest.mark.postgres_only, pytest.mark.slow,
    pytest.mark.skipif(not (POSTGRES_URL and REDIS_URL), reason="needs PostgreSQL and Redis"),
]


@pytest.fixture
def hosts(make_app, tmp_path):
    config = queue_config() | {"JOB_HEARTBEAT_SECONDS": 0.2}  # a check of 1-2 s shows steps
    one = make_app(INSTANCE_PATH=str(tmp_path / "host-one"), **config)
    two = make_app(INSTANCE_PATH=str(tmp_path / "host-two"), **config)
    created = {"batches": [], "jobs": [], "files": []}
    with one.app_context(), one.test_request_context():
        before = set(db.session.scalars(select(Unit.id)))
        units = load_units(read_units_csv())
        people = {"enroller": factories.staff_with_role("enroller", units["BLK-BILHA"]),
                  "district": factories.staff_with_role("district_president",
                                                        units["DIST-BILASPUR"])}
        member = factories.member(units["BLK-BILHA"])
        db.session.commit()
        created |= {"units": set(db.session.scalars(select(Unit.id))) - before,
                    "users": [u.id for u in people.values()], "members": [member.id],
                    "member": member.id, "district_unit": units["DIST-BILASPUR"].id}
        people = {k: db.session.get(type(v), v.id) for k, v in people.items()}
    workers = Workers(config, tmp_path, count=1)
    try:
        yield one, two, people, created
    finally:
        workers.stop()
        with one.app_context():
            remove_committed(created)


def as_user(app, user) -> Browser:
    b = Browser(app, user)
    b.client.set_cookie("lang", "en")
    return b


def test_photo_import_progress_and_erasure_across_two_hosts(hosts):
    one, two, people, created = hosts
    member_id = created["member"]
    photo_url = f"/admin/members/photo/file/?id={member_id}"

    # A photo uploaded through host one is shown by host two.
    enroller = as_user(one, people["enroller"])
    verify = f"/admin/members/verify/?id={member_id}"
    enroller.client.post(f"/admin/members/photo/?id={member_id}", data={
        "csrf_token": enroller.csrf_token(verify),
        "photo": (io.BytesIO(jpeg_with_everything()), "photo.jpg")},
        content_type="multipart/form-data")
    with one.app_context():
        reference = db.session.get(Member, member_id).photo_path
        assert reference
        created["files"].append(photos.stored_name(reference))
    shown = as_user(two, people["district"]).get(photo_url)
    assert shown.status_code == 200 and shown.data.startswith(b"\xff\xd8")

    # An import started on host one shows its progress on host two.
    head_one, head_two = as_user(one, people["district"]), as_user(two, people["district"])
    with one.app_context(), one.test_request_context():  # the upload (a 2 MB file) itself
        batch = imports.upload(db.session.get(StaffUser, people["district"].id),
                               db.session.get(Unit, created["district_unit"]),
                               forms_csv(20_000), "forms.csv", "701-760")
        db.session.commit()
        batch_id = batch.id
        created["batches"].append(batch_id)
        created["files"].append(batch.stored_path)
    page = f"/admin/imports/batch/?id={batch_id}"
    head_one.post(f"/admin/imports/run/?id={batch_id}", {"step": "check"}, token_from=page)
    seen, deadline = [], time.monotonic() + 120
    while time.monotonic() < deadline:
        progress = head_two.get(f"/admin/imports/progress/?id={batch_id}").get_json()
        seen.append((progress["status"], progress["processed"]))
        if progress["status"] == "checked":
            break
        time.sleep(0.3)
    assert seen[-1] == ("checked", 20_000), seen[-5:]
    assert any(status == "checking" and 0 < done < 20_000 for status, done in seen), seen

    # Erasure through host two removes the photo for host one too.
    erase = f"/admin/members/erase/?id={member_id}"
    head_two.post(erase, {"reason": "asked at the office", "confirm": "y"}, token_from=erase)
    with two.app_context():
        wait_for(lambda: db.session.get(Member, member_id).erased_at is not None, 5, "erasure")
        assert not storage.exists(photos.stored_name(reference))
    assert head_one.get(photo_url).status_code == 404
    assert as_user(two, people["district"]).get(photo_url).status_code == 404
