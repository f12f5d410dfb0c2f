"""The one way trialnode writes CSV and XLSX.

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-`` or ``@``
(and, in some, with a tab, a carriage return, ``|`` or ``%``) as a formula. Every
file we write goes through here so that no value from a record can become a live
formula (OWASP, "CSV injection"):

- CSV: such a text cell gets a leading apostrophe, as defusedcsv does (a plain
  negative number such as ``-12`` or ``-1,5`` stays as it is); the file is UTF-8
  with a byte-order mark, so that Swedish Excel reads å, ä and ö, and a semicolon
  may separate the columns, as Swedish Excel expects.
- XLSX: text is written as a text cell, never as a formula; characters XML cannot
  hold are replaced. Numbers, dates and booleans keep their types in both.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

BOM = "\ufeff"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")
PLAIN_NUMBER = re.compile(r"^[-+]?[0-9][0-9 ,.\u00a0\u202f]*$")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
DELIMITERS = {"comma": ",", "semicolon": ";"}
"""The ``sep`` query parameter of a download: ``sep=semicolon`` for Swedish Excel."""

Cell = str | int | float | Decimal | bool | dt.date | dt.datetime | None


def neutralise(value: Any) -> Any:
    """A value that no spreadsheet program will run as a formula."""
    if value is None or isinstance(value, bool | int | float | Decimal | dt.date):
        return value
    text = str(value)
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def _csv_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else neutralise(value)


class _LineBuffer:
    """A file-like object whose write returns the line instead of storing it."""

    def write(self, value: str) -> str:
        return value


def csv_lines(
    header: Sequence[Any], rows: Iterable[Iterable[Any]], *, delimiter: str = ","
) -> Iterator[str]:
    """CSV written line by line (for streaming responses of any length), BOM first."""
    writer = csv.writer(_LineBuffer(), delimiter=delimiter)
    yield BOM + writer.writerow([_csv_value(v) for v in header])
    for row in rows:
        yield writer.writerow([_csv_value(v) for v in row])


def csv_text(header: Sequence[Any], rows: Iterable[Iterable[Any]], *, delimiter: str = ",") -> str:
    return "".join(csv_lines(header, rows, delimiter=delimiter))


def delimiter_for(request: HttpRequest) -> str:
    """The column separator a download asks for (``?sep=semicolon``), comma by default."""
    return DELIMITERS.get(request.GET.get("sep", ""), ",")


def _xlsx_cell(sheet: Any, value: Any) -> WriteOnlyCell:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.replace(tzinfo=None)
    if value is None or isinstance(value, bool | int | float | Decimal | dt.date):
        return WriteOnlyCell(sheet, value=value)
    text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(value))
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"  # text, even when it starts with "=": never a formula
    return cell


def xlsx_bytes(sheets: Iterable[tuple[str, Sequence[Any], Iterable[Iterable[Any]]]]) -> bytes:
    """A workbook with one sheet per ``(name, header, rows)``."""
    workbook = Workbook(write_only=True)
    for name, header, rows in sheets:
        sheet = workbook.create_sheet(_sheet_title(name))
        sheet.append([_xlsx_cell(sheet, v) for v in header])
        for row in rows:
            sheet.append([_xlsx_cell(sheet, v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheet_title(name: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", "-", name)[:31] or "data"


def _disposition(filename: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "-", filename)
    return f'attachment; filename="{safe}"'


def csv_response(
    filename: str, header: Sequence[Any], rows: Iterable[Iterable[Any]], *, delimiter: str = ","
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        csv_lines(header, rows, delimiter=delimiter), content_type=CSV_CONTENT_TYPE
    )
    response["Content-Disposition"] = _disposition(filename)
    return response


def xlsx_response(
    filename: str, sheets: Iterable[tuple[str, Sequence[Any], Iterable[Iterable[Any]]]]
) -> HttpResponse:
    response = HttpResponse(xlsx_bytes(sheets), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = _disposition(filename)
    return response
