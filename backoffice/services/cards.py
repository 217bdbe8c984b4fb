"""Membership cards: a signed statement anyone can check offline (docs/cards.md).

A card carries a compact statement about a member — card id, membership number,
name, block, status, final-roll serial if any, issue date — signed with an Ed25519
key kept like the audit signing key. The checker page (/check) verifies it in the
browser with the public key, and refuses it once its card id is on the signed
revocation list (/check/revoked.json): a newer card superseded it, or the member is
no longer approved, or was erased.

Statement bytes: version (1 byte, 1) | key id (4 bytes: SHA-256 of the raw public key)
| the payload as compact JSON (UTF-8) | the Ed25519 signature of everything before it
(64 bytes); written in base64url without padding, after the prefix ``SD1.``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import qrcode
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired
from sqlalchemy import select, union_all, update

from backoffice import audit, keys
from backoffice.audit import verify as audit_verify
from backoffice.extensions import db
from backoffice.models import Member, Roll, RollEntry, utcnow
from backoffice.models.cards import MemberCard
from backoffice.services.membership_numbers import format_membership_no

log = logging.getLogger(__name__)

VERSION = 1
PREFIX = "SD1."
SIG_BYTES = 64
#: what the revocation list's signature covers before its JSON: never a card statement
#: (those start with the version byte 1)
REVOKED_CONTEXT = b"sadasya-revoked-v1:"
LINK_PURPOSE = "card-link"
MAX_MEMBER_ID = 2**31 - 1  # members.id is an integer column


class BadStatement(ValueError):
    """Not a statement we can read (mangled, another version, unknown key)."""


# -- the key -------------------------------------------------------------------------

def _key_path() -> Path:
    configured = current_app.config.get("CARD_SIGNING_KEY")
    return Path(configured) if configured else \
        Path(current_app.instance_path) / "card-signing-key.pem"


def signing_key() -> Ed25519PrivateKey:
    """The card key; in development one is made on first use (production: docs/cards.md)."""
    path = _key_path()
    if not path.exists():
        if current_app.config["ENV"] == "production":
            raise RuntimeError("CARD_SIGNING_KEY: no key file; make it with `backoffice "
                               "cards keygen` (`backoffice doctor` names this)")
        audit_verify.new_key(path)
        log.info("made a new card signing key at %s", path)
    return audit_verify.load_private_key(path)


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: bytes) -> bytes:
    return hashlib.sha256(public).digest()[:4]


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def trusted_keys() -> list[bytes]:
    """The raw public keys whose cards verify: the current key's, then the earlier keys
    still listed in CARD_TRUSTED_KEYS (docs/cards.md, Rotating the key)."""
    found = [raw_public(signing_key().public_key())]
    for text in current_app.config["CARD_TRUSTED_KEYS"]:
        raw = base64.b64decode(text)
        if raw not in found:
            found.append(raw)
    return found


def public_keys() -> dict:
    """What the checker downloads: every trusted public key, by key id, current first.
    A key taken off CARD_TRUSTED_KEYS is gone from the next download: the checker's cards
    signed by it then read as forged."""
    return {"keys": [{"kid": b64u(key_id(public)), "key": b64u(public)}
                     for public in trusted_keys()]}


# -- statements ------------------------------------------------------------------------

def payload_for(member: Member, card_id: str, issued: date) -> dict:
    """The statement's fields, with short names (the QR code stays small)."""
    block = member.block
    payload = {"c": card_id, "n": format_membership_no(member.id), "m": member.full_name,
               "u": [block.name_hi, block.name_en], "s": member.status,
               "d": issued.isoformat()}
    final = db.session.execute(
        select(RollEntry.roll_id, RollEntry.serial, RollEntry.booth_no)
        .join(Roll, Roll.id == RollEntry.roll_id)
        .where(RollEntry.member_id == member.id, Roll.status == "final",
               RollEntry.removed.is_(False))
        .order_by(Roll.finalised_at.desc()).limit(1)).first()
    if final is not None:
        payload["r"], payload["q"], payload["b"] = final.roll_id, final.serial, final.booth_no
    return payload


