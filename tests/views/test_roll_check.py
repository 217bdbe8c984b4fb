"""The checker's final-roll lists are public: no login, no cookie, cacheable by anyone
and revalidated (ETag); only the current final rolls are served."""

from __future__ import annotations

import json

from backoffice import storage
from backoffice.extensions import db
from backoffice.services import cards, roll_check, rolls
from tests.factories import approved
from tests.services.test_roll_check import CUT_OFF, final_roll


def test_the_index_and_a_roll_file_are_public_and_revalidated(app, ctx, units, staff):
    approved(units["BLK-BILHA"], booth_no="4", full_name="प्रियंका त्रिपाठी")
    roll = final_roll(staff, units["DIST-BILASPUR"])
    db.session.commit()
    client = app.test_client()
    index = client.get("/check/rolls.json")
    assert index.status_code == 200
    assert {"public", "no-cache"} <= {part.strip() for part in
                                      index.headers["Cache-Control"].split(",")}
    assert "Set-Cookie" not in index.headers
    listed = json.loads(cards.unb64u(index.get_json()["list"]))
    assert [entry["id"] for entry in listed["rolls"]] == [roll.id]

    page = client.get(f"/check/rolls/{roll.id}.bin")
    assert page.status_code == 200 and page.mimetype == "application/octet-stream"
    assert "public" in page.headers["Cache-Control"] and "Set-Cookie" not in page.headers
    assert "प्रियंका".encode() not in roll_check.open_roll(page.data)
    again = client.get(f"/check/rolls/{roll.id}.bin",
                       headers={"If-None-Match": page.headers["ETag"]})
    assert again.status_code == 304 and not again.data


def test_only_a_current_final_roll_is_served(app, ctx, units, staff):
    approved(units["BLK-BILHA"])
    draft = rolls.create(staff["ro"], units["DIST-BILASPUR"], CUT_OFF, "मसौदा")
    rolls.freeze(staff["ro"], draft.id)
    db.session.commit()
    client = app.test_client()
    for path in (f"/check/rolls/{draft.id}.bin", "/check/rolls/999999.bin",
                 "/check/rolls/x.bin", "/check/rolls/99999999999999999999.bin"):
        assert client.get(path).status_code == 404, path


def test_the_checker_page_takes_a_typed_number(app):
    page = app.test_client().get("/check", headers={"Cookie": "lang=hi"})
    text = page.get_data(as_text=True)
    assert 'id="number-form"' in text and "check/numbers.js" in text
    assert "या सदस्यता क्रमांक टाइप करें" in text
    assert "अंतिम सूची में है / On the final roll" in text


def _remove(name: str) -> None:
    own = storage.backend().local_path(name) if storage.exists(name) else None
    if own is not None:
        own.unlink()  # a folder store deletes at commit; gone now, as on another host
    else:
        storage.delete(name)


def _stored_name(roll) -> str:
    key = cards.signing_key()
    return roll_check.stored_name(roll, cards.key_id(cards.raw_public(key.public_key())))


def test_a_finalised_roll_has_its_file_in_storage_before_any_request(app, ctx, units, staff):
    approved(units["BLK-BILHA"], booth_no="4")
    roll = final_roll(staff, units["DIST-BILASPUR"])
    db.session.commit()
    stored = storage.read(_stored_name(roll))
    assert roll_check.decode_entries(roll_check.open_roll(stored))[0]["n"] == 1
    made = []
    real = roll_check.store_roll_file
    roll_check.store_roll_file = lambda *a, **k: made.append(1) or real(*a, **k)
    try:
        served = app.test_client().get(f"/check/rolls/{roll.id}.bin")
    finally:
        roll_check.store_roll_file = real
    assert served.status_code == 200 and served.data == stored and made == []
    assert served.headers["Last-Modified"]


def test_a_changed_stored_file_is_made_again_not_served(app, ctx, units, staff):
    approved(units["BLK-BILHA"], booth_no="4")
    roll = final_roll(staff, units["DIST-BILASPUR"])
    db.session.commit()
    name = _stored_name(roll)
    good = storage.read(name)
    changed = bytearray(good)
    changed[-1] ^= 1
    storage.save(name, bytes(changed), replace=True)
    db.session.commit()
    served = app.test_client().get(f"/check/rolls/{roll.id}.bin")
    assert served.status_code == 200 and served.data == good
    assert roll_check.open_roll(served.data) is not None
    assert storage.read(name) == good  # and the store holds the good file again


def test_a_missing_file_is_made_once_then_read_by_every_process(app, ctx, units, staff):
    approved(units["BLK-BILHA"], booth_no="4")
    roll = final_roll(staff, units["DIST-BILASPUR"])
    db.session.commit()
    name = _stored_name(roll)
    good = storage.read(name)
    _remove(name)  # e.g. a roll finalised before the files were stored
    db.session.commit()
    assert not storage.exists(name)
    made = []
    real = roll_check.store_roll_file
    roll_check.store_roll_file = lambda *a, **k: made.append(1) or real(*a, **k)
    try:
        client = app.test_client()
        first = client.get(f"/check/rolls/{roll.id}.bin")
        second = client.get(f"/check/rolls/{roll.id}.bin")
        app.extensions.pop("roll_check_files")  # another process: reads the stored file
        third = client.get(f"/check/rolls/{roll.id}.bin")
    finally:
        roll_check.store_roll_file = real
    assert made == [1]
    assert first.data == second.data == third.data == good == storage.read(name)


def test_the_index_is_revalidated_too(app, ctx, units, staff):
    client = app.test_client()
    index = client.get("/check/rolls.json")
    again = client.get("/check/rolls.json", headers={"If-None-Match": index.headers["ETag"]})
    assert again.status_code == 304 and not again.data


def test_garbage_conditional_headers_get_the_file_or_a_4xx(app, ctx, units, staff):
    """A phone's (or a prober's) If-None-Match, If-Modified-Since, If-Match and Range
    that do not parse are no 5xx on the checker's public files."""
    approved(units["BLK-BILHA"], booth_no="4")
    roll = final_roll(staff, units["DIST-BILASPUR"])
    db.session.commit()
    client = app.test_client()
    headers = {"If-None-Match": ["\x00", '"x"' * 2000, "W/", "*"],
               "If-Modified-Since": ["garbage", "Mon, 99 Foo 99999 99:99:99 GMT"],
               "If-Match": ["garbage", "*"], "If-Unmodified-Since": ["garbage"],
               "If-Range": ["garbage"],
               "Range": ["bytes=999999999-", "bytes=5-1", "bytes=" + "1-2," * 2000,
                         "bytes=99999999999999999999999-", "garbage"]}
    for path in ("/check/rolls.json", f"/check/rolls/{roll.id}.bin", "/check/revoked.json",
                 "/check/key.json"):
        for name, values in headers.items():
            for value in values:
                for method in ("GET", "HEAD"):
                    status = client.open(path, method=method, headers={name: value}).status_code
                    assert status in (200, 206, 304, 412, 416), (path, name, value[:20], status)
