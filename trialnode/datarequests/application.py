"""The application while it is with the applicant: the draft, its variable list, its
attachments and the checklist before submission; and the handbook's pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from trialnode.audit import trail
from trialnode.audit.context import because
from trialnode.audit.models import AuditEvent
from trialnode.datarequests import attachments as storage
from trialnode.datarequests import permissions as may
from trialnode.datarequests.models import (
    Attachment,
    DataRequest,
    Stage,
    StagePeriod,
    Variable,
)
from trialnode.datarequests.rules import (
    clean_text,
    locked,
    refuse_unless,
    require,
    service,
)
from trialnode.organisations.models import User

EDITABLE_FIELDS = (
    "applicant_organisation",
    "applicant_kind",
    "data_holder",
    "other_care_providers",
    "source",
    "title",
    "purpose",
    "legal_basis",
    "epm_dnr",
    "epm_decision_date",
    "cohort_description",
    "environment",
    "output_kind",
)
TEXT_FIELDS = (
    "applicant_organisation",
    "other_care_providers",
    "title",
    "purpose",
    "epm_dnr",
    "cohort_description",
    "environment",
)
EDITABLE_STAGES = (Stage.DRAFT, Stage.SUPPLEMENT)

# The application ---------------------------------------------------------------------


def _next_reference() -> str:
    year = timezone.localdate().year
    prefix = f"DU-{year}-"
    last = (
        DataRequest.objects.filter(reference__startswith=prefix)
        .aggregate(last=Max("reference"))
        .get("last")
    )
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{number:04d}"


def _save_with_a_free_reference(case: DataRequest, attempts: int = 5) -> None:
    """Save a new case under the next free case number: two drafts started at the same
    moment would otherwise both take the same one."""
    for attempt in range(attempts):
        try:
            with transaction.atomic():
                case.save()
            return
        except IntegrityError:
            if attempt == attempts - 1:
                raise
            case.pk = None
            case.reference = _next_reference()


def _apply_fields(case: DataRequest, fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(
            _("Unknown fields: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    for name, value in fields.items():
        setattr(case, name, value)
    clean_text(**{name: getattr(case, name) for name in TEXT_FIELDS})
    case.full_clean(
        exclude=[
            "reference",
            "applicant",
            "stage",
            "stage_since",
            "outcome",
            "decision_text",
            "decided_by",
            "decided_at",
            "decision_hash",
            "engineer",
            "estimated_hours",
            "checksum",
            "row_count",
        ]
    )


@service
def datarequest_create(*, by: User, fields: dict[str, Any]) -> DataRequest:
    """A new draft, owned by ``by``; the clock has not started."""
    require(by.is_authenticated and by.is_active, _("Log in to apply."))
    now = timezone.now()
    case = DataRequest(applicant=by, reference=_next_reference(), created_at=now, stage_since=now)
    _apply_fields(case, fields)
    with because(_("Draft started")):
        _save_with_a_free_reference(case)
        StagePeriod.objects.create(
            request=case, version=1, stage=Stage.DRAFT, started_at=case.created_at, actor=by
        )
    return case


@service
def datarequest_update(*, case: DataRequest, by: User, fields: dict[str, Any]) -> DataRequest:
    """Change the application while it is with the applicant (draft or supplement)."""
    case = locked(case)
    require(may.is_applicant(by, case), _("Only the applicant changes the application."))
    refuse_unless(case, *EDITABLE_STAGES)
    _apply_fields(case, fields)
    with because(_("Application changed by the applicant")):
        case.save()
    return case


@dataclass(frozen=True)
class VariableRow:
    source: str
    name: str
    period_from: Any
    period_to: Any
    comment: str = ""


@service
def variables_replace(
    *, case: DataRequest, by: User, rows: list[VariableRow], reason: str = ""
) -> list[Variable]:
    """The variable list replaced as a whole; one bad row and nothing is written."""
    case = locked(case)
    require(may.is_applicant(by, case), _("Only the applicant changes the variable list."))
    refuse_unless(case, *EDITABLE_STAGES)
    made: list[Variable] = []
    errors: list[str] = []
    for number, row in enumerate(rows, start=1):
        variable = Variable(
            request=case,
            source=row.source,
            name=row.name,
            period_from=row.period_from,
            period_to=row.period_to,
            comment=row.comment,
        )
        try:
            clean_text(source=row.source, name=row.name, comment=row.comment)
            variable.full_clean(exclude=["request"])
        except ValidationError as exc:
            errors.extend(
                _("Row %(row)d: %(message)s") % {"row": number, "message": message}
                for message in exc.messages
            )
        made.append(variable)
    if errors:
        raise ValidationError(errors)
    with because(reason or _("Variable list replaced")):
        for old in case.variables.all():
            old.delete()
        for variable in made:
            variable.save()
    return made


@service
def attachment_add(
    *, case: DataRequest, by: User, kind: str, upload: UploadedFile | None
) -> Attachment:
    """A PDF added to the application; checked for type and size before it is kept."""
    case = locked(case)
    require(may.is_applicant(by, case), _("Only the applicant adds attachments."))
    refuse_unless(case, *EDITABLE_STAGES)
    if kind not in Attachment.Kind.values:
        raise ValidationError({"kind": _("Choose what the document is.")})
    if upload is None:
        raise ValidationError({"file": _("Choose a PDF file.")})
    stored = storage.store_pdf(upload)
    attachment = Attachment(
        request=case,
        kind=kind,
        original_name=storage.display_name(upload.name or "dokument.pdf"),
        stored_name=stored.name,
        size=stored.size,
        sha256=stored.sha256,
        uploaded_by=by,
        uploaded_at=timezone.now(),
    )
    try:
        with because(_("Attachment added")):
            attachment.save()
    except Exception:
        storage.remove(stored.name)
        raise
    return attachment


def attachment_download_record(*, attachment: Attachment, by: User) -> None:
    """Every download of an attachment leaves an event in the trail."""
    trail.record_event(
        action=AuditEvent.Action.EXPORT,
        instance=attachment,
        actor=by,
        extra={"download": {"case": attachment.request.reference, "sha256": attachment.sha256}},
    )


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    label: str
    done: bool
    step: str


def checklist(case: DataRequest) -> list[ChecklistItem]:
    """What the application needs before it can be submitted."""
    kinds = set(case.attachments.values_list("kind", flat=True))
    return [
        ChecklistItem("project", _("Project title and purpose"), bool(case.title and case.purpose), "project"),
        ChecklistItem("epm", _("EPM reference number and decision date"), bool(case.epm_dnr and case.epm_decision_date), "ethics"),
        ChecklistItem("cohort", _("Cohort definition in words"), bool(case.cohort_description), "data"),
        ChecklistItem("variables", _("At least one variable in the variable list"), case.variables.exists(), "data"),
        ChecklistItem("environment", _("Processing environment and output"), bool(case.environment and case.output_kind), "environment"),
        ChecklistItem("epm_application", _("Attachment: the EPM application"), Attachment.Kind.EPM_APPLICATION in kinds, "attachments"),
        ChecklistItem("epm_decision", _("Attachment: the EPM decision"), Attachment.Kind.EPM_DECISION in kinds, "attachments"),
    ]  # fmt: skip


@service
def handbook_page_save(*, form: Any, by: User) -> Any:
    """A handbook page created or changed by a node admin (a ``HandbookPageForm``)."""
    require(may.is_handbook_editor(by), _("Only node administrators edit the handbook."))
    with because(_("Handbook page saved")):
        return form.save()
