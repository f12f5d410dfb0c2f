"""Every CSV and XLSX trialnode writes: no live formulas, UTF-8 with BOM, types kept."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

from openpyxl import load_workbook

from trialnode.core import spreadsheets

HOSTILE = [
    '=HYPERLINK("http://evil.example","klicka")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "|calc",
    "%0A=1",
]


def test_formula_leading_text_is_neutralised_in_csv():
    text = spreadsheets.csv_text(["value"], [[value] for value in HOSTILE])
    rows = list(csv.reader(io.StringIO(text.removeprefix(spreadsheets.BOM))))
    for (written,), original in zip(rows[1:], HOSTILE, strict=True):
        assert written == "'" + original


def test_plain_numbers_and_ordinary_text_stay_as_they_are():
    values = ["-12", "-1,5", "+46 18 611 00 00", "Hjärtsvikt", "", 42, -3.5]
    text = spreadsheets.csv_text(["v"], [[v] for v in values])
    rows = list(csv.reader(io.StringIO(text.removeprefix(spreadsheets.BOM))))
    assert [r[0] for r in rows[1:]] == [
        "-12",
        "-1,5",
        "+46 18 611 00 00",
        "Hjärtsvikt",
        "",
        "42",
        "-3.5",
    ]


def test_csv_starts_with_a_byte_order_mark_and_may_use_semicolons():
    text = spreadsheets.csv_text(["namn", "antal"], [["Örebro", 3]], delimiter=";")
    assert text.startswith("\ufeffnamn;antal\r\n")
    assert "Örebro;3" in text


def test_xlsx_text_is_text_never_a_formula():
    data = spreadsheets.xlsx_bytes([("blad", ["value"], [[v] for v in HOSTILE])])
    sheet = load_workbook(io.BytesIO(data)).active
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    # XML keeps a carriage return as a line feed; the text is otherwise unchanged.
    assert [c.value for c in cells] == [v.replace("\r", "\n") for v in HOSTILE]
    assert {c.data_type for c in cells} == {"s"}


def test_xlsx_keeps_numbers_and_dates_and_replaces_characters_xml_cannot_hold():
    data = spreadsheets.xlsx_bytes(
        [("blad", ["a", "b", "c"], [[7, dt.date(2025, 1, 31), "titel\x00med\x07nul"]])]
    )
    sheet = load_workbook(io.BytesIO(data)).active
    a, b, c = next(sheet.iter_rows(min_row=2, values_only=True))
    assert a == 7
    assert b == dt.datetime(2025, 1, 31)
    assert c == "titel\ufffdmed\ufffdnul"


def test_no_code_writes_csv_or_xlsx_around_the_safe_writer():
    package = Path(spreadsheets.__file__).resolve().parents[1]
    writer = re.compile(r"csv\.(writer|DictWriter)\(|\bWorkbook\(|import xlsxwriter")
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name != "spreadsheets.py" and writer.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
