"""Cell safety for every file the backoffice hands out (CSV, XLSX).

OWASP's advice on CSV injection, followed for every CSV we write: a cell a
spreadsheet would read as a formula gets a leading apostrophe, and every field
is wrapped in double quotes (embedded quotes doubled), so no cell can spill
into the next one.
"""

from __future__ import annotations

import csv

# A spreadsheet treats a cell starting with these as a formula (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value):
    """The value, with a leading apostrophe if a spreadsheet would run it as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class SafeCsvWriter:
    """csv.writer with every field quoted and every cell neutralised."""

    def __init__(self, out) -> None:
        self._writer = csv.writer(out, quoting=csv.QUOTE_ALL)

    def writerow(self, row) -> None:
        self._writer.writerow([safe_cell(value) for value in row])
