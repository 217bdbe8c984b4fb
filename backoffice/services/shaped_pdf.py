"""A small PDF writer for text shaped by HarfBuzz, made for the printable roll.

Why not a general PDF library: the roll draws tens of thousands of short strings, most of
them many times (headings, prefixes, serials, common names). fpdf2's `cell()` shapes and
lays out every call anew (about 0.3 ms each, six per roll line), which caps a district's
roll at about 400 lines/s. Here each distinct string is shaped once into a ready-made
piece of content stream, and a page is those pieces placed with a text matrix, so a line
costs a few microseconds plus its new strings (docs/roll-pdf.md has the figures).

How text becomes PDF (ISO 32000-1 9.7, 9.10): one Type0 font, Identity-H, over a
CIDFontType2 (TrueType outlines). A character id (CID) stands for one glyph together
with the text it carries: the first glyph of a HarfBuzz cluster carries the cluster's
characters (the conjunct "प्रि" for its three glyphs, with ि drawn first), the others
carry none. The ToUnicode map gives each CID its text, so copying and `pdftotext` read
the names back in their typed order; the CIDToGIDMap gives it its glyph. CIDs are
numbered once per process, so a shaped string's content bytes are reused by every
document. The embedded font keeps only the outlines a document uses, at their original
glyph ids (the others are empty), and none of the variation or layout tables.
"""

from __future__ import annotations

import io
import re
import string
import struct
import sys
import zlib
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate
from pathlib import Path
from typing import BinaryIO

import uharfbuzz as hb
from fontTools.ttLib import TTFont

MM = 72 / 25.4  # points per mm
RUN_CACHE_SIZE = 20_000  # distinct strings kept shaped; names repeat, so this is plenty
CID_LIMIT = 60_000  # CIDs are two bytes; renumbered between documents once past this
_DIGIT = re.compile(r"(\d)")
KEPT_TABLES = ("head", "hhea", "maxp", "hmtx", "cvt ", "fpgm", "prep")


@dataclass(frozen=True)
class Run:
    """A string shaped once: content-stream operators drawing it at font size 1 from the
    current text matrix, its advance in em, and the CIDs it uses."""

    ops: bytes
    width: float
    cids: tuple[int, ...]


@dataclass(frozen=True)
class _Piece:
    """A word shaped: the inside of a TJ array, which leaves the text rise at 0 and the
    pen where HarfBuzz put it; its advance in font units; its CIDs."""

    body: str
    width: int
    cids: tuple[int, ...]


def _join(left: str, right: str) -> str:
    """Two insides of a TJ array, one after the other (adjacent strings merged)."""
    if not left or not right:
        return left or right
    if left[-1] == ">" and right[0] == "<":
        return left[:-1] + right[1:]
    return f"{left} {right}"