def sign(payload: dict, key: Ed25519PrivateKey | None = None) -> str:
    key = key or signing_key()
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    signed = bytes([VERSION]) + key_id(raw_public(key.public_key())) + body
    return PREFIX + b64u(signed + key.sign(signed))


@dataclass(frozen=True)
class Checked:
    valid: bool  # the signature holds under a key we know
    payload: dict | None


def verify(statement: str, public: Ed25519PublicKey | None = None) -> Checked:
    """What the browser does, in Python (tests, a support desk): forged or valid, under
    ``public`` or else whichever trusted key the statement names."""
    text = statement.strip()
    if not text.startswith(PREFIX):
        raise BadStatement("not a card statement")
    try:
        data = unb64u(text[len(PREFIX):])
    except ValueError as error:
        raise BadStatement("not base64url") from error
    if len(data) < 1 + 4 + 2 + SIG_BYTES or data[0] != VERSION:
        raise BadStatement("unknown version")
    if public is None:
        named = [raw for raw in trusted_keys() if key_id(raw) == data[1:5]]
        if not named:
            return Checked(False, None)  # an unknown key, or one no longer trusted
        public = Ed25519PublicKey.from_public_bytes(named[0])
    if data[1:5] != key_id(raw_public(public)):
        return Checked(False, None)
    signed, signature = data[:-SIG_BYTES], data[-SIG_BYTES:]
    try:
        public.verify(signature, signed)
    except InvalidSignature:
        return Checked(False, None)
    return Checked(True, json.loads(signed[5:]))


# -- issuing and revoking ---------------------------------------------------------------

def can_have_card(member: Member) -> bool:
    return member.status == "approved" and member.erased_at is None


def issue(member: Member, *, actor=None) -> tuple[MemberCard, str]:
    """A new card for an approved member; earlier cards of the member stop verifying."""
    if not can_have_card(member):
        raise ValueError("only an approved member has a card")
    now = utcnow()
    card_id = b64u(secrets.token_bytes(8))
    statement = sign(payload_for(member, card_id, now.date()))
    db.session.execute(update(MemberCard).where(
        MemberCard.member_id == member.id, MemberCard.revoked_at.is_(None))
        .values(revoked_at=now))
    card = MemberCard(card_id=card_id, member_id=member.id, issued_at=now,
                      statement_sha256=hashlib.sha256(statement.encode()).hexdigest())
    db.session.add(card)
    db.session.flush()
    audit.record("card.issued", entity_type="member", entity_id=member.id,
                 unit_id=member.block_id, details={"card": card_id}, actor=actor)
    return card, statement


def current_statement(member: Member) -> str | None:
    """The member's card statement as of now: issued anew if the member changed since
    (the old card is superseded), or None for a member who may not have a card."""
    if not can_have_card(member):
        return None
    card = db.session.scalar(select(MemberCard).where(
        MemberCard.member_id == member.id, MemberCard.revoked_at.is_(None))
        .order_by(MemberCard.id.desc()).limit(1))
    if card is not None:
        statement = sign(payload_for(member, card.card_id, card.issued_at.date()))
        if hashlib.sha256(statement.encode()).hexdigest() == card.statement_sha256:
            return statement
    return issue(member)[1]


def revoked_ids() -> list[str]:
    """Card ids that must not verify: superseded, or their member is no longer approved
    or was erased (erasure revokes: an erased member is never approved). Ids only: no
    names, no numbers.

    Two parts, so that PostgreSQL reads the approved members from their (status, id)
    index alone, never the member table (at a million members 0.9 s against 1.1-1.4 s
    for one join with OR; docs/cards.md): the superseded cards, and the cards whose
    member is not among the approved."""
    superseded = select(MemberCard.card_id).where(MemberCard.revoked_at.is_not(None))
    unapproved = select(MemberCard.card_id).where(
        MemberCard.revoked_at.is_(None),
        ~select(Member.id).where(Member.id == MemberCard.member_id,
                                 Member.status == "approved").exists())
    return sorted(db.session.scalars(union_all(superseded, unapproved)))


