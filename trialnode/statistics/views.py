"""The public statistics dashboard, the staff view, the studies behind each number, downloads."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from trialnode.core import spreadsheets
from trialnode.jobs.models import Job
from trialnode.jobs.services import job_start
from trialnode.organisations.http import AuthenticatedHttpRequest
from trialnode.organisations.models import Node, Region, Role
from trialnode.statistics import definitions as d
from trialnode.statistics import engine, sections, tables
from trialnode.statistics.params import StatisticsQuery
from trialnode.studies.filters import FilterError
from trialnode.studies.models import Phase, SponsorType, Study, StudySite, StudyType

STAFF_ROLES = (Role.COORDINATOR, Role.NODE_ADMIN, Role.AUDITOR)
# The yearly report's languages, each named in itself.
REPORT_LANGUAGES = {"sv": "Svenska", "en": "English"}


def _query(request: HttpRequest, **base) -> StatisticsQuery | HttpResponse:
    try:
        return StatisticsQuery.from_params(request.GET, **base)
    except FilterError as exc:
        return render(request, "statistics/error.html", {"errors": exc.errors.values()}, status=400)


def _dashboard_context(query: StatisticsQuery) -> dict[str, object]:
    return {
        "query": query,
        "query_string": urlencode(query.items()),
        "summary": tables.summary_table(query),
        "series_month": tables.series_table(query, "month"),
        "series_year": tables.series_table(query, "year"),
        "breakdowns": [tables.breakdown_table(query, by) for by in tables.DASHBOARD_DIMENSIONS],
        "collaboration": tables.collaboration_table(query),
        "sections": sections.sections_for(query.year, query.scope.regions),
        "regions": Region.objects.all(),
        "study_types": StudyType.choices,
        "sponsor_types": SponsorType.choices,
        "phases": Phase.choices,
        "years": range(timezone.localdate().year, timezone.localdate().year - 16, -1),
    }


@require_GET
@engine.consistent
def dashboard(request: HttpRequest) -> HttpResponse:
    query = _query(request)
    if isinstance(query, HttpResponse):
        return query
    context = _dashboard_context(query)
    template = (
        "statistics/_stats.html"
        if request.headers.get("HX-Request")
        else "statistics/dashboard.html"
    )
    return render(request, template, context)


def staff_regions(user) -> frozenset[int]:
    regions: set[int] = set()
    for role in STAFF_ROLES:
        regions |= user.region_ids_for(role)
    if user.is_superuser:
        regions |= set(Region.objects.values_list("pk", flat=True))
    return frozenset(regions)


@login_required
@engine.consistent
def staff_dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The same measures over submitted and returned registrations too, and follow-up lists."""
    regions = staff_regions(request.user)
    if not regions:
        raise PermissionDenied
    if request.method == "POST":
        return _start_report(request, regions)
    query = _query(request, scope_options={"unpublished_in_regions": regions})
    if isinstance(query, HttpResponse):
        return query
    own = Study.objects.filter(
        Exists(StudySite.objects.filter(study=OuterRef("pk"), region_id__in=regions))
    )
    context = _dashboard_context(query)
    context.update(
        {
            "staff": True,
            "awaiting_validation": Study.objects.validatable_by(request.user).count(),
            "stale": own.stale().count(),
            "missing_identifiers": own.published()
            .filter(source="LOCAL", epm_dnr="", eudract_number="", eu_ct_number="", nct_id="")
            .count(),
            "own_regions": Region.objects.filter(pk__in=regions),
            "nodes": Node.objects.filter(regions__in=regions).distinct(),
            "report_languages": REPORT_LANGUAGES.items(),
            "report_years": report_years(),
        }
    )
    return render(request, "statistics/staff.html", context)


def report_years() -> range:
    """The years a yearly report can be made for: this one (so far) and the nine before."""
    this_year = timezone.localdate().year
    return range(this_year, this_year - 10, -1)


