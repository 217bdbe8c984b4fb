"""The roll PDF's former renderer (fpdf2 `cell()` with HarfBuzz shaping), kept unchanged
but for its font path only so that benchmarks/roll_pdf.py can measure the renderer in
use against it. Not imported by the app.

The printable booth-wise membership roll as PDF (issue 6).

A4 portrait. Every page has a header (the unit and the roll's title in Hindi and
English, the cut-off date, the booth), a footer ("पृष्ठ X / Y · Page X of Y",
the roll reference, when it was generated in IST) and the table's column
headings; each booth starts on a new page with a booth heading.

Hindi needs HarfBuzz shaping (`set_text_shaping(True)`, uharfbuzz) for its
conjuncts and for the vowel sign ि drawn before its consonant cluster. One font
covers Devanagari and Latin: Noto Sans Devanagari 2.007 (OFL-1.1, licence in
static/fonts/OFL.txt), the variable TTF of the `fontpkg-noto-sans-devanagari`
2.7 wheel, used at its default instance (weight 400, width 100) so the glyphs
fpdf2 embeds and the advances HarfBuzz shapes with agree. fpdf2's `variations=`
would embed a bold instance while HarfBuzz kept shaping the regular advances
(letters overlap), so headings are emboldened with a fill-and-stroke text mode
instead of a second font. Fallback fonts are avoided (fpdf2 bug #1772).

Every page is laid out before the first is drawn, so the page count in the
footers is printed as a number; fpdf2's `{nb}` alias is switched off: it
reserves a fixed width (a gap after small counts, a warning past 999 pages) and
would replace "{nb}" inside a member's name. Values from users are only ever
passed to `cell()` as plain text (no markdown, no HTML); characters the font
lacks print as "?" instead of vanishing silently.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import BinaryIO

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import Align, TextMode

FONT_DIR = Path(__file__).resolve().parent.parent / "backoffice" / "static" / "fonts"
FONT_PATH = FONT_DIR / "NotoSansDevanagari[wdth,wght].ttf"
FONT = "noto-deva"
IST = timezone(timedelta(hours=5, minutes=30), "IST")

GENDER_CODES = {"female": "म", "male": "पु", "other": "अ"}
RELATION_PREFIXES = {"father": "पिता", "husband": "पति"}


@dataclass(frozen=True)
class RollHeader:
    title_hi: str
    title_en: str  # e.g. "प्रारंभिक सदस्यता सूची" / "Preliminary membership roll"
    unit_hi: str
    unit_en: str  # e.g. "बिल्हा ब्लॉक, बिलासपुर" / "Bilha block, Bilaspur"
    cut_off: date
    roll_ref: str  # e.g. "ROLL-12 v3", printed in the footer
    generated_at: datetime  # naive UTC; printed as IST dd/mm/yyyy HH:MM


@dataclass(frozen=True)
class RollLine:
    booth_no: str
    serial: int
    membership_no: str
    full_name: str
    relative_name: str
    relation: str  # "father" | "husband"
    gender: str  # "female" | "male" | "other"
    age: int


# ---------------------------------------------------------------- geometry (mm)

PAGE_W, PAGE_H = 210.0, 297.0
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 10.0, 8.0, 8.0
CONTENT_W = PAGE_W - 2 * MARGIN_X
PAD = 1.2  # horizontal padding inside a table cell
PAD_Y = 1.0  # vertical padding inside a row (above and below its text)

HEADER_TOP = MARGIN_TOP
HEADER_BOTTOM = HEADER_TOP + 13.0  # two lines of page header, then a rule
BOOTH_HEADING_H = 9.0
COLUMN_HEADING_H = 9.0
FOOTER_TOP = PAGE_H - MARGIN_BOTTOM - 9.0  # a rule, then two lines of footer
BODY_BOTTOM = FOOTER_TOP - 1.0

BODY_SIZE, BODY_MIN_SIZE = 9.0, 7.0  # pt: a long value shrinks down to 7 pt, then wraps
BODY_MAX_LINES = 4  # a value longer than four lines at 7 pt (no real name is) ends in "…"
HEADING_SIZE = 7.5
PT = 25.4 / 72  # mm per point
LINE_FACTOR = 1.35  # line height / font size


def _line_h(size_pt: float) -> float:
    return size_pt * PT * LINE_FACTOR


@dataclass(frozen=True)
class _Column:
    hi: str
    en: str
    width: float
    align: Align


COLUMNS = (
    _Column("क्रमांक", "Serial", 14.0, Align.C),
    _Column("सदस्यता क्रमांक", "Membership no.", 29.0, Align.L),
    _Column("नाम", "Name", 59.0, Align.L),
    _Column("पिता/पति का नाम", "Father's or husband's name", 63.0, Align.L),
    _Column("लिंग", "Gender", 13.0, Align.C),
    _Column("आयु", "Age", 12.0, Align.C),
)
assert abs(sum(c.width for c in COLUMNS) - CONTENT_W) < 1e-6  # noqa: S101 - layout invariant


# ---------------------------------------------------------------- text safety


@cache
def _font_cmap() -> frozenset[int]:
    font = TTFont(FONT_PATH, lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


# The tables that make the font variable. At the default instance `glyf` and `hmtx` already
# hold the regular outlines and advances, so without these the font fpdf2 subsets and embeds is
# a plain static TrueType (HarfBuzz shapes from the file, at the same default instance). Pages
# render pixel for pixel the same; each PDF is about 40 KB smaller, and a ZIP of 1,000 booths
# of 100 lines went from 495 to 574 lines/s (subsetting `gvar` is slow).
VARIATION_TABLES = ("fvar", "gvar", "cvar", "avar", "HVAR", "VVAR", "MVAR", "STAT")


def _drop_variations(font: TTFont) -> None:
    for tag in VARIATION_TABLES:
        if tag in font:
            del font[tag]


def _printable(value: object) -> str:
    """`value` as one line of text the font can draw: NFC, whitespace collapsed,
    control characters dropped, characters outside the font shown as "?"."""
    text = " ".join(unicodedata.normalize("NFC", str(value)).split())
    cmap = _font_cmap()
    if all(ord(char) in cmap for char in text):
        return text
    out = []
    for char in text:
        if ord(char) in cmap:
            out.append(char)
        elif unicodedata.category(char) not in ("Cc", "Cf"):  # invisible ones are dropped
            out.append("?")
    return "".join(out)


def _starts_cluster(text: str, i: int) -> bool:
    """Whether a line may break before text[i]: not before a mark (a vowel sign, ं, ़),
    not after a virama (्, which joins a conjunct) and not around a joiner."""
    char, before = text[i], text[i - 1]
    return (unicodedata.category(char) not in ("Mn", "Mc", "Me")
            and before not in "\u094d\u200c\u200d" and char not in "\u200c\u200d")


def _indian(n: int) -> str:
    """1234567 -> "12,34,567" (Indian grouping, as on every other screen)."""
    digits = str(abs(n))
    head, tail = digits[:-3], digits[-3:]
    groups = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return ("-" if n < 0 else "") + ",".join([*groups, tail])


def _aware(moment: datetime) -> datetime:
    """`generated_at` is naive UTC; an aware one is taken as it is."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _ist(moment: datetime) -> str:
    return _aware(moment).astimezone(IST).strftime("%d/%m/%Y %H:%M")


