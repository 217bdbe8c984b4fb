"""A small PDF writer for text shaped by HarfBuzz, made for the printable roll.

Why not a general PDF library: the roll draws tens of thousands of short strings, most of
them many times (headings, prefixes, serials, common names). fpdf2's `cell()` shapes and
lays out every call anew (about 0.3 ms each, six per roll line), which held a district's
roll to about 500-700 lines/s. Here each distinct word is shaped once (`shaped_font`)
into a ready-made piece of content stream, and a page is those pieces placed with a
text matrix, so a line costs about a tenth of a millisecond (docs/roll-pdf.md).

How text becomes PDF (ISO 32000-1 9.7, 9.10): one Type0 font, Identity-H, over a
CIDFontType2 (TrueType outlines). The ToUnicode map gives each CID its text, so copying
and `pdftotext` read the names back in their typed order; the CIDToGIDMap gives it its
glyph.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from backoffice.services.shaped_font import Run, ShapedFont

MM = 72 / 25.4  # points per mm


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _pdf_text(value: str) -> bytes:
    """A PDF text string: UTF-16BE with its byte order mark, in hex (nothing to escape)."""
    return b"<FEFF" + value.encode("utf-16-be").hex().upper().encode("ascii") + b">"


class Canvas:
    """One page's content in millimetres from the top left; graphics are drawn before
    text (a text object may not hold paths)."""

    def __init__(self, page_h: float) -> None:
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
        self.text_ops.append(b"%.2f 0 0 %.2f %.2f %.2f Tm %s" % (
            size, size, x * MM, (self._page_h - baseline) * MM, run.ops))
        self.cids.update(run.cids)

    def line(self, x1: float, y1: float, x2: float, y2: float) -> None:
        h = self._page_h
        self.graphics.append(f"{x1 * MM:.2f} {(h - y1) * MM:.2f} m "
                             f"{x2 * MM:.2f} {(h - y2) * MM:.2f} l S")

    def rect(self, x: float, y: float, w: float, h: float, gray: float | None = None) -> None:
        """A frame, or with `gray` (0 black .. 1 white) a filled box without one."""
        box = f"{x * MM:.2f} {(self._page_h - y - h) * MM:.2f} {w * MM:.2f} {h * MM:.2f} re"
        self.graphics.append(f"{gray:.3f} g {box} f 0 g" if gray is not None else f"{box} S")

    def image(self, name: str, x: float, y: float, w: float, h: float) -> None:
        """Draw the document's image `name` (Document(images=...)) in this box."""
        self.graphics.append(f"q {w * MM:.2f} 0 0 {h * MM:.2f} {x * MM:.2f} "
                             f"{(self._page_h - y - h) * MM:.2f} cm /{name} Do Q")

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

    def __init__(self, font: ShapedFont, info: Info, page_w: float, page_h: float,
                 images: dict[str, tuple[bytes, int, int]] | None = None) -> None:
        """`images`: name -> (baseline JPEG in RGB, width px, height px), for Canvas.image."""
        font.start_document()
        self._images = images or {}
        self.font = font
        self._info = info
        self._size = (page_w, page_h)
        self._pages: list[bytes] = []
        self._cids: set[int] = set()

    def add_page(self, draw: Callable[[Canvas], None]) -> None:
        canvas = Canvas(self._size[1])
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
            canvas = Canvas(self._size[1])
            last_layer(canvas, page_no, total)
            self._cids |= canvas.cids
            layers.append(zlib.compress(canvas.content(), 6))
        writer = _Writer(out)
        fonts = self._font_objects(writer)
        page_ids = []
        w, h = (_num(side * MM) for side in self._size)
        pages_id = writer.reserve()
        xobjects = " ".join(
            f"/{name} " + str(writer.stream(data, (
                f"/Type /XObject /Subtype /Image /Width {width} /Height {height} "
                "/ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode").encode()))
            + " 0 R" for name, (data, width, height) in self._images.items())
        resources = f"/Font << /F1 {fonts} 0 R >>" + (
            f" /XObject << {xobjects} >>" if xobjects else "")
        pages, self._pages = self._pages, []
        for index, layer in enumerate(layers):
            content, pages[index] = pages[index], b""
            ids = [writer.stream(content, b"/Filter /FlateDecode"),
                   writer.stream(layer, b"/Filter /FlateDecode")]
            page_ids.append(writer.add(
                f"<< /Type /Page /Parent {pages_id} 0 R /MediaBox [0 0 {w} {h}] "
                f"/Resources << {resources} >> "
                f"/Contents [{ids[0]} 0 R {ids[1]} 0 R] >>".encode("ascii")))
        kids = " ".join(f"{page} 0 R" for page in page_ids)
        writer.add(f"<< /Type /Pages /Kids [{kids}] /Count {total} >>".encode("ascii"),
                   pages_id)
        info = self._info
        stamp = info.created.astimezone(UTC).strftime("D:%Y%m%d%H%M%SZ")
        info_id = writer.add(b"<< /Title " + _pdf_text(info.title) + b" /Creator "
                             + _pdf_text(info.creator) + f" /CreationDate ({stamp}) >>".encode())
        catalog = writer.add(f"<< /Type /Catalog /Pages {pages_id} 0 R /Lang ".encode("ascii")
                             + _pdf_text(info.lang) + b" >>")
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
