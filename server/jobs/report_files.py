"""The daily report as files: `<day>.csv` (UTF-8 with BOM, for Excel) and `<day>.xlsx`.

Both are written to a temporary name and renamed, so a reader never sees half a file, and
only when their bytes change: the XLSX is made byte-for-byte reproducible (fixed document
times and zip entry times), so re-running a day's report leaves its files as they were.
"""

import csv
import io
import os
import zipfile
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.writer.excel import ExcelWriter

from server.access.org import Level
from server.jobs.report_figures import FIGURES, RATE, UnitFigures

HEADERS = ["日期", "单位编码", "单位名称", "层级", "上级单位", *FIGURES.values()]
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def _level_label(level: str) -> str:
    known = Level.parse(level)
    return known.label if known else level


def _cells(day: date, unit: UnitFigures) -> list[str | float | None]:
    values: list[str | float | None] = [
        day.isoformat(),
        unit.code,
        unit.name,
        _level_label(unit.level),
        unit.parent or "",
    ]
    for figure in FIGURES:
        value = unit.figures.get(figure)
        values.append(value if figure == RATE or value is None else int(value))
    return values


def csv_bytes(day: date, units: list[UnitFigures]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    rate_at = HEADERS.index(FIGURES[RATE])
    for unit in units:
        cells = _cells(day, unit)
        rate = cells[rate_at]
        cells[rate_at] = "" if rate is None else f"{float(rate) * 100:.1f}%"
        writer.writerow(cells)
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(day: date, units: list[UnitFigures]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has its sheet
    sheet.title = f"日报 {day.isoformat()}"
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    rate_column = HEADERS.index(FIGURES[RATE]) + 1
    for unit in units:
        sheet.append(_cells(day, unit))
        sheet.cell(sheet.max_row, rate_column).number_format = "0.0%"
    sheet.freeze_panes = "F2"
    fixed = datetime.combine(day, datetime.min.time())
    book.properties.creator = "Doorstep"
    book.properties.created = book.properties.modified = fixed
    raw = io.BytesIO()
    # Not `book.save`: it stamps the document as modified now.
    ExcelWriter(book, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED)).save()
    return _reproducible_zip(raw.getvalue())


def _reproducible_zip(data: bytes) -> bytes:
    """The same archive with every entry's time fixed (zip stores the time of writing)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            fixed = zipfile.ZipInfo(entry.filename, date_time=ZIP_EPOCH)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, source.read(entry))
    return out.getvalue()


def write_if_changed(path: Path, content: bytes) -> bool:
    """Write `content` to `path` through a temporary file and a rename, unless it holds
    it already. Returns whether it wrote."""
    if path.exists() and path.read_bytes() == content:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    return True


def write_report_files(
    directory: Path, day: date, units: list[UnitFigures]
) -> tuple[dict[str, str], list[str]]:
    """Both files of `day`: their paths by suffix, and the suffixes (re)written."""
    paths, written = {}, []
    for suffix, content in (("csv", csv_bytes(day, units)), ("xlsx", xlsx_bytes(day, units))):
        path = directory / f"{day.isoformat()}.{suffix}"
        paths[suffix] = str(path)
        if write_if_changed(path, content):
            written.append(suffix)
    return paths, written