class ShapedFont:
    """One TrueType font: HarfBuzz shaping with a cache of runs, the process's CID
    numbering, and subsetting of its outlines (glyph ids kept)."""

    def __init__(self, path: Path) -> None:
        data = path.read_bytes()
        self._hb_font = hb.Font(hb.Face(data))  # the default instance of a variable font
        tt = TTFont(io.BytesIO(data), lazy=True)
        try:
            self.upem = tt["head"].unitsPerEm
            self.cmap = frozenset(tt.getBestCmap())
            order = tt.getGlyphOrder()
            metrics = tt["hmtx"].metrics
            self.advances = [metrics[name][0] for name in order]
            head, hhea = tt["head"], tt["hhea"]
            self.bbox = (head.xMin, head.yMin, head.xMax, head.yMax)
            self.ascent, self.descent = hhea.ascent, hhea.descent
            self.cap_height = getattr(tt["OS/2"], "sCapHeight", hhea.ascent)
            self.ps_name = (tt["name"].getDebugName(6) or "Font").replace(" ", "")
            self._tables = {tag: tt.getTableData(tag) for tag in KEPT_TABLES if tag in tt}
            loca = list(tt["loca"])
            glyf = tt.getTableData("glyf")
        finally:
            tt.close()
        self._glyphs = [_padded(glyf[loca[i]:loca[i + 1]]) for i in range(len(order))]
        self._components = [_components(glyph) for glyph in self._glyphs]
        self._runs: dict[str, Run] = {}
        self._cid_of: dict[tuple[int, str], int] = {}
        self.cid_gid: list[int] = [0]  # CID 0 is .notdef, carrying no text
        self.cid_text: list[str] = [""]
        self._words: dict[str, _Piece] = {}
        self._space = self._shape(" ")
        self._digits_apart = self._digits_stand_apart()

    # -- shaping

    def run(self, text: str) -> Run:
        """`text` shaped, from the cache when it was drawn before.

        Words are shaped one by one, each distinct word once, and joined with the space
        glyph: a space ends every Devanagari syllable and every ligature, so shaping
        stops there anyway, and a Latin word in a Hindi line is shaped as Latin (with
        its kerning) rather than under the Devanagari script."""
        run = self._runs.get(text)
        if run is None:
            if len(self._runs) >= RUN_CACHE_SIZE:
                self._runs.clear()
            body, width, cids = "", 0, []
            for i, word in enumerate(text.split(" ")):
                if i:
                    body = _join(body, self._space.body)
                    width += self._space.width
                    cids.append(self._space.cids[0])
                piece = self._word(word)
                body = _join(body, piece.body)
                width += piece.width
                cids.extend(piece.cids)
            ops = f"[{body}]TJ".replace("[]TJ", "").strip()
            run = self._runs[text] = Run(ops.encode("ascii"), width / self.upem, tuple(cids))
        return run

    def start_document(self) -> None:
        """Renumber CIDs only between documents, and only once they run short."""
        if len(self.cid_gid) > CID_LIMIT:
            self._runs.clear()
            self._words.clear()
            self._cid_of.clear()
            del self.cid_gid[1:], self.cid_text[1:]
            self._space = self._shape(" ")

    def _word(self, word: str) -> _Piece:
        piece = self._words.get(word)
        if piece is None:
            if len(self._words) >= RUN_CACHE_SIZE:
                self._words.clear()
            if self._digits_apart and word.isascii() and len(word) > 2 and _DIGIT.search(word):
                piece = _Piece("", 0, ())  # a membership number: letters, then its digits
                for part in _DIGIT.split(word):
                    if part:
                        shaped = self._word(part)
                        piece = _Piece(_join(piece.body, shaped.body),
                                       piece.width + shaped.width, piece.cids + shaped.cids)
            else:
                piece = self._shape(word)
            self._words[word] = piece
        return piece

    def _digits_stand_apart(self) -> bool:
        """Whether this font shapes an ASCII digit the same beside any digit or letter (no
        kerning, no ligature), so a number is drawn digit by digit from shapes made once
        rather than shaped whole: every membership number is a new string."""
        neighbours = string.digits + string.ascii_letters
        for digit in string.digits:
            alone = self._shape(digit)
            for other in neighbours:
                beside = self._shape(other)
                if (self._shape(digit + other) != _Piece(_join(alone.body, beside.body),
                                                         alone.width + beside.width,
                                                         alone.cids + beside.cids)
                        or self._shape(other + digit) != _Piece(
                            _join(beside.body, alone.body), alone.width + beside.width,
                            beside.cids + alone.cids)):
                    return False
        return True

    def _shape(self, text: str) -> _Piece:
        """`text` shaped by HarfBuzz: the inside of a TJ array (glyphs and moves)."""
        if not text:
            return _Piece("", 0, ())
        buf = hb.Buffer()
        buf.add_str(text)
        buf.guess_segment_properties()
        buf.direction = "ltr"
        hb.shape(self._hb_font, buf)
        infos, positions = buf.glyph_infos, buf.glyph_positions
        starts = sorted({info.cluster for info in infos}) + [len(text)]
        next_start = dict(zip(starts, starts[1:], strict=False))
        scale = 1000 / self.upem
        parts: list[str] = ["["]
        cids: list[int] = []
        pen = drawn = 0  # where HarfBuzz puts the next glyph / where the PDF's pen is
        rise = 0
        seen: set[int] = set()
        for info, pos in zip(infos, positions, strict=True):
            cluster = info.cluster
            carried = "" if cluster in seen else text[cluster:next_start[cluster]]
            seen.add(cluster)
            cid = self._cid(info.codepoint, carried)
            if pos.y_offset != rise:  # a mark raised or lowered: text rise, in em
                rise = pos.y_offset
                parts.append(f"]TJ {rise / self.upem:.3f} Ts[")
            target = pen + pos.x_offset
            if target != drawn:
                parts.append(str(round((drawn - target) * scale)))
            if parts[-1][-1] == ">":  # glyphs drawn where the last one left the pen: one string
                parts[-1] = f"{parts[-1][:-1]}{cid:04X}>"
            else:
                parts.append(f"<{cid:04X}>")
            cids.append(cid)
            drawn = target + self.advances[info.codepoint]
            pen += pos.x_advance
        if rise:
            parts.append("]TJ 0 Ts[")
        if pen != drawn:  # the PDF's pen ends where HarfBuzz's does, for what follows
            parts.append(str(round((drawn - pen) * scale)))
        parts.pop(0)
        return _Piece(" ".join(parts).replace("> <", "><"), pen, tuple(cids))

    def _cid(self, gid: int, carried: str) -> int:
        key = (gid, carried)
        cid = self._cid_of.get(key)
        if cid is None:
            cid = self._cid_of[key] = len(self.cid_gid)
            self.cid_gid.append(gid)
            self.cid_text.append(carried)
        return cid

    # -- embedding

    def subset(self, gids: Iterable[int]) -> bytes:
        """A TrueType font with the outlines of `gids` (and their components) only."""
        keep = {0}
        todo = list(gids)
        while todo:
            gid = todo.pop()
            if gid not in keep:
                keep.add(gid)
                todo.extend(self._components[gid])
        parts = [glyph if gid in keep else b"" for gid, glyph in enumerate(self._glyphs)]
        loca = list(accumulate(map(len, parts), initial=0))
        glyf = b"".join(parts)
        tables = dict(self._tables)
        head = bytearray(tables["head"])
        head[8:12] = b"\0\0\0\0"  # checkSumAdjustment: not checked by PDF readers
        head[50:52] = struct.pack(">h", 1)  # long loca offsets
        tables.update(head=bytes(head), glyf=glyf,
                      loca=struct.pack(f">{len(loca)}I", *loca))
        return _sfnt(tables)


