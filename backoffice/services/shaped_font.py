"""A font that shapes text once: HarfBuzz shaping cached per word, the process's
numbering of glyphs-with-their-text as PDF character ids (CIDs), and subsetting of the
font's outlines for embedding. `shaped_pdf` writes the PDF around it.

A CID stands for one glyph together with the text it carries: the first glyph of a
HarfBuzz cluster carries the cluster's characters (the conjunct "प्रि" for its three
glyphs, with ि drawn first), the others carry none, so text read out of the PDF comes
in typed order. CIDs are numbered once per process, so a shaped word's bytes serve
every document. The subset keeps the outlines a document uses at their original glyph
ids (the others empty) and none of the variation or layout tables (docs/roll-pdf.md).
"""

from __future__ import annotations

import io
import re
import string
import struct
import sys
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate, chain
from pathlib import Path

import uharfbuzz as hb
from fontTools.ttLib import TTFont

RUN_CACHE_SIZE = 20_000  # distinct strings (and words) kept shaped; names repeat
# CIDs are two bytes. They are renumbered between documents once past CID_LIMIT, which
# leaves one document room for 35,000 new glyph-and-text pairs (a district's roll makes
# a few thousand in all: the font has 1,117 glyphs and the clusters they carry repeat).
CID_LIMIT = 30_000
CID_MAX = 0xFFFF
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


def _concat(pieces: list[_Piece]) -> _Piece:
    body = ""
    for piece in pieces:
        body = _join(body, piece.body)
    return _Piece(body, sum(piece.width for piece in pieces),
                  tuple(chain.from_iterable(piece.cids for piece in pieces)))


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
            pieces = []
            for word in text.split(" "):
                pieces += (self._space, self._word(word))
            piece = _concat(pieces[1:])
            ops = f"[{piece.body}]TJ" if piece.body else ""
            run = self._runs[text] = Run(ops.encode("ascii"), piece.width / self.upem,
                                         piece.cids)
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
            if self._digits_apart and word.isascii() and len(word) > 2 and _DIGIT.search(word):
                # A membership number: its letters, then its digits, each shaped once. Not
                # kept: every number is new, and would push the names' words out.
                return _concat([self._word(part) for part in _DIGIT.split(word) if part])
            if len(self._words) >= RUN_CACHE_SIZE:
                self._words.clear()
            piece = self._words[word] = self._shape(word)
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
                if (self._shape(digit + other) != _concat([alone, beside])
                        or self._shape(other + digit) != _concat([beside, alone])):
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
            cid = len(self.cid_gid)
            if cid > CID_MAX:
                raise ValueError("more distinct letters and clusters than one PDF font holds")
            self._cid_of[key] = cid
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
