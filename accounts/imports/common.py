"""What every import shares: opening a CSV safely, the header check, row errors, progress, results."""

import codecs
import csv
import io
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import BinaryIO

MAX_REPORTED_ERRORS = 50


class ImportFailed(Exception):
    """A file-level problem (missing column, empty, not UTF-8, not a CSV): nothing was written."""


class RowInvalid(Exception):
    """One cell is invalid; carries the column name and the reason."""

    def __init__(self, column: str, reason: str):
        super().__init__(f"{column}: {reason}")
        self.column = column
        self.reason = reason


@dataclass
class ImportResult:
    """What an import did (or, when it failed, would not do): counts and the bad rows."""

    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    error_rows: int = 0  # rows with at least one error (a row may have several)
    written: bool = False

    def add_error(self, line: int, column: str, reason: str, *, new_row: bool = False) -> None:
        self.error_count += 1
        self.error_rows += new_row
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(f"line {line}: {column}: {reason}")

    def error_lines(self) -> list[str]:
        lines = list(self.errors)
        if self.error_count > len(self.errors):
            lines.append(f"… and {self.error_count - len(self.errors)} more errors")
        return lines

    def summary(self) -> str:
        verb = "imported" if self.written else "nothing written"
        return f"{verb}: {self.created} created, {self.updated} updated, {self.skipped} skipped"


class Progress:
    """Rows done, rows/s and time left on a terminal; silent when the stream is not a TTY."""

    def __init__(self, total_bytes: int | None, stream=None, enabled: bool | None = None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total = total_bytes
        self.started = self.last = time.monotonic()

    def update(self, rows: int, bytes_done: int | None = None) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.5:
            return
        self.last = now
        rate = rows / max(now - self.started, 1e-6)
        left = ""
        if self.total and bytes_done:
            remaining = (now - self.started) * (self.total - bytes_done) / bytes_done
            left = f", {remaining:,.0f}s left"
        self.stream.write(f"\r  {rows:,} rows, {rate:,.0f} rows/s{left}   ")
        self.stream.flush()

    def stage(self, text: str) -> None:
        if self.enabled:
            self.stream.write(f"\r  {text}{' ' * 30}\n")
            self.stream.flush()


class CountingReader:
    """Wraps a binary file handed to COPY: counts the lines going through to report progress."""

    def __init__(self, fileobj, progress: Progress):
        self.fileobj, self.progress, self.lines, self.done = fileobj, progress, 0, 0

    def read(self, size: int = -1) -> bytes:
        data = self.fileobj.read(size)
        self.lines += data.count(b"\n")
        self.done += len(data)
        self.progress.update(max(self.lines - 1, 0), self.done)
        return data

    def readline(self, size: int = -1) -> bytes:
        return self.read(size) if size and size > 0 else self.fileobj.readline()


class CsvSource:
    """Streams a CSV file's rows as dicts of the wanted columns, with 1-based file line numbers.

    Rejects, with a clear message, a file that is empty, binary, not UTF-8 or lacks a column.
    """

    def __init__(self, fileobj: BinaryIO, *, required: tuple[str, ...], optional: tuple[str, ...] = ()):
        head = fileobj.read(8192)
        if not head.strip():
            raise ImportFailed("the file is empty: expected a header row and data rows")
        if b"\x00" in head:
            raise ImportFailed("this is not a CSV text file (it contains binary data)")
        try:
            # An incomplete multi-byte character at the cut is fine; a wrong byte is not.
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        except UnicodeDecodeError:
            raise ImportFailed("the file is not UTF-8 encoded text: save it as CSV UTF-8") from None
        fileobj.seek(0)
        self._binary = fileobj
        self._text = io.TextIOWrapper(fileobj, encoding="utf-8-sig", newline="")
        self._reader = csv.reader(self._text)
        try:
            header = next(self._reader)
        except StopIteration:
            raise ImportFailed("the file is empty: expected a header row and data rows") from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ImportFailed(f"line 1: cannot read the header row ({exc})") from None
        names = [h.strip().lower() for h in header]
        self.header = names
        missing = [c for c in required if c not in names]
        if missing:
            raise ImportFailed(
                f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)} "
                f"(the header row has: {', '.join(n for n in names if n) or 'nothing'})"
            )
        self.index = {name: names.index(name) for name in (*required, *optional) if name in names}
        self.width = max(self.index.values()) + 1
        self.has = set(self.index)

    def rewind(self) -> None:
        """Back to the first data row (the PostgreSQL path may have read the file already)."""
        self._text.seek(0)
        self._reader = csv.reader(self._text)
        next(self._reader)

    def bytes_read(self) -> int | None:
        try:
            return self._binary.tell()
        except (OSError, ValueError):
            return None

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line number, cells) per data row; blank lines are skipped."""
        line = 1
        try:
            for cells in self._reader:
                line = self._reader.line_num
                if not cells or (len(cells) == 1 and not cells[0].strip()):
                    continue
                if len(cells) < self.width:
                    cells = cells + [""] * (self.width - len(cells))
                yield line, cells
        except UnicodeDecodeError:
            raise ImportFailed(f"line {line + 1}: the file is not UTF-8 encoded text: save it as CSV UTF-8") from None
        except csv.Error as exc:
            raise ImportFailed(f"line {line + 1}: malformed CSV ({exc})") from None


def file_size(fileobj) -> int | None:
    try:
        return os.fstat(fileobj.fileno()).st_size
    except (OSError, AttributeError, io.UnsupportedOperation):
        return None


# Cell parsers: each returns a value or raises RowInvalid naming the column.


def parse_required(value: str, column: str) -> str:
    value = value.strip()
    if not value:
        raise RowInvalid(column, "required, but empty")
    return value


def parse_date(value: str, column: str, *, required: bool = False) -> date | None:
    value = value.strip()
    if not value:
        if required:
            raise RowInvalid(column, "required, but empty")
        return None
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise RowInvalid(column, f"'{value}' is not a date in YYYY-MM-DD form") from None


def parse_int(value: str, column: str, *, required: bool = False, low: int = 0, high: int | None = None) -> int | None:
    value = value.strip()
    if not value:
        if required:
            raise RowInvalid(column, "required, but empty")
        return None
    try:
        number = int(value)
    except ValueError:
        raise RowInvalid(column, f"'{value}' is not a whole number") from None
    if number < low:
        raise RowInvalid(column, f"{number} is negative; expected a number ≥ {low}" if low == 0 else f"{number} is below {low}")
    if high is not None and number > high:
        raise RowInvalid(column, f"{number} is above {high}")
    if number > 2_147_483_647:
        raise RowInvalid(column, f"{number} is too large")
    return number


def parse_decimal(value: str, column: str) -> Decimal:
    value = value.strip().replace(",", "")
    if not value:
        raise RowInvalid(column, "required, but empty")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise RowInvalid(column, f"'{value}' is not a number") from None
    if not number.is_finite():
        raise RowInvalid(column, f"'{value}' is not a number")
    if number < 0:
        raise RowInvalid(column, f"{value} is negative; expected a number ≥ 0")
    if number >= Decimal("1e12"):
        raise RowInvalid(column, f"{value} is too large")
    return number.quantize(Decimal("0.01"))


def chunked(items: list, size: int = 5000) -> Iterator[list]:
    """Slices for `__in` lookups: SQLite caps the number of query parameters."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
