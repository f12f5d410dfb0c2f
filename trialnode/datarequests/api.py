"""Health-data requests over the API: every step of a case, and the measures.

Writes and case reads take a personal token (``Authorization: Bearer …``) or the
browser session; the measures are public like the other statistics.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from trialnode.api_auth import WRITE_AUTH, WriteAuthRequest
from trialnode.datarequests import services
from trialnode.datarequests.clock import today
from trialnode.datarequests.models import DataRequest
from trialnode.datarequests.selectors import measures, standing
from trialnode.organisations.models import CareProvider, User

router = Router(tags=["datarequests"])


class DataRequestDetail(Schema):
    detail: str


class PercentilesOut(Schema):
    median: float | None
    p90: float | None


class HolderLeadTimeOut(Schema):
    delivered: int
    median: float | None
    p90: float | None


class DataRequestMeasuresOut(Schema):
    year: int
    cases: int
    by_stage: dict[str, int]
    delivered: int
    lead_time_working_days: PercentilesOut
    within_target: float | None
    by_source: dict[str, int]
    by_outcome: dict[str, int]
    lead_time_by_stage: dict[str, PercentilesOut]
    lead_time_by_data_holder: dict[str, HolderLeadTimeOut]


class DataRequestMeasuresQuery(Schema):
    year: int = Field(default_factory=lambda: today().year, ge=2000, le=2100)
    region: list[str] = Field(default_factory=list, description="Region slugs (repeatable)")


@router.get(
    "/datarequests/measures",
    response={200: DataRequestMeasuresOut, 400: DataRequestDetail},
    summary="Waiting-time measures of the cases submitted in a year",
    description="Cases first submitted in the year; `by_stage` is their current stage and "
    "adds up to `cases`; lead time in working days (Swedish holidays) from submission to "
    "delivery, the applicant's time left out; `within_target` the share of cases whose every "
    "finished stage kept its target (null when none has finished one). The same numbers as "
    "the statistics dashboard and the yearly report.",
)
def datarequest_measures(request: HttpRequest, query: Query[DataRequestMeasuresQuery]):
    return measures(query.year, tuple(query.region)).as_api()


class VariableIO(Schema):
    source: str = Field(max_length=200)
    variable: str = Field(max_length=200)
    period_from: dt.date
    period_to: dt.date
    comment: str = Field("", max_length=500)


class AttachmentOut(Schema):
    id: int
    kind: str
    file_name: str
    size: int
    sha256: str


class ReviewOut(Schema):
    kind: str
    version: int
    recommendation: str
    comment: str
    reviewer: str
    created_at: dt.datetime


class PeriodOut(Schema):
    version: int
    stage: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    reason: str


class StandingOut(Schema):
    stage: str
    since: dt.datetime
    expected_by: dt.date | None
    clock_stopped: bool
    overdue: bool
    working_days_in_stage: int


class CaseOut(Schema):
    id: int
    reference: str
    version: int
    stage: str
    outcome: str
    title: str
    purpose: str
    applicant_organisation: str
    applicant_kind: str
    data_holder: str
    other_care_providers: str
    source: str
    legal_basis: str
    epm_dnr: str
    epm_decision_date: dt.date | None
    cohort_description: str
    environment: str
    output_kind: str
    submitted_at: dt.datetime | None
    decided_at: dt.datetime | None
    decision_text: str
    decision_hash: str
    engineer: str | None
    estimated_hours: int | None
    checksum: str
    row_count: int | None
    receipt_confirmed_at: dt.datetime | None
    standing: StandingOut
    variables: list[VariableIO]
    attachments: list[AttachmentOut]
    reviews: list[ReviewOut]
    history: list[PeriodOut]


class CaseIn(Schema):
    title: str = Field(max_length=300)
    purpose: str = Field(max_length=5000)
    applicant_organisation: str = Field(max_length=200)
    applicant_kind: str
    data_holder: str = Field(description="Slug of the care provider that holds the data")
    other_care_providers: str = Field("", max_length=500)
    source: str
    legal_basis: str
    epm_dnr: str = Field(max_length=20)
    epm_decision_date: dt.date | None = None
    cohort_description: str = Field("", max_length=5000)
    environment: str = Field("", max_length=2000)
    output_kind: str


class CasePatch(Schema):
    fields: dict[str, Any] = Field(description="Fields of the application to change")


def _out(case: DataRequest) -> dict[str, Any]:
    where = standing(case)
    return {
        **{name: getattr(case, name) for name in CaseOut.model_fields if hasattr(case, name)},
        "data_holder": case.data_holder.slug,
        "engineer": case.engineer.get_username() if case.engineer else None,
        "standing": {
            "stage": where.stage,
            "since": where.since,
            "expected_by": where.due,
            "clock_stopped": where.clock_stopped,
            "overdue": where.overdue,
            "working_days_in_stage": where.working_days_in_stage,
        },
        "variables": [
            {
                "source": v.source,
                "variable": v.name,
                "period_from": v.period_from,
                "period_to": v.period_to,
                "comment": v.comment,
            }
            for v in case.variables.all()
        ],
        "attachments": [
            {
                "id": a.pk,
                "kind": a.kind,
                "file_name": a.original_name,
                "size": a.size,
                "sha256": a.sha256,
            }
            for a in case.attachments.all()
        ],
        "reviews": [
            {
                "kind": r.kind,
                "version": r.version,
                "recommendation": r.recommendation,
                "comment": r.comment,
                "reviewer": str(r.reviewer),
                "created_at": r.created_at,
            }
            for r in case.reviews.select_related("reviewer")
        ],
        "history": [
            {
                "version": p.version,
                "stage": p.stage,
                "started_at": p.started_at,
                "ended_at": p.ended_at,
                "reason": p.reason,
            }
            for p in case.periods.order_by("started_at", "id")
        ],
    }


def _case(request: WriteAuthRequest, case_id: int) -> DataRequest:
    return get_object_or_404(
        DataRequest.objects.visible_to(request.auth).select_related("data_holder", "engineer"),
        pk=case_id,
    )


def _fields(payload: dict[str, Any]) -> dict[str, Any]:
    fields = dict(payload)
    if "data_holder" in fields:
        holder = CareProvider.objects.filter(slug=str(fields["data_holder"])).first()
        if holder is None:
            raise ValidationError({"data_holder": "No care provider with that slug."})
        fields["data_holder"] = holder
    if isinstance(fields.get("epm_decision_date"), str):
        fields["epm_decision_date"] = dt.date.fromisoformat(fields["epm_decision_date"])
    return fields


CASE_RESPONSES: dict[int, Any] = {
    200: CaseOut,
    400: DataRequestDetail,
    401: DataRequestDetail,
    403: DataRequestDetail,
    404: DataRequestDetail,
}


@router.get(
    "/datarequests",
    response={200: list[CaseOut], 401: DataRequestDetail},
    auth=WRITE_AUTH,
    summary="The cases you may see (your own, or those at your stage and organisation)",
)
def list_datarequests(request: WriteAuthRequest, stage: str | None = None):
    queryset = DataRequest.objects.visible_to(request.auth).select_related(
        "data_holder", "engineer"
    )
    if stage:
        queryset = queryset.filter(stage=stage)
    return [_out(case) for case in queryset.order_by("-created_at")[:200]]


@router.post(
    "/datarequests",
    response={201: CaseOut, 400: DataRequestDetail, 401: DataRequestDetail},
    auth=WRITE_AUTH,
    summary="Start an application (a draft)",
)
def create_datarequest(request: WriteAuthRequest, payload: CaseIn):
    case = services.datarequest_create(by=request.auth, fields=_fields(payload.model_dump()))
    return Status(201, _out(case))


@router.get("/datarequests/{case_id}", response=CASE_RESPONSES, auth=WRITE_AUTH, summary="One case")
def get_datarequest(request: WriteAuthRequest, case_id: int):
    return _out(_case(request, case_id))


@router.patch(
    "/datarequests/{case_id}",
    response=CASE_RESPONSES,
    auth=WRITE_AUTH,
    summary="Change the application (draft or returned for supplement)",
)
def update_datarequest(request: WriteAuthRequest, case_id: int, payload: CasePatch):
    case = services.datarequest_update(
        case=_case(request, case_id), by=request.auth, fields=_fields(payload.fields)
    )
    return _out(case)


class VariablesIn(Schema):
    variables: list[VariableIO] = Field(max_length=500)


@router.put(
    "/datarequests/{case_id}/variables",
    response=CASE_RESPONSES,
    auth=WRITE_AUTH,
    summary="Replace the variable list (at most 500 rows)",
)
def replace_variables(request: WriteAuthRequest, case_id: int, payload: VariablesIn):
    case = _case(request, case_id)
    services.variables_replace(
        case=case,
        by=request.auth,
        rows=[
            services.VariableRow(v.source, v.variable, v.period_from, v.period_to, v.comment)
            for v in payload.variables
        ],
    )
    return _out(case)


# Optional in the schema, so that the case and the role are checked before the file.
ATTACHMENT_KIND = Form("")
ATTACHMENT_FILE = File(None)


@router.post(
    "/datarequests/{case_id}/attachments",
    response={
        201: CaseOut,
        400: DataRequestDetail,
        401: DataRequestDetail,
        403: DataRequestDetail,
        404: DataRequestDetail,
    },
    auth=WRITE_AUTH,
    summary="Attach a PDF (multipart: kind, file)",
    description="kind: epm_application, epm_decision, consent or other; file: a PDF.",
)
def add_attachment(
    request: WriteAuthRequest,
    case_id: int,
    kind: str = ATTACHMENT_KIND,
    file: UploadedFile | None = ATTACHMENT_FILE,
):
    case = _case(request, case_id)
    services.attachment_add(case=case, by=request.auth, kind=kind, upload=file)
    return Status(201, _out(case))


class DataRequestReasonIn(Schema):
    reason: str = Field("", max_length=2000)


class ReviewIn(Schema):
    kind: Literal["legal", "technical"]
    recommendation: Literal["approve", "approve_with_conditions", "reject"]
    comment: str = Field(max_length=5000)


class DataRequestDecisionIn(Schema):
    outcome: Literal["approved", "approved_with_conditions", "rejected"]
    text: str = Field("", max_length=5000)
    password: str = Field(description="The deciding officer's password: the electronic signature")
    otp_token: str = Field("", description="The authenticator code, when the signer has one")


class AssignIn(Schema):
    engineer: str = Field(description="User name of a data engineer of the region")
    estimated_hours: int = Field(ge=1, le=10000)
    reason: str = Field("", max_length=2000)


class ExtractionDoneIn(Schema):
    output_description: str = Field(max_length=2000)


class DisclosureIn(Schema):
    passed: bool
    comment: str = Field(max_length=5000)


class DeliverIn(Schema):
    checksum: str = Field(description="SHA-256 of the delivered file, 64 hex digits")
    row_count: int = Field(ge=0)
    reason: str = Field("", max_length=2000)


def _step(request: WriteAuthRequest, case_id: int, action: Callable[..., Any], **kwargs: Any):
    """Take a step on a case the user can see; the answer is the case after the step."""
    case = _case(request, case_id)
    action(case=case, by=request.auth, **kwargs)
    return _out(DataRequest.objects.select_related("data_holder", "engineer").get(pk=case.pk))


def _post(path: str, summary: str):
    return router.post(path, response=CASE_RESPONSES, auth=WRITE_AUTH, summary=summary)


@_post("/datarequests/{case_id}/submit", "Submit (or send the supplement)")
def submit_datarequest(request: WriteAuthRequest, case_id: int, payload: DataRequestReasonIn):
    return _step(request, case_id, services.datarequest_submit, reason=payload.reason)


@_post("/datarequests/{case_id}/return", "Return for supplement (the clock stops)")
def return_datarequest(request: WriteAuthRequest, case_id: int, payload: DataRequestReasonIn):
    return _step(
        request, case_id, services.datarequest_return_for_supplement, reason=payload.reason
    )


@_post("/datarequests/{case_id}/accept", "Find the application complete: pre-qualification")
def accept_datarequest(request: WriteAuthRequest, case_id: int, payload: DataRequestReasonIn):
    return _step(request, case_id, services.datarequest_accept_complete, reason=payload.reason)


@_post("/datarequests/{case_id}/reviews", "Record a legal review or technical feasibility")
def review_datarequest(request: WriteAuthRequest, case_id: int, payload: ReviewIn):
    return _step(
        request,
        case_id,
        services.review_record,
        kind=payload.kind,
        recommendation=payload.recommendation,
        comment=payload.comment,
    )


@_post("/datarequests/{case_id}/decide", "Decide, signed with the password")
def decide_datarequest(request: WriteAuthRequest, case_id: int, payload: DataRequestDecisionIn):
    return _step(
        request,
        case_id,
        services.datarequest_decide,
        outcome=payload.outcome,
        text=payload.text,
        password=payload.password,
        otp_token=payload.otp_token,
    )


@_post("/datarequests/{case_id}/assign", "Assign the extraction to a data engineer")
def assign_datarequest(request: WriteAuthRequest, case_id: int, payload: AssignIn):
    engineer = User.objects.filter(username=payload.engineer, is_active=True).first()
    return _step(
        request,
        case_id,
        services.extraction_assign,
        engineer=engineer,
        estimated_hours=payload.estimated_hours,
        reason=payload.reason,
    )


@_post("/datarequests/{case_id}/extraction-done", "The assigned engineer's output is ready")
def extraction_done(request: WriteAuthRequest, case_id: int, payload: ExtractionDoneIn):
    return _step(
        request,
        case_id,
        services.extraction_complete,
        output_description=payload.output_description,
    )


@_post("/datarequests/{case_id}/disclosure-review", "Disclosure review by a second person")
def disclosure_review(request: WriteAuthRequest, case_id: int, payload: DisclosureIn):
    return _step(
        request,
        case_id,
        services.disclosure_review_record,
        passed=payload.passed,
        comment=payload.comment,
    )


@_post("/datarequests/{case_id}/deliver", "Deliver: checksum and row count")
def deliver_datarequest(request: WriteAuthRequest, case_id: int, payload: DeliverIn):
    return _step(
        request,
        case_id,
        services.datarequest_deliver,
        checksum=payload.checksum,
        row_count=payload.row_count,
        reason=payload.reason,
    )


@_post("/datarequests/{case_id}/confirm", "The recipient confirms the receipt; closed")
def confirm_datarequest(request: WriteAuthRequest, case_id: int, payload: DataRequestReasonIn):
    return _step(request, case_id, services.datarequest_confirm_receipt, reason=payload.reason)


@_post("/datarequests/{case_id}/withdraw", "Withdraw the application")
def withdraw_datarequest(request: WriteAuthRequest, case_id: int, payload: DataRequestReasonIn):
    return _step(request, case_id, services.datarequest_withdraw, reason=payload.reason)


@_post("/datarequests/{case_id}/amend", "Reopen a closed, approved case as a new version")
def amend_datarequest(request: WriteAuthRequest, case_id: int, payload: DataRequestReasonIn):
    return _step(request, case_id, services.datarequest_amend, reason=payload.reason)
