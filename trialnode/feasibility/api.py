"""Feasibility inquiries over the API: the sponsor submits and reads answers, the coordinator
triages and dispatches; the measures are public, the same numbers as the dashboard."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import ValidationError as PydanticError

from trialnode.api_auth import WRITE_AUTH, ActiveSessionAuth, TokenAuth
from trialnode.feasibility import selectors, services
from trialnode.feasibility.models import (
    DirectoryEntry,
    Inquiry,
    InquiryKind,
    InquiryMessage,
    Recipient,
    handled_region_ids,
)
from trialnode.organisations.models import CareProvider, Node, Region

router = Router(tags=["feasibility"])


def _anonymous(request: HttpRequest) -> AnonymousUser:
    return AnonymousUser()


# Public reads: a token or a session is accepted, and so is no authentication at all.
OPEN_AUTH = [TokenAuth(), ActiveSessionAuth(), _anonymous]


class FeasibilityDetail(Schema):
    detail: str


class Spread(Schema):
    median: float | None
    p90: float | None


class FeasibilityMeasuresOut(Schema):
    year: int
    node: str | None
    inquiries: int
    dispatched: int
    dispatch_rate: float
    with_positive_answer: int
    days_to_dispatch: Spread
    days_to_first_answer: Spread
    recipients: int
    answered_recipients: int
    answer_rate: float
    by_kind: dict[str, int]
    by_sponsor_type: dict[str, int]
    by_therapy_area: dict[str, int]


class FeasibilityMeasuresQuery(Schema):
    year: int = Field(..., ge=2000, le=2100, description="Inquiries submitted in this year")
    node: str | None = Field(None, max_length=50, description="A node's slug; none: Sweden")


@router.get(
    "/feasibility/measures",
    response={200: FeasibilityMeasuresOut, 400: FeasibilityDetail, 404: FeasibilityDetail},
    auth=OPEN_AUTH,
    summary="Measures of the feasibility inquiries submitted in a year, nationally or per node",
    description="Dispatched: sent to at least one unit (of the node's regions, for a node); "
    "days from submission to the first dispatch and to the first answer (median, 90th "
    "percentile; null when none); with_positive_answer: at least one unit interested or "
    "wanting more information. The same numbers as the statistics dashboard.",
)
def feasibility_measures(request: HttpRequest, params: Query[FeasibilityMeasuresQuery]):
    scope = None
    if params.node:
        node = Node.objects.filter(slug=params.node).first()
        if node is None:
            raise Http404
        scope = frozenset(node.regions.values_list("pk", flat=True))
    return {**selectors.measures(params.year, scope).as_dict(), "node": params.node}


class InquiryIn(Schema):
    kind: str = Field(..., pattern="^(country|site)$")
    title: str = Field(..., min_length=1, max_length=300)
    therapy_area: str = Field(..., max_length=6, description="ICD-10 chapter, e.g. IX")
    specialty: str = Field("", max_length=200)
    product: str = Field("", max_length=300)
    reply_by: dt.date
    sponsor_contact_name: str = Field(..., min_length=1, max_length=200)
    sponsor_contact_email: str = Field(..., max_length=254)
    planned_start: dt.date | None = None
    is_atmp: bool | None = None
    indication_purpose: str = Field("", max_length=5000)
    phase: str = Field("", max_length=20)
    ce_marked: str = Field("", max_length=10)
    inclusion_criteria: str = Field("", max_length=10000)
    exclusion_criteria: str = Field("", max_length=10000)
    special_requirements: str = Field("", max_length=5000)
    timeline: str = Field("", max_length=5000)
    target_enrolment: int | None = Field(None, ge=0, le=1_000_000)
    investigators_contacted: str = Field("", max_length=5000)
    sweden_chosen: str = Field("", max_length=10)
    all_sweden: bool = False
    regions: list[str] = Field(default_factory=list, max_length=21, description="Region slugs")
    providers: list[str] = Field(
        default_factory=list, max_length=100, description="Care provider slugs"
    )


class MessageOut(Schema):
    kind: str
    author: str
    text: str
    created_at: dt.datetime


class AnswerOut(Schema):
    recipient_id: int
    region: str
    care_provider: str
    unit: str
    investigator: str
    dispatched_at: dt.datetime
    response: str
    decline_reason: str
    eligible_per_year: int | None
    comments: str
    answered_at: dt.datetime | None
    early_feedback: dict[str, str]


class InquiryOut(Schema):
    id: int
    reference: str
    kind: str
    state: str
    title: str
    organisation: str
    therapy_area: str
    reply_by: dt.date
    all_sweden: bool
    regions: list[str]
    providers: list[str]
    has_synopsis: bool
    submitted_at: dt.datetime
    dispatched_at: dt.datetime | None
    answered_at: dt.datetime | None
    compiled_answer: str
    messages: list[MessageOut]
    answers: list[AnswerOut]


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _answer_out(r: Recipient) -> dict[str, Any]:
    return {
        "recipient_id": r.pk,
        "region": r.region.slug,
        "care_provider": r.entry.care_provider.name,
        "unit": r.entry.unit_name,
        "investigator": r.entry.investigator,
        "dispatched_at": r.dispatched_at,
        "response": r.response,
        "decline_reason": r.decline_reason,
        "eligible_per_year": r.eligible_per_year,
        "comments": r.comments,
        "answered_at": r.answered_at,
        "early_feedback": {
            name: getattr(r, name)
            for name in (
                "population_exists",
                "recruitment_chance",
                "recruitment_limit",
                "discouraging_factors",
                "standard_of_care",
                "care_setting",
            )
            if getattr(r, name)
        },
    }


def _out(inquiry: Inquiry) -> dict[str, Any]:
    return {
        "id": inquiry.pk,
        "reference": inquiry.reference,
        "kind": inquiry.kind,
        "state": inquiry.state,
        "title": inquiry.title,
        "organisation": inquiry.organisation.name,
        "therapy_area": inquiry.therapy_area,
        "reply_by": inquiry.reply_by,
        "all_sweden": inquiry.all_sweden,
        "regions": sorted(r.slug for r in inquiry.target_regions.all()),
        "providers": sorted(p.slug for p in inquiry.target_providers.all()),
        "has_synopsis": bool(inquiry.synopsis_path),
        "submitted_at": inquiry.submitted_at,
        "dispatched_at": inquiry.dispatched_at,
        "answered_at": inquiry.answered_at,
        "compiled_answer": inquiry.compiled_answer,
        "messages": [
            {"kind": m.kind, "author": str(m.author), "text": m.text, "created_at": m.created_at}
            for m in inquiry.messages.all()
        ],
        "answers": [
            _answer_out(r)
            for r in sorted(
                inquiry.recipients.all(),
                key=lambda r: (r.region.name, r.entry.care_provider.name, r.entry.unit_name),
            )
        ],
    }


def _with_details(queryset):
    """Everything ``_out`` shows, in a fixed number of queries."""
    return queryset.select_related("organisation").prefetch_related(
        "target_regions",
        "target_providers",
        Prefetch("messages", queryset=InquiryMessage.objects.select_related("author")),
        Prefetch(
            "recipients",
            queryset=Recipient.objects.select_related("region", "entry__care_provider"),
        ),
    )


def _fresh(inquiry: Inquiry) -> dict[str, Any]:
    return _out(_with_details(Inquiry.objects).get(pk=inquiry.pk))


def _visible(request: HttpRequest, inquiry_id: int) -> Inquiry:
    return get_object_or_404(
        _with_details(Inquiry.objects.visible_to(_user(request))), pk=inquiry_id
    )


@router.get(
    "/feasibility/inquiries",
    response={200: list[InquiryOut], 401: FeasibilityDetail},
    auth=WRITE_AUTH,
    summary="The inquiries you may see: your organisation's, or those of your regions",
)
def list_inquiries(request: HttpRequest, state: str | None = None):
    queryset = _with_details(Inquiry.objects.visible_to(_user(request)))
    if state:
        queryset = queryset.filter(state=state)
    return [_out(item) for item in queryset[:200]]


@router.post(
    "/feasibility/inquiries",
    response={
        201: InquiryOut,
        400: FeasibilityDetail,
        401: FeasibilityDetail,
        403: FeasibilityDetail,
    },
    auth=WRITE_AUTH,
    summary="Submit a country or site inquiry (multipart: `inquiry` as JSON, `synopsis` PDF)",
)
def create_inquiry(
    request: HttpRequest,
    inquiry: Form[str],
    synopsis: UploadedFile | None = File(None),  # noqa: B008
):
    if len(inquiry) > 100_000:
        raise ValidationError("The inquiry is too long.")
    try:
        payload = InquiryIn.model_validate_json(inquiry)
    except PydanticError as exc:
        raise ValidationError(
            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        ) from None
    regions = list(Region.objects.filter(slug__in=payload.regions))
    providers = list(CareProvider.objects.filter(slug__in=payload.providers))
    unknown = set(payload.regions) - {r.slug for r in regions}
    unknown |= set(payload.providers) - {p.slug for p in providers}
    if unknown:
        raise ValidationError(f"Unknown regions or care providers: {', '.join(sorted(unknown))}")
    fields = payload.dict(exclude={"kind", "all_sweden", "regions", "providers"})
    created = services.inquiry_submit(
        by=_user(request),
        kind=InquiryKind(payload.kind),
        fields=fields,
        all_sweden=payload.all_sweden,
        regions=regions,
        providers=providers,
        synopsis=synopsis,
        base_url=request.build_absolute_uri("/"),
    )
    return Status(201, _out(created))


@router.get(
    "/feasibility/inquiries/{inquiry_id}",
    response={200: InquiryOut, 401: FeasibilityDetail, 404: FeasibilityDetail},
    auth=WRITE_AUTH,
    summary="One inquiry with the units asked, their answers and the compiled answer",
)
def get_inquiry(request: HttpRequest, inquiry_id: int):
    return _out(_visible(request, inquiry_id))


class TextIn(Schema):
    text: str = Field(..., max_length=20000)


class FeasibilityReasonIn(Schema):
    reason: str = Field("", max_length=500)


STEP_RESPONSES = {
    200: InquiryOut,
    400: FeasibilityDetail,
    401: FeasibilityDetail,
    403: FeasibilityDetail,
    404: FeasibilityDetail,
}


@router.post(
    "/feasibility/inquiries/{inquiry_id}/questions",
    response=STEP_RESPONSES,
    auth=WRITE_AUTH,
    summary="Coordinator: ask the sponsor for what is missing",
)
def ask_sponsor(request: HttpRequest, inquiry_id: int, payload: TextIn):
    inquiry = _visible(request, inquiry_id)
    services.inquiry_ask_sponsor(
        inquiry=inquiry, by=_user(request), text=payload.text, base_url=_base(request)
    )
    return _fresh(inquiry)


@router.post(
    "/feasibility/inquiries/{inquiry_id}/replies",
    response=STEP_RESPONSES,
    auth=WRITE_AUTH,
    summary="Sponsor: reply to the coordinator's question",
)
def reply_to_question(request: HttpRequest, inquiry_id: int, payload: TextIn):
    inquiry = _visible(request, inquiry_id)
    services.inquiry_reply_to_question(
        inquiry=inquiry, by=_user(request), text=payload.text, base_url=_base(request)
    )
    return _fresh(inquiry)


@router.post(
    "/feasibility/inquiries/{inquiry_id}/triage",
    response=STEP_RESPONSES,
    auth=WRITE_AUTH,
    summary="Coordinator: the inquiry is complete",
)
def triage_inquiry(request: HttpRequest, inquiry_id: int):
    inquiry = _visible(request, inquiry_id)
    services.inquiry_triage(inquiry=inquiry, by=_user(request))
    return _fresh(inquiry)


class EntryOut(Schema):
    id: int
    region: str
    care_provider: str
    unit: str
    investigator: str
    specialty: str
    therapy_areas: list[str]
    is_expert: bool
    proposed: bool


class CompetingStudyOut(Schema):
    id: int
    title: str
    status: str


class ProposalOut(Schema):
    entries: list[EntryOut]
    competing_studies: list[CompetingStudyOut]
    competing_count: int


def _entry_out(entry: DirectoryEntry, proposed: set[int]) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "region": entry.care_provider.region.slug,
        "care_provider": entry.care_provider.name,
        "unit": entry.unit_name,
        "investigator": entry.investigator,
        "specialty": entry.specialty,
        "therapy_areas": entry.therapy_areas or [],
        "is_expert": entry.is_expert,
        "proposed": entry.pk in proposed,
    }


@router.get(
    "/feasibility/inquiries/{inquiry_id}/proposal",
    response={
        200: ProposalOut,
        401: FeasibilityDetail,
        403: FeasibilityDetail,
        404: FeasibilityDetail,
    },
    auth=WRITE_AUTH,
    summary="Coordinator: the units you may send to (proposed ones marked) and competing studies",
)
def inquiry_proposal(request: HttpRequest, inquiry_id: int):
    inquiry = _visible(request, inquiry_id)
    user = _user(request)
    if not Inquiry.objects.handled_by(user).filter(pk=inquiry.pk).exists():
        raise PermissionDenied("You do not handle this inquiry.")
    proposed = {e.pk for e in services.proposal_entries(inquiry, user)}
    competing = selectors.competing_studies(inquiry)
    return {
        "entries": [_entry_out(e, proposed) for e in services.dispatchable_entries(inquiry, user)],
        "competing_studies": [
            {"id": s.pk, "title": s.title, "status": s.status} for s in competing[:100]
        ],
        "competing_count": competing.count(),
    }


class DispatchIn(Schema):
    entry_ids: list[int] = Field(..., min_length=1, max_length=500)


@router.post(
    "/feasibility/inquiries/{inquiry_id}/dispatch",
    response=STEP_RESPONSES,
    auth=WRITE_AUTH,
    summary="Coordinator: send the inquiry to directory units (each gets an answer link)",
)
def dispatch_inquiry(request: HttpRequest, inquiry_id: int, payload: DispatchIn):
    inquiry = _visible(request, inquiry_id)
    entries = list(DirectoryEntry.objects.filter(pk__in=payload.entry_ids))
    if len(entries) != len(set(payload.entry_ids)):
        raise ValidationError("Unknown directory entries.")
    services.inquiry_dispatch(
        inquiry=inquiry, by=_user(request), entries=entries, base_url=_base(request)
    )
    return _fresh(inquiry)


@router.post(
    "/feasibility/inquiries/{inquiry_id}/remind",
    response=STEP_RESPONSES,
    auth=WRITE_AUTH,
    summary="Coordinator: send new links to the units of your regions that have not answered",
)
def remind_inquiry(request: HttpRequest, inquiry_id: int):
    inquiry = _visible(request, inquiry_id)
    services.inquiry_remind(inquiry=inquiry, by=_user(request), base_url=_base(request))
    return _fresh(inquiry)


@router.post(
    "/feasibility/inquiries/{inquiry_id}/compile",
    response=STEP_RESPONSES,
    auth=WRITE_AUTH,
    summary="Coordinator: send the compiled answer to the sponsor",
)
def compile_inquiry(request: HttpRequest, inquiry_id: int, payload: TextIn):
    inquiry = _visible(request, inquiry_id)
    services.inquiry_compile(
        inquiry=inquiry, by=_user(request), text=payload.text, base_url=_base(request)
    )
    return _fresh(inquiry)


@router.post(
    "/feasibility/inquiries/{inquiry_id}/close",
    response=STEP_RESPONSES,
    auth=WRITE_AUTH,
    summary="Coordinator: close the inquiry (a reason is needed before the answer is sent)",
)
def close_inquiry(request: HttpRequest, inquiry_id: int, payload: FeasibilityReasonIn):
    inquiry = _visible(request, inquiry_id)
    services.inquiry_close(inquiry=inquiry, by=_user(request), reason=payload.reason)
    return _fresh(inquiry)


@router.get(
    "/feasibility/directory",
    response={200: list[EntryOut], 401: FeasibilityDetail, 403: FeasibilityDetail},
    auth=WRITE_AUTH,
    summary="Coordinator: the directory of units and investigators of your regions",
)
def list_directory(request: HttpRequest):
    user = _user(request)
    if not user.is_superuser and not handled_region_ids(user):
        raise PermissionDenied("Only coordinators read the directory.")
    entries = DirectoryEntry.objects.maintainable_by(user).select_related("care_provider__region")
    return [_entry_out(e, set()) for e in entries[:1000]]


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")
