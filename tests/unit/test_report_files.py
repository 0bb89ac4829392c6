"""The report's files are reproducible: the same figures give the same bytes, whenever."""

import io
import time
from datetime import date

import openpyxl

from server.jobs.report_figures import UnitFigures
from server.jobs.report_files import HEADERS, csv_bytes, xlsx_bytes

DAY = date(2026, 11, 22)
UNITS = [UnitFigures("G1", "一网格", "grid", "C1", {"visits": 3.0, "resolution_rate": 0.5})]


def test_the_same_figures_give_the_same_files_a_second_later() -> None:
    first_csv, first_xlsx = csv_bytes(DAY, UNITS), xlsx_bytes(DAY, UNITS)
    time.sleep(1.1)  # zip entries and the document's properties store times to the second
    assert csv_bytes(DAY, UNITS) == first_csv
    assert xlsx_bytes(DAY, UNITS) == first_xlsx


def test_the_workbook_reads_back_with_the_rate_as_a_percentage() -> None:
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(DAY, UNITS))).active
    assert sheet is not None
    header, row = sheet.iter_rows(min_row=1, max_row=2)
    assert [cell.value for cell in header] == HEADERS
    values = {name: cell for name, cell in zip(HEADERS, row, strict=True)}
    assert values["单位名称"].value == "一网格" and values["层级"].value == "网格"
    assert values["走访次数"].value == 3
    assert (values["化解率"].value, values["化解率"].number_format) == (0.5, "0.0%")
