"""The one CSV writer for every file the product hands to people (exports, downloads, reports).

Spreadsheets run a cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return as a formula
(`=HYPERLINK(...)`, `+cmd|...`), so an account name typed by anyone becomes code on a leader's laptop.
Such text cells are written with a leading `'` (OWASP's advice: the spreadsheet shows the text as
typed). Numbers are left alone — numeric values, and text that is a plain number such as `-12.50`
— so a negative ARR stays a number.

Internal CSV (the COPY buffers fed to PostgreSQL) must keep the data verbatim: it uses the standard
library's writer, not this one.
"""

import csv
import re
from collections.abc import Iterable, Iterator
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """The value, or `'value` when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class Writer:
    """`csv.writer` with every cell passed through `safe_cell`."""

    def __init__(self, file, **kwargs):
        self._writer = csv.writer(file, **kwargs)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(file, **kwargs) -> Writer:
    return Writer(file, **kwargs)


class _Echo:
    """A file that hands back what is written: the writer then returns each line as text."""

    def write(self, value: str) -> str:
        return value


def lines(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The CSV as lines of text (header first), for streaming downloads and files alike.

    Lines end in CRLF (RFC 4180): the writer quotes a cell holding a character of the line
    terminator, so with a bare `\n` a carriage return inside a cell would go out unquoted."""
    out = Writer(_Echo())
    yield out.writerow(header)
    for row in rows:
        yield out.writerow(row)
