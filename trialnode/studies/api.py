"""REST API for studies: the public search (same filters as the page) and authorised writes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from functools import cache
from typing import Annotated, Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel

from trialnode.api_auth import WRITE_AUTH, WriteAuthRequest
from trialnode.organisations.models import CareProvider, Region, Unit
from trialnode.studies import services
from trialnode.studies.filters import StudySearch
from trialnode.studies.models import Study, StudySite
from trialnode.studies.selectors import status_periods

router = Router(tags=["studies"])

# The answers are plain pydantic models, not ninja schemas: the views hand them dicts,
# which need none of ninja's per-object attribute getter (most of the search API's own
# time after the search). The published OpenAPI document is the same.


class SiteOut(BaseModel):
    region: str | None = Field(description="Empty for a site not yet placed in a region")
    region_name: str | None
    care_provider: str | None
    care_provider_name: str | None
    unit: str | None
    facility_name: str
    city: str
    investigator: str
    recruitment_status: str


class StudyOut(BaseModel):
    id: int
    reference: str
    url: str
    title: str
    title_sv: str
    title_en: str
    acronym: str
    status: str = Field(description="ClinicalTrials.gov overallStatus value")
    is_open_for_recruitment: bool
    study_type: str
    phase: str
    sponsor_name: str
    sponsor_type: str
    nct_id: str
    eu_ct_number: str
    eudract_number: str
    epm_dnr: str
    isrctn: str
    local_id: str
    source: str
    regions: list[str]
    updated_at: Any


class ConditionIO(Schema):
    icd10_code: str = ""
    text: str


class InterventionIO(Schema):
    type: str
    name: str
    atc_code: str = ""


class ContactIO(Schema):
    name: str
    role: str = ""
    email: str = ""
    phone: str = ""


class StatusChangeOut(BaseModel):
    """A period of one overall status: from ``effective_date`` until the day before
    ``until`` (empty while it is in force). The last one is the study's status."""

    status: str
    effective_date: date
    until: date | None


class StudyDetailOut(StudyOut):
    registration_state: str
    version: int
    interventional_kind: str
    is_multicentre: bool
    summary_sv: str
    summary_en: str
    research_subject: str
    start_date: date | None
    primary_completion_date: date | None
    completion_date: date | None
    planned_enrolment: int | None
    actual_enrolment: int | None
    min_age_years: int | None
    max_age_years: int | None
    sex: str
    healthy_volunteers: bool
    eligibility_criteria: str
    last_confirmed_at: date | None
    return_comment: str
    sites: list[SiteOut]
    conditions: list[ConditionIO]
    interventions: list[InterventionIO]
    contacts: list[ContactIO]
    status_history: list[StatusChangeOut]


class FacetValueOut(BaseModel):
    value: str
    label: str
    count: int
    selected: bool


class StudyListOut(BaseModel):
    count: int
    page: int
    page_size: int
    results: list[StudyOut]
    facets: dict[str, list[FacetValueOut]]


class SiteIn(Schema):
    region: str | None = Field(
        None, description="Region slug; taken from the care provider if omitted"
    )
    care_provider: str | None = Field(None, description="Care provider slug")
    unit: str | None = Field(None, description="Unit name at the care provider")
    facility_name: str = ""
    city: str = ""
    investigator: str = ""
    recruitment_status: str = ""


class StudyFieldsIn(Schema):
    title_sv: str = ""
    title_en: str = ""
    acronym: str = ""
    local_id: str = ""
    epm_dnr: str = ""
    eudract_number: str = ""
    eu_ct_number: str = ""
    nct_id: str = ""
    isrctn: str = ""
    study_type: str = ""
    interventional_kind: str = ""
    phase: str = ""
    is_multicentre: bool = False
    sponsor_name: str = ""
    sponsor_type: str = ""
    summary_sv: str = ""
    summary_en: str = ""
    research_subject: str = ""
    start_date: date | None = None
    completion_date: date | None = None
    planned_enrolment: int | None = None
    actual_enrolment: int | None = None
    min_age_years: int | None = None
    max_age_years: int | None = None
    sex: str = "ALL"
    healthy_volunteers: bool = False
    eligibility_criteria: str = ""


class StudyCreateIn(StudyFieldsIn):
    sites: list[SiteIn] = []
    conditions: list[ConditionIO] = []
    interventions: list[InterventionIO] = []
    contacts: list[ContactIO] = []
    allow_duplicate: bool = Field(False, description="Create even if likely duplicates exist")


