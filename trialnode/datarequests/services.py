"""Every step of a case, each in one transaction with its reason, audited.

A step taken at the wrong stage is refused (``StepRefused``) and changes nothing; a step
taken by someone without the role for it raises ``PermissionDenied``. The steps of the
application while it is with the applicant are in ``application`` and re-exported here.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from trialnode.audit.context import because
from trialnode.audit.signatures import check_signer, record_signature
from trialnode.datarequests import permissions as may
from trialnode.datarequests.application import (
    EDITABLE_FIELDS,
    EDITABLE_STAGES,
    VariableRow,
    attachment_add,
    attachment_download_record,
    checklist,
    datarequest_create,
    datarequest_update,
    handbook_page_save,
    variables_replace,
)
from trialnode.datarequests.models import (
    OPEN_STAGES,
    DataRequest,
    DataRequestVersion,
    Outcome,
    Review,
    Stage,
)
from trialnode.datarequests.rules import (
    StepRefused,
    clean_text,
    locked,
    mail,
    move,
    reason_text,
    refuse_unless,
    require,
    service,
    staff_addresses,
    tell_applicant,
)
from trialnode.organisations.models import Role, User

CHECKSUM_RE = re.compile(r"^[0-9a-f]{64}$")

__all__ = [
    "EDITABLE_FIELDS",
    "EDITABLE_STAGES",
    "StepRefused",
    "VariableRow",
    "attachment_add",
    "attachment_download_record",
    "checklist",
    "datarequest_create",
    "datarequest_update",
    "handbook_page_save",
    "staff_addresses",
    "variables_replace",
]


@service
def datarequest_submit(*, case: DataRequest, by: User, reason: str = "") -> DataRequest:
    """Draft or supplement → completeness check; refused while the checklist has gaps."""
    case = locked(case)
    require(may.is_applicant(by, case), _("Only the applicant submits the application."))
    refuse_unless(case, *EDITABLE_STAGES)
    missing = [item.label for item in checklist(case) if not item.done]
    if missing:
        raise ValidationError(
            _("Before submitting, add: %(missing)s.") % {"missing": "; ".join(missing)},
            code="incomplete",
        )
    supplement = case.stage == Stage.SUPPLEMENT
    default = _("Supplement sent") if supplement else _("Application submitted")
    reason = (reason or "").strip() or default
    clean_text(reason=reason)
    extra: dict[str, Any] = {}
    if case.submitted_at is None:
        extra["submitted_at"] = timezone.now()
    case = move(case, Stage.SUBMITTED, by=by, reason=reason, **extra)
    mail(
        staff_addresses(case, Role.CASE_OFFICER),
        f"{case.reference}: {_('A health-data request waits for its completeness check')}",
        f"{case.title}\n{reason}",
    )
    return case


@service
def datarequest_return_for_supplement(*, case: DataRequest, by: User, reason: str) -> DataRequest:
    """Completeness check → returned for supplement: the clock stops until the applicant
    answers."""
    case = locked(case)
    require(may.is_officer(by, case), _("Only a case officer returns an application."))
    refuse_unless(case, Stage.SUBMITTED)
    reason = reason_text(reason, _("Say what the applicant needs to supplement."))
    case = move(case, Stage.SUPPLEMENT, by=by, reason=reason)
    tell_applicant(case, _("Your application needs a supplement"), reason)
    return case


@service
def datarequest_accept_complete(*, case: DataRequest, by: User, reason: str = "") -> DataRequest:
    """Completeness check → pre-qualification (legal review and technical feasibility)."""
    case = locked(case)
    require(may.is_officer(by, case), _("Only a case officer finds an application complete."))
    refuse_unless(case, Stage.SUBMITTED)
    reason = (reason or "").strip() or _("The application is complete")
    clean_text(reason=reason)
    case = move(case, Stage.PREQUALIFICATION, by=by, reason=reason)
    mail(
        staff_addresses(case, Role.LEGAL_REVIEWER, Role.DATA_ENGINEER),
        f"{case.reference}: {_('Pre-qualification: legal review and technical feasibility')}",
        case.title,
    )
    return case


@service
def review_record(
    *, case: DataRequest, by: User, kind: str, recommendation: str, comment: str
) -> Review:
    """A legal review (legal reviewer) or technical feasibility (data engineer), in either
    order; when both are in, the case goes to the decision."""
    case = locked(case)
    if kind == Review.Kind.LEGAL:
        require(may.is_legal_reviewer(by, case), _("Only a legal reviewer gives a legal review."))
    elif kind == Review.Kind.TECHNICAL:
        require(
            may.is_data_engineer(by, case),
            _("Only a data engineer assesses technical feasibility."),
        )
    else:
        raise ValidationError({"kind": _("Choose legal review or technical feasibility.")})
    refuse_unless(case, Stage.PREQUALIFICATION)
    if recommendation not in Review.Recommendation.values:
        raise ValidationError({"recommendation": _("Choose a recommendation.")})
    comment = reason_text(comment, _("Give the grounds of the recommendation."))
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
        move(case, Stage.DECISION, by=by, reason=_("Pre-qualification done: both reviews given"))
        mail(
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


@service
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
    case = locked(case)
    require(may.is_officer(by, case), _("Only a case officer of the data holder decides."))
    refuse_unless(case, Stage.DECISION)
    if outcome not in (Outcome.APPROVED, Outcome.APPROVED_WITH_CONDITIONS, Outcome.REJECTED):
        raise ValidationError(
            {"outcome": _("Choose approved, approved with conditions or rejected.")}
        )
    text = (text or "").strip()
    if outcome != Outcome.APPROVED and not text:
        raise ValidationError({"text": _("Give the conditions or the reasons for the rejection.")})
    clean_text(text=text)
    check_signer(user=by, password=password, otp_token=otp_token)
    now = timezone.now()
    content = decision_content(case, outcome, text, by)
    digest = hashlib.sha256(content.encode()).hexdigest()
    to = Stage.CLOSED if outcome == Outcome.REJECTED else Stage.EXTRACTION
    label = str(Outcome(outcome).label)
    case = move(
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
    tell_applicant(case, _("Decision on your application"), f"{label}\n{text}")
    return case


@service
def extraction_assign(
    *, case: DataRequest, by: User, engineer: User | None, estimated_hours: int, reason: str = ""
) -> DataRequest:
    """A case officer assigns the extraction to a data engineer of the region."""
    case = locked(case)
    require(may.is_officer(by, case), _("Only a case officer assigns the extraction."))
    refuse_unless(case, Stage.EXTRACTION)
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
    clean_text(reason=reason)
    with because(reason):
        case.engineer = engineer
        case.estimated_hours = estimated_hours
        case.save(update_fields=["engineer", "estimated_hours"])
    mail([engineer.email], f"{case.reference}: {_('Extraction assigned to you')}", case.title)
    return case


@service
def extraction_complete(*, case: DataRequest, by: User, output_description: str) -> DataRequest:
    """The assigned engineer has prepared the output (small cells suppressed): it goes to
    disclosure review by someone else."""
    case = locked(case)
    require(
        case.engineer_id is not None and case.engineer_id == by.pk,
        _("Only the data engineer assigned to the extraction marks it done."),
    )
    refuse_unless(case, Stage.EXTRACTION)
    output_description = reason_text(
        output_description, _("Describe the output and how small cells were suppressed.")
    )
    return move(
        case,
        Stage.DISCLOSURE_REVIEW,
        by=by,
        reason=output_description,
        output_description=output_description,
        extraction_done_at=timezone.now(),
    )


@service
def disclosure_review_record(*, case: DataRequest, by: User, passed: bool, comment: str) -> Review:
    """A second person checks the output for disclosure: passed, or back to extraction."""
    case = locked(case)
    require(
        may.is_data_engineer(by, case) or may.is_officer(by, case),
        _("Only a data engineer or case officer of the region reviews the output."),
    )
    refuse_unless(case, Stage.DISCLOSURE_REVIEW)
    if case.engineer_id == by.pk:
        raise PermissionDenied(_("The output is reviewed by someone other than its extractor."))
    comment = reason_text(comment, _("Say what was checked."))
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
        move(case, Stage.EXTRACTION, by=by, reason=comment)
    return review


def _latest_disclosure(case: DataRequest) -> Review | None:
    return (
        Review.objects.filter(request=case, version=case.version, kind=Review.Kind.DISCLOSURE)
        .order_by("-created_at", "-id")
        .first()
    )


@service
def datarequest_deliver(
    *, case: DataRequest, by: User, checksum: str, row_count: int, reason: str = ""
) -> DataRequest:
    """The reviewed output is delivered: its SHA-256 and row count are recorded."""
    case = locked(case)
    require(
        may.is_data_engineer(by, case) or may.is_officer(by, case),
        _("Only a data engineer or case officer of the region delivers."),
    )
    refuse_unless(case, Stage.DISCLOSURE_REVIEW)
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
    clean_text(reason=reason)
    case = move(
        case,
        Stage.DELIVERED,
        by=by,
        reason=reason,
        checksum=checksum,
        row_count=row_count,
        delivered_at=timezone.now(),
    )
    tell_applicant(
        case,
        _("Your data has been delivered"),
        _("SHA-256 %(checksum)s, %(rows)d rows. Confirm the receipt in trialnode.")
        % {"checksum": checksum, "rows": row_count},
    )
    return case


@service
def datarequest_confirm_receipt(*, case: DataRequest, by: User, reason: str = "") -> DataRequest:
    """The recipient confirms the delivery; the case is closed."""
    case = locked(case)
    require(may.is_applicant(by, case), _("Only the recipient confirms the receipt."))
    refuse_unless(case, Stage.DELIVERED)
    reason = (reason or "").strip() or _("Receipt confirmed by the recipient")
    clean_text(reason=reason)
    return move(case, Stage.CLOSED, by=by, reason=reason, receipt_confirmed_at=timezone.now())


@service
def datarequest_withdraw(*, case: DataRequest, by: User, reason: str) -> DataRequest:
    """The applicant withdraws the application, at any stage before it is closed."""
    case = locked(case)
    require(
        may.is_applicant(by, case) or may.is_officer(by, case),
        _("Only the applicant (or a case officer on their behalf) withdraws."),
    )
    refuse_unless(case, Stage.DRAFT, *OPEN_STAGES)
    reason = reason_text(reason, _("Give the reason for the withdrawal."))
    return move(case, Stage.WITHDRAWN, by=by, reason=reason, outcome=Outcome.WITHDRAWN)


VERSIONED_FIELDS = (*EDITABLE_FIELDS, "outcome", "decision_text", "decided_at", "decision_hash",
                    "checksum", "row_count", "estimated_hours")  # fmt: skip


@service
def datarequest_amend(*, case: DataRequest, by: User, reason: str) -> DataRequest:
    """Reopen a closed, approved case as a new version (a draft): the closed version's
    content, reviews and stage periods are kept."""
    case = locked(case)
    require(may.is_applicant(by, case), _("Only the applicant amends the application."))
    refuse_unless(case, Stage.CLOSED)
    if case.outcome not in (Outcome.APPROVED, Outcome.APPROVED_WITH_CONDITIONS):
        raise StepRefused(
            _("Only an approved case can be amended; apply anew."), code="out_of_order"
        )
    reason = reason_text(reason, _("Say what the amendment changes."))
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
    return move(
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