def _components(glyph: bytes) -> tuple[int, ...]:
    """The glyph ids a composite glyph is built from (TrueType `glyf` format)."""
    if len(glyph) < 10 or struct.unpack_from(">h", glyph)[0] >= 0:
        return ()
    found, offset = [], 10
    while True:
        flags, gid = struct.unpack_from(">HH", glyph, offset)
        found.append(gid)
        offset += 4 + (4 if flags & 0x0001 else 2)
        offset += 2 if flags & 0x0008 else 4 if flags & 0x0040 else 8 if flags & 0x0080 else 0
        if not flags & 0x0020:
            return tuple(found)


def _padded(data: bytes) -> bytes:
    """Table data and glyphs start on four-byte boundaries."""
    return data + b"\0" * (-len(data) % 4)


def _checksum(data: bytes) -> int:
    words = array("I")  # four bytes on every platform CPython is built for
    words.frombytes(_padded(data))
    if sys.byteorder == "little":
        words.byteswap()
    return sum(words) & 0xFFFFFFFF


def _sfnt(tables: dict[str, bytes]) -> bytes:
    tags = sorted(tables)
    count = len(tags)
    power = 1 << (count.bit_length() - 1)
    out = bytearray(struct.pack(">IHHHH", 0x00010000, count, power * 16,
                                power.bit_length() - 1, count * 16 - power * 16))
    offset = 12 + 16 * count
    body = bytearray()
    for tag in tags:
        data = tables[tag]
        out += struct.pack(">4sIII", tag.encode("ascii"), _checksum(data), offset + len(body),
                           len(data))
        body += _padded(data)
    return bytes(out + body)


# ---------------------------------------------------------------- the document


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _pdf_text(value: str) -> bytes:
    """A PDF text string: UTF-16BE with its byte order mark, in hex (nothing to escape)."""
    return b"<FEFF" + value.encode("utf-16-be").hex().upper().encode("ascii") + b">"