# ---------------------------------------------------------------- layout


@dataclass(frozen=True)
class _Text:
    """One table cell's text laid out: its font size and its lines."""

    size: float
    lines: tuple[str, ...]

    @property
    def height(self) -> float:
        return len(self.lines) * _line_h(self.size)


@dataclass(frozen=True)
class _Row:
    cells: tuple[_Text, ...]
    height: float


@dataclass(frozen=True)
class _BoothPlan:
    booth_no: str
    members: int
    pages: tuple[tuple[_Row, ...], ...]


class _RollPDF(FPDF):
    """One PDF of whole booths: plan every booth, then draw every page."""

    def __init__(self, header: RollHeader) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.roll = header
        self.alias_nb_pages(None)  # the page count is known before drawing; see the module doc
        self.set_auto_page_break(False)
        self.set_margins(MARGIN_X, MARGIN_TOP, MARGIN_X)
        self.c_margin = 0
        self.add_font(FONT, "", FONT_PATH)
        _drop_variations(self.fonts[FONT].ttfont)
        self.set_text_shaping(True)
        self.set_font(FONT, size=BODY_SIZE)
        self.set_lang("hi")
        self.set_creation_date(_aware(header.generated_at))
        self.set_creator("Sadasya")
        self.set_title(f"{_printable(header.title_en)} - {_printable(header.unit_en)}")
        self.booths: list[_BoothPlan] = []
        self._widths: dict[str, float] = {}

    def __enter__(self) -> _RollPDF:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """fpdf2 keeps the font file open (fontTools' lazy loading): close it."""
        for font in self.fonts.values():
            close = getattr(font, "close", None)
            if close:
                close()

    # -- measuring and fitting

    def _width_at(self, text: str, size: float) -> float:
        """Shaped width of `text` at `size` pt (measured once at 10 pt, then scaled)."""
        width = self._widths.get(text)
        if width is None:
            self.set_font(FONT, size=10)
            self._shape(not text.isascii())
            width = self.get_string_width(text)
            if len(self._widths) > 50_000:  # names repeat (relatives, headings); keep it bounded
                self._widths.clear()
            self._widths[text] = width
        return width * size / 10

    def _fit(self, text: str, width: float, size: float, min_size: float,
             max_lines: int = 1) -> _Text:
        """`text` in `width` mm: at `size`, else shrunk (not below `min_size`), else wrapped."""
        natural = self._width_at(text, size)
        if natural <= width:
            return _Text(size, (text,))
        shrunk = int(size * width / natural * 4) / 4  # quarter points, rounded down
        if shrunk >= min_size:
            return _Text(shrunk, (text,))
        lines = self._wrap(text, width, min_size) if max_lines > 1 else [text]
        if len(lines) > max_lines:
            lines = [*lines[: max_lines - 1], " ".join(lines[max_lines - 1:])]
        if self._width_at(lines[-1], min_size) > width:
            lines[-1] = self._cut(lines[-1], width, min_size, "…")
        return _Text(min_size, tuple(lines))

    def _wrap(self, text: str, width: float, size: float) -> list[str]:
        """`text` broken into lines of `width` at spaces, inside a word only if it must."""
        lines: list[str] = []
        current = ""
        for word in text.split(" "):
            candidate = f"{current} {word}" if current else word
            if self._width_at(candidate, size) <= width:
                current = candidate
                continue
            if current:
                lines.append(current)
            while self._width_at(word, size) > width:
                head = self._cut(word, width, size)
                lines.append(head)
                word = word[len(head):]
            current = word
        if current:
            lines.append(current)
        return lines or [text]

    def _cut(self, text: str, width: float, size: float, suffix: str = "") -> str:
        """The longest start of `text` that fits in `width` followed by `suffix`, cut only
        between letters (never inside a conjunct or before a vowel sign); at least one."""
        cuts = [i for i in range(1, len(text)) if _starts_cluster(text, i)] + [len(text)]
        lo, hi, best = 0, len(cuts) - 1, 0
        while lo <= hi:
            mid = (lo + hi) // 2
            if self._width_at(text[: cuts[mid]] + suffix, size) <= width:
                best, lo = mid, mid + 1
            else:
                hi = mid - 1
        head = text[: cuts[best]]
        return head.rstrip() + suffix if suffix else head

    def _row(self, line: RollLine) -> _Row:
        try:
            gender = GENDER_CODES[line.gender]
            prefix = RELATION_PREFIXES[line.relation]
        except KeyError as exc:
            raise ValueError(
                f"membership no. {line.membership_no!r}: unknown gender or relation {exc}"
            ) from None
        values = (
            str(line.serial),
            _printable(line.membership_no),
            _printable(line.full_name),
            f"{prefix}: {_printable(line.relative_name)}",
            gender,
            str(line.age),
        )
        cells = tuple(
            self._fit(value, column.width - 2 * PAD, BODY_SIZE, BODY_MIN_SIZE, BODY_MAX_LINES)
            for value, column in zip(values, COLUMNS, strict=True)
        )
        return _Row(cells, max(cell.height for cell in cells) + 2 * PAD_Y)

    def plan_booth(self, booth_no: str, lines: Iterable[RollLine]) -> None:
        """Lay out one booth's rows into pages (the first page also has the booth heading)."""
        first_top = HEADER_BOTTOM + BOOTH_HEADING_H + COLUMN_HEADING_H
        top = HEADER_BOTTOM + COLUMN_HEADING_H
        pages: list[tuple[_Row, ...]] = []
        page: list[_Row] = []
        y = first_top
        members = 0
        for line in lines:
            row = self._row(line)
            members += 1
            if page and y + row.height > BODY_BOTTOM:
                pages.append(tuple(page))
                page, y = [], top
            page.append(row)
            y += row.height
        pages.append(tuple(page))
        self.booths.append(_BoothPlan(booth_no, members, tuple(pages)))

    # -- drawing

    def render(self) -> bytes:
        total = sum(len(booth.pages) for booth in self.booths)
        if not total:  # an empty roll is still a page saying so
            self.plan_booth("", ())
            total = 1
        self._total = total
        unit = self._fit(f"{_printable(self.roll.unit_hi)} · {_printable(self.roll.unit_en)}",
                         140, 11, 6)
        title = self._fit(f"{_printable(self.roll.title_hi)} · {_printable(self.roll.title_en)}",
                          140, 9.5, 6)
        for booth in self.booths:
            booth_label = _printable(booth.booth_no) or "—"
            for index, rows in enumerate(booth.pages):
                self.add_page()
                self._page_header(unit, title, booth_label)
                self._page_footer()
                y = HEADER_BOTTOM
                if index == 0:
                    self._booth_heading(booth_label, booth.members, y)
                    y += BOOTH_HEADING_H
                y = self._column_headings(y)
                for row in rows:
                    self._draw_row(row, y)
                    y += row.height
                self._grid(HEADER_BOTTOM + (BOOTH_HEADING_H if index == 0 else 0), y)
        return bytes(self.output())

    def _bold(self):
        """Emboldened text: filled and stroked, inside q/Q so nothing leaks (see module doc)."""
        return self.local_context(text_mode=TextMode.FILL_STROKE, line_width=0.12)

    def _put(self, x: float, y: float, w: float, text: _Text, align: Align | str,
             h: float | None = None) -> None:
        """Draw `text`'s lines, vertically centred in a box of height `h` at (x, y)."""
        line_h = _line_h(text.size)
        top = y + ((h - text.height) / 2 if h else 0)
        self.set_font(FONT, size=text.size)
        for i, line in enumerate(text.lines):
            self._shape(not line.isascii())
            self.set_xy(x, top + i * line_h)
            self.cell(w=w, h=line_h, text=line, align=align)

    def _shape(self, on: bool) -> None:
        """HarfBuzz for Devanagari; plain ASCII (numbers, English names: no conjuncts,
        no marks) skips it and fpdf2's bidi pass, which halves the time per row.

        The setting lives in fpdf2's graphics state, which `local_context` restores on
        exit, so it is read back every time rather than remembered here."""
        if on != bool(self.text_shaping):
            self.set_text_shaping(on)

    def _page_header(self, unit: _Text, title: _Text, booth_label: str) -> None:
        right_w = CONTENT_W - 140
        booth = self._fit(f"बूथ / Booth {booth_label}", right_w, 11, 6)
        with self._bold():
            self._put(MARGIN_X, HEADER_TOP, 140, unit, Align.L, 6.5)
            self._put(MARGIN_X + 140, HEADER_TOP, right_w, booth, Align.R, 6.5)
        self._put(MARGIN_X, HEADER_TOP + 6.5, 140, title, Align.L, 5.5)
        cut_off = self._fit(
            f"कट-ऑफ़ तिथि / Cut-off date {self.roll.cut_off:%d/%m/%Y}", right_w, 8.5, 6
        )
        self._put(MARGIN_X + 140, HEADER_TOP + 6.5, right_w, cut_off, Align.R, 5.5)
        self.line(MARGIN_X, HEADER_BOTTOM - 0.5, PAGE_W - MARGIN_X, HEADER_BOTTOM - 0.5)

    def _page_footer(self) -> None:
        self.line(MARGIN_X, FOOTER_TOP, PAGE_W - MARGIN_X, FOOTER_TOP)
        page, total = self.page_no(), self._total
        third = CONTENT_W / 3
        y = FOOTER_TOP + 0.8
        ref = self._fit(_printable(self.roll.roll_ref), third, 8, 5.5)
        self._put(MARGIN_X, y, third, ref, Align.L, 4.5)
        pages = self._fit(f"पृष्ठ {page} / {total} · Page {page} of {total}", third, 8, 5.5)
        self._put(MARGIN_X + third, y, third, pages, Align.C, 4.5)
        generated = self._fit(f"तैयार / Generated {_ist(self.roll.generated_at)} IST",
                              third, 8, 5.5)
        self._put(MARGIN_X + 2 * third, y, third, generated, Align.R, 4.5)
        legend = self._fit(
            "लिंग: म = महिला, पु = पुरुष, अ = अन्य · Gender: म = female, पु = male, अ = other",
            CONTENT_W, 6.5, 5,
        )
        self._put(MARGIN_X, y + 4.5, CONTENT_W, legend, Align.C, 3.5)

    def _booth_heading(self, booth_label: str, members: int, y: float) -> None:
        heading = self._fit(f"बूथ क्रमांक {booth_label} · Booth no. {booth_label}", 130, 13, 7)
        with self._bold():
            self._put(MARGIN_X, y, 130, heading, Align.L, BOOTH_HEADING_H)
        count = self._fit(f"सदस्य / Members: {_indian(members)}", CONTENT_W - 130, 9, 6)
        self._put(MARGIN_X + 130, y, CONTENT_W - 130, count, Align.R, BOOTH_HEADING_H)

    def _column_headings(self, y: float) -> float:
        self.set_fill_color(225, 225, 225)
        self.rect(MARGIN_X, y, CONTENT_W, COLUMN_HEADING_H, style="F")
        x = MARGIN_X
        half = COLUMN_HEADING_H / 2
        with self._bold():
            for column in COLUMNS:
                inner = column.width - 2 * PAD
                hi = self._fit(column.hi, inner, HEADING_SIZE, 5)
                en = self._fit(column.en, inner, HEADING_SIZE, 5)
                self._put(x + PAD, y + 0.6, inner, hi, column.align, half - 0.6)
                self._put(x + PAD, y + half, inner, en, column.align, half - 0.6)
                x += column.width
        return y + COLUMN_HEADING_H

    def _draw_row(self, row: _Row, y: float) -> None:
        x = MARGIN_X
        for column, text in zip(COLUMNS, row.cells, strict=True):
            self._put(x + PAD, y + PAD_Y, column.width - 2 * PAD, text, column.align,
                      row.height - 2 * PAD_Y)
            x += column.width
        self.line(MARGIN_X, y + row.height, PAGE_W - MARGIN_X, y + row.height)

    def _grid(self, top: float, bottom: float) -> None:
        """The table's frame and column rules, from its headings to its last row."""
        self.rect(MARGIN_X, top, CONTENT_W, bottom - top)
        x = MARGIN_X
        for column in COLUMNS[:-1]:
            x += column.width
            self.line(x, top, x, bottom)


