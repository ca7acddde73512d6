"""What every import shares: opening a CSV safely, the header check, row errors, progress, results."""

import codecs
import csv
import io
import os
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import BinaryIO

from core.text import SHOWN, shown

MAX_REPORTED_ERRORS = 50
# A cell longer than this is refused, naming its line and column: csv's own limit (128 KB) is
# raised to it, and no line is read whole beyond MAX_LINE, so a 50 MB cell costs ~MAX_LINE of memory.
MAX_CELL = 1 << 20
MAX_LINE = 4 * MAX_CELL
csv.field_size_limit(MAX_CELL)


def too_long(limit: int = MAX_CELL) -> str:
    return f"value longer than {limit:,} characters: shorten it"


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
    updated: int = 0  # existing rows whose values changed
    skipped: int = 0
    unchanged: int = 0  # existing rows imported again with the same values
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    error_rows: int = 0  # rows with at least one error (a row may have several)
    written: bool = False

    def add_error(self, line: int, column: str, reason: str, *, new_row: bool = False) -> None:
        self.error_count += 1
        self.error_rows += new_row
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(f"line {line}: {column}: {shown(reason, 4 * SHOWN)}")

    def error_lines(self) -> list[str]:
        lines = list(self.errors)
        if self.error_count > len(self.errors):
            lines.append(f"… and {self.error_count - len(self.errors)} more errors")
        return lines

    def summary(self) -> str:
        verb = "imported" if self.written else "nothing written"
        return f"{verb}: {self.created} created, {self.updated} updated, {self.skipped} skipped, {self.unchanged} unchanged"


class RowChecks:
    """Collects every problem of one row, so a row is reported whole (each cell named), not only
    its first bad cell: `cell(parse, value, column…)` runs a parser and keeps its RowInvalid."""

    def __init__(self):
        self.problems: list[RowInvalid] = []

    def cell(self, parse, *args, **kwargs):
        try:
            return parse(*args, **kwargs)
        except RowInvalid as exc:
            self.problems.append(exc)
            return None

    def problem(self, column: str, reason: str) -> None:
        self.problems.append(RowInvalid(column, reason))

    def report(self, line: int, result: "ImportResult") -> bool:
        """Adds the row's problems to `result` (counted as one bad row); True when there were any."""
        for number, problem in enumerate(self.problems):
            result.add_error(line, problem.column, problem.reason, new_row=number == 0)
        return bool(self.problems)


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


class _Lines:
    """The physical lines of a text stream, for csv.reader: never more than MAX_LINE read at once,
    and the current record's text kept (up to MAX_LINE) to name a column when a cell is refused."""

    def __init__(self, text):
        self.text = text
        self.record: list[str] = []
        self.kept = 0
        self.nul = False

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self.text.readline(MAX_LINE)
        if not line:
            raise StopIteration
        if len(line) == MAX_LINE and not line.endswith(("\n", "\r")):
            raise LineTooLong(line)
        if "\x00" in line:
            self.nul = True
        if self.kept < MAX_LINE:
            self.record.append(line)
            self.kept += len(line)
        return line

    def next_record(self) -> None:
        self.record.clear()
        self.kept = 0
        self.nul = False

    def long_column(self, tail: str = "") -> int | None:
        """Index of the first cell longer than MAX_CELL in the kept record text (commas outside
        quotes split cells), else of the cell it ends in; None when too little was kept to tell."""
        if self.kept >= MAX_LINE and not tail:
            return None
        text = "".join(self.record) + tail
        index, quoted, start = 0, False, 0
        for match in re.finditer(r'[",]', text):
            if match.group() == '"':
                quoted = not quoted
            elif not quoted:
                if match.start() - start > MAX_CELL:
                    return index
                index, start = index + 1, match.end()
        return index


class LineTooLong(Exception):
    def __init__(self, piece: str):
        super().__init__("line too long")
        self.piece = piece


