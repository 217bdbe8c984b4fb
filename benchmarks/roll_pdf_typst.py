"""The booth-wise roll through Typst (the `typst` package, not a dependency of the app),
for benchmarks/roll_pdf.py to compare: a ZIP of one PDF per booth, each booth compiled
from one template with its rows passed as JSON in `sys.inputs`, one `typst.Compiler`
reused for 50 booths and then made anew (its cache grows with every compile).

The page is close to the app's (header, booth heading, the table with its Hindi and
English column headings, footer with "पृष्ठ X / Y", gender legend; the same font), not
identical: Typst wraps a long name where the app first shrinks it. Only the ZIP form:
one Typst document of a whole district is the 1.2 GB case in docs/roll-pdf.md, and its
per-booth PDFs would have to be merged, each embedding its own font.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path
from typing import BinaryIO

import typst

from backoffice.services.roll_pdf import (
    FONT_DIR,
    GENDER_CODES,
    RELATION_PREFIXES,
    _booths,
    _ist,
    _printable,
    booth_file_name,
)

TEMPLATE = """
#let d = json(bytes(sys.inputs.data))
#set document(title: d.title)
#set text(font: "Noto Sans Devanagari", size: 9pt, lang: "hi")
#set page(paper: "a4", margin: (x: 10mm, top: 22mm, bottom: 18mm), header-ascent: 2mm,
  footer-descent: 2mm,
  header: [
    #grid(columns: (1fr, auto), row-gutter: 1.2mm,
      text(11pt, weight: "bold", d.unit),
      text(11pt, weight: "bold", "बूथ / Booth " + d.booth),
      text(9.5pt, d.heading), text(8.5pt, d.cutoff))
    #v(-1mm)
    #line(length: 100%, stroke: 0.2mm)
  ],
  footer: context [
    #let n = str(counter(page).get().first())
    #let total = str(counter(page).final().first())
    #line(length: 100%, stroke: 0.2mm)
    #v(-1.5mm)
    #grid(columns: (1fr, 1fr, 1fr), text(8pt, d.ref),
      align(center, text(8pt, "पृष्ठ " + n + " / " + total + " · Page " + n + " of "
        + total)),
      align(right, text(8pt, d.generated)))
    #v(-1.5mm)
    #align(center, text(6.5pt, d.legend))
  ])
#grid(columns: (1fr, auto), text(13pt, weight: "bold", d.booth_heading),
  align(right + horizon, text(9pt, d.members)))
#table(columns: (14mm, 29mm, 59mm, 63mm, 13mm, 12mm), stroke: 0.2mm,
  inset: (x: 1.2mm, y: 1.8mm), align: (center, left, left, left, center, center),
  fill: (x, y) => if y == 0 { luma(225) },
  table.header(..d.columns.map(c => text(7.5pt, weight: "bold", c))),
  ..d.rows.flatten())
""".encode()

COLUMNS = ["क्रमांक\nSerial", "सदस्यता क्रमांक\nMembership no.", "नाम\nName",
           "पिता/पति का नाम\nFather's or husband's name", "लिंग\nGender", "आयु\nAge"]
LEGEND = "लिंग: म = महिला, पु = पुरुष, अ = अन्य · Gender: म = female, पु = male, अ = other"


def _booth_json(header, booth_no: str, lines: list) -> str:
    label = _printable(booth_no) or "—"
    rows = [[str(line.serial), _printable(line.membership_no), _printable(line.full_name),
             f"{RELATION_PREFIXES[line.relation]}: {_printable(line.relative_name)}",
             GENDER_CODES[line.gender], str(line.age)] for line in lines]
    return json.dumps({
        "title": f"{header.title_en} - {header.unit_en}",
        "unit": f"{_printable(header.unit_hi)} · {_printable(header.unit_en)}",
        "heading": f"{_printable(header.title_hi)} · {_printable(header.title_en)}",
        "cutoff": f"कट-ऑफ़ तिथि / Cut-off date {header.cut_off:%d/%m/%Y}",
        "ref": _printable(header.roll_ref), "booth": label,
        "generated": f"तैयार / Generated {_ist(header.generated_at)} IST",
        "legend": LEGEND, "booth_heading": f"बूथ क्रमांक {label} · Booth no. {label}",
        "members": f"सदस्य / Members: {len(lines)}", "columns": COLUMNS, "rows": rows,
    }, ensure_ascii=False)


def write_roll_pdf_zip(header, lines, out: BinaryIO, reuse: int = 50) -> int:
    written = 0
    compiler = None
    with tempfile.TemporaryDirectory() as folder, \
            zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        main = Path(folder) / "roll.typ"
        main.write_bytes(TEMPLATE)
        for n, (booth_no, group) in enumerate(_booths(lines)):
            if n % reuse == 0:
                compiler = typst.Compiler(main, font_paths=[str(FONT_DIR)],
                                          ignore_system_fonts=True)
            pdf = compiler.compile(sys_inputs={"data": _booth_json(header, booth_no, group)})
            archive.writestr(booth_file_name(booth_no), pdf)
            written += len(group)
    return written
