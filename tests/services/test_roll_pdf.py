"""The printable roll: text read back with pdftotext (poppler), never pypdf (it mangles
shaped Hindi). pdftotext puts spaces after clusters with ि ("प्रि यंका"), so Hindi is
compared with all whitespace removed."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import threading
import zipfile
import zlib
from collections import Counter
from datetime import date, datetime

import pytest
import uharfbuzz as hb
from fontTools.ttLib import TTFont

from backoffice.services import shaped_font
from backoffice.services.roll_pdf import (
    COLUMNS,
    FONT_PATH,
    FOOTER_TOP,
    MARGIN_X,
    RollHeader,
    RollLine,
    booth_file_name,
    render_booth_pdf,
    write_roll_pdf,
    write_roll_pdf_zip,
)

HEADER = RollHeader(
    title_hi="प्रारंभिक सदस्यता सूची",
    title_en="Preliminary membership roll",
    unit_hi="बिल्हा ब्लॉक, बिलासपुर",
    unit_en="Bilha block, Bilaspur",
    cut_off=date(2026, 11, 1),
    roll_ref="ROLL-12 v3",
    generated_at=datetime(2026, 11, 27, 9, 5),  # UTC: 14:35 IST
)
HINDI_NAMES = ["प्रियंका त्रिपाठी", "क्षितिज श्रीवास्तव", "कृष्णा द्विवेदी", "श्रद्धा क्षत्रिय",
               "श्र क्ष त्र द्व ष्ण कृ प्रि त्रि"]
FORMULA = '=HYPERLINK("http://evil.example/x","click")'
LONG_LATIN = ("Venkata Subrahmanya Lakshminarasimha Srinivasa Ramanujam Iyengar "
              "Chakravarthy Parthasarathy Raghunathan")
LONG_HINDI = "लक्ष्मीनारायण प्रियदर्शी राजेश्वरी प्रसाद द्विवेदी त्रिपाठी श्रीवास्तव चंद्रशेखर"
BOOTH_12 = 45  # more than one page
BOOTH_13 = 3

PDFTOTEXT = shutil.which("pdftotext")


def line(booth: str, serial: int, full_name: str, relative: str = "रमेश त्रिपाठी",
         relation: str = "father", gender: str = "female") -> RollLine:
    return RollLine(booth, serial, f"CG{int(booth):04d}{serial:04d}0", full_name, relative,
                    relation, gender, 18 + serial)


def roll() -> list[RollLine]:
    specials = [*HINDI_NAMES, "Rahul Verma", FORMULA, LONG_LATIN, LONG_HINDI]
    lines = []
    for serial in range(1, BOOTH_12 + 1):
        name = specials[serial - 1] if serial <= len(specials) else f"सदस्य {serial}"
        lines.append(line("12", serial, name, gender=("female", "male", "other")[serial % 3],
                          relation=("father", "husband")[serial % 2]))
    lines.append(line("13", 1, "क्षितिज श्रीवास्तव", relative="{nb} **not bold**",
                      relation="husband"))
    lines.append(line("13", 2, "Anjali Sahu", relative="Test தமிழ்"))
    lines.append(line("13", 3, "कृष्णा द्विवेदी", relative="ज्योत्स्ना"))
    return lines


def pdftotext(pdf: bytes, tmp_path, *options: str) -> str:
    if PDFTOTEXT is None:
        pytest.skip("pdftotext (apt-get install poppler-utils) is needed to read the PDF back")
    path = tmp_path / "roll.pdf"
    path.write_bytes(pdf)
    return subprocess.run([PDFTOTEXT, "-enc", "UTF-8", *options, str(path), "-"],
                          check=True, capture_output=True, text=True).stdout


def pdf_pages(pdf: bytes, tmp_path, *options: str) -> list[str]:
    return pdftotext(pdf, tmp_path, *options).split("\f")[:-1]  # a form feed ends each page


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def roll_pdf() -> bytes:
    out = io.BytesIO()
    assert write_roll_pdf(HEADER, roll(), out) == BOOTH_12 + BOOTH_13
    return out.getvalue()


def test_font_and_its_licence_ship_with_the_package():
    assert FONT_PATH.is_file()
    assert "SIL OPEN FONT LICENSE Version 1.1" in (FONT_PATH.parent / "OFL.txt").read_text()


def test_hindi_names_read_back_with_conjuncts_and_vowel_signs(roll_pdf, tmp_path):
    text = squeeze("".join(pdf_pages(roll_pdf, tmp_path)))
    for name in [*HINDI_NAMES, "ज्योत्स्ना", LONG_HINDI]:
        assert squeeze(name) in text, name
    assert squeeze("पिता: रमेश त्रिपाठी") in text and squeeze("पति: रमेश त्रिपाठी") in text
    assert "RahulVerma" in text and squeeze(LONG_LATIN) in text


def pdf_objects(pdf: bytes) -> dict[int, tuple[bytes, bytes]]:
    """Each object of the PDF by number: its dictionary and its stream, inflated."""
    objects = {}
    for match in re.finditer(rb"(\d+) 0 obj\n(.*?)\nendobj", pdf, re.S):
        body = match.group(2)
        head, _, stream = body.partition(b"\nstream\n")
        if stream:
            stream = stream.removesuffix(b"\nendstream")
            if b"/FlateDecode" in head:
                stream = zlib.decompress(stream)
        objects[int(match.group(1))] = (head, stream)
    return objects


def drawn_glyphs(pdf: bytes) -> list[list[tuple[int, ...]]]:
    """Per page, the glyph ids of each string shown (one TJ array each), read from the
    page's first content stream through the font's CIDToGIDMap."""
    objects = pdf_objects(pdf)
    fonts = [head for head, _ in objects.values() if b"/CIDToGIDMap" in head]
    assert len(fonts) == 1
    gid_map = objects[int(re.search(rb"/CIDToGIDMap (\d+) 0 R", fonts[0]).group(1))][1]
    pages = []
    for head, _ in objects.values():
        if b"/Type /Page " not in head:
            continue
        content = objects[int(re.search(rb"/Contents \[(\d+) 0 R", head).group(1))][1]
        shown = []
        for array in re.findall(rb"\[([^\]]*)\]TJ", content):
            cids = [int(h[i:i + 4], 16) for h in re.findall(rb"<([0-9A-F]+)>", array)
                    for i in range(0, len(h), 4)]
            shown.append(tuple(int.from_bytes(gid_map[2 * c:2 * c + 2], "big") for c in cids))
        pages.append(shown)
    return pages


def harfbuzz_glyphs(text: str) -> tuple[int, ...]:
    buf = hb.Buffer()
    buf.add_str(text)
    buf.guess_segment_properties()
    hb.shape(hb.Font(hb.Face(FONT_PATH.read_bytes())), buf)
    return tuple(info.codepoint for info in buf.glyph_infos)


def test_every_devanagari_string_is_drawn_shaped(roll_pdf):
    """pdftotext reads the same code points shaped or not, so check the glyphs drawn:
    unshaped Hindi shows halants and puts ि after its consonant. Every page's header is
    checked too (fpdf2's local_context once left page 2's header unshaped)."""
    pages = drawn_glyphs(roll_pdf)
    assert len(pages) == 3
    unit = harfbuzz_glyphs("बिल्हा ब्लॉक, बिलासपुर")
    for shown in pages:
        assert any(unit == run[:len(unit)] for run in shown)
    everything = [run for shown in pages for run in shown]

    def drawn(glyphs: tuple[int, ...]) -> bool:
        return any(run[i:i + len(glyphs)] == glyphs for run in everything
                   for i in range(len(run) - len(glyphs) + 1))

    for name in [*HINDI_NAMES, "ज्योत्स्ना", "पिता: रमेश त्रिपाठी", "प्रियदर्शी"]:
        assert drawn(harfbuzz_glyphs(name)), name
    with TTFont(FONT_PATH, lazy=True) as font:
        cmap, order = font.getBestCmap(), font.getGlyphOrder()
    unshaped = tuple(order.index(cmap[ord(char)]) for char in "प्रियंका")
    assert harfbuzz_glyphs("प्रियंका") != unshaped and not drawn(unshaped)


def test_each_distinct_string_is_shaped_once(monkeypatch):
    """What makes a district's roll fast: a name, a relative's name or a heading that
    comes back is drawn from its first shaping, not shaped again (fpdf2's `cell()`
    shaped every Hindi cell anew: this name 300 times)."""
    shaped = Counter()
    shape = hb.shape

    def counting(font, buf, *args):
        shaped["".join(chr(info.codepoint) for info in buf.glyph_infos)] += 1
        return shape(font, buf, *args)

    monkeypatch.setattr(hb, "shape", counting)
    lines = [line("12", serial, "प्रियंका त्रिपाठी") for serial in range(1, 301)]
    write_roll_pdf(HEADER, lines, io.BytesIO())
    write_roll_pdf_zip(HEADER, lines, io.BytesIO())
    assert shaped and max(shaped.values()) == 1, shaped.most_common(3)


def test_character_ids_renumbered_between_documents_read_back(monkeypatch, tmp_path):
    """A long-lived worker renumbers its CIDs once it has used many; every PDF still
    reads back, and one drawn in another thread (with its own numbering) too."""
    monkeypatch.setattr(shaped_font, "CID_LIMIT", 10)
    first, second = io.BytesIO(), io.BytesIO()
    write_roll_pdf(HEADER, roll(), first)
    write_roll_pdf(HEADER, roll()[::-1][:3][::-1], second)  # booth 13 alone, renumbered
    threaded = []
    worker = threading.Thread(target=lambda: threaded.append(
        render_booth_pdf(HEADER, "13", [entry for entry in roll() if entry.booth_no == "13"])))
    worker.start()
    worker.join()
    for pdf in (first.getvalue(), second.getvalue(), threaded[0]):
        text = squeeze("".join(pdf_pages(pdf, tmp_path)))
        assert squeeze("क्षितिज श्रीवास्तव") in text and squeeze("कृष्णा द्विवेदी") in text
        assert squeeze("पिता: ज्योत्स्ना") in text and "AnjaliSahu" in text


def test_each_booth_starts_a_new_page_with_its_heading(roll_pdf, tmp_path):
    pages = [squeeze(page) for page in pdf_pages(roll_pdf, tmp_path)]
    assert len(pages) == 3  # booth 12 on two pages, booth 13 on one
    heading_12, heading_13 = squeeze("बूथ क्रमांक 12 · Booth no. 12"), squeeze("Booth no. 13")
    assert heading_12 in pages[0] and squeeze(f"सदस्य / Members: {BOOTH_12}") in pages[0]
    assert heading_12 not in pages[1] and heading_13 not in pages[1]  # a continuation page
    assert heading_13 in pages[2] and squeeze("Members: 3") in pages[2]
    assert "CG00120045" in pages[1] and "CG0013" not in pages[1]
    assert "CG0012" not in pages[2]
    for n, page in enumerate(pages, start=1):
        booth = "13" if n == 3 else "12"
        assert squeeze(f"बूथ / Booth {booth}") in page  # the page header names the booth
        assert squeeze(f"पृष्ठ {n} / 3 · Page {n} of 3") in page
        for column in COLUMNS:  # column headings repeated on every page
            assert squeeze(column.hi) in page and squeeze(column.en) in page
        for fixed in ("बिल्हा ब्लॉक, बिलासपुर · Bilha block, Bilaspur",
                      "प्रारंभिक सदस्यता सूची · Preliminary membership roll",
                      "Cut-off date 01/11/2026", "ROLL-12 v3", "Generated 27/11/2026 14:35 IST"):
            assert squeeze(fixed) in page, fixed


def test_rows_carry_serial_numbers_in_order(roll_pdf, tmp_path):
    text = "".join(pdf_pages(roll_pdf, tmp_path, "-layout"))
    serials = [int(s) for s in re.findall(r"^\s*(\d+)\s+CG\d{9}\b", text, re.M)]
    assert serials == [*range(1, BOOTH_12 + 1), *range(1, BOOTH_13 + 1)]
    assert re.search(r"^\s*1\s+CG001300010\s+.*\s+म\s+19\s*$", text, re.M)  # female: म


def test_user_values_are_printed_literally(roll_pdf, tmp_path):
    text = squeeze("".join(pdf_pages(roll_pdf, tmp_path)))
    assert squeeze(FORMULA) in text
    assert squeeze("पति: {nb} **not bold**") in text  # neither a page count nor markdown
    assert "Test?????" in text  # letters the font lacks show up instead of vanishing
    assert b"/URI" not in roll_pdf and b"/Annot" not in roll_pdf


def test_long_names_stay_inside_their_column(roll_pdf, tmp_path):
    html = pdftotext(roll_pdf, tmp_path, "-bbox", "-f", "1", "-l", "1")
    mm = 72 / 25.4
    rules, x = [], MARGIN_X
    for column in COLUMNS:
        rules.append(x * mm)
        x += column.width
    rules.append(x * mm)
    words = re.findall(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                       r"([^<]*)<", html)
    body = [(float(x0), float(x1), word) for x0, y0, x1, y1, word in words
            if 45 * mm < float(y0) and float(y1) < FOOTER_TOP * mm]
    assert any(word == "Lakshminarasimha" for _, _, word in body)
    for x0, x1, word in body:
        assert not any(x0 < rule - 0.5 < rule + 0.5 < x1 for rule in rules), word


def test_booth_pdf_and_its_checks(tmp_path):
    booth_13 = [entry for entry in roll() if entry.booth_no == "13"]
    pages = pdf_pages(render_booth_pdf(HEADER, "13", booth_13), tmp_path)
    assert len(pages) == 1
    page = squeeze(pages[0])
    assert squeeze("Booth no. 13") in page and squeeze("पृष्ठ 1 / 1 · Page 1 of 1") in page
    assert squeeze("क्षितिज श्रीवास्तव") in page and "AnjaliSahu" in page
    with pytest.raises(ValueError, match="booth '12'"):
        render_booth_pdf(HEADER, "13", [*booth_13, line("12", 9, "कृष्णा")])
    with pytest.raises(ValueError, match="unknown gender"):
        render_booth_pdf(HEADER, "13", [line("13", 1, "कृष्णा", gender="f")])


def test_an_empty_booth_is_still_a_page(tmp_path):
    pages = pdf_pages(render_booth_pdf(HEADER, "7", []), tmp_path)
    assert len(pages) == 1 and squeeze("Members: 0") in squeeze(pages[0])


def test_max_lines_is_enforced_before_anything_is_written():
    out = io.BytesIO()
    with pytest.raises(ValueError, match="more than 10 lines"):
        write_roll_pdf(HEADER, roll(), out, max_lines=10)
    assert out.getvalue() == b""
    assert write_roll_pdf(HEADER, roll(), io.BytesIO(), max_lines=BOOTH_12 + BOOTH_13) == 48


def test_booths_must_come_together():
    lines = roll()
    with pytest.raises(ValueError, match="not together"):
        write_roll_pdf(HEADER, [*lines, line("12", 99, "फिर से")], io.BytesIO())


def test_zip_has_one_pdf_per_booth(tmp_path):
    class Unseekable(io.RawIOBase):  # a response stream: written to as it goes, no seek
        def __init__(self):
            self.data = bytearray()

        def writable(self):
            return True

        def write(self, chunk):
            self.data += chunk
            return len(chunk)

    out = Unseekable()
    assert write_roll_pdf_zip(HEADER, roll(), out) == BOOTH_12 + BOOTH_13
    with zipfile.ZipFile(io.BytesIO(bytes(out.data))) as archive:
        assert archive.testzip() is None
        infos = archive.infolist()
        assert [info.filename for info in infos] == ["booth-0012.pdf", "booth-0013.pdf"]
        assert {info.compress_type for info in infos} == {zipfile.ZIP_DEFLATED}
        assert infos[0].date_time == (2026, 11, 27, 14, 35, 0)
        booth_12, booth_13 = (archive.read(info) for info in infos)
    pages_12 = [squeeze(page) for page in pdf_pages(booth_12, tmp_path)]
    pages_13 = [squeeze(page) for page in pdf_pages(booth_13, tmp_path)]
    assert len(pages_12) == 2 and len(pages_13) == 1
    assert squeeze("पृष्ठ 2 / 2 · Page 2 of 2") in pages_12[1]
    assert squeeze("प्रियंका त्रिपाठी") in pages_12[0] and "CG0013" not in "".join(pages_12)
    assert squeeze("कृष्णा द्विवेदी") in pages_13[0] and "CG0012" not in pages_13[0]


def test_booth_file_names():
    assert booth_file_name("12") == "booth-0012.pdf"
    assert booth_file_name("12A") == "booth-0012A.pdf"
    assert booth_file_name("../../etc/passwd") == "booth-etc-passwd.pdf"
    assert booth_file_name("") == "booth-none.pdf"
