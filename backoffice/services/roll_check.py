"""The final rolls for the offline checker: a typed membership number is looked up on
the phone, in signed lists it downloaded, never sent anywhere (docs/cards.md, "A typed
number").

Two kinds of file, both signed with the card key:

- one file per current final roll (the newest final roll of each unit), with nothing
  but membership numbers (as member ids), booths and serials: no names, ages or
  relatives. A final roll never changes, so its file is made once, when it is
  finalised, and kept in the app's storage; each process reads it once and keeps it;
- an index (``/check/rolls.json``): the current final rolls, the numbers on them whose
  member is no longer approved or was erased, and its time; made again after
  CHECK_ROLLS_SECONDS, or at once when a roll is finalised.

A roll file: version (1 byte, 1) | key id (4 bytes) | Ed25519 signature (64 bytes) of
``ROLL_CONTEXT`` followed by the body | the body, zlib-compressed. Uncompressed, the
body is a JSON header line ``{"v": 1, "roll": id, "booths": [[booth, last serial],
...], "n": entries}`` and then, booth after booth, one varint per serial from 1 to the
booth's last: 0 for a serial that is not on the roll (an upheld objection), else the
zigzag-coded difference from the member id of the booth's previous entry. Serials
within a booth follow member ids at the freeze, so the differences are small.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import zlib

from flask import current_app
from sqlalchemy import select, text

from backoffice import storage
from backoffice.extensions import db
from backoffice.models import Member, Roll, RollEntry, Unit, utcnow
from backoffice.services import cards

VERSION = 1
#: what the signatures cover before the signed bytes: neither can pass for the other,
#: nor for a card statement (first byte 1) or the revocation list
ROLL_CONTEXT = b"sadasya-roll-v1:"
INDEX_CONTEXT = b"sadasya-rolls-v1:"
HEAD_BYTES = 1 + 4 + 64
#: the first key of PostgreSQL's advisory lock while a roll's file is made (the second
#: is the roll's id)
LOCK_SPACE = 0x5AD17

log = logging.getLogger(__name__)
_lock = threading.Lock()
_building: dict[str, threading.Lock] = {}  # one per stored name, for the thread making it


def current_rolls() -> list[Roll]:
    """The newest final roll of each unit: an older final roll of the same unit was
    replaced by the later election's."""
    newest: dict[int, Roll] = {}
    for roll in db.session.scalars(select(Roll).where(Roll.status == "final")
                                   .order_by(Roll.finalised_at, Roll.id)):
        newest[roll.unit_id] = roll
    return sorted(newest.values(), key=lambda roll: roll.id)


def _varint(number: int, out: bytearray) -> None:
    while number >= 0x80:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)


def encode_entries(roll_id: int, rows) -> bytes:
    """The uncompressed body from (member id, booth, serial) rows in booth order, then
    serial order (removed entries left out)."""
    booths: list[list] = []
    stream = bytearray()
    booth, previous_id, previous_serial, count = None, 0, 0, 0
    for member_id, booth_no, serial in rows:
        if booth_no != booth:
            booth, previous_id, previous_serial = booth_no, 0, 0
            booths.append([booth_no, 0])
        for _gap in range(serial - previous_serial - 1):
            stream.append(0)  # a serial that is not on the roll
        difference = member_id - previous_id
        _varint(difference * 2 if difference >= 0 else -difference * 2 - 1, stream)
        previous_id, previous_serial = member_id, serial
        booths[-1][1] = serial
        count += 1
    header = json.dumps({"v": VERSION, "roll": roll_id, "booths": booths, "n": count},
                        ensure_ascii=False, separators=(",", ":")).encode()
    return header + b"\n" + bytes(stream)


def decode_entries(body: bytes) -> tuple[dict, dict[int, tuple[str, int]]]:
    """The header and {member id: (booth, serial)} of an uncompressed body (tests,
    support; the browser does the same in static/check/numbers.js)."""
    newline = body.index(b"\n")
    header = json.loads(body[:newline])
    found: dict[int, tuple[str, int]] = {}
    position = newline + 1
    for booth_no, last in header["booths"]:
        previous = 0
        for serial in range(1, last + 1):
            value, shift = 0, 0
            while True:
                byte = body[position]
                position += 1
                value |= (byte & 0x7F) << shift
                shift += 7
                if byte < 0x80:
                    break
            if value:
                previous += value >> 1 if value % 2 == 0 else -((value + 1) >> 1)
                found[previous] = (booth_no, serial)
    return header, found


def _rows(roll_id: int):
    return db.session.execute(
        select(RollEntry.member_id, RollEntry.booth_no, RollEntry.serial)
        .where(RollEntry.roll_id == roll_id, RollEntry.removed.is_(False))
        .order_by(RollEntry.booth_key, RollEntry.booth_no, RollEntry.serial)
        .execution_options(yield_per=5000))


def sign_roll(roll_id: int, body: bytes, key=None) -> bytes:
    key = key or cards.signing_key()
    compressed = zlib.compress(body, 9)
    return (bytes([VERSION]) + cards.key_id(cards.raw_public(key.public_key()))
            + key.sign(ROLL_CONTEXT + compressed) + compressed)


def open_roll(data: bytes, public=None) -> bytes | None:
    """The uncompressed body of a signed roll file, or None if its signature fails."""
    from cryptography.exceptions import InvalidSignature
    public = public or cards.signing_key().public_key()
    if len(data) < HEAD_BYTES or data[0] != VERSION \
            or data[1:5] != cards.key_id(cards.raw_public(public)):
        return None
    try:
        public.verify(data[5:HEAD_BYTES], ROLL_CONTEXT + data[HEAD_BYTES:])
    except InvalidSignature:
        return None
    return zlib.decompress(data[HEAD_BYTES:])


