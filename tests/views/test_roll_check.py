"""The checker's final-roll lists are public: no login, no cookie, cacheable by anyone
and revalidated (ETag); only the current final rolls are served."""

from __future__ import annotations

import json

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
