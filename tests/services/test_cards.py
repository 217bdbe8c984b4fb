"""Membership cards: a statement signed here verifies, a changed byte does not, and a
superseded card or a revoked or erased member's card is on the signed revocation list."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from backoffice.extensions import db
from backoffice.services import cards, erasure, workflow
from tests import factories

PDFTOTEXT = shutil.which("pdftotext")


@pytest.fixture
def member(ctx, units):
    return factories.approved(units["BLK-BILHA"], full_name="प्रियंका त्रिपाठी")


def flipped(statement: str, position: int) -> str:
    data = bytearray(cards.unb64u(statement[len(cards.PREFIX):]))
    data[position] ^= 0x01
    return cards.PREFIX + cards.b64u(bytes(data))


def test_a_signed_statement_verifies_and_reads_back(member):
    card, statement = cards.issue(member)
    checked = cards.verify(statement)
    assert checked.valid
    assert checked.payload["m"] == "प्रियंका त्रिपाठी"
    assert checked.payload["c"] == card.card_id
    assert checked.payload["s"] == "approved"
    assert checked.payload["u"] == ["बिल्हा", "Bilha"]
    assert checked.payload["n"].startswith("CG")


def test_one_flipped_byte_anywhere_is_forged(member):
    _card, statement = cards.issue(member)
    length = len(cards.unb64u(statement[len(cards.PREFIX):]))
    for position in (8, 20, length - 70, length - 1):  # name, payload, signature
        assert not cards.verify(flipped(statement, position)).valid


def test_another_key_does_not_verify(member):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    _card, statement = cards.issue(member)
    other = Ed25519PrivateKey.generate().public_key()
    assert not cards.verify(statement, other).valid
    forged = cards.sign({"c": "x", "n": "CG1", "m": "x"}, Ed25519PrivateKey.generate())
    assert not cards.verify(forged).valid


def test_garbage_is_refused_as_no_statement(member):
    for text in ("", "hello", "SD1.", "SD1.!!!!", "SD1.AAAA"):
        with pytest.raises(cards.BadStatement):
            cards.verify(text)


def revoked_by_signed_list() -> list[str]:
    signed = cards.revocation_list()
    body = cards.unb64u(signed["list"])
    public = Ed25519PublicKey.from_public_bytes(cards.unb64u(cards.public_keys()["keys"][0]["key"]))
    public.verify(cards.unb64u(signed["sig"]), cards.REVOKED_CONTEXT + body)
    return json.loads(body)["revoked"]


def test_a_revoked_members_card_is_on_the_list(member, staff):
    card, _statement = cards.issue(member)
    assert card.card_id not in revoked_by_signed_list()
    workflow.apply(staff["district"], "revoke", [member.id], reason="दोहरी सदस्यता")
    db.session.refresh(member)
    assert member.status == "revoked"
    assert card.card_id in revoked_by_signed_list()


def test_an_erased_members_card_is_on_the_list(member, staff):
    card, _statement = cards.issue(member)
    erasure.erase(staff["district"], member.id, "सदस्य का अनुरोध")
    assert card.card_id in revoked_by_signed_list()


def test_a_change_reissues_and_the_old_card_stops_verifying(member):
    old, statement = cards.issue(member)
    assert cards.current_statement(member) == statement  # nothing changed: same card
    member.full_name = "प्रियंका शर्मा"
    db.session.flush()
    renewed = cards.current_statement(member)
    assert renewed != statement
    assert cards.verify(renewed).payload["m"] == "प्रियंका शर्मा"
    assert old.card_id in revoked_by_signed_list()
    assert cards.verify(renewed).payload["c"] not in revoked_by_signed_list()


def test_only_an_approved_member_gets_a_card(ctx, units):
    waiting = factories.member(units["BLK-BILHA"])
    assert cards.current_statement(waiting) is None
    with pytest.raises(ValueError):
        cards.issue(waiting)


def test_the_pdf_reads_back_in_hindi_and_english(member, tmp_path):
    _card, statement = cards.issue(member)
    payload = cards.verify(statement).payload
    pdf = cards.render_pdf(payload, statement)
    if PDFTOTEXT is None:
        pytest.skip("pdftotext (poppler-utils) reads the PDF back")
    path = tmp_path / "card.pdf"
    path.write_bytes(pdf)
    text = subprocess.run([PDFTOTEXT, "-layout", str(path), "-"], capture_output=True,
                          check=True, text=True).stdout
    squeezed = "".join(text.split())
    assert "प्रियंकात्रिपाठी" in squeezed
    assert "सदस्यताकार्ड/Membershipcard" in squeezed
    assert payload["n"] in squeezed
    assert "बिल्हा/Bilha" in squeezed
    pages = subprocess.run([shutil.which("pdfinfo") or "pdfinfo", str(path)],
                           capture_output=True, text=True).stdout
    assert re.search(r"^Pages:\s+1$", pages, re.M)


def test_the_png_has_the_qr_code_carrying_the_statement(member):
    from PIL import Image
    _card, statement = cards.issue(member)
    payload = cards.verify(statement).payload
    png = cards.render_png(payload, statement, None)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width == 720
    # the browser test decodes the QR code with jsQR; here: its modules are drawn
    matrix = cards.qr_matrix(statement)
    cell = (720 - 72) // len(matrix)
    dark = sum(image.convert("L").getpixel((x, y)) < 128 for x in range(36, 36 + cell * len(
        matrix), cell) for y in range(image.height - 80 - cell * len(matrix), image.height - 80,
                                      cell))
    assert dark >= sum(map(sum, matrix)) * 0.3


def test_the_photo_is_on_both_cards(member, tmp_path):
    from PIL import Image
    picture = io.BytesIO()
    Image.new("RGB", (300, 400), (200, 30, 30)).save(picture, "JPEG")
    _card, statement = cards.issue(member)
    payload = cards.verify(statement).payload
    pdf = cards.render_pdf(payload, statement, picture.getvalue())
    pdfimages = shutil.which("pdfimages")
    if pdfimages is None:
        pytest.skip("pdfimages (poppler-utils) lists the PDF's images")
    path = tmp_path / "card.pdf"
    path.write_bytes(pdf)
    listing = subprocess.run([pdfimages, "-list", str(path)], capture_output=True, text=True,
                             check=True).stdout
    assert " jpeg " in listing and "300   380" not in listing  # one photo, kept small
    assert len(listing.strip().splitlines()) == 3  # header, rule, one image
    png = Image.open(io.BytesIO(cards.render_png(payload, statement, picture.getvalue())))
    red = png.convert("RGB").getpixel((720 - 36 - 10, 130))
    assert red[0] > 150 and red[1] < 80  # the photo's corner, top right
