"""The printable booth-wise membership roll as PDF (issue 6; district scale, issue 13).

A4 portrait. Every page has a header (the unit and the roll's title in Hindi and
English, the cut-off date, the booth), a footer ("पृष्ठ X / Y · Page X of Y",
the roll reference, when it was generated in IST, the gender legend) and the
table's column headings; each booth starts on a new page with a booth heading.

Hindi needs HarfBuzz shaping for its conjuncts, its reph and the vowel sign ि drawn
before its consonant cluster. `shaped_font` shapes each distinct word once (uharfbuzz)
and `shaped_pdf` places the shaped pieces on the page: 17-21 times the speed of
fpdf2's `cell()`, which shaped and laid out every call anew (benchmarks/roll_pdf.py,
docs/roll-pdf.md). One font covers Devanagari and Latin: Noto Sans Devanagari 2.007
(OFL-1.1, licence in static/fonts/OFL.txt), the variable TTF of the
`fontpkg-noto-sans-devanagari` 2.7 wheel, drawn at its default instance (weight 400,
width 100), whose outlines and advances are the plain `glyf` and `hmtx` tables.
Headings are emboldened by filling and stroking the letters, not by a second font.

A booth's rows are laid out and its pages drawn before the next booth is read, so
memory holds one booth and the compressed pages; the footers, which print the page
count, are drawn last, as each page's second content stream. Values from users are
only ever drawn as text (nothing in them is markup or a page-count placeholder);
characters the font lacks print as "?" instead of vanishing silently.
"""

from __future__ import annotations

import io
import re
import threading
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO

from backoffice.services.shaped_font import ShapedFont
from backoffice.services.shaped_pdf import Canvas, Document, Info

FONT_DIR = Path(__file__).resolve().parent.parent / "static" / "fonts"
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
    align: str  # "L", "C" or "R"


COLUMNS = (
    _Column("क्रमांक", "Serial", 14.0, "C"),
    _Column("सदस्यता क्रमांक", "Membership no.", 29.0, "L"),
    _Column("नाम", "Name", 59.0, "L"),
    _Column("पिता/पति का नाम", "Father's or husband's name", 63.0, "L"),
    _Column("लिंग", "Gender", 13.0, "C"),
    _Column("आयु", "Age", 12.0, "C"),
)
assert abs(sum(c.width for c in COLUMNS) - CONTENT_W) < 1e-6  # noqa: S101 - layout invariant


# ---------------------------------------------------------------- text safety


_per_thread = threading.local()


def _font() -> ShapedFont:
    """The roll's font, loaded once per thread: its cache of shaped words and its
    numbering of CIDs change as documents are drawn, so threads never share one."""
    font = getattr(_per_thread, "font", None)
    if font is None:
        font = _per_thread.font = ShapedFont(FONT_PATH)
    return font


def _printable(value: object) -> str:
    """`value` as one line of text the font can draw: NFC, whitespace collapsed,
    control characters dropped, characters outside the font shown as "?"."""
    text = " ".join(unicodedata.normalize("NFC", str(value)).split())
    cmap = _font().cmap
    if cmap.issuperset(map(ord, text)):
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