class CsvSource:
    """Streams a CSV file's rows as lists of cells, with the file line each record starts on.

    Rejects, with a clear message, a file that is empty, binary, not UTF-8 or lacks a column, and a
    cell longer than MAX_CELL or holding a NUL character (naming the line and the column).
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
        self.header: list[str] = []
        self._start_reader()
        try:
            header = next(self._reader)
        except StopIteration:
            raise ImportFailed("the file is empty: expected a header row and data rows") from None
        except (UnicodeDecodeError, csv.Error, LineTooLong) as exc:
            reason = "a cell is too long" if isinstance(exc, LineTooLong) or "field limit" in str(exc) else exc
            raise ImportFailed(f"line 1: cannot read the header row ({reason})") from None
        names = [h.strip().lower() for h in header]
        self.header = names
        missing = [c for c in required if c not in names]
        if missing:
            listed = ", ".join(shown(n, 40) for n in names[:30] if n) + (", …" if len(names) > 30 else "")
            raise ImportFailed(
                f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)} "
                f"(the header row has: {listed or 'nothing'})"
            )
        self.index = {name: names.index(name) for name in (*required, *optional) if name in names}
        self.width = max(self.index.values()) + 1
        self.has = set(self.index)

    def _start_reader(self) -> None:
        self._lines = _Lines(self._text)
        self._reader = csv.reader(self._lines)

    def rewind(self) -> None:
        """Back to the first data row (the PostgreSQL path may have read the file already)."""
        self._text.seek(0)
        self._start_reader()
        next(self._reader)

    def bytes_read(self) -> int | None:
        try:
            return self._binary.tell()
        except (OSError, ValueError):
            return None

    def _column(self, index: int | None) -> str:
        if index is None:
            return "a cell"
        return (self.header[index] if index < len(self.header) else "") or f"column {index + 1}"

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line number, cells) per data row; blank lines are skipped.

        The line number is the file line the record starts on (a quoted cell may span lines)."""
        reader, lines = self._reader, self._lines
        start = reader.line_num + 1
        try:
            while True:
                start = reader.line_num + 1
                lines.next_record()
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                if lines.nul:
                    at = next((i for i, cell in enumerate(cells) if "\x00" in cell), None)
                    raise ImportFailed(
                        f"line {start}: {self._column(at)}: contains a NUL character (\\x00), which is not text: "
                        "remove it, or save the file again as CSV UTF-8"
                    )
                if not cells or (len(cells) == 1 and not cells[0].strip()):
                    continue
                if len(cells) < self.width:
                    cells = cells + [""] * (self.width - len(cells))
                yield start, cells
        except UnicodeDecodeError:
            raise ImportFailed(f"line {start}: the file is not UTF-8 encoded text: save it as CSV UTF-8") from None
        except LineTooLong as exc:
            column = self._column(lines.long_column(exc.piece))
            raise ImportFailed(f"line {start}: {column}: {too_long()}") from None
        except csv.Error as exc:
            if "field limit" in str(exc):
                raise ImportFailed(f"line {start}: {self._column(lines.long_column())}: {too_long()}") from None
            raise ImportFailed(f"line {start}: malformed CSV ({exc})") from None


def record_start_lines(fileobj: BinaryIO, records: set[int]) -> dict[int, int]:
    """The file line each wanted data row (1 = the first after the header) starts on.

    For a reader that numbered rows (COPY) when a quoted cell spans lines: reads up to the last one."""
    found: dict[int, int] = {}
    if not records:
        return found
    fileobj.seek(0)
    text = io.TextIOWrapper(fileobj, encoding="utf-8-sig", newline="")
    reader = csv.reader(_Lines(text))
    try:
        next(reader)
        for number in range(1, max(records) + 1):
            start = reader.line_num + 1
            next(reader)
            if number in records:
                found[number] = start
    except (StopIteration, csv.Error, LineTooLong, UnicodeDecodeError):
        pass
    finally:
        text.detach()  # the caller's file stays open
    return found


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
        raise RowInvalid(column, f"'{shown(value)}' is not a date in YYYY-MM-DD form") from None


def parse_int(value: str, column: str, *, required: bool = False, low: int = 0, high: int | None = None) -> int | None:
    value = value.strip()
    if not value:
        if required:
            raise RowInvalid(column, "required, but empty")
        return None
    try:
        number = int(value)
    except ValueError:
        raise RowInvalid(column, f"'{shown(value)}' is not a whole number") from None
    if number < low:
        raise RowInvalid(
            column,
            f"{shown(str(number))} is negative; expected a number ≥ {low}"
            if low == 0
            else f"{shown(str(number))} is below {low}",
        )
    if high is not None and number > high:
        raise RowInvalid(column, f"{shown(str(number))} is above {high}")
    if number > 2_147_483_647:
        raise RowInvalid(column, f"{shown(str(number))} is too large")
    return number


def parse_decimal(value: str, column: str) -> Decimal:
    value = value.strip().replace(",", "")
    if not value:
        raise RowInvalid(column, "required, but empty")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise RowInvalid(column, f"'{shown(value)}' is not a number") from None
    if not number.is_finite():
        raise RowInvalid(column, f"'{shown(value)}' is not a number")
    if number < 0:
        raise RowInvalid(column, f"{shown(value)} is negative; expected a number ≥ 0")
    if number >= Decimal("1e12"):
        raise RowInvalid(column, f"{shown(value)} is too large")
    return number.quantize(Decimal("0.01"))


def chunked(items: list, size: int = 5000) -> Iterator[list]:
    """Slices for `__in` lookups: SQLite caps the number of query parameters."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
