"""Reading a register file into its header and rows of cells, within bounds.

CSV in UTF-8 (with or without BOM) or GB18030 (what Excel saves in Chinese Windows), comma-
or tab-separated; XLSX: the first sheet. Cells come back as trimmed text, or None when
empty; whole numbers as digits (a phone typed into Excel is a number, 1.38e10).
"""

import csv
import io
import warnings
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import openpyxl

from server.errors import ClientError

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 50
XLSX_MAGIC = b"PK\x03\x04"


class RegisterRefused(ClientError):
    """A file that cannot be imported at all."""


@dataclass(frozen=True, slots=True)
class Sheet:
    format: str  # csv | xlsx
    header: list[str]
    # (the row's number as the spreadsheet shows it, its cells), blank rows left out
    rows: list[tuple[int, list[str | None]]]


def read_register(content: bytes) -> Sheet:
    if len(content) > MAX_FILE_BYTES:
        raise RegisterRefused(
            413, "file_too_large", f"the file is over {MAX_FILE_BYTES // (1024 * 1024)} MB"
        )
    if not content.strip():
        raise RegisterRefused(400, "empty_file", "the file is empty")
    if content.startswith(XLSX_MAGIC):
        return _xlsx(content)
    return _sheet("csv", _csv_rows(content))


def _sheet(format: str, rows: Any) -> Sheet:
    header: list[str] | None = None
    found: list[tuple[int, list[str | None]]] = []
    for number, raw in enumerate(rows, start=1):
        cells = [_cell(value) for value in list(raw)[:MAX_COLUMNS]]
        if not any(cells):
            continue
        if header is None:
            header = [cell or "" for cell in cells]
            continue
        if len(found) == MAX_ROWS:
            raise RegisterRefused(
                413, "too_many_rows", f"more than {MAX_ROWS:,} rows: split the register"
            )
        found.append((number, cells))
    if header is None:
        raise RegisterRefused(400, "empty_file", "the file has no header row")
    return Sheet(format, header, found)


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        value = value.isoformat()
    text = str(value).strip()
    return text or None


def _csv_rows(content: bytes) -> Any:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise RegisterRefused(400, "unreadable_file", "not a CSV in UTF-8 or GB18030")
    if "\x00" in text:
        raise RegisterRefused(400, "unreadable_file", "not a CSV or XLSX file")
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise RegisterRefused(400, "unreadable_file", f"not a readable CSV: {error}") from error


def _xlsx(content: bytes) -> Sheet:
    """The first sheet, read as a stream: reading stops at the row limit."""
    try:
        with warnings.catch_warnings():  # openpyxl warns about styles it does not read
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            try:
                rows = book.worksheets[0].iter_rows(max_col=MAX_COLUMNS, values_only=True)
                return _sheet("xlsx", rows)
            finally:
                book.close()
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, IndexError) as error:
        raise RegisterRefused(400, "unreadable_file", "not a readable XLSX file") from error