def stored_name(roll: Roll, kid: bytes) -> str:
    """The roll's file in the app's storage, per card key. The finalising time is in
    the name: a finalisation that rolled back (its file already written on a folder
    store) never names the file of a later one."""
    return (f"check-rolls/{roll.id}-{roll.finalised_at.strftime('%Y%m%dT%H%M%S%f')}"
            f"-{kid.hex()}.bin")


def store_roll_file(roll: Roll, key=None) -> bytes:
    """Make a final roll's signed file and keep it in the shared storage, in the
    caller's transaction (services.rolls.finalise calls it), so that every host serves
    the same bytes and none makes them on a phone's request."""
    key = key or cards.signing_key()
    data = sign_roll(roll.id, encode_entries(roll.id, _rows(roll.id)), key)
    storage.save(stored_name(roll, cards.key_id(cards.raw_public(key.public_key()))), data,
                 replace=True)
    return data


def _stored(name: str, roll_id: int, public) -> bytes | None:
    """The stored file if its signature holds and it is this roll's, else None."""
    try:
        data = storage.read(name)
    except storage.Missing:
        return None
    body = open_roll(data, public)
    if body is None or json.loads(body[:body.index(b"\n")]).get("roll") != roll_id:
        log.warning("check roll file %s failed its signature check: made again", name)
        return None
    return data


def _lock_across_hosts(roll_id: int) -> None:
    """On PostgreSQL, one transaction at a time makes a roll's missing file; the others
    wait for it and then read it (until the caller's commit)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:space, :roll)"),
                           {"space": LOCK_SPACE, "roll": roll_id})


def served_roll(roll: Roll) -> cards.Published:
    """A final roll's signed file as served: read once per process from the shared
    storage (its signature checked: a changed file is made again, not served) and
    kept. A roll finalised before the files were stored, or under another card key,
    has none: the first request makes it, one thread per process and one process at a
    time (the others wait and read it), never a herd of builds."""
    key = cards.signing_key()
    name = stored_name(roll, cards.key_id(cards.raw_public(key.public_key())))
    kept = current_app.extensions.setdefault("roll_check_files", {})
    with _lock:
        found = kept.get(name)
        building = _building.setdefault(name, threading.Lock())
    if found is not None:
        return found
    with building:
        with _lock:
            found = kept.get(name)
        if found is not None:
            return found
        data = _stored(name, roll.id, key.public_key())
        if data is None:
            _lock_across_hosts(roll.id)
            data = _stored(name, roll.id, key.public_key())  # made while this one waited
            if data is None:
                data = store_roll_file(roll, key)
            db.session.commit()  # the file, and the end of the lock
        found = cards.Published(data, hashlib.sha256(data).hexdigest()[:32],
                                roll.finalised_at.replace(microsecond=0))
        current = {item.id for item in current_rolls()}
        with _lock:
            for stale in [k for k in kept if int(k.split("/")[1].split("-")[0]) not in current]:
                del kept[stale]  # a roll replaced by a newer election's
            kept[name] = found
    return found


def roll_file(roll: Roll) -> bytes:
    """A final roll's signed file (a final roll never changes: the database refuses)."""
    return served_roll(roll).data


def revoked_numbers(roll_ids: list[int]) -> list[int]:
    """Member ids on these rolls whose member is no longer approved (revoked, erased —
    erasure revokes —, or an approval undone). From the member's (status, id) index."""
    if not roll_ids:
        return []
    return list(db.session.scalars(
        select(Member.id).where(Member.status != "approved", Member.id.in_(
            select(RollEntry.member_id).where(RollEntry.roll_id.in_(roll_ids),
                                              RollEntry.removed.is_(False))))
        .order_by(Member.id)))


def index() -> dict:
    """What the checker downloads first: {"list": base64url(JSON), "kid", "sig"}, like
    the revocation list, under its own context.

    Kept per process for CHECK_ROLLS_SECONDS: finding the revoked among a million
    entries takes about a second of the database, and every agent's every check asks.
    A roll finalised since, or a new card key, is served at once; a revocation within
    that time (the index's "issued" says when it was made)."""
    rolls = current_rolls()
    key = cards.signing_key()
    kid = cards.key_id(cards.raw_public(key.public_key()))
    version = (kid, tuple((roll.id, roll.finalised_at) for roll in rolls))
    kept = current_app.extensions.setdefault("roll_check_index", {})
    with _lock:
        hit = kept.get("index")
    if hit is not None and hit[0] == version \
            and time.monotonic() - hit[1] < current_app.config["CHECK_ROLLS_SECONDS"]:
        return hit[2]
    signed = _signed_index(rolls, key)
    with _lock:
        kept["index"] = (version, time.monotonic(), signed)
    return signed


def _signed_index(rolls: list[Roll], key) -> dict:
    units = {unit.id: unit for unit in db.session.scalars(
        select(Unit).where(Unit.id.in_([roll.unit_id for roll in rolls])))}
    body = json.dumps({
        "v": VERSION, "issued": utcnow().isoformat(timespec="seconds") + "Z",
        "rolls": [{"id": roll.id, "title": roll.title, "n": roll.entry_count,
                   "unit": [units[roll.unit_id].name_hi, units[roll.unit_id].name_en],
                   "final": roll.finalised_at.date().isoformat()} for roll in rolls],
        "revoked": revoked_numbers([roll.id for roll in rolls]),
    }, ensure_ascii=False, separators=(",", ":")).encode()
    return {"list": cards.b64u(body), "kid": cards.b64u(cards.key_id(
        cards.raw_public(key.public_key()))), "sig": cards.b64u(key.sign(INDEX_CONTEXT + body))}
