"""The measures of trialnode's statistics, defined once and used by every output.

The dashboard, the API, the CSV/XLSX downloads and the yearly report all count
through the functions here; the README states the same definitions in words.

- A study is counted from its status periods (``StatusSpan``), derived from its
  dated status history, so a count for a past date stays answerable.
- **Ongoing** at a date: its status on that date is recruiting, active not
  recruiting or enrolling by invitation. Ongoing during a period: it had one of
  those statuses on at least one day of the period.
- **Open for recruitment** (recruiting): status recruiting on the date (or on a day
  of the period).
- **Newly started** in a period: its first ongoing day falls in the period.
- **Completed** in a period: it became completed on a day of the period.
- The population is the published studies, each once: a registry record linked to
  a local registration (or a CTIS record of a ClinicalTrials.gov trial) counts
  through the record it is linked to. The staff view adds submitted and returned
  registrations of the user's regions.
- National counts count a study once. Regional tables count a study once per region
  it runs in (a study in three regions counts three times there), so their sum may
  exceed the national count. A study with conditions in several areas counts once
  in each area.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from trialnode.organisations.models import CareProvider, Region, Unit
from trialnode.statistics import engine
from trialnode.studies.filters import CONDITION_AREA_LABELS
from trialnode.studies.models import (
    ONGOING_STATUSES,
    ConditionArea,
    Phase,
    SponsorType,
    Status,
    StatusSpan,
    Study,
    StudyCondition,
    StudySite,
    StudyType,
)
from trialnode.studies.validators import ICD10_CHAPTERS


class Measure:
    ONGOING = "ongoing"
    RECRUITING = "recruiting"
    STARTED = "started"
    COMPLETED = "completed"

    LABELS = {
        ONGOING: _("Ongoing studies"),
        RECRUITING: _("Open for recruitment"),
        STARTED: _("Newly started studies"),
        COMPLETED: _("Completed studies"),
    }
    ALL = tuple(LABELS)


class Dimension:
    STUDY_TYPE = "study_type"
    PHASE = "phase"
    SPONSOR_TYPE = "sponsor_type"
    CONDITION_AREA = "condition_area"
    CANCER_AREA = "cancer_area"
    REGION = "region"
    CARE_PROVIDER = "care_provider"
    UNIT = "unit"

    LABELS = {
        STUDY_TYPE: _("Study type"),
        PHASE: _("Phase"),
        SPONSOR_TYPE: _("Sponsor type"),
        CONDITION_AREA: _("Condition area (ICD-10 chapter)"),
        CANCER_AREA: _("Cancer diagnosis area"),
        REGION: _("Region"),
        CARE_PROVIDER: _("Care provider"),
        UNIT: _("Unit"),
    }
    ALL = tuple(LABELS)
    # Dimensions by which a study may count more than once (once per value it has).
    PER_VALUE = frozenset({CONDITION_AREA, CANCER_AREA, REGION, CARE_PROVIDER, UNIT})


UNKNOWN_KEY = ""
UNKNOWN_LABEL = _("Not stated")

# The regional cancer centres' diagnosis areas, by ranges of ICD-10 codes (three characters).
CANCER_AREAS: list[tuple[str, object, tuple[tuple[str, str], ...]]] = [
    ("head_neck", _("Head and neck cancer"), (("C00", "C14"), ("C30", "C32"))),
    (
        "upper_gi",
        _("Oesophagus, stomach, liver, biliary tract and pancreas"),
        (("C15", "C17"), ("C22", "C25")),
    ),
    ("colorectal", _("Colorectal cancer"), (("C18", "C21"),)),
    ("lung", _("Lung cancer"), (("C33", "C34"),)),
    ("melanoma_skin", _("Melanoma and skin cancer"), (("C43", "C44"),)),
    ("breast", _("Breast cancer"), (("C50", "C50"),)),
    ("gynaecological", _("Gynaecological cancer"), (("C51", "C58"),)),
    ("prostate", _("Prostate cancer"), (("C61", "C61"),)),
    ("urinary", _("Kidney and urinary tract cancer"), (("C64", "C68"),)),
    ("cns", _("Brain and nervous system tumours"), (("C70", "C72"),)),
    ("haematological", _("Blood cancer (lymphoma, leukaemia, myeloma)"), (("C81", "C96"),)),
]
OTHER_CANCER = ("other_cancer", _("Other cancer and tumours"))
CANCER_AREA_LABELS = {key: label for key, label, _r in CANCER_AREAS} | {
    OTHER_CANCER[0]: OTHER_CANCER[1]
}


def cancer_area(icd10_code: str) -> str:
    """The diagnosis area of a code of ICD-10 chapter II (neoplasms)."""
    head = icd10_code[:3].upper()
    for key, _label, ranges in CANCER_AREAS:
        if any(low <= head <= high for low, high in ranges):
            return key
    return OTHER_CANCER[0]


@dataclass(frozen=True)
class Period:
    """A closed range of days; a single day when ``start == end``."""

    start: date
    end: date

    @classmethod
    def day(cls, day: date) -> Period:
        return cls(day, day)

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(date(year, 1, 1), date(year, 12, 31))

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        return cls(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))

    def __str__(self) -> str:
        if self.start == self.end:
            return self.start.isoformat()
        if (self.start.month, self.start.day, self.end.month, self.end.day) == (1, 1, 12, 31) and (
            self.start.year == self.end.year
        ):
            return str(self.start.year)
        return f"{self.start.isoformat()}/{self.end.isoformat()}"


@dataclass(frozen=True)
class Scope:
    """Which studies are counted: the filters of the dashboard, API and report."""

    regions: tuple[str, ...] = ()
    study_type: str = ""
    sponsor_type: str = ""
    phase: str = ""
    # The staff view: submitted and returned registrations count too, within these regions.
    unpublished_in_regions: frozenset[int] | None = None

    def population(self) -> QuerySet[Study]:
        studies = Study.objects.counted(unpublished_in_regions=self.unpublished_in_regions)
        if self.regions:
            studies = studies.filter(
                Exists(
                    StudySite.objects.filter(study=OuterRef("pk"), region__slug__in=self.regions)
                )
            )
        for name in ("study_type", "sponsor_type", "phase"):
            if getattr(self, name):
                studies = studies.filter(**{name: getattr(self, name)})
        return studies


def _span_condition(measure: str, period: Period) -> Q:
    overlaps = Q(start__lte=period.end) & (Q(end__isnull=True) | Q(end__gt=period.start))
    begins = Q(start__gte=period.start, start__lte=period.end)
    if measure == Measure.ONGOING:
        return Q(status__in=ONGOING_STATUSES) & overlaps
    if measure == Measure.RECRUITING:
        return Q(status=Status.RECRUITING) & overlaps
    if measure == Measure.STARTED:
        return Q(first_ongoing=True) & begins
    if measure == Measure.COMPLETED:
        return Q(status=Status.COMPLETED) & begins
    raise ValueError(f"unknown measure {measure!r}")


def studies(measure: str, period: Period, scope: Scope = Scope()) -> QuerySet[Study]:
    """The studies behind a number: each counted study once."""
    spans = StatusSpan.objects.filter(_span_condition(measure, period), study=OuterRef("pk"))
    return scope.population().filter(Exists(spans))


def count(measure: str, period: Period, scope: Scope = Scope()) -> int:
    """The national count (or the count within the scope's regions): each study once."""
    return engine.count(engine.snapshot(), measure, period.start, period.end, scope)


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    value: int


def dimension_labels(by: str) -> dict[str, object]:
    if by == Dimension.STUDY_TYPE:
        return dict(StudyType.choices)
    if by == Dimension.PHASE:
        return dict(Phase.choices)
    if by == Dimension.SPONSOR_TYPE:
        return dict(SponsorType.choices)
    if by == Dimension.REGION:
        return dict(Region.objects.values_list("slug", "name")) | {
            UNKNOWN_KEY: engine.UNKNOWN_REGION_LABEL
        }
    if by == Dimension.CARE_PROVIDER:
        return dict(CareProvider.objects.values_list("slug", "name"))
    if by == Dimension.CONDITION_AREA:
        return {code: f"{code} {CONDITION_AREA_LABELS[code]}" for code, *_r in ICD10_CHAPTERS}
    if by == Dimension.CANCER_AREA:
        return dict(CANCER_AREA_LABELS)
    if by == Dimension.UNIT:
        return {}
    raise ValueError(f"unknown dimension {by!r}")


def _labelled(counts: dict[str, int], labels: dict[str, object]) -> list[Row]:
    rows = [
        Row(key, str(labels.get(key, key if key else UNKNOWN_LABEL)), value)
        for key, value in counts.items()
        if value
    ]
    return sorted(rows, key=lambda row: (-row.value, row.label))


def breakdown(measure: str, by: str, period: Period, scope: Scope = Scope()) -> list[Row]:
    """Counts per value of a dimension, largest first (see ``Dimension.PER_VALUE``)."""
    labels = dimension_labels(by)
    counts = engine.breakdown_counts(
        engine.snapshot(), measure, period.start, period.end, by, scope
    )
    return _labelled(counts, labels)


def studies_behind(
    measure: str,
    period: Period,
    scope: Scope = Scope(),
    *,
    by: str | None = None,
    key: str = UNKNOWN_KEY,
) -> QuerySet[Study]:
    """The studies behind a number: those counted, or those of the row ``key`` of the
    table by ``by`` (``UNKNOWN_KEY``: the row of studies without a value). The lists the
    dashboard links to and the reference counts below are both this function."""
    counted = studies(measure, period, scope)
    if by is None:
        return counted
    if by in (Dimension.STUDY_TYPE, Dimension.PHASE, Dimension.SPONSOR_TYPE):
        return counted.filter(**{by: key})
    if by in (Dimension.REGION, Dimension.CARE_PROVIDER, Dimension.UNIT):
        sites = StudySite.objects.filter(study=OuterRef("pk"))
        if scope.regions:
            sites = sites.filter(region__slug__in=scope.regions)
        column = {
            Dimension.REGION: "region__slug",
            Dimension.CARE_PROVIDER: "care_provider__slug",
            Dimension.UNIT: "unit__name",
        }[by]
        if key != UNKNOWN_KEY:
            return counted.filter(Exists(sites.filter(**{column: key})))
        unknown = Exists(sites.filter(**{f"{column}__isnull": True}))
        if by == Dimension.REGION:
            # A study with no site at all is in no known region either.
            return counted.filter(unknown | ~Exists(sites))
        return counted.filter(unknown)
    if by == Dimension.CONDITION_AREA:
        areas = ConditionArea.objects.filter(study=OuterRef("pk"))
        if key != UNKNOWN_KEY:
            return counted.filter(Exists(areas.filter(chapter=key)))
        return counted.exclude(Exists(areas))
    if by == Dimension.CANCER_AREA:
        pairs = StudyCondition.objects.filter(
            study__in=counted.values("pk"), chapter="II"
        ).values_list("study_id", "icd10_code")
        return counted.filter(pk__in={s for s, code in pairs if cancer_area(code) == key})
    raise ValueError(f"unknown dimension {by!r}")


def reference_counts_by_value(
    measure: str, by: str, period: Period, scope: Scope = Scope()
) -> dict[str, int]:
    """``breakdown`` computed by the database, row by row with ``studies_behind``: the check
    on the in-memory engine (see the tests), and the plain statement of what is counted."""
    if by == Dimension.UNIT:
        keys = [*Unit.objects.values_list("name", flat=True).distinct(), UNKNOWN_KEY]
    else:
        keys = [*dimension_labels(by), UNKNOWN_KEY]
    counts = {
        key: studies_behind(measure, period, scope, by=by, key=key).count()
        for key in dict.fromkeys(keys)
    }
    return {key: value for key, value in counts.items() if value}


def regional_total(measure: str, period: Period, scope: Scope = Scope()) -> int:
    """The sum of the regional table: each study once per region it runs in."""
    return sum(row.value for row in breakdown(measure, Dimension.REGION, period, scope))


def time_series(measure: str, periods: list[Period], scope: Scope = Scope()) -> list[Row]:
    return [Row(str(p), str(p), count(measure, p, scope)) for p in periods]


def months_of(year: int, *, until: date | None = None) -> list[Period]:
    """The last day of each month of the year (up to ``until``), for 'ongoing per month'."""
    days = []
    for month in range(1, 13):
        last = Period.month(year, month).end
        if until is not None and last > until:
            if date(year, month, 1) <= until:
                days.append(Period.day(until))
            break
        days.append(Period.day(last))
    return days


def collaboration(
    measure: str, period: Period, scope: Scope = Scope()
) -> list[tuple[str, str, int]]:
    """Pairs of regions and how many counted studies run in both."""
    pairs = engine.collaboration_for(engine.snapshot(), measure, period.start, period.end, scope)
    return sorted(pairs, key=lambda pair: (-pair[2], pair[0], pair[1]))


def reference_collaboration(
    measure: str, period: Period, scope: Scope = Scope()
) -> list[tuple[str, str, int]]:
    """``collaboration`` computed by the database (the check on the engine)."""
    inner, params = studies(measure, period, scope).values("pk").query.sql_with_params()
    site = StudySite._meta.db_table
    region = Region._meta.db_table
    sql = (
        f"SELECT ra.name, rb.name, COUNT(DISTINCT a.study_id) FROM {site} a "
        f"JOIN {site} b ON a.study_id = b.study_id AND a.region_id < b.region_id "
        f"JOIN {region} ra ON ra.id = a.region_id JOIN {region} rb ON rb.id = b.region_id "
        f"WHERE a.study_id IN ({inner}) GROUP BY ra.name, rb.name"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        pairs = [(*sorted((a, b)), n) for a, b, n in cursor.fetchall()]
    return sorted(pairs, key=lambda pair: (-pair[2], pair[0], pair[1]))


@dataclass(frozen=True)
class Headline:
    """One of the headline numbers: a measure on a date, or over the year up to it."""

    measure: str
    year_to_date: bool
    label: object
    per_region: bool = False

    def period(self, day: date) -> Period:
        return Period(date(day.year, 1, 1) if self.year_to_date else day, day)


HEADLINES = {
    "ongoing": Headline(Measure.ONGOING, False, _("Ongoing studies")),
    "recruiting": Headline(Measure.RECRUITING, False, _("Open for recruitment")),
    "ongoing_this_year": Headline(Measure.ONGOING, True, _("Ongoing at some time this year")),
    "started_this_year": Headline(Measure.STARTED, True, _("Started this year")),
    "completed_this_year": Headline(Measure.COMPLETED, True, _("Completed this year")),
    "ongoing_study_regions": Headline(
        Measure.ONGOING, False, _("Ongoing studies counted per region"), per_region=True
    ),
}


def summary(day: date, scope: Scope = Scope()) -> dict[str, object]:
    """The headline numbers on a date: now, and the year up to that date."""
    numbers: dict[str, object] = {"date": day.isoformat()}
    for key, headline in HEADLINES.items():
        total = regional_total if headline.per_region else count
        numbers[key] = total(headline.measure, headline.period(day), scope)
    return numbers


def series_periods(interval: str, year: int, day: date) -> list[Period]:
    """Per month: the last day of each month of the year (up to ``day``); per year: the ten
    years up to ``year``, each as a whole."""
    if interval == "year":
        return [Period.year(y) for y in range(year - 9, year + 1)]
    if interval == "month":
        return months_of(year, until=max(day, Period.year(year).start))
    raise ValueError(f"unknown interval {interval!r}")
