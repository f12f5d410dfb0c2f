"""Statistics as JSON: the same numbers as the dashboard and the report, for aggregation."""

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from trialnode.statistics import definitions as d
from trialnode.statistics import engine
from trialnode.statistics.params import StatisticsQuery
from trialnode.studies.filters import FilterError

router = Router(tags=["statistics"])


class StatisticsParams(Schema):
    """The parameters every statistics operation reads (strictly, by ``StatisticsQuery``);
    declared here so the OpenAPI document lists them as query parameters."""

    date: str | None = Field(None, description="YYYY-MM-DD (default today)")
    year: str | None = Field(None, description="YYYY (default this year)")
    measure: str | None = Field(None, description="ongoing, recruiting, started or completed")
    by: str | None = Field(None, description="the breakdown's dimension")
    region: list[str] | None = Field(None, description="region slugs (repeatable)")
    study_type: str | None = None
    sponsor_type: str | None = None
    phase: str | None = None


class SummaryOut(Schema):
    date: str
    ongoing: int
    recruiting: int
    ongoing_this_year: int
    started_this_year: int
    completed_this_year: int
    ongoing_study_regions: int


class RowOut(Schema):
    key: str
    label: str
    value: int


class BreakdownOut(Schema):
    measure: str
    by: str
    period: str
    total: int
    rows: list[RowOut]


class SeriesOut(Schema):
    measure: str
    rows: list[RowOut]


class PairOut(Schema):
    region_a: str
    region_b: str
    value: int


@router.get(
    "/statistics/summary",
    response=SummaryOut,
    summary="Headline numbers on a date (default today)",
    description="Parameters: date=YYYY-MM-DD, region (repeatable), study_type, sponsor_type, "
    "phase. Definitions in the README.",
)
@engine.consistent
def statistics_summary(request: HttpRequest, params: Query[StatisticsParams]):
    query = StatisticsQuery.from_params(request.GET)
    return d.summary(query.day, query.scope)


@router.get(
    "/statistics/breakdown",
    response=BreakdownOut,
    summary="A measure per value of a dimension, for a year or a date",
    description="measure=ongoing|recruiting|started|completed, by=study_type|phase|"
    "sponsor_type|condition_area|cancer_area|region|care_provider|unit, year=YYYY or "
    "date=YYYY-MM-DD, and the summary's filters. `total` counts each study once.",
)
@engine.consistent
def statistics_breakdown(request: HttpRequest, params: Query[StatisticsParams]):
    query = StatisticsQuery.from_params(request.GET)
    rows = d.breakdown(query.measure, query.by, query.period, query.scope)
    return {
        "measure": query.measure,
        "by": query.by,
        "period": str(query.period),
        "total": d.count(query.measure, query.period, query.scope),
        "rows": rows,
    }


@router.get(
    "/statistics/timeseries",
    response=SeriesOut,
    summary="A measure per month of a year (on each month's last day) or per year",
    description="interval=month (default; year=YYYY) or interval=year (the ten years up to "
    "year=YYYY, ongoing during each year), with the summary's filters.",
)
@engine.consistent
def statistics_timeseries(
    request: HttpRequest, params: Query[StatisticsParams], interval: str = "month"
):
    query = StatisticsQuery.from_params(request.GET)
    return {
        "measure": query.measure,
        "rows": series(query, interval),
    }


@router.get(
    "/statistics/collaboration",
    response=list[PairOut],
    summary="Pairs of regions that share counted studies",
)
@engine.consistent
def statistics_collaboration(request: HttpRequest, params: Query[StatisticsParams]):
    query = StatisticsQuery.from_params(request.GET)
    pairs = d.collaboration(query.measure, query.period, query.scope)
    return [{"region_a": a, "region_b": b, "value": n} for a, b, n in pairs]


def series(query: StatisticsQuery, interval: str) -> list[d.Row]:
    try:
        periods = d.series_periods(interval, query.year, query.day)
    except ValueError:
        raise FilterError({"interval": "month or year"}) from None
    return d.time_series(query.measure, periods, query.scope)


class CountedStudyOut(Schema):
    reference: str
    nct_id: str
    eu_ct_number: str
    eudract_number: str
    epm_dnr: str
    study_type: str
    phase: str
    sponsor_type: str
    regions: list[str]
    condition_areas: list[str]


class CountedStudiesOut(Schema):
    measure: str
    period: str
    count: int
    studies: list[CountedStudyOut]


@router.get(
    "/statistics/studies",
    response=CountedStudiesOut,
    summary="The studies behind a number, with their identifiers and dimensions",
    description="The same parameters as the breakdown. For aggregating several trialnode "
    "instances nationally: studies that share an identifier are one study.",
)
def statistics_studies(request: HttpRequest, params: Query[StatisticsParams]):
    query = StatisticsQuery.from_params(request.GET)
    return {
        "measure": query.measure,
        "period": str(query.period),
        **counted_studies(query),
    }


def counted_studies(query: StatisticsQuery) -> dict[str, object]:
    studies = d.studies(query.measure, query.period, query.scope).prefetch_related(
        "sites__region", "conditions"
    )
    rows = [
        {
            "reference": study.reference,
            "nct_id": study.nct_id,
            "eu_ct_number": study.eu_ct_number,
            "eudract_number": study.eudract_number,
            "epm_dnr": study.epm_dnr,
            "study_type": study.study_type,
            "phase": study.phase,
            "sponsor_type": study.sponsor_type,
            "regions": sorted({site.region.slug for site in study.sites.all() if site.region}),
            "condition_areas": sorted({c.chapter for c in study.conditions.all() if c.chapter}),
        }
        for study in studies.order_by("pk").iterator(chunk_size=2000)
    ]
    return {"count": len(rows), "studies": rows}