class _Roll:
    """One PDF of whole booths: each booth laid out and drawn in turn, the footers last."""

    def __init__(self, header: RollHeader) -> None:
        self.roll = header
        self.font = _font()
        title = f"{_printable(header.title_en)} - {_printable(header.unit_en)}"
        self.doc = Document(self.font, Info(title, "Sadasya", "hi", _aware(header.generated_at)),
                            PAGE_W, PAGE_H)
        self._unit = self._fit(f"{_printable(header.unit_hi)} · {_printable(header.unit_en)}",
                               140, 11, 6)
        self._title = self._fit(
            f"{_printable(header.title_hi)} · {_printable(header.title_en)}", 140, 9.5, 6)

    # -- measuring and fitting

    def _width_at(self, text: str, size: float) -> float:
        """Shaped width of `text` at `size` pt, in mm."""
        return self.font.run(text).width * size * PT

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

    def _plan(self, lines: Iterable[RollLine]) -> tuple[int, list[list[_Row]]]:
        """One booth's rows laid out into pages (the first also has the booth heading)."""
        pages: list[list[_Row]] = [[]]
        y = HEADER_BOTTOM + BOOTH_HEADING_H + COLUMN_HEADING_H
        members = 0
        for line in lines:
            row = self._row(line)
            members += 1
            if pages[-1] and y + row.height > BODY_BOTTOM:
                pages.append([])
                y = HEADER_BOTTOM + COLUMN_HEADING_H
            pages[-1].append(row)
            y += row.height
        return members, pages

    # -- drawing

    def add_booth(self, booth_no: str, lines: Iterable[RollLine]) -> None:
        """Lay out and draw one booth's pages."""
        members, pages = self._plan(lines)
        label = _printable(booth_no) or "—"
        booth = self._fit(f"बूथ / Booth {label}", CONTENT_W - 140, 11, 6)
        for index, rows in enumerate(pages):
            def draw(canvas: Canvas, index: int = index, rows: list[_Row] = rows) -> None:
                self._page_header(canvas, booth)
                y = HEADER_BOTTOM
                if index == 0:
                    self._booth_heading(canvas, label, members, y)
                    y += BOOTH_HEADING_H
                y = self._column_headings(canvas, y)
                for row in rows:
                    self._draw_row(canvas, row, y)
                    y += row.height
                self._grid(canvas, HEADER_BOTTOM + (BOOTH_HEADING_H if index == 0 else 0), y)

            self.doc.add_page(draw)

    def render(self, out: BinaryIO) -> None:
        if not self.doc.page_count:  # an empty roll is still a page saying so
            self.add_booth("", ())
        self.doc.output(self._page_footer, out)

    def _put(self, canvas: Canvas, x: float, y: float, w: float, text: _Text, align: str,
             h: float | None = None, bold: bool = False) -> None:
        """Draw `text`'s lines, vertically centred in a box of height `h` at (x, y); each
        line's baseline where fpdf2's `cell()` put it, so the layout is unchanged."""
        size = text.size
        line_h = _line_h(size)
        top = y + ((h - text.height) / 2 if h else 0) + line_h / 2 + 0.3 * size * PT
        for i, line in enumerate(text.lines):
            run = self.font.run(line)
            dx = 0.0
            if align != "L":
                dx = w - run.width * size * PT
                dx = dx / 2 if align == "C" else dx
            canvas.text(x + dx, top + i * line_h, size, run, bold)

    def _page_header(self, canvas: Canvas, booth: _Text) -> None:
        right_w = CONTENT_W - 140
        self._put(canvas, MARGIN_X, HEADER_TOP, 140, self._unit, "L", 6.5, bold=True)
        self._put(canvas, MARGIN_X + 140, HEADER_TOP, right_w, booth, "R", 6.5, bold=True)
        self._put(canvas, MARGIN_X, HEADER_TOP + 6.5, 140, self._title, "L", 5.5)
        cut_off = self._fit(
            f"कट-ऑफ़ तिथि / Cut-off date {self.roll.cut_off:%d/%m/%Y}", right_w, 8.5, 6
        )
        self._put(canvas, MARGIN_X + 140, HEADER_TOP + 6.5, right_w, cut_off, "R", 5.5)
        canvas.line(MARGIN_X, HEADER_BOTTOM - 0.5, PAGE_W - MARGIN_X, HEADER_BOTTOM - 0.5)

    def _page_footer(self, canvas: Canvas, page: int, total: int) -> None:
        canvas.line(MARGIN_X, FOOTER_TOP, PAGE_W - MARGIN_X, FOOTER_TOP)
        third = CONTENT_W / 3
        y = FOOTER_TOP + 0.8
        ref = self._fit(_printable(self.roll.roll_ref), third, 8, 5.5)
        self._put(canvas, MARGIN_X, y, third, ref, "L", 4.5)
        pages = self._fit(f"पृष्ठ {page} / {total} · Page {page} of {total}", third, 8, 5.5)
        self._put(canvas, MARGIN_X + third, y, third, pages, "C", 4.5)
        generated = self._fit(f"तैयार / Generated {_ist(self.roll.generated_at)} IST",
                              third, 8, 5.5)
        self._put(canvas, MARGIN_X + 2 * third, y, third, generated, "R", 4.5)
        legend = self._fit(
            "लिंग: म = महिला, पु = पुरुष, अ = अन्य · Gender: म = female, पु = male, अ = other",
            CONTENT_W, 6.5, 5,
        )
        self._put(canvas, MARGIN_X, y + 4.5, CONTENT_W, legend, "C", 3.5)

    def _booth_heading(self, canvas: Canvas, label: str, members: int, y: float) -> None:
        heading = self._fit(f"बूथ क्रमांक {label} · Booth no. {label}", 130, 13, 7)
        self._put(canvas, MARGIN_X, y, 130, heading, "L", BOOTH_HEADING_H, bold=True)
        count = self._fit(f"सदस्य / Members: {_indian(members)}", CONTENT_W - 130, 9, 6)
        self._put(canvas, MARGIN_X + 130, y, CONTENT_W - 130, count, "R", BOOTH_HEADING_H)

    def _column_headings(self, canvas: Canvas, y: float) -> float:
        canvas.rect(MARGIN_X, y, CONTENT_W, COLUMN_HEADING_H, gray=225 / 255)
        x = MARGIN_X
        half = COLUMN_HEADING_H / 2
        for column in COLUMNS:
            inner = column.width - 2 * PAD
            hi = self._fit(column.hi, inner, HEADING_SIZE, 5)
            en = self._fit(column.en, inner, HEADING_SIZE, 5)
            self._put(canvas, x + PAD, y + 0.6, inner, hi, column.align, half - 0.6, bold=True)
            self._put(canvas, x + PAD, y + half, inner, en, column.align, half - 0.6, bold=True)
            x += column.width
        return y + COLUMN_HEADING_H

    def _draw_row(self, canvas: Canvas, row: _Row, y: float) -> None:
        x = MARGIN_X
        for column, text in zip(COLUMNS, row.cells, strict=True):
            self._put(canvas, x + PAD, y + PAD_Y, column.width - 2 * PAD, text, column.align,
                      row.height - 2 * PAD_Y)
            x += column.width
        canvas.line(MARGIN_X, y + row.height, PAGE_W - MARGIN_X, y + row.height)

    def _grid(self, canvas: Canvas, top: float, bottom: float) -> None:
        """The table's frame and column rules, from its headings to its last row."""
        canvas.rect(MARGIN_X, top, CONTENT_W, bottom - top)
        x = MARGIN_X
        for column in COLUMNS[:-1]:
            x += column.width
            canvas.line(x, top, x, bottom)

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

    roll = _Roll(header)
    roll.add_booth(booth_no, checked())
    out = io.BytesIO()
    roll.render(out)
    return out.getvalue()


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

    roll = _Roll(header)
    for booth_no, group in _booths(counted()):
        roll.add_booth(booth_no, group)
    roll.render(out)
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
