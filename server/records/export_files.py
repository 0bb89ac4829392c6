"""Exports: rows of a record list as a CSV or XLSX file a coordinator reports upward with.

Pure building, no I/O beyond a temporary file: headers in zh-CN (or English), coded values
as their labels, times in Asia/Shanghai. Masking and auditing belong to the caller
(`server/records/export_api.py`); rows arrive here as they are to be shown.
"""

import csv
import io
import json
import tempfile
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import IO, Any, Literal, Protocol

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.cell.cell import Cell as XlsxCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from server.console.i18n import CODED, Lang, label, translate
from server.console.render import SHANGHAI

Format = Literal["csv", "xlsx"]
MEDIA_TYPES: dict[Format, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
Cell = str | int | float | date | None  # a datetime is a date too
# Kept in memory up to this size, then on disk: a large export does not hold the RAM.
SPOOL_BYTES = 8 * 1024 * 1024
# Excel runs a cell starting with one of these as a formula; text from the field is not one.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# Headers of the columns the console's catalogue does not name: (zh-CN, English).
_HEADERS = {
    "compound": ("小区", "Compound"),
    "building": ("楼栋", "Building"),
    "unit": ("单元", "Unit"),
    "room": ("房号", "Room"),
    "gps_lat": ("纬度", "Latitude"),
    "gps_lon": ("经度", "Longitude"),
    "follow_up_due": ("回访期限", "Follow-up due"),
    "place": ("发生地点", "Place"),
    "occurred_at": ("发生时间", "Occurred at"),
    "description": ("情况描述", "Description"),
    "deadline": ("办理期限", "Deadline"),
    "urgent": ("紧急", "Urgent"),
    "outcome": ("处理结果", "Outcome"),
    "agreement": ("调解协议", "Agreement"),
}


def header(lang: Lang, column: str) -> str:
    zh, en = _HEADERS.get(column, (None, None))
    if zh is None or en is None:
        return translate(lang, column)
    return en if lang == "en" else zh


def cell(lang: Lang, column: str, value: Any) -> Cell:
    """One value as the file shows it: labels for codes, Shanghai wall-clock times."""
    if column == "review_state":
        return label(lang, column, value) if value else translate(lang, "not_reviewed")
    if value is None:
        return None
    if column in CODED:
        return label(lang, column, value)
    if isinstance(value, bool):
        return translate(lang, "yes" if value else "no")
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).replace(tzinfo=None, microsecond=0)
    if isinstance(value, int | float | date | str):
        return value
    return json.dumps(value, ensure_ascii=False)


def text(value: Cell) -> str:
    """A cell as CSV text; Excel would run text that starts like a formula, so it is quoted."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return str(value)


def cells(lang: Lang, columns: Sequence[str], row: Mapping[str, Any]) -> list[Cell]:
    return [cell(lang, column, row.get(column)) for column in columns]


class Sheet(Protocol):
    """A file being written row by row; `finish` hands it back, read from its start."""

    def append(self, row: list[Cell]) -> None: ...
    def finish(self) -> IO[bytes]: ...
    def discard(self) -> None: ...


class CsvSheet:
    """UTF-8 with a byte order mark, which is how Excel knows the Chinese is UTF-8."""

    def __init__(self, headers: list[str]) -> None:
        self._file = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        self._text = io.TextIOWrapper(self._file, encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._text)
        self._writer.writerow(headers)

    def append(self, row: list[Cell]) -> None:
        self._writer.writerow([text(value) for value in row])

    def finish(self) -> IO[bytes]:
        self._text.flush()
        self._text.detach()
        self._file.seek(0)
        return self._file

    def discard(self) -> None:
        self._text.close()


class XlsxSheet:
    """One worksheet written as it goes (openpyxl's write-only mode); real dates and
    numbers, so the office can sort and sum; text is stored as text, never a formula."""

    def __init__(self, headers: list[str], title: str) -> None:
        self._book = Workbook(write_only=True)
        self._sheet: WriteOnlyWorksheet = self._book.create_sheet(title[:31])
        self._sheet.append(headers)

    def append(self, row: list[Cell]) -> None:
        self._sheet.append([self._cell(value) for value in row])

    def _cell(self, value: Cell) -> XlsxCell:
        if isinstance(value, str):  # control characters a workbook may not hold
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        made = WriteOnlyCell(self._sheet)
        made.value = value
        if isinstance(value, datetime):
            made.number_format = "yyyy-mm-dd hh:mm:ss"
        elif isinstance(value, date):
            made.number_format = "yyyy-mm-dd"
        elif isinstance(value, str):
            made.data_type = "s"  # openpyxl would take "=…" for a formula
        return made

    def finish(self) -> IO[bytes]:
        file = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        self._book.save(file)
        file.seek(0)
        return file

    def discard(self) -> None:
        self._book.close()


def new_sheet(format: Format, headers: list[str], title: str) -> Sheet:
    return CsvSheet(headers) if format == "csv" else XlsxSheet(headers, title)
