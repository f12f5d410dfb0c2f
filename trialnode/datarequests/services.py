"""Every step of a case, each in one transaction with its reason, audited.

A step taken at the wrong stage is refused (``StepRefused``) and changes nothing; a step
taken by someone without the role for it raises ``PermissionDenied``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from trialnode.audit import context as audit_context
from trialnode.audit import trail
from trialnode.audit.context import because
from trialnode.audit.models import AuditEvent
from trialnode.audit.signatures import check_signer, record_signature
from trialnode.datarequests import attachments as storage
from trialnode.datarequests import permissions as may
from trialnode.datarequests.models import (
    OPEN_STAGES,
    Attachment,
    DataRequest,
    DataRequestVersion,
    Outcome,
    Review,
    Stage,
    StagePeriod,
    Variable,
)
from trialnode.datarequests.validators import validate_no_identity_number
from trialnode.organisations.models import Role, User

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
CHECKSUM_RE = re.compile(r"^[0-9a-f]{64}$")


P = ParamSpec("P")
R = TypeVar("R")


def _service(function: Callable[P, R]) -> Callable[P, R]:
    """Run a step in one transaction, attributed in the trail to the user taking it (``by``)
    when no request or job has named the actor already."""

    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        by = kwargs.get("by")
        current = audit_context.current()
        acting = (
            audit_context.acting_as(actor=by, via=current.via, ip=current.ip)
            if current.actor is None and by is not None
            else contextlib.nullcontext()
        )
        with acting, transaction.atomic():
            return function(*args, **kwargs)

    return run


class StepRefused(ValidationError):
    """A step that the case's stage does not allow now."""


def _refuse_unless(case: DataRequest, *stages: str) -> None:
    if case.stage not in stages:
        raise StepRefused(
            _(
                "The case is at the stage “%(stage)s”: this step is not possible now. "
                "Nothing was changed."
            )
            % {"stage": case.get_stage_display()},
            code="out_of_order",
        )


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def _clean_text(**values: str) -> None:
    """Reject any text that holds a personal identity number, naming the field."""
    errors: dict[str, list[ValidationError]] = {}
    for name, value in values.items():
        try:
            validate_no_identity_number(value or "")
        except ValidationError as exc:
            errors.setdefault(name, []).append(exc)
    if errors:
        raise ValidationError(errors)


def _reason(reason: str, message: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": message})
    if len(reason) > 2000:
        raise ValidationError({"reason": _("Keep the reason to at most 2,000 characters.")})
    _clean_text(reason=reason)
    return reason


def _locked(case: DataRequest) -> DataRequest:
    return DataRequest.objects.select_for_update().select_related("data_holder").get(pk=case.pk)


def _move(case: DataRequest, to: str, *, by: User, reason: str, **fields: Any) -> DataRequest:
    """End the current stage period and start the next; the stage change is audited as a
    workflow transition with ``reason``."""
    now = timezone.now()
    with because(reason):
        for period in StagePeriod.objects.filter(request=case, ended_at__isnull=True):
            period.ended_at = now
            period.save(update_fields=["ended_at"])
        StagePeriod.objects.create(
            request=case, version=case.version, stage=to, started_at=now, reason=reason, actor=by
        )
        case.stage = to
        case.stage_since = now
        for name, value in fields.items():
            setattr(case, name, value)
        case.save(update_fields=["stage", "stage_since", *fields])
    return case


def _mail(recipients: Iterable[str], subject: str, body: str) -> None:
    """Queue a message to go out once the transaction commits."""
    to = sorted({address for address in recipients if address})
    if not to:
        return
    transaction.on_commit(
        lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to, fail_silently=True)
    )


def staff_addresses(case: DataRequest, *roles: str) -> list[str]:
    """The e-mail addresses of the active holders of ``roles`` in the data holder's region."""
    from django.db.models import Q

    region = case.data_holder.region_id
    users = User.objects.filter(
        is_active=True,
        role_assignments__revoked_at__isnull=True,
        role_assignments__role__in=roles,
    ).filter(
        Q(role_assignments__region_id=region)
        | Q(role_assignments__node__regions__id=region)
        | Q(role_assignments__care_provider__region_id=region)
    )
    return sorted(set(users.values_list("email", flat=True)))