class StudyUpdateIn(Schema):
    version: int = Field(description="The version the change is based on")
    fields: dict[str, Any] = {}
    sites: list[SiteIn] | None = None
    conditions: list[ConditionIO] | None = None
    interventions: list[InterventionIO] | None = None
    contacts: list[ContactIO] | None = None
    reason: str = Field("", description="Required when the study is published")


class ReturnIn(Schema):
    comment: str


class PublishIn(Schema):
    reason: str
    password: str = Field(description="The coordinator's password: the electronic signature")
    otp_token: str = Field("", description="The authenticator code, when the signer has one")


class StatusIn(Schema):
    status: str
    effective_date: date | None = None
    reason: str = ""


@cache
def _study_out_attributes() -> tuple[str, ...]:
    """The fields of ``StudyOut`` a study has as attributes (the others are made here)."""
    return tuple(name for name in StudyOut.model_fields if hasattr(Study, name))


def _detail_urls(request: HttpRequest) -> Callable[[int], str]:
    """The absolute URL of a study's page by its id, the URL pattern reversed once for a
    whole answer rather than once per study (a page of results)."""
    placeholder = request.build_absolute_uri(reverse("studies:detail", args=[0]))
    head, _zero, tail = placeholder.rpartition("/0/")
    return lambda pk: f"{head}/{pk}/{tail}"


def _study_out(
    study: Study, url: Callable[[int], str], sites: Iterable[StudySite]
) -> dict[str, Any]:
    data = {name: getattr(study, name) for name in _study_out_attributes()}
    data["url"] = url(study.pk)
    data["regions"] = sorted({site.region.slug for site in sites if site.region})
    return data


def _study_detail_out(study: Study, request: HttpRequest) -> dict[str, Any]:
    data = _study_out(study, _detail_urls(request), study.sites.all())
    data.update(
        {
            name: getattr(study, name)
            for name in StudyDetailOut.model_fields
            if name not in data
            and hasattr(study, name)
            and name not in ("sites", "conditions", "interventions", "contacts", "status_history")
        }
    )
    data["sites"] = [
        {
            "region": s.region.slug if s.region else None,
            "region_name": s.region.name if s.region else None,
            "care_provider": s.care_provider.slug if s.care_provider else None,
            "care_provider_name": s.care_provider.name if s.care_provider else None,
            "unit": s.unit.name if s.unit else None,
            "facility_name": s.facility_name,
            "city": s.city,
            "investigator": s.investigator,
            "recruitment_status": s.recruitment_status,
        }
        for s in study.sites.all()
    ]
    data["conditions"] = list(study.conditions.values("icd10_code", "text"))
    data["interventions"] = list(study.interventions.values("type", "name", "atc_code"))
    data["contacts"] = list(study.contacts.values("name", "role", "email", "phone"))
    data["status_history"] = [
        {"status": span.status, "effective_date": span.start, "until": span.end}
        for span in status_periods(study)
    ]
    return data


def _resolve_sites(sites: list[SiteIn] | None) -> list[dict[str, Any]] | None:
    """Turn slugs into objects; unknown slugs are a validation error naming them."""
    if sites is None:
        return None
    rows = []
    for position, site in enumerate(sites, start=1):
        row = site.dict()
        try:
            if row["care_provider"]:
                row["care_provider"] = CareProvider.objects.get(slug=row["care_provider"])
            else:
                row.pop("care_provider")
            if row["region"]:
                row["region"] = Region.objects.get(slug=row["region"])
            elif "care_provider" in row:
                row["region"] = row["care_provider"].region
            else:
                raise ValidationError(f"sites {position}: give a region or a care provider")
            if row["unit"]:
                row["unit"] = Unit.objects.get(
                    care_provider=row.get("care_provider"), name=row["unit"]
                )
            else:
                row.pop("unit")
        except ObjectDoesNotExist:
            raise ValidationError(
                f"sites {position}: unknown region, care provider or unit"
            ) from None
        rows.append(row)
    return rows


def _rows(items) -> list[dict[str, Any]] | None:
    return None if items is None else [item.dict() for item in items]