# ---------------------------------------------------------------- the interface


def _booths(lines: Iterable[RollLine]) -> Iterator[tuple[str, list[RollLine]]]:
    """Consecutive lines of one booth at a time; a booth that comes back later is an error."""
    seen: set[str] = set()
    booth: str | None = None
    group: list[RollLine] = []
    for line in lines:
        if line.booth_no != booth:
            if booth is not None:
                yield booth, group
            if line.booth_no in seen:
                raise ValueError(f"lines of booth {line.booth_no!r} are not together; "
                                 "sort them by (booth, serial)")
            seen.add(line.booth_no)
            booth, group = line.booth_no, []
        group.append(line)
    if booth is not None:
        yield booth, group


def render_booth_pdf(header: RollHeader, booth_no: str, lines: Iterable[RollLine]) -> bytes:
    """One booth's roll as a PDF (lines sorted by serial, all of this booth)."""
    def checked() -> Iterator[RollLine]:
        for line in lines:
            if line.booth_no != booth_no:
                raise ValueError(f"a line of booth {line.booth_no!r} in booth {booth_no!r}")
            yield line

    with _RollPDF(header) as pdf:
        pdf.plan_booth(booth_no, checked())
        return pdf.render()


def write_roll_pdf(header: RollHeader, lines: Iterable[RollLine], out: BinaryIO, *,
                   max_lines: int = 60_000) -> int:
    """The whole roll as one PDF, each booth from a new page; returns the lines written.

    Raises ValueError, before writing anything, past `max_lines` (a state's roll in one
    PDF is not useful: use `write_roll_pdf_zip`).
    """
    written = 0

    def counted() -> Iterator[RollLine]:
        nonlocal written
        for line in lines:
            written += 1
            if written > max_lines:
                raise ValueError(f"more than {max_lines} lines for one PDF; "
                                 "print booth by booth (write_roll_pdf_zip)")
            yield line

    with _RollPDF(header) as pdf:
        for booth_no, group in _booths(counted()):
            pdf.plan_booth(booth_no, group)
        out.write(pdf.render())
    return written


def booth_file_name(booth_no: str) -> str:
    """ "12" -> "booth-0012.pdf", "12A" -> "booth-0012A.pdf"; only [0-9A-Za-z-] survive."""
    safe = re.sub(r"[^0-9A-Za-z-]+", "-", booth_no).strip("-") or "none"
    match = re.match(r"\d+", safe)
    if match:
        safe = match.group().zfill(4) + safe[match.end():]
    return f"booth-{safe}.pdf"


def write_roll_pdf_zip(header: RollHeader, lines: Iterable[RollLine], out: BinaryIO) -> int:
    """The whole roll as a ZIP of one PDF per booth, written to `out` booth by booth.

    Memory holds one booth at a time. Returns the lines written.
    """
    stamp = _aware(header.generated_at).astimezone(IST)
    date_time = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute,
                 stamp.second)
    written = 0
    names: set[str] = set()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for booth_no, group in _booths(lines):
            name = booth_file_name(booth_no)
            stem, n = name[:-4], 2
            while name in names:  # "12 A" and "12-A" would share a name
                name, n = f"{stem}-{n}.pdf", n + 1
            names.add(name)
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, render_booth_pdf(header, booth_no, group))
            written += len(group)
    return written