class Canvas:
    """One page's content in millimetres from the top left; graphics are drawn before
    text (a text object may not hold paths)."""

    def __init__(self, font: ShapedFont, page_h: float) -> None:
        self._font = font
        self._page_h = page_h
        self.graphics: list[str] = ["0.57 w"]  # 0.2 mm, the usual hairline
        self.text_ops: list[bytes] = []
        self.cids: set[int] = set()
        self._bold = False

    def text(self, x: float, baseline: float, size: float, run: Run, bold: bool = False) -> None:
        """Draw `run` at `size` pt with its baseline at `baseline` mm."""
        if bold != self._bold:
            self._bold = bold
            self.text_ops.append(b"2 Tr 0.34 w" if bold else b"0 Tr")  # fill + 0.12 mm stroke
        self.text_ops.append(
            f"{_num(size)} 0 0 {_num(size)} {x * MM:.2f} {(self._page_h - baseline) * MM:.2f} "
            "Tm".encode("ascii"))
        self.text_ops.append(run.ops)
        self.cids.update(run.cids)

    def line(self, x1: float, y1: float, x2: float, y2: float) -> None:
        h = self._page_h
        self.graphics.append(f"{x1 * MM:.2f} {(h - y1) * MM:.2f} m "
                             f"{x2 * MM:.2f} {(h - y2) * MM:.2f} l S")

    def rect(self, x: float, y: float, w: float, h: float, gray: float | None = None) -> None:
        """A frame, or with `gray` (0 black .. 1 white) a filled box without one."""
        box = f"{x * MM:.2f} {(self._page_h - y - h) * MM:.2f} {w * MM:.2f} {h * MM:.2f} re"
        self.graphics.append(f"{gray:.3f} g {box} f 0 g" if gray is not None else f"{box} S")

    def content(self) -> bytes:
        text = b"\n".join(self.text_ops)
        return ("\n".join(self.graphics) + "\nBT /F1 1 Tf\n").encode("ascii") + text + (
            b"\n0 Tr ET" if self._bold else b"\nET")


@dataclass(frozen=True)
class Info:
    title: str
    creator: str
    lang: str
    created: datetime


class Document:
    """Pages drawn one at a time and kept compressed; the last content stream of every
    page is drawn at the end, when the page count is known (for "page X of Y")."""

    def __init__(self, font: ShapedFont, info: Info, page_w: float, page_h: float) -> None:
        font.start_document()
        self.font = font
        self._info = info
        self._size = (page_w, page_h)
        self._pages: list[bytes] = []
        self._cids: set[int] = set()

    def add_page(self, draw: Callable[[Canvas], None]) -> None:
        canvas = Canvas(self.font, self._size[1])
        draw(canvas)
        self._cids |= canvas.cids
        self._pages.append(zlib.compress(canvas.content(), 6))

    @property
    def page_count(self) -> int:
        return len(self._pages)

    def output(self, last_layer: Callable[[Canvas, int, int], None], out: BinaryIO) -> None:
        """Write the PDF to `out`; `last_layer(canvas, page_no, total)` draws each page's
        last layer. Each page's content is let go of once written."""
        total = len(self._pages)
        layers = []
        for page_no in range(1, total + 1):
            canvas = Canvas(self.font, self._size[1])
            last_layer(canvas, page_no, total)
            self._cids |= canvas.cids
            layers.append(zlib.compress(canvas.content(), 6))
        writer = _Writer(out)
        fonts = self._font_objects(writer)
        page_ids = []
        w, h = (_num(side * MM) for side in self._size)
        pages_id = writer.reserve()
        pages, self._pages = self._pages, []
        for index, layer in enumerate(layers):
            content, pages[index] = pages[index], b""
            ids = [writer.stream(content, b"/Filter /FlateDecode"),
                   writer.stream(layer, b"/Filter /FlateDecode")]
            page_ids.append(writer.add(
                f"<< /Type /Page /Parent {pages_id} 0 R /MediaBox [0 0 {w} {h}] "
                f"/Resources << /Font << /F1 {fonts} 0 R >> >> "
                f"/Contents [{ids[0]} 0 R {ids[1]} 0 R] >>".encode("ascii")))
        kids = " ".join(f"{page} 0 R" for page in page_ids)
        writer.add(f"<< /Type /Pages /Kids [{kids}] /Count {total} >>".encode("ascii"),
                   pages_id)
        info = self._info
        stamp = info.created.astimezone(UTC).strftime("D:%Y%m%d%H%M%SZ")
        info_id = writer.add(b"<< /Title " + _pdf_text(info.title) + b" /Creator "
                             + _pdf_text(info.creator) + f" /CreationDate ({stamp}) >>".encode())
        catalog = writer.add(f"<< /Type /Catalog /Pages {pages_id} 0 R "
                             f"/Lang ({info.lang}) >>".encode("ascii"))
        writer.finish(catalog, info_id)

    def _font_objects(self, writer: _Writer) -> int:
        font = self.font
        cids = sorted(self._cids | {0})
        em = 1000 / font.upem
        gid_map = bytearray(2 * (cids[-1] + 1))
        widths, to_unicode = [], []
        for cid in cids:
            gid = font.cid_gid[cid]
            gid_map[2 * cid:2 * cid + 2] = gid.to_bytes(2, "big")
            widths.append(f"{cid} [{round(font.advances[gid] * em)}]")
            if font.cid_text[cid]:
                to_unicode.append(f"<{cid:04X}> <{font.cid_text[cid].encode('utf-16-be').hex()}>")
        name = f"{_tag(cids)}+{font.ps_name}"
        font_file = font.subset(font.cid_gid[cid] for cid in cids)
        file_id = writer.stream(zlib.compress(font_file, 6),
                                f"/Filter /FlateDecode /Length1 {len(font_file)}".encode())
        bbox = " ".join(str(round(v * em)) for v in font.bbox)
        descriptor = writer.add(
            f"<< /Type /FontDescriptor /FontName /{name} /Flags 4 /FontBBox [{bbox}] "
            f"/ItalicAngle 0 /Ascent {round(font.ascent * em)} "
            f"/Descent {round(font.descent * em)} /CapHeight {round(font.cap_height * em)} "
            f"/StemV 80 /FontFile2 {file_id} 0 R >>".encode("ascii"))
        gid_map_id = writer.stream(zlib.compress(bytes(gid_map), 6), b"/Filter /FlateDecode")
        cid_font = writer.add(
            f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} "
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
            f"/FontDescriptor {descriptor} 0 R /DW 0 /W [{' '.join(widths)}] "
            f"/CIDToGIDMap {gid_map_id} 0 R >>".encode("ascii"))
        cmap = zlib.compress(_to_unicode_cmap(to_unicode), 6)
        cmap_id = writer.stream(cmap, b"/Filter /FlateDecode")
        return writer.add(
            f"<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H "
            f"/DescendantFonts [{cid_font} 0 R] /ToUnicode {cmap_id} 0 R >>".encode("ascii"))


