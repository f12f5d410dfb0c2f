"""Studies from a spreadsheet in the minimal-data-set template, previewed before writing.

The preview runs every row through the same services as the registration form, inside
a transaction that is rolled back; confirming runs them again for real in one
transaction. So the preview shows exactly what confirming will do, and nothing is
written until then.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from openpyxl import load_workbook

from trialnode.audit.context import because
from trialnode.organisations.models import CareProvider, Role, normalise_name
from trialnode.studies import services
from trialnode.studies.models import Source, Study
from trialnode.studies.validators import ICD10_RE

COLUMNS = [
    "local_id",
    "title_sv",
    "title_en",
    "acronym",
    "epm_dnr",
    "eu_ct_number",
    "eudract_number",
    "nct_id",
    "isrctn",
    "study_type",
    "interventional_kind",
    "phase",
    "sponsor_name",
    "sponsor_type",
    "status",
    "status_date",
    "start_date",
    "primary_completion_date",
    "completion_date",
    "planned_enrolment",
    "min_age_years",
    "max_age_years",
    "sex",
    "healthy_volunteers",
    "summary_sv",
    "conditions",
    "care_providers",
    "contact_name",
    "contact_email",
]
REQUIRED = ["title_sv", "study_type", "care_providers"]
MATCH_BY = ["nct_id", "eu_ct_number", "epm_dnr", "local_id"]
UPPER = {"study_type", "interventional_kind", "phase", "sponsor_type", "sex", "status"}
DATES = {"status_date", "start_date", "primary_completion_date", "completion_date"}
STATUS_COLUMNS = ("status", "status_date")
"""Passed to the services beside the fields: the overall status and the day it took effect."""
INTEGERS = {"planned_enrolment", "min_age_years", "max_age_years"}
MAX_ROWS = 2000
REASON = "Updated from a spreadsheet import"


class SpreadsheetError(ValueError):
    """The file as a whole cannot be read (not a row's problem)."""


@dataclass
class RowPlan:
    number: int
    action: str  # "create", "update" or "reject"
    title: str
    errors: list[str] = field(default_factory=list)
    study_id: int | None = None


EXAMPLE = {
    "title_sv": "Fysisk träning vid hjärtsvikt",
    "title_en": "Exercise in heart failure",
    "acronym": "TRÄNA",
    "epm_dnr": "2024-01234-01",
    "study_type": "INTERVENTIONAL",
    "interventional_kind": "OTHER_TREATMENT",
    "sponsor_name": "Uppsala universitet",
    "sponsor_type": "ACADEMIC",
    "status": "RECRUITING",
    "status_date": "2025-02-01",
    "start_date": "2025-01-15",
    "primary_completion_date": "2026-06-30",
    "completion_date": "2026-12-31",
    "planned_enrolment": "120",
    "min_age_years": "18",
    "sex": "ALL",
    "healthy_volunteers": "nej",
    "summary_sv": "Vi undersöker om träning hjälper.",
    "conditions": "I50.9 Hjärtsvikt",
    "care_providers": "akademiska",
    "contact_name": "Studiekontakt",
    "contact_email": "studie@example.se",
}
TEMPLATE_EXAMPLE = [EXAMPLE.get(column, "") for column in COLUMNS]
"""The example row of the downloadable template."""


MAX_COLUMNS = 60
MAX_CELL_CHARS = 20_000
MAX_SHEET_XML_BYTES = 50 * 1024 * 1024
"""The largest uncompressed worksheet an XLSX may hold (a 5 MB file may unpack to far more)."""
DELIMITERS = (",", ";", "\t")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _cell(value: object) -> str:
    """A cell as text, with control characters (a NUL byte, say) removed."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date() if value.time() == dt.time() else value
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    return CONTROL_CHARACTERS.sub("", text).strip()


def _xlsx_rows(data: bytes) -> list[list[str]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            sheets = [i for i in archive.infolist() if i.filename.startswith("xl/worksheets/")]
            strings = [i for i in archive.infolist() if i.filename == "xl/sharedStrings.xml"]
            if any(i.file_size > MAX_SHEET_XML_BYTES for i in sheets + strings):
                raise SpreadsheetError(
                    _("The XLSX file unpacks to more than %(limit)d MB; split it.")
                    % {"limit": MAX_SHEET_XML_BYTES // 1024 // 1024}
                )
    except zipfile.BadZipFile as exc:
        raise SpreadsheetError(_("The XLSX file cannot be read: it is not an XLSX file.")) from exc
    try:
        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
        rows: list[list[str]] = []
        for row in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS + 1):
            cells = [_cell(value) for value in row]
            if any(cells):
                rows.append(cells)
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    except SpreadsheetError:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise SpreadsheetError(
            _("The XLSX file cannot be read: %(error)s") % {"error": str(exc)[:200]}
        ) from exc


def _delimiter(header_line: str) -> str:
    """The separator that splits the header into the template's columns."""
    best, found = "", 0
    for delimiter in DELIMITERS:
        names = [name.strip().strip('"').lower() for name in header_line.split(delimiter)]
        known = sum(1 for name in names if name in COLUMNS)
        if known > found:
            best, found = delimiter, known
    if not found:
        raise SpreadsheetError(
            _(
                "The first row names none of the template's columns (separated by comma, "
                "semicolon or tab). Use the template."
            )
        )
    return best


def _csv_rows(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpreadsheetError(_("The CSV file must be UTF-8.")) from exc
    if not text.strip():
        raise SpreadsheetError(_("The file is empty."))
    delimiter = _delimiter(text.lstrip().splitlines()[0])
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows: list[list[str]] = []
    try:
        for row in reader:
            if len(row) > MAX_COLUMNS:
                raise SpreadsheetError(
                    _("Row %(row)d has more than %(max)d columns.")
                    % {"row": reader.line_num, "max": MAX_COLUMNS}
                )
            cells = [_cell(cell) for cell in row]
            if any(cells):
                rows.append(cells)
            if len(rows) > MAX_ROWS + 1:
                break
    except csv.Error as exc:
        raise SpreadsheetError(
            _("Row %(row)d cannot be read: %(error)s") % {"row": reader.line_num, "error": exc}
        ) from exc
    return rows


def read_rows(filename: str, data: bytes) -> list[dict[str, str]]:
    """Rows as dictionaries of text; raises SpreadsheetError for an unreadable file.

    Bounded: at most ``MAX_ROWS`` rows of ``MAX_COLUMNS`` cells of ``MAX_CELL_CHARS``
    characters; the separator of a CSV is the one that splits its header into the
    template's columns.
    """
    if filename.lower().endswith(".xlsx"):
        rows = _xlsx_rows(data)
    elif filename.lower().endswith(".csv"):
        rows = _csv_rows(data)
    else:
        raise SpreadsheetError(_("Upload a .csv or .xlsx file."))
    if not rows:
        raise SpreadsheetError(_("The file is empty."))
    header = [cell.lower() for cell in rows[0]]
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise SpreadsheetError(
            _("Columns missing: %(columns)s. Use the template.") % {"columns": ", ".join(missing)}
        )
    unknown = [column for column in header if column and column not in COLUMNS]
    if unknown:
        raise SpreadsheetError(
            _("Unknown columns: %(columns)s. Use the template.") % {"columns": ", ".join(unknown)}
        )
    body = rows[1:]
    if len(body) > MAX_ROWS:
        raise SpreadsheetError(_("At most %(max)d rows at a time.") % {"max": MAX_ROWS})
    for number, row in enumerate(body, start=2):
        if any(len(cell) > MAX_CELL_CHARS for cell in row):
            raise SpreadsheetError(
                _("Row %(row)d has a cell longer than %(max)d characters.")
                % {"row": number, "max": MAX_CELL_CHARS}
            )
    return [dict(zip(header, row, strict=False)) for row in body]


PREVIEW_LIFETIME = dt.timedelta(hours=12)
PREVIEW_KEY = re.compile(r"^[0-9a-f]{32}$")


def _preview_dir() -> Path:
    folder = Path(settings.DATA_DIR) / "uploads" / "spreadsheet-previews"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def preview_keep(filename: str, data: bytes) -> str:
    """Keep an uploaded file until its preview is confirmed; returns the key to it.

    Files older than ``PREVIEW_LIFETIME`` (previews never confirmed) are removed.
    """
    folder = _preview_dir()
    limit = dt.datetime.now().timestamp() - PREVIEW_LIFETIME.total_seconds()
    for old in folder.iterdir():
        if old.stat().st_mtime < limit:
            old.unlink(missing_ok=True)
    key = uuid.uuid4().hex
    suffix = ".xlsx" if filename.lower().endswith(".xlsx") else ".csv"
    (folder / f"{key}{suffix}").write_bytes(data)
    return key


def preview_take(key: str) -> tuple[str, bytes] | None:
    """The kept file (its name and content) for ``key``, removed from the store."""
    if not PREVIEW_KEY.match(key or ""):
        return None
    for suffix in (".csv", ".xlsx"):
        path = _preview_dir() / f"{key}{suffix}"
        if path.is_file():
            data = path.read_bytes()
            path.unlink()
            return path.name, data
    return None


def _parse(row: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The study's fields, and its rows with its status (the services' other arguments)."""
    fields: dict[str, Any] = {}
    for column in COLUMNS:
        value = row.get(column, "")
        if column in ("conditions", "care_providers", "contact_name", "contact_email"):
            continue
        if column in UPPER:
            fields[column] = value.upper()
        elif column in INTEGERS:
            try:
                fields[column] = int(value) if value else None
            except ValueError:
                raise ValidationError(
                    {column: _("%(value)s is not a whole number.") % {"value": value}}
                ) from None
        elif column in DATES:
            try:
                fields[column] = dt.date.fromisoformat(value) if value else None
            except ValueError:
                raise ValidationError(
                    {column: _("%(value)s is not a date (YYYY-MM-DD).") % {"value": value}}
                ) from None
        elif column == "healthy_volunteers":
            fields[column] = value.lower() in ("ja", "yes", "true", "1")
        else:
            fields[column] = value
    fields["sex"] = fields.get("sex") or "ALL"
    conditions = []
    for item in filter(None, (part.strip() for part in row.get("conditions", "").split(";"))):
        code, _space, text = item.partition(" ")
        if ICD10_RE.match(code.upper()):
            conditions.append({"icd10_code": code.upper(), "text": text or code.upper()})
        else:
            conditions.append({"icd10_code": "", "text": item})
    sites = []
    for name in filter(None, (part.strip() for part in row.get("care_providers", "").split(";"))):
        provider = CareProvider.objects.filter(slug=name.lower()).first() or next(
            (p for p in CareProvider.objects.all() if normalise_name(name) in p.match_names()),
            None,
        )
        if provider is None:
            raise ValidationError(
                {"care_providers": _("Unknown care provider %(name)s.") % {"name": name}}
            )
        sites.append({"care_provider": provider, "region": provider.region})
    contacts = []
    if row.get("contact_name"):
        contacts.append({"name": row["contact_name"], "email": row.get("contact_email", "")})
    others: dict[str, Any] = {"sites": sites, "conditions": conditions, "contacts": contacts}
    for column in STATUS_COLUMNS:
        value = fields.pop(column, None)
        if value:
            others[column] = value
    return fields, others


def _existing(fields: dict[str, Any], by) -> Study | None:
    for name in MATCH_BY:
        if fields.get(name):
            matches = list(Study.objects.filter(source=Source.LOCAL, **{name: fields[name]})[:2])
            if len(matches) > 1:
                raise ValidationError(
                    _("More than one study has %(field)s %(value)s.")
                    % {"field": name, "value": fields[name]}
                )
            if matches:
                if not Study.objects.editable_by(by).filter(pk=matches[0].pk).exists():
                    raise ValidationError(
                        _("%(reference)s has this %(field)s, and you may not change it.")
                        % {"reference": matches[0].reference, "field": name}
                    )
                return matches[0]
    return None


def _run_row(number: int, row: dict[str, str], by) -> RowPlan:
    title = row.get("title_sv") or row.get("title_en") or ""
    try:
        with transaction.atomic():
            fields, children = _parse(row)
            study = _existing(fields, by)
            if study is None:
                _require_a_site_in_own_regions(children["sites"], by)
                created = services.study_create(
                    by=by, fields=fields, allow_duplicate=True, **children
                )
                return RowPlan(number, "create", title, study_id=created.pk)
            services.study_update(
                study=study,
                by=by,
                expected_version=study.version,
                fields=fields,
                reason=REASON,
                **children,
            )
            return RowPlan(number, "update", title, study_id=study.pk)
    except (ValidationError, PermissionDenied) as exc:
        messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
        return RowPlan(number, "reject", title, errors=messages)


def _require_a_site_in_own_regions(sites: list[dict[str, Any]], by) -> None:
    """A coordinator registers studies of their own regions (as with an upload of a
    registry file); a study of another region is registered by its coordinators."""
    if by.is_superuser:
        return
    own = by.region_ids_for(Role.COORDINATOR)
    if not any(site["region"].pk in own for site in sites):
        raise ValidationError(
            {"care_providers": _("None of the care providers is in your regions.")}
        )


def _require_coordinator(by) -> None:
    if not (by.is_superuser or by.has_role(Role.COORDINATOR)):
        raise PermissionDenied(_("Only coordinators import spreadsheets."))


def import_preview(*, rows: list[dict[str, str]], by) -> list[RowPlan]:
    """What confirming would do, row by row; writes nothing."""
    _require_coordinator(by)
    with transaction.atomic():
        plan = [_run_row(number, row, by) for number, row in enumerate(rows, start=2)]
        transaction.set_rollback(True)
    return plan


def import_confirm(*, rows: list[dict[str, str]], by) -> list[RowPlan]:
    """Write the valid rows in one transaction; the rejected ones are left out."""
    _require_coordinator(by)
    with transaction.atomic(), because(REASON):
        return [_run_row(number, row, by) for number, row in enumerate(rows, start=2)]
