"""FHIR R4B endpoints: read one ResearchStudy, and search them as a Bundle."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from trialnode.core import spreadsheets
from trialnode.interop import linking, spreadsheet
from trialnode.interop.exports import HEADER, ctgov_json_lines, study_rows
from trialnode.interop.fhir import (
    REFERENCE_SYSTEM,
    STATUS_R4,
    SYSTEM_FIELDS,
    capability_statement,
    research_study,
    research_study_r5,
    search_bundle,
)
from trialnode.interop.jobs import may_import
from trialnode.interop.models import StudyLink
from trialnode.jobs.services import job_start
from trialnode.organisations.http import AuthenticatedHttpRequest
from trialnode.organisations.models import CareProvider
from trialnode.studies.filters import FilterError, StudySearch
from trialnode.studies.models import Study

FHIR_JSON = "application/fhir+json"
SEARCH_PARAMETERS = {"identifier", "status", "_lastUpdated", "_count", "_page", "_format"}
PREFIXES = {"eq": "exact", "ge": "gte", "gt": "gt", "le": "lte", "lt": "lt"}


class SearchError(ValueError):
    pass


def _outcome(message: str, status: int, code: str = "invalid") -> JsonResponse:
    return JsonResponse(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": message}],
        },
        status=status,
        content_type=FHIR_JSON,
    )


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _studies():
    return Study.objects.published().prefetch_related(
        "conditions", "contacts", "sites__care_provider", "sites__unit"
    )


@require_GET
def research_study_read(request: HttpRequest, pk: int) -> JsonResponse:
    study = _studies().filter(pk=pk).first()
    if study is None:
        return _outcome(f"ResearchStudy/{pk} is not known", 404, "not-found")
    return JsonResponse(research_study(study, base_url=_base_url(request)), content_type=FHIR_JSON)


def _filter_identifier(queryset, value: str):
    system, _bar, code = value.rpartition("|")
    if not code:
        raise SearchError("identifier needs a value")
    if system == REFERENCE_SYSTEM or (not system and code.startswith("TN-")):
        number = code.removeprefix("TN-")
        return queryset.filter(pk=int(number)) if number.isdigit() else queryset.none()
    if system:
        field = SYSTEM_FIELDS.get(system)
        if field is None:
            raise SearchError(f"unknown identifier system {system}")
        return queryset.filter(**{field: code})
    from django.db.models import Q

    condition = Q()
    for field in SYSTEM_FIELDS.values():
        condition |= Q(**{field: code})
    return queryset.filter(condition)


def _filter_last_updated(queryset, value: str):
    prefix, rest = (value[:2], value[2:]) if value[:2] in PREFIXES else ("eq", value)
    if "T" not in rest:
        day = parse_date(rest)
        if day is None:
            raise SearchError(f"_lastUpdated: cannot read {value!r}")
        if prefix == "eq":
            return queryset.filter(updated_at__date=day)
        moment: dt.datetime | None = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    else:
        moment = parse_datetime(rest)
        if moment is None:
            raise SearchError(f"_lastUpdated: cannot read {value!r}")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
    return queryset.filter(**{f"updated_at__{PREFIXES[prefix]}": moment})


@require_GET
def research_study_search(request: HttpRequest) -> JsonResponse:
    unknown = set(request.GET) - SEARCH_PARAMETERS
    if unknown:
        return _outcome(f"Unknown search parameters: {', '.join(sorted(unknown))}", 400)
    queryset = _studies().order_by("pk")
    try:
        for value in request.GET.getlist("identifier"):
            queryset = _filter_identifier(queryset, value)
        statuses = [s for item in request.GET.getlist("status") for s in item.split(",") if s]
        if statuses:
            allowed = set(STATUS_R4.values())
            wrong = [s for s in statuses if s not in allowed]
            if wrong:
                raise SearchError(f"unknown status {', '.join(wrong)}")
            queryset = queryset.filter(
                status__in=[ctgov for ctgov, fhir in STATUS_R4.items() if fhir in statuses]
            )
        for value in request.GET.getlist("_lastUpdated"):
            queryset = _filter_last_updated(queryset, value)
        count = int(request.GET.get("_count", 20))
        page = int(request.GET.get("_page", 1))
        if not (1 <= count <= 100 and page >= 1):
            raise SearchError("_count must be 1–100 and _page at least 1")
    except (SearchError, ValueError) as exc:
        return _outcome(str(exc), 400)
    total = queryset.count()
    studies = list(queryset[(page - 1) * count : page * count])
    bundle = search_bundle(
        studies,
        total=total,
        base_url=_base_url(request),
        links=_page_links(request, page, count, total),
    )
    return JsonResponse(bundle, content_type=FHIR_JSON)


def _page_links(request: HttpRequest, page: int, count: int, total: int) -> dict[str, str]:
    """self, first, previous, next and last, each with the same search parameters."""
    last = max(1, -(-total // count))

    def url(number: int) -> str:
        query = request.GET.copy()
        query["_count"] = str(count)
        query["_page"] = str(number)
        return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")

    links = {"self": url(page), "first": url(1)}
    if page > 1:
        links["previous"] = url(min(page - 1, last))
    if page < last:
        links["next"] = url(page + 1)
    links["last"] = url(last)
    return links


@require_GET
def capability_statement_read(request: HttpRequest) -> JsonResponse:
    from importlib.metadata import version

    statement = capability_statement(
        base_url=_base_url(request), software_version=version("trialnode")
    )
    return JsonResponse(statement, content_type=FHIR_JSON)


def export_studies(request: HttpRequest, file_format: str) -> HttpResponse | StreamingHttpResponse:
    """The studies a public search finds, as CSV, XLSX or ClinicalTrials.gov-shaped JSON
    (all pages, same filters)."""
    try:
        search = StudySearch.from_params(request.GET)
    except FilterError as exc:
        return JsonResponse({"detail": str(exc), "errors": exc.errors}, status=400)
    queryset = search.filtered(Study.objects.published()).order_by("pk")
    filename = f"studies.{file_format}"
    if file_format == "csv":
        return spreadsheets.csv_response(
            filename, HEADER, study_rows(queryset), delimiter=spreadsheets.delimiter_for(request)
        )
    if file_format == "xlsx":
        return spreadsheets.xlsx_response(filename, [("studies", HEADER, study_rows(queryset))])
    response = StreamingHttpResponse(ctgov_json_lines(queryset), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def link_queue(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not linking.may_link(request.user):
        raise PermissionDenied
    links = linking.links_for(request.user).select_related("local", "registry")
    return render(request, "interop/link_queue.html", {"links": links[:200]})


@login_required
@require_POST
def link_decide(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    link = get_object_or_404(StudyLink, pk=pk)
    action = (
        linking.link_confirm if request.POST.get("decision") == "confirm" else (linking.link_reject)
    )
    try:
        action(link=link, by=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The decision was saved."))
    return redirect("link_queue")


@require_GET
def research_study_read_r5(request: HttpRequest, pk: int) -> JsonResponse:
    study = _studies().filter(pk=pk).first()
    if study is None:
        return _outcome(f"ResearchStudy/{pk} is not known", 404, "not-found")
    return JsonResponse(
        research_study_r5(study, base_url=_base_url(request)), content_type=FHIR_JSON
    )


@login_required
def unmatched_sites(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not linking.may_link(request.user):
        raise PermissionDenied
    sites = linking.unmatched_sites_for(request.user)
    if request.method == "POST":
        site = get_object_or_404(sites, pk=request.POST.get("site"))
        provider = CareProvider.objects.filter(slug=request.POST.get("care_provider")).first()
        if provider is None:
            messages.error(request, _("Choose a care provider."))
        else:
            try:
                linking.site_assign_provider(site=site, provider=provider, by=request.user)
            except (ValidationError, PermissionDenied) as exc:
                messages.error(request, str(exc))
            else:
                messages.success(
                    request, _("The site was linked to %(provider)s.") % {"provider": provider.name}
                )
        return redirect("unmatched_sites")
    return render(
        request,
        "interop/unmatched_sites.html",
        {
            "sites": sites.order_by("region__name", "city")[:500],
            "providers": CareProvider.objects.filter(is_active=True).order_by("name"),
        },
    )


UPLOAD_LIMIT = 5 * 1024 * 1024


@login_required
def spreadsheet_template(request: AuthenticatedHttpRequest) -> HttpResponse:
    return spreadsheets.xlsx_response(
        "trialnode-studies-template.xlsx",
        [("studies", spreadsheet.COLUMNS, [spreadsheet.TEMPLATE_EXAMPLE])],
    )


@login_required
def spreadsheet_import(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Upload → preview (nothing written) → confirm (written in one transaction)."""
    if not (request.user.is_superuser or request.user.has_role("coordinator")):
        raise PermissionDenied
    context: dict[str, object] = {}
    if request.method == "POST" and request.POST.get("confirm"):
        kept = spreadsheet.preview_take(request.session.pop("spreadsheet_preview", ""))
        if kept is None:
            messages.error(request, _("Upload the file again; the preview has expired."))
            return redirect("spreadsheet_import")
        plan = spreadsheet.import_confirm(rows=spreadsheet.read_rows(*kept), by=request.user)
        created = sum(1 for row in plan if row.action == "create")
        updated = sum(1 for row in plan if row.action == "update")
        messages.success(
            request,
            _("%(created)d studies created and %(updated)d updated.")
            % {"created": created, "updated": updated},
        )
        return redirect("studies:workspace")
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            context["error"] = _("Choose a file.")
        elif (upload.size or 0) > UPLOAD_LIMIT:
            context["error"] = _("The file is larger than 5 MB.")
        else:
            data = upload.read()
            try:
                rows = spreadsheet.read_rows(upload.name or "", data)
            except spreadsheet.SpreadsheetError as exc:
                context["error"] = str(exc)
            else:
                plan = spreadsheet.import_preview(rows=rows, by=request.user)
                context["plan"] = plan
                context["can_confirm"] = any(r.action != "reject" for r in plan)
                # The file waits beside the data for the confirmation; the session keeps
                # only its key.
                request.session["spreadsheet_preview"] = spreadsheet.preview_keep(
                    upload.name or "", data
                )
    return render(
        request,
        "interop/spreadsheet_import.html",
        context,
        status=400 if context.get("error") else 200,
    )


IMPORTERS = {"ctgov": "import_ctgov", "ctis": "import_ctis"}


@login_required
def registry_import(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Upload a registry file; the import runs as a background job with a progress page."""
    user = request.user
    if not may_import(user):
        raise PermissionDenied
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        registry = request.POST.get("registry")
        if upload is None:
            error = _("Choose a file.")
        elif registry not in IMPORTERS:
            error = _("Choose the registry the file comes from.")
        elif (upload.size or 0) > settings.TRIALNODE_UPLOAD_LIMIT_MB * 1024 * 1024:
            error = _("The file is larger than %(limit)d MB.") % {
                "limit": settings.TRIALNODE_UPLOAD_LIMIT_MB
            }
        else:
            job = job_start(kind=IMPORTERS[registry], by=user, upload=upload)
            return redirect("jobs:detail", pk=job.pk)
    return render(
        request, "interop/registry_import.html", {"error": error}, status=400 if error else 200
    )
