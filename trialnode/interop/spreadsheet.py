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
from dataclasses import dataclass, field
from typing import Any

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


def read_rows(filename: str, data: bytes) -> list[dict[str, str]]:
    """Rows as dictionaries of text; raises SpreadsheetError for an unreadable file."""
    if filename.lower().endswith(".xlsx"):
        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
            rows = [
                ["" if v is None else str(v) for v in row]
                for row in sheet.iter_rows(values_only=True)
            ]
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise SpreadsheetError(
                _("The XLSX file cannot be read: %(error)s") % {"error": exc}
            ) from exc
    elif filename.lower().endswith(".csv"):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise SpreadsheetError(_("The CSV file must be UTF-8.")) from exc
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t") if text.strip() else None
        rows = list(csv.reader(io.StringIO(text), dialect or "excel"))
    else:
        raise SpreadsheetError(_("Upload a .csv or .xlsx file."))
    if not rows:
        raise SpreadsheetError(_("The file is empty."))
    header = [cell.strip().lower() for cell in rows[0]]
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
    body = [row for row in rows[1:] if any(cell.strip() for cell in row)]
    if len(body) > MAX_ROWS:
        raise SpreadsheetError(_("At most %(max)d rows at a time.") % {"max": MAX_ROWS})
    return [dict(zip(header, [cell.strip() for cell in row], strict=False)) for row in body]


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