def _start_report(request: AuthenticatedHttpRequest, regions: frozenset[int]) -> HttpResponse:
    year = request.POST.get("year", "")
    node = Node.objects.filter(slug=request.POST.get("node", ""), regions__in=regions).first()
    language = request.POST.get("language", "sv")
    if not year.isdigit() or int(year) not in report_years() or node is None:
        raise PermissionDenied(_("Choose a year and one of your nodes."))
    if language not in REPORT_LANGUAGES:
        raise PermissionDenied(_("Choose a year and one of your nodes."))
    job = job_start(
        kind=Job.Kind.YEARLY_REPORT,
        by=request.user,
        params={"year": int(year), "node": node.slug, "language": language},
    )
    return redirect("jobs:detail", pk=job.pk)


def _behind(query: StatisticsQuery, request: HttpRequest) -> tuple[str, d.Period]:
    """The measure and period a linked number was counted for."""
    key = request.GET.get("summary", "")
    if key:
        if key not in d.HEADLINES:
            raise FilterError({"summary": _("Unknown number.")})
        headline = d.HEADLINES[key]
        return headline.measure, headline.period(query.day)
    period = request.GET.get("period", "")
    if period:
        try:
            if len(period) == 4 and period.isdigit():
                return d.Measure.ONGOING, d.Period.year(int(period))
            return d.Measure.ONGOING, d.Period.day(date.fromisoformat(period))
        except ValueError:
            raise FilterError({"period": _("Give a year or a date.")}) from None
    return query.measure, query.period


@require_GET
def studies_behind(request: HttpRequest) -> HttpResponse:
    """The published studies behind a number on the dashboard: the same definition."""
    query = _query(request)
    if isinstance(query, HttpResponse):
        return query
    try:
        measure, period = _behind(query, request)
    except FilterError as exc:
        return render(request, "statistics/error.html", {"errors": exc.errors.values()}, status=400)
    studies = d.studies_behind(
        measure,
        period,
        query.scope,
        by=query.by if "key" in request.GET else None,
        key=request.GET.get("key", ""),
    )
    if "regions" in request.GET:
        for name in request.GET["regions"].split(",")[:2]:
            studies = studies.filter(
                Exists(StudySite.objects.filter(study=OuterRef("pk"), region__name=name))
            )
    page = Paginator(studies.order_by("title_sv", "title_en", "pk"), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "statistics/studies.html",
        {
            "page": page,
            "measure_label": d.Measure.LABELS[measure],
            "period": period,
            "query": query,
            "params": request.GET.copy(),
        },
    )


@require_GET
@engine.consistent
def table_download(
    request: HttpRequest, name: str, file_format: str
) -> HttpResponse | StreamingHttpResponse:
    query = _query(request)
    if isinstance(query, HttpResponse):
        return query
    table = tables.table_by_name(query, name)
    if table is None:
        raise Http404
    filename = f"statistik-{table.name}-{query.year}.{file_format}"
    if file_format == "xlsx":
        return spreadsheets.xlsx_response(filename, [(table.name, table.columns, table.rows)])
    return spreadsheets.csv_response(
        filename, table.columns, table.rows, delimiter=spreadsheets.delimiter_for(request)
    )


@require_GET
def national(request: HttpRequest) -> HttpResponse:
    """National numbers over the configured trialnode instances, each study counted once."""
    from django.conf import settings

    from trialnode.statistics.national import InstanceError, national_numbers

    instances = settings.TRIALNODE_NATIONAL_INSTANCES
    query = _query(request)
    if isinstance(query, HttpResponse):
        return query
    national_tables: list[tuple[str, object]] = []
    context: dict[str, object] = {
        "query": query,
        "instances": instances,
        "tables": national_tables,
    }
    params = {"measure": query.measure, "year": str(query.year)}
    try:
        for by in ("study_type", "regions"):
            result = national_numbers(instances, params, by=by) if instances else None
            if result:
                context["result"] = result
                national_tables.append((by, result["rows"]))
    except InstanceError as exc:
        context["error"] = str(exc)
    return render(
        request, "statistics/national.html", context, status=502 if "error" in context else 200
    )