def revocation_list(key: Ed25519PrivateKey | None = None, issued=None) -> dict:
    """The signed list the checker downloads: {"list": base64url(JSON), "kid", "sig"}."""
    key = key or signing_key()
    issued = issued or utcnow()
    body = json.dumps({"v": 1, "issued": issued.isoformat(timespec="seconds") + "Z",
                       "revoked": revoked_ids()}, separators=(",", ":")).encode()
    return {"list": b64u(body), "kid": b64u(key_id(raw_public(key.public_key()))),
            "sig": b64u(key.sign(REVOKED_CONTEXT + body))}


@dataclass(frozen=True)
class Published:
    """A public file as served: its bytes, an ETag and when it was made (Last-Modified)."""
    data: bytes
    etag: str
    modified: datetime


_revoked_lock = threading.Lock()  # guards the kept list
_revoked_build = threading.Lock()  # one thread of a process makes it; the others wait


def revocation_file() -> Published:
    """/check/revoked.json as served: made at most once per CHECK_REVOKED_SECONDS per
    process (every phone's every check asks; the list is one statement over every
    card), at once after the card key changed. A revocation reaches the checkers within
    that time; the list's "issued" says when it was made."""
    key = signing_key()
    kid = key_id(raw_public(key.public_key()))
    kept = current_app.extensions.setdefault("check_revoked", {})
    seconds = current_app.config["CHECK_REVOKED_SECONDS"]

    def fresh():
        with _revoked_lock:
            hit = kept.get("list")
        if hit is not None and hit[0] == kid and time.monotonic() - hit[1] < seconds:
            return hit[2]
        return None

    found = fresh()
    if found is not None:
        return found
    with _revoked_build:
        found = fresh()  # made by another thread while this one waited
        if found is not None:
            return found
        issued = utcnow().replace(microsecond=0, tzinfo=None)
        data = json.dumps(revocation_list(key, issued), separators=(",", ":")).encode()
        found = Published(data, hashlib.sha256(data).hexdigest()[:32], issued)
        with _revoked_lock:
            kept["list"] = (kid, time.monotonic(), found)
    return found


# -- the SMS link -----------------------------------------------------------------------

def link_token(member: Member) -> str:
    return keys.serializer(LINK_PURPOSE).dumps({"m": member.id})


def card_link(member: Member) -> str:
    """The link an SMS sends an approved member (the seam for the approval notice: the
    notice's DLT-registered text and its sending belong to the notifications)."""
    from flask import url_for
    return url_for("cards.card_file", token=link_token(member), kind="png", _external=True)


def member_for_token(token: str) -> Member | None:
    """The member a card link names, or None if it is forged or expired."""
    max_age = current_app.config["CARD_LINK_DAYS"] * 86400
    try:
        data = keys.serializer(LINK_PURPOSE).loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired, UnicodeDecodeError):
        return None
    member_id = data.get("m") if isinstance(data, dict) else None
    # A member id as link_token writes it: an int (not a bool) that fits the id column;
    # a larger one is an error on PostgreSQL ("out of range") and on SQLite, not a 404.
    if type(member_id) is not int or not 0 < member_id <= MAX_MEMBER_ID:
        return None
    return db.session.get(Member, member_id)


# -- drawing -----------------------------------------------------------------------------

def _both(message: str) -> str:
    """A label in Hindi and English, as the card is printed in both."""
    with force_locale("hi"):
        hindi = _(message)
    with force_locale("en"):
        english = _(message)
    return hindi if hindi == english else f"{hindi} / {english}"


def card_lines(payload: dict) -> list[tuple[str, str]]:
    """(label, value) lines, the same on the PDF and the PNG."""
    issued = date.fromisoformat(payload["d"]).strftime("%d/%m/%Y")
    lines = [(_both("Membership no."), payload["n"]),
             (_both("Unit"), " / ".join(dict.fromkeys(payload["u"]))),
             (_both("Status"), _both("Approved member")),
             (_both("Issued"), issued)]
    if "q" in payload:
        lines.insert(3, (_both("Final roll serial"),
                         f"{payload['q']} ({_both('Booth')} {payload['b']})"))
    return lines


def qr_matrix(statement: str) -> list[list[bool]]:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(statement)
    code.make(fit=True)
    return code.get_matrix()


FONT_SIZE = 30