def _tell_applicant(case: DataRequest, subject: str, body: str) -> None:
    _mail([case.applicant.email], f"{case.reference}: {subject}", body)


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


def _apply_fields(case: DataRequest, fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(
            _("Unknown fields: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    for name, value in fields.items():
        setattr(case, name, value)
    _clean_text(**{name: getattr(case, name) for name in TEXT_FIELDS})
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


@_service
def datarequest_create(*, by: User, fields: dict[str, Any]) -> DataRequest:
    """A new draft, owned by ``by``; the clock has not started."""
    _require(by.is_authenticated and by.is_active, _("Log in to apply."))
    now = timezone.now()
    case = DataRequest(applicant=by, reference=_next_reference(), created_at=now, stage_since=now)
    _apply_fields(case, fields)
    with because(_("Draft started")):
        case.save()
        StagePeriod.objects.create(
            request=case, version=1, stage=Stage.DRAFT, started_at=case.created_at, actor=by
        )
    return case


@_service
def datarequest_update(*, case: DataRequest, by: User, fields: dict[str, Any]) -> DataRequest:
    """Change the application while it is with the applicant (draft or supplement)."""
    case = _locked(case)
    _require(may.is_applicant(by, case), _("Only the applicant changes the application."))
    _refuse_unless(case, *EDITABLE_STAGES)
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


@_service
def variables_replace(
    *, case: DataRequest, by: User, rows: list[VariableRow], reason: str = ""
) -> list[Variable]:
    """The variable list replaced as a whole; one bad row and nothing is written."""
    case = _locked(case)
    _require(may.is_applicant(by, case), _("Only the applicant changes the variable list."))
    _refuse_unless(case, *EDITABLE_STAGES)
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
            _clean_text(source=row.source, name=row.name, comment=row.comment)
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


@_service
def attachment_add(
    *, case: DataRequest, by: User, kind: str, upload: UploadedFile | None
) -> Attachment:
    """A PDF added to the application; checked for type and size before it is kept."""
    case = _locked(case)
    _require(may.is_applicant(by, case), _("Only the applicant adds attachments."))
    _refuse_unless(case, *EDITABLE_STAGES)
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


# The workflow ------------------------------------------------------------------------


@_service
def datarequest_submit(*, case: DataRequest, by: User, reason: str = "") -> DataRequest:
    """Draft or supplement → completeness check; refused while the checklist has gaps."""
    case = _locked(case)
    _require(may.is_applicant(by, case), _("Only the applicant submits the application."))
    _refuse_unless(case, *EDITABLE_STAGES)
    missing = [item.label for item in checklist(case) if not item.done]
    if missing:
        raise ValidationError(
            _("Before submitting, add: %(missing)s.") % {"missing": "; ".join(missing)},
            code="incomplete",
        )
    supplement = case.stage == Stage.SUPPLEMENT
    default = _("Supplement sent") if supplement else _("Application submitted")
    reason = (reason or "").strip() or default
    _clean_text(reason=reason)
    extra: dict[str, Any] = {}
    if case.submitted_at is None:
        extra["submitted_at"] = timezone.now()
    case = _move(case, Stage.SUBMITTED, by=by, reason=reason, **extra)
    _mail(
        staff_addresses(case, Role.CASE_OFFICER),
        f"{case.reference}: {_('A health-data request waits for its completeness check')}",
        f"{case.title}\n{reason}",
    )
    return case


@_service
def datarequest_return_for_supplement(*, case: DataRequest, by: User, reason: str) -> DataRequest:
    """Completeness check → returned for supplement: the clock stops until the applicant
    answers."""
    case = _locked(case)
    _require(may.is_officer(by, case), _("Only a case officer returns an application."))
    _refuse_unless(case, Stage.SUBMITTED)
    reason = _reason(reason, _("Say what the applicant needs to supplement."))
    case = _move(case, Stage.SUPPLEMENT, by=by, reason=reason)
    _tell_applicant(case, _("Your application needs a supplement"), reason)
    return case


@_service
def datarequest_accept_complete(*, case: DataRequest, by: User, reason: str = "") -> DataRequest:
    """Completeness check → pre-qualification (legal review and technical feasibility)."""
    case = _locked(case)
    _require(may.is_officer(by, case), _("Only a case officer finds an application complete."))
    _refuse_unless(case, Stage.SUBMITTED)
    reason = (reason or "").strip() or _("The application is complete")
    _clean_text(reason=reason)
    case = _move(case, Stage.PREQUALIFICATION, by=by, reason=reason)
    _mail(
        staff_addresses(case, Role.LEGAL_REVIEWER, Role.DATA_ENGINEER),
        f"{case.reference}: {_('Pre-qualification: legal review and technical feasibility')}",
        case.title,
    )
    return case


@_service
def review_record(
    *, case: DataRequest, by: User, kind: str, recommendation: str, comment: str
) -> Review:
    """A legal review (legal reviewer) or technical feasibility (data engineer), in either
    order; when both are in, the case goes to the decision."""
    case = _locked(case)
    if kind == Review.Kind.LEGAL:
        _require(may.is_legal_reviewer(by, case), _("Only a legal reviewer gives a legal review."))
    elif kind == Review.Kind.TECHNICAL:
        _require(
            may.is_data_engineer(by, case),
            _("Only a data engineer assesses technical feasibility."),
        )
    else:
        raise ValidationError({"kind": _("Choose legal review or technical feasibility.")})
    _refuse_unless(case, Stage.PREQUALIFICATION)
    if recommendation not in Review.Recommendation.values:
        raise ValidationError({"recommendation": _("Choose a recommendation.")})
    comment = _reason(comment, _("Give the grounds of the recommendation."))
    if Review.objects.filter(request=case, version=case.version, kind=kind).exists():
        raise StepRefused(_("This review has already been recorded."), code="out_of_order")
    review = Review(
        request=case,
        version=case.version,
        kind=kind,
        recommendation=recommendation,
        comment=comment,
        reviewer=by,
        created_at=timezone.now(),
    )
    with because(comment):
        review.save()
    kinds = set(
        Review.objects.filter(request=case, version=case.version).values_list("kind", flat=True)
    )
    if {Review.Kind.LEGAL, Review.Kind.TECHNICAL} <= kinds:
        _move(case, Stage.DECISION, by=by, reason=_("Pre-qualification done: both reviews given"))
        _mail(
            staff_addresses(case, Role.CASE_OFFICER),
            f"{case.reference}: {_('Ready for the decision')}",
            case.title,
        )
    return review


def decision_content(case: DataRequest, outcome: str, text: str, by: User) -> str:
    """The canonical text the deciding officer signs (its SHA-256 is kept on the case)."""
    return json.dumps(
        {
            "case": case.reference,
            "version": case.version,
            "outcome": outcome,
            "text": text,
            "data_holder": case.data_holder.slug,
            "epm_dnr": case.epm_dnr,
            "variables": list(
                case.variables.order_by("id").values_list(
                    "source", "name", "period_from", "period_to"
                )
            ),
            "signer": by.pk,
        },
        sort_keys=True,
        default=str,
        ensure_ascii=False,
    )


@_service
def datarequest_decide(
    *,
    case: DataRequest,
    by: User,
    outcome: str,
    text: str,
    password: str,
    otp_token: str = "",
) -> DataRequest:
    """The data holder's decision, signed by the deciding officer's password: approved
    (→ extraction), approved with conditions (→ extraction) or rejected (→ closed).
    Without a valid signature nothing is decided."""
    case = _locked(case)
    _require(may.is_officer(by, case), _("Only a case officer of the data holder decides."))
    _refuse_unless(case, Stage.DECISION)
    if outcome not in (Outcome.APPROVED, Outcome.APPROVED_WITH_CONDITIONS, Outcome.REJECTED):
        raise ValidationError(
            {"outcome": _("Choose approved, approved with conditions or rejected.")}
        )
    text = (text or "").strip()
    if outcome != Outcome.APPROVED and not text:
        raise ValidationError({"text": _("Give the conditions or the reasons for the rejection.")})
    _clean_text(text=text)
    check_signer(user=by, password=password, otp_token=otp_token)
    now = timezone.now()
    content = decision_content(case, outcome, text, by)
    digest = hashlib.sha256(content.encode()).hexdigest()
    to = Stage.CLOSED if outcome == Outcome.REJECTED else Stage.EXTRACTION
    label = str(Outcome(outcome).label)
    case = _move(
        case,
        to,
        by=by,
        reason=f"{label}. {text}".strip(),
        outcome=outcome,
        decision_text=text,
        decided_by=by,
        decided_at=now,
        decision_hash=digest,
    )
    with because(f"{label}. {text}".strip()):
        record_signature(user=by, instance=case, meaning=f"decision: {outcome}; sha256 {digest}")
    _tell_applicant(case, _("Decision on your application"), f"{label}\n{text}")
    return case


@_service
def extraction_assign(
    *, case: DataRequest, by: User, engineer: User | None, estimated_hours: int, reason: str = ""
) -> DataRequest:
    """A case officer assigns the extraction to a data engineer of the region."""
    case = _locked(case)
    _require(may.is_officer(by, case), _("Only a case officer assigns the extraction."))
    _refuse_unless(case, Stage.EXTRACTION)
    if (
        engineer is None
        or not engineer.is_active
        or case.data_holder.region_id not in engineer.region_ids_for(Role.DATA_ENGINEER)
    ):
        raise ValidationError(
            {"engineer": _("Choose a data engineer of the data holder's region.")}
        )
    if not isinstance(estimated_hours, int) or not 1 <= estimated_hours <= 10000:
        raise ValidationError(
            {"estimated_hours": _("Give the estimated effort in hours (1–10,000).")}
        )
    reason = (reason or "").strip() or _("Extraction assigned")
    _clean_text(reason=reason)
    with because(reason):
        case.engineer = engineer
        case.estimated_hours = estimated_hours
        case.save(update_fields=["engineer", "estimated_hours"])
    _mail([engineer.email], f"{case.reference}: {_('Extraction assigned to you')}", case.title)
    return case


@_service
def extraction_complete(*, case: DataRequest, by: User, output_description: str) -> DataRequest:
    """The assigned engineer has prepared the output (small cells suppressed): it goes to
    disclosure review by someone else."""
    case = _locked(case)
    _require(
        case.engineer_id is not None and case.engineer_id == by.pk,
        _("Only the data engineer assigned to the extraction marks it done."),
    )
    _refuse_unless(case, Stage.EXTRACTION)
    output_description = _reason(
        output_description, _("Describe the output and how small cells were suppressed.")
    )
    return _move(
        case,
        Stage.DISCLOSURE_REVIEW,
        by=by,
        reason=output_description,
        output_description=output_description,
        extraction_done_at=timezone.now(),
    )


@_service
def disclosure_review_record(*, case: DataRequest, by: User, passed: bool, comment: str) -> Review:
    """A second person checks the output for disclosure: passed, or back to extraction."""
    case = _locked(case)
    _require(
        may.is_data_engineer(by, case) or may.is_officer(by, case),
        _("Only a data engineer or case officer of the region reviews the output."),
    )
    _refuse_unless(case, Stage.DISCLOSURE_REVIEW)
    if case.engineer_id == by.pk:
        raise PermissionDenied(_("The output is reviewed by someone other than its extractor."))
    comment = _reason(comment, _("Say what was checked."))
    latest = _latest_disclosure(case)
    if latest is not None and latest.recommendation == Review.Recommendation.APPROVE:
        raise StepRefused(
            _("The output has already passed disclosure review."), code="out_of_order"
        )
    review = Review(
        request=case,
        version=case.version,
        kind=Review.Kind.DISCLOSURE,
        recommendation=Review.Recommendation.APPROVE if passed else Review.Recommendation.REJECT,
        comment=comment,
        reviewer=by,
        created_at=timezone.now(),
    )
    with because(comment):
        review.save()
    if not passed:
        _move(case, Stage.EXTRACTION, by=by, reason=comment)
    return review


def _latest_disclosure(case: DataRequest) -> Review | None:
    return (
        Review.objects.filter(request=case, version=case.version, kind=Review.Kind.DISCLOSURE)
        .order_by("-created_at", "-id")
        .first()
    )


@_service
def datarequest_deliver(
    *, case: DataRequest, by: User, checksum: str, row_count: int, reason: str = ""
) -> DataRequest:
    """The reviewed output is delivered: its SHA-256 and row count are recorded."""
    case = _locked(case)
    _require(
        may.is_data_engineer(by, case) or may.is_officer(by, case),
        _("Only a data engineer or case officer of the region delivers."),
    )
    _refuse_unless(case, Stage.DISCLOSURE_REVIEW)
    latest = _latest_disclosure(case)
    if latest is None or latest.recommendation != Review.Recommendation.APPROVE:
        raise StepRefused(
            _("The output must pass disclosure review before it is delivered."),
            code="out_of_order",
        )
    checksum = (checksum or "").strip().lower()
    if not CHECKSUM_RE.match(checksum):
        raise ValidationError(
            {"checksum": _("Give the SHA-256 of the delivered file (64 hex digits).")}
        )
    if not isinstance(row_count, int) or row_count < 0:
        raise ValidationError({"row_count": _("Give the number of rows delivered.")})
    reason = (reason or "").strip() or _("Output delivered")
    _clean_text(reason=reason)
    case = _move(
        case,
        Stage.DELIVERED,
        by=by,
        reason=reason,
        checksum=checksum,
        row_count=row_count,
        delivered_at=timezone.now(),
    )
    _tell_applicant(
        case,
        _("Your data has been delivered"),
        _("SHA-256 %(checksum)s, %(rows)d rows. Confirm the receipt in trialnode.")
        % {"checksum": checksum, "rows": row_count},
    )
    return case


@_service
def datarequest_confirm_receipt(*, case: DataRequest, by: User, reason: str = "") -> DataRequest:
    """The recipient confirms the delivery; the case is closed."""
    case = _locked(case)
    _require(may.is_applicant(by, case), _("Only the recipient confirms the receipt."))
    _refuse_unless(case, Stage.DELIVERED)
    reason = (reason or "").strip() or _("Receipt confirmed by the recipient")
    _clean_text(reason=reason)
    return _move(case, Stage.CLOSED, by=by, reason=reason, receipt_confirmed_at=timezone.now())


@_service
def datarequest_withdraw(*, case: DataRequest, by: User, reason: str) -> DataRequest:
    """The applicant withdraws the application, at any stage before it is closed."""
    case = _locked(case)
    _require(
        may.is_applicant(by, case) or may.is_officer(by, case),
        _("Only the applicant (or a case officer on their behalf) withdraws."),
    )
    _refuse_unless(case, Stage.DRAFT, *OPEN_STAGES)
    reason = _reason(reason, _("Give the reason for the withdrawal."))
    return _move(case, Stage.WITHDRAWN, by=by, reason=reason, outcome=Outcome.WITHDRAWN)


VERSIONED_FIELDS = (*EDITABLE_FIELDS, "outcome", "decision_text", "decided_at", "decision_hash",
                    "checksum", "row_count", "estimated_hours")  # fmt: skip


@_service
def datarequest_amend(*, case: DataRequest, by: User, reason: str) -> DataRequest:
    """Reopen a closed, approved case as a new version (a draft): the closed version's
    content, reviews and stage periods are kept."""
    case = _locked(case)
    _require(may.is_applicant(by, case), _("Only the applicant amends the application."))
    _refuse_unless(case, Stage.CLOSED)
    if case.outcome not in (Outcome.APPROVED, Outcome.APPROVED_WITH_CONDITIONS):
        raise StepRefused(
            _("Only an approved case can be amended; apply anew."), code="out_of_order"
        )
    reason = _reason(reason, _("Say what the amendment changes."))
    content = {name: getattr(case, name) for name in VERSIONED_FIELDS}
    content["data_holder"] = case.data_holder.slug
    content["variables"] = list(
        case.variables.values("source", "name", "period_from", "period_to", "comment")
    )
    content["attachments"] = list(case.attachments.values("kind", "original_name", "sha256"))
    with because(reason):
        DataRequestVersion.objects.create(
            request=case,
            version=case.version,
            content=json.loads(json.dumps(content, default=str)),
            closed_outcome=case.outcome,
            created_at=timezone.now(),
        )
    case.version += 1
    return _move(
        case,
        Stage.DRAFT,
        by=by,
        reason=reason,
        version=case.version,
        outcome="",
        decision_text="",
        decided_by=None,
        decided_at=None,
        decision_hash="",
        engineer=None,
        estimated_hours=None,
        extraction_done_at=None,
        output_description="",
        checksum="",
        row_count=None,
        receipt_confirmed_at=None,
    )


@_service
def handbook_page_save(*, form: Any, by: User) -> Any:
    """A handbook page created or changed by a node admin (a ``HandbookPageForm``)."""
    _require(may.is_handbook_editor(by), _("Only node administrators edit the handbook."))
    with because(_("Handbook page saved")):
        return form.save()