def _tag(cids: list[int]) -> str:
    """The six capital letters a subset font's name starts with, from what it holds."""
    n = zlib.crc32(struct.pack(f">{len(cids)}I", *cids))
    letters = ""
    for _ in range(6):
        n, r = divmod(n, 26)
        letters += chr(65 + r)
    return letters


def _to_unicode_cmap(entries: list[str]) -> bytes:
    blocks = []
    for i in range(0, len(entries), 100):  # at most 100 entries per block
        chunk = entries[i:i + 100]
        blocks.append(f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar")
    return ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
            + "\n".join(blocks)
            + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
            ).encode("ascii")


class _Writer:
    """Numbered objects written to `out` as they come (in chunks), then the
    cross-reference table, which needs only their offsets."""

    CHUNK = 256 * 1024

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._buffer = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        self._written = 0
        self.offsets: dict[int, int] = {}
        self._next = 1

    def _put(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) >= self.CHUNK:
            self._flush()

    def _flush(self) -> None:
        self._out.write(self._buffer)
        self._written += len(self._buffer)
        self._buffer = bytearray()

    def reserve(self) -> int:
        self._next += 1
        return self._next - 1

    def add(self, body: bytes, obj_id: int | None = None) -> int:
        obj_id = self.reserve() if obj_id is None else obj_id
        self.offsets[obj_id] = self._written + len(self._buffer)
        self._put(b"%d 0 obj\n%s\nendobj\n" % (obj_id, body))
        return obj_id

    def stream(self, data: bytes, entries: bytes = b"") -> int:
        return self.add(b"<< /Length %d %s >>\nstream\n%s\nendstream" % (len(data), entries, data))

    def finish(self, root: int, info: int) -> None:
        count = self._next
        xref = self._written + len(self._buffer)
        lines = [b"xref\n0 %d\n0000000000 65535 f \n" % count]
        lines += [b"%010d 00000 n \n" % self.offsets[i] for i in range(1, count)]
        self._put(b"".join(lines))
        self._put(b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\n"
                  b"startxref\n%d\n%%%%EOF\n" % (count, root, info, xref))
        self._flush()
