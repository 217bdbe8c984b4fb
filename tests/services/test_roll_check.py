"""The final rolls for the checker's typed number: signed with the card key, a changed
byte refused, numbers, booths and serials only (no names), a revoked or erased member's
number named in the index, and only the newest final roll of each unit."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from backoffice.extensions import db
from backoffice.services import cards, erasure, roll_check, rolls, workflow
from tests.factories import approved

CUT_OFF = date(2026, 11, 15)


def final_roll(staff, unit, title="ज़िला सम्मेलन 2026", *, objection=None):
    roll = rolls.create(staff["ro"], unit, CUT_OFF, title)
    rolls.freeze(staff["ro"], roll.id)
    rolls.publish(staff["ro"], roll.id, CUT_OFF, today=CUT_OFF)
    if objection is not None:
        claim = rolls.file_claim(staff["ro"], roll.id, "objection", objection.id,
                                 "दूसरे ज़िले में भी सदस्य", today=CUT_OFF)
        rolls.decide(staff["ro"], claim.id, True, "सत्यापित")
    rolls.finalise(staff["ro"], roll.id, today=CUT_OFF + timedelta(days=1))
    db.session.flush()
    return roll


@pytest.fixture
def people(ctx, units):
    block = units["BLK-BILHA"]
    return [approved(block, booth_no=booth, full_name=f"प्रियंका {i}")
            for i, booth in enumerate(["12", "3", "12", "12A", "3", None])]


def index_of(signed: dict) -> dict:
    return json.loads(cards.unb64u(signed["list"]))


def test_a_roll_file_carries_numbers_booths_and_serials_and_no_names(staff, units, people):
    roll = final_roll(staff, units["DIST-BILASPUR"], objection=people[2])
    data = roll_check.roll_file(roll)
    body = roll_check.open_roll(data)
    header, found = roll_check.decode_entries(body)
    assert header["roll"] == roll.id and header["n"] == 5
    assert found == {people[1].id: ("3", 1), people[4].id: ("3", 2),
                     people[0].id: ("12", 1), people[3].id: ("12A", 1),
                     people[5].id: ("—", 1)}  # people[2], objected to, is not on it
    assert all(person.full_name.encode() not in body for person in people)
    assert b"\xe0\xa4" not in body.replace("—".encode(), b"")  # no Devanagari at all


def test_one_changed_byte_or_another_key_is_refused(staff, units, people):
    data = roll_check.roll_file(final_roll(staff, units["DIST-BILASPUR"]))
    assert roll_check.open_roll(data) is not None
    for position in (0, 3, 20, 80, len(data) - 1):  # version, key id, signature, body
        changed = bytearray(data)
        changed[position] ^= 0x01
        assert roll_check.open_roll(bytes(changed)) is None
    other = Ed25519PrivateKey.generate()
    forged = roll_check.sign_roll(1, roll_check.encode_entries(1, [(7, "1", 1)]), other)
    assert roll_check.open_roll(forged) is None
    assert roll_check.open_roll(forged, other.public_key()) is not None


def test_the_signatures_of_the_index_a_roll_and_a_list_cannot_stand_for_each_other(
        staff, units, people):
    roll = final_roll(staff, units["DIST-BILASPUR"])
    signed = roll_check.index()
    public = cards.signing_key().public_key()
    body = cards.unb64u(signed["list"])
    public.verify(cards.unb64u(signed["sig"]), roll_check.INDEX_CONTEXT + body)
    from cryptography.exceptions import InvalidSignature
    for context in (roll_check.ROLL_CONTEXT, cards.REVOKED_CONTEXT, b""):
        with pytest.raises(InvalidSignature):
            public.verify(cards.unb64u(signed["sig"]), context + body)
    data = roll_check.roll_file(roll)
    with pytest.raises(InvalidSignature):
        public.verify(data[5:69], roll_check.INDEX_CONTEXT + data[69:])


def test_the_index_names_current_final_rolls_and_revoked_numbers_only(
        staff, units, people):
    assert index_of(roll_check.index())["rolls"] == []
    names = [person.full_name for person in people]
    roll = final_roll(staff, units["DIST-BILASPUR"])
    workflow.apply(staff["district"], "revoke", [people[0].id], reason="दोहरी सदस्यता")
    erasure.erase(staff["district"], people[3].id, "सदस्य का अनुरोध")
    db.session.flush()
    listed = index_of(roll_check.index())
    assert [r["id"] for r in listed["rolls"]] == [roll.id]
    assert listed["rolls"][0]["n"] == 6
    assert listed["rolls"][0]["unit"] == ["बिलासपुर", "Bilaspur"]
    assert people[0].id in listed["revoked"]
    assert listed["revoked"] == sorted([people[0].id, people[3].id])
    assert listed["issued"].endswith("Z")
    text = json.dumps(listed, ensure_ascii=False)
    assert not any(name in text for name in names)


def test_a_newer_final_roll_of_the_same_unit_replaces_the_older(staff, units, people):
    older = final_roll(staff, units["DIST-BILASPUR"], "पहला सम्मेलन")
    approved(units["BLK-BILHA"], booth_no="7")
    newer = final_roll(staff, units["DIST-BILASPUR"], "दूसरा सम्मेलन")
    assert [roll.id for roll in roll_check.current_rolls()] == [newer.id]
    assert older.id != newer.id
    assert roll_check.decode_entries(roll_check.open_roll(
        roll_check.roll_file(newer)))[0]["n"] == 7


def test_encoding_round_trips_gaps_and_descending_ids():
    rows = [(500, "1", 1), (20, "1", 2), (900_000, "1", 4), (3, "2", 1), (2**40, "2", 2)]
    header, found = roll_check.decode_entries(roll_check.encode_entries(9, rows))
    assert header["booths"] == [["1", 4], ["2", 2]] and header["n"] == 5
    assert found == {500: ("1", 1), 20: ("1", 2), 900_000: ("1", 4), 3: ("2", 1),
                     2**40: ("2", 2)}


def test_a_revocation_reaches_the_index_once_it_is_made_again(app, staff, units, people):
    roll = final_roll(staff, units["DIST-BILASPUR"])
    assert index_of(roll_check.index())["revoked"] == []
    workflow.apply(staff["district"], "revoke", [people[1].id], reason="दोहरी सदस्यता")
    db.session.flush()
    assert index_of(roll_check.index())["revoked"] == []  # the kept index, for a while
    newer = final_roll(staff, units["BLK-BILHA"], "ब्लॉक सम्मेलन")
    listed = index_of(roll_check.index())  # a roll finalised: served at once
    assert [r["id"] for r in listed["rolls"]] == [roll.id, newer.id]
    assert listed["revoked"] == [people[1].id]
    workflow.apply(staff["district"], "revoke", [people[4].id], reason="दोहरी सदस्यता")
    db.session.flush()
    app.config["CHECK_ROLLS_SECONDS"] = 0  # the time has passed
    assert index_of(roll_check.index())["revoked"] == sorted([people[1].id, people[4].id])