@router.get("/studies", response=StudyListOut, summary="Search published studies")
def list_studies(
    request: HttpRequest,
    q: str | None = None,
    status: Annotated[list[str] | None, Query()] = None,
    region: Annotated[list[str] | None, Query()] = None,
    care_provider: Annotated[list[str] | None, Query()] = None,
    recruiting: str | None = None,
    study_type: Annotated[list[str] | None, Query()] = None,
    phase: Annotated[list[str] | None, Query()] = None,
    sponsor_type: Annotated[list[str] | None, Query()] = None,
    condition_area: Annotated[list[str] | None, Query()] = None,
    age_group: Annotated[list[str] | None, Query()] = None,
    sex: str | None = None,
    healthy_volunteers: str | None = None,
    sort: str | None = None,
    page: str | None = None,
):
    """Filters take several values (repeated or comma-separated); unknown values give 400."""
    search = StudySearch.from_params(request.GET)
    result = search.run_public(page_size=settings.TRIALNODE_SEARCH_PAGE_SIZE)
    url = _detail_urls(request)
    return {
        "count": result.count,
        "page": result.page,
        "page_size": result.page_size,
        "results": [_study_out(study, url, sites) for study, sites in result.listed],
        "facets": {
            name: [value.__dict__ for value in values] for name, values in result.facets.items()
        },
    }


def _detail_queryset(request: HttpRequest):
    return Study.objects.visible_to(request.user).prefetch_related(
        "sites__region", "sites__care_provider", "sites__unit"
    )


@router.get("/studies/{study_id}", response=StudyDetailOut, summary="One study")
def get_study(request: HttpRequest, study_id: int):
    study = get_object_or_404(_detail_queryset(request), pk=study_id)
    return _study_detail_out(study, request)


@router.post(
    "/studies", response={201: StudyDetailOut}, auth=WRITE_AUTH, summary="Register a draft"
)
def create_study(request: WriteAuthRequest, payload: StudyCreateIn):
    data = payload.dict()
    children = {name: data.pop(name) for name in ("conditions", "interventions", "contacts")}
    data.pop("sites")
    allow_duplicate = data.pop("allow_duplicate")
    study = services.study_create(
        by=request.auth,
        fields=data,
        sites=_resolve_sites(payload.sites) or [],
        allow_duplicate=allow_duplicate,
        **children,
    )
    return Status(201, _study_detail_out(study, request))


@router.patch(
    "/studies/{study_id}", response=StudyDetailOut, auth=WRITE_AUTH, summary="Change a study"
)
def update_study(request: WriteAuthRequest, study_id: int, payload: StudyUpdateIn):
    study = get_object_or_404(Study.objects.visible_to(request.auth), pk=study_id)
    study = services.study_update(
        study=study,
        by=request.auth,
        expected_version=payload.version,
        fields=payload.fields,
        sites=_resolve_sites(payload.sites),
        conditions=_rows(payload.conditions),
        interventions=_rows(payload.interventions),
        contacts=_rows(payload.contacts),
        reason=payload.reason,
    )
    return _study_detail_out(study, request)


def _transition(request: WriteAuthRequest, study_id: int, action, **kwargs) -> dict[str, Any]:
    study = get_object_or_404(Study.objects.visible_to(request.auth), pk=study_id)
    study = action(study=study, by=request.auth, **kwargs)
    return _study_detail_out(study, request)


@router.post("/studies/{study_id}/submit", response=StudyDetailOut, auth=WRITE_AUTH)
def submit_study(request: WriteAuthRequest, study_id: int):
    return _transition(request, study_id, services.study_submit)


@router.post("/studies/{study_id}/publish", response=StudyDetailOut, auth=WRITE_AUTH)
def publish_study(request: WriteAuthRequest, study_id: int, payload: PublishIn):
    return _transition(
        request,
        study_id,
        services.study_publish,
        password=payload.password,
        reason=payload.reason,
        otp_token=payload.otp_token,
    )


@router.post("/studies/{study_id}/return", response=StudyDetailOut, auth=WRITE_AUTH)
def return_study(request: WriteAuthRequest, study_id: int, payload: ReturnIn):
    return _transition(request, study_id, services.study_return, comment=payload.comment)


@router.post("/studies/{study_id}/status", response=StudyDetailOut, auth=WRITE_AUTH)
def change_status(request: WriteAuthRequest, study_id: int, payload: StatusIn):
    return _transition(
        request,
        study_id,
        services.study_change_status,
        status=payload.status,
        effective_date=payload.effective_date,
        reason=payload.reason,
    )


@router.post("/studies/{study_id}/confirm", response=StudyDetailOut, auth=WRITE_AUTH)
def confirm_study(request: WriteAuthRequest, study_id: int):
    return _transition(request, study_id, services.study_confirm)