def render_png(payload: dict, statement: str, photo: bytes | None) -> bytes:
    """The card for phones: 720 px wide, Devanagari shaped by Raqm (HarfBuzz)."""
    from PIL import Image, ImageDraw, ImageFont, features

    from backoffice.services.roll_pdf import FONT_PATH

    if not features.check("raqm"):
        raise RuntimeError("Pillow without Raqm cannot shape Devanagari")

    def font(size: int, bold: bool = False):
        chosen = ImageFont.truetype(str(FONT_PATH), size, layout_engine=ImageFont.Layout.RAQM)
        chosen.set_variation_by_axes([700 if bold else 400, 100])  # weight, width
        return chosen

    width, margin = 720, 36
    matrix = qr_matrix(statement)
    cell = (width - 2 * margin) // len(matrix)
    qr_side = cell * len(matrix)
    height = 480 + qr_side + 80
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, width, 96], fill=(16, 78, 139))
    draw.text((margin, 24), _both("Membership card"), font=font(34, True), fill="white")
    y, text_x = 120, margin
    if photo:
        try:
            picture = Image.open(io.BytesIO(photo)).convert("RGB")
            picture.thumbnail((150, 190))
            image.paste(picture, (width - margin - picture.width, y))
            text_x = margin
        except OSError:
            pass
    draw.text((text_x, y), payload["m"], font=font(40, True), fill="black")
    y += 70
    small, value_font = font(22), font(28, True)
    for label, value in card_lines(payload):
        draw.text((text_x, y), label, font=small, fill=(80, 80, 80))
        draw.text((text_x, y + 26), value, font=value_font, fill="black")
        y += 68
    y = max(y, 480) - 10
    for row, cells in enumerate(matrix):
        for col, dark in enumerate(cells):
            if dark:
                x0, y0 = margin + col * cell, y + row * cell
                draw.rectangle([x0, y0, x0 + cell - 1, y0 + cell - 1], fill="black")
    draw.text((margin, y + qr_side + 16), _both("Check this card at /check"), font=small,
              fill=(80, 80, 80))
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _photo_jpeg(photo: bytes | None) -> tuple[bytes, int, int] | None:
    """The member's photo as a baseline RGB JPEG for the PDF, or None if unreadable."""
    if not photo:
        return None
    from PIL import Image
    try:
        picture = Image.open(io.BytesIO(photo)).convert("RGB")
    except OSError:
        return None
    picture.thumbnail((300, 380))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=85)
    return out.getvalue(), picture.width, picture.height


def render_pdf(payload: dict, statement: str, photo: bytes | None = None) -> bytes:
    """One A6 page: the same lines, shaped by HarfBuzz (services/shaped_pdf.py), and the
    QR code drawn as squares."""
    from backoffice.services.roll_pdf import _font, _printable
    from backoffice.services.shaped_pdf import Document, Info

    font = _font()
    page_w, page_h = 105.0, 148.0
    picture = _photo_jpeg(photo)
    doc = Document(font, Info(title=_both("Membership card"), creator="Sadasya", lang="hi",
                              created=utcnow()), page_w, page_h,
                   images={"Photo": picture} if picture else None)
    matrix = qr_matrix(statement)

    def draw(canvas):
        canvas.rect(0, 0, page_w, 14, gray=0.85)
        canvas.text(6, 9.5, 12, font.run(_printable(_both("Membership card"))), bold=True)
        if picture:
            width = 24.0
            height = min(width * picture[2] / picture[1], 30.0)
            canvas.image("Photo", page_w - 6 - width, 18, width, height)
        canvas.text(6, 24, 15, font.run(_printable(payload["m"])), bold=True)
        y = 32.0
        for label, value in card_lines(payload):
            canvas.text(6, y, 7, font.run(_printable(label)))
            canvas.text(6, y + 4.5, 10, font.run(_printable(value)))
            y += 9.5
        side = 50.0
        cell = side / len(matrix)
        top, left = page_h - side - 12, (page_w - side) / 2
        for row, cells in enumerate(matrix):
            for col, dark in enumerate(cells):
                if dark:
                    canvas.rect(left + col * cell, top + row * cell, cell, cell, gray=0)
        canvas.text(6, page_h - 6, 7, font.run(_printable(_both("Check this card at /check"))))

    doc.add_page(draw)
    out = io.BytesIO()
    doc.output(lambda canvas, page_no, total: None, out)
    return out.getvalue()
