"""The variable list's template (written through the shared spreadsheet writer) and the
bounded reader of a filled-in template (CSV or XLSX)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from openpyxl import load_workbook

from trialnode.core.spreadsheets import xlsx_bytes
from trialnode.datarequests.application import VariableRow

COLUMNS = ("source", "variable", "period_from", "period_to", "comment")
EXAMPLE = ("Patientjournal (Cosmic)", "Diagnoskod ICD-10-SE", "2018-01-01", "2024-12-31", "")
MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 500
MAX_COLUMNS = 10
MAX_CELL_CHARS = 500
MAX_UNPACKED_BYTES = 20 * 1024 * 1024


def template_bytes() -> bytes:
    return xlsx_bytes([("variabler", COLUMNS, [EXAMPLE])])


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    return "".join(ch for ch in text if ch >= " " or ch == "\t").strip()


def _xlsx_rows(data: bytes) -> list[list[str]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
                raise ValidationError(
                    _("The XLSX file unpacks to too much data; use the template.")
                )
        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
        rows = []
        for row in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS):
            cells = [_cell(value) for value in row]
            if any(cells):
                rows.append(cells)
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    except ValidationError:
        raise
    except Exception as exc:  # openpyxl and zipfile raise many kinds for a broken file
        raise ValidationError(_("The XLSX file cannot be read.")) from exc


def _csv_rows(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(_("The CSV file must be UTF-8.")) from exc
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    rows = []
    try:
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            cells = [_cell(cell) for cell in row[:MAX_COLUMNS]]
            if any(cells):
                rows.append(cells)
            if len(rows) > MAX_ROWS + 1:
                break
    except csv.Error as exc:
        raise ValidationError(_("The CSV file cannot be read.")) from exc
    return rows


def _date(value: str, row: int, column: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            _("Row %(row)d: %(column)s must be a date (YYYY-MM-DD).")
            % {"row": row, "column": column}
        ) from None


def read_variables(filename: str, data: bytes) -> list[VariableRow]:
    """The rows of a filled-in template; every problem is reported with its row and
    nothing is returned when there is one. Bounded in bytes, rows, columns and cells."""
    if len(data) > MAX_BYTES:
        raise ValidationError(_("The file is larger than 2 MB."))
    lower = filename.lower()
    if lower.endswith(".xlsx"):
        rows = _xlsx_rows(data)
    elif lower.endswith(".csv"):
        rows = _csv_rows(data)
    else:
        raise ValidationError(_("Upload the template as .xlsx or .csv."))
    if not rows:
        raise ValidationError(_("The file is empty."))
    header = [cell.lower() for cell in rows[0]]
    if tuple(header[: len(COLUMNS)]) != COLUMNS[: len(header)] or len(header) < 4:
        raise ValidationError(
            _("The first row must name the template's columns: %(columns)s.")
            % {"columns": ", ".join(COLUMNS)}
        )
    body = rows[1:]
    if len(body) > MAX_ROWS:
        raise ValidationError(_("At most %(max)d variables at a time.") % {"max": MAX_ROWS})
    result: list[VariableRow] = []
    errors: list[str] = []
    for number, row in enumerate(body, start=2):
        cells = [*row, "", "", "", "", ""][: len(COLUMNS)]
        try:
            if any(len(cell) > MAX_CELL_CHARS for cell in cells):
                raise ValidationError(
                    _("Row %(row)d: a cell is longer than %(max)d characters.")
                    % {"row": number, "max": MAX_CELL_CHARS}
                )
            source, name, start, end, comment = cells
            if not source or not name:
                raise ValidationError(
                    _("Row %(row)d: give both the source and the variable.") % {"row": number}
                )
            result.append(
                VariableRow(
                    source=source,
                    name=name,
                    period_from=_date(start, number, "period_from"),
                    period_to=_date(end, number, "period_to"),
                    comment=comment,
                )
            )
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ValidationError(errors)
    return result
