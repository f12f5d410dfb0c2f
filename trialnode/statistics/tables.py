"""The dashboard's tables, built once and rendered as HTML, CSV, XLSX and in the report."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from trialnode.statistics import definitions as d
from trialnode.statistics.params import StatisticsQuery

DASHBOARD_DIMENSIONS = (
    d.Dimension.REGION,
    d.Dimension.STUDY_TYPE,
    d.Dimension.PHASE,
    d.Dimension.SPONSOR_TYPE,
    d.Dimension.CONDITION_AREA,
    d.Dimension.CANCER_AREA,
    d.Dimension.CARE_PROVIDER,
)


@functools.cache
def _studies_url() -> str:
    return reverse("statistics:studies")


@dataclass(eq=False)
class Table:
    name: str
    title: str
    columns: list[str]
    rows: list[list[object]]
    # Per row, the extra list filter behind its number (parameter, value), if any.
    links: list[tuple[str, str] | None] = field(default_factory=list)
    note: str = ""
    measure: str = d.Measure.ONGOING
    query_items: list[tuple[str, str]] = field(default_factory=list)

    @property
    def entries(self) -> list[tuple[list[object], str]]:
        """Each row with the address of the studies behind its number ('' when none)."""
        return [(row, self.href(link)) for row, link in zip(self.rows, self.links, strict=False)]

    def rows_html(self) -> str:
        """The table's body (built here rather than in a template loop: tables run long)."""
        rows = []
        for row, href in self.entries:
            cells = "".join(f"<td>{escape(cell)}</td>" for cell in row[:-1])
            value = f'<a href="{escape(href)}">{escape(row[-1])}</a>' if href else escape(row[-1])
            rows.append(f'<tr>{cells}<td class="number">{value}</td></tr>')
        # Every value above is escaped.
        return mark_safe("".join(rows))

    def href(self, link: tuple[str, str] | None) -> str:
        if link is None:
            return ""
        name, value = link
        return f"{self._base_query(name)}&{urlencode([(name, value)])}"

    @functools.cache  # noqa: B019 - tables live for one request
    def _base_query(self, name: str) -> str:
        kept = [(k, v) for k, v in self.query_items if k != name]
        return f"{_studies_url()}?{urlencode([*kept, ('measure', self.measure)])}"


def series_table(query: StatisticsQuery, interval: str) -> Table:
    periods = d.series_periods(interval, query.year, query.day)
    if interval == "year":
        title = _("Ongoing studies per year (during the year)")
        column = _("Year")
    else:
        title = _("Ongoing studies per month of %(year)d (on the month's last day)") % {
            "year": query.year
        }
        column = _("Date")
    rows = d.time_series(d.Measure.ONGOING, periods, query.scope)
    return Table(
        name=f"series-{interval}",
        title=title,
        columns=[column, _("Ongoing studies")],
        rows=[[row.label, row.value] for row in rows],
        links=[("period", row.key) for row in rows],
        query_items=query.items(),
    )


def breakdown_table(query: StatisticsQuery, by: str) -> Table:
    rows = d.breakdown(query.measure, by, query.period, query.scope)
    note = (
        _("A study counts once in each value it has; the national total counts it once.")
        if by in d.Dimension.PER_VALUE
        else ""
    )
    return Table(
        name=f"by-{by}",
        title=str(d.Dimension.LABELS[by]),
        columns=[str(d.Dimension.LABELS[by]), str(d.Measure.LABELS[query.measure])],
        rows=[[row.label, row.value] for row in rows],
        # A row's studies: ?by=<dimension>&key=<the row's key> ("" for "not stated").
        links=[("key", row.key) for row in rows],
        note=note,
        measure=query.measure,
        query_items=[*query.items(), ("by", by)],
    )


def collaboration_table(query: StatisticsQuery) -> Table:
    pairs = d.collaboration(query.measure, query.period, query.scope)
    return Table(
        name="collaboration",
        title=_("Regions that share studies"),
        columns=[_("Region"), _("Region"), str(d.Measure.LABELS[query.measure])],
        rows=[[a, b, n] for a, b, n in pairs],
        links=[("regions", f"{a},{b}") for a, b, _n in pairs],
        measure=query.measure,
        query_items=query.items(),
    )


def summary_table(query: StatisticsQuery) -> Table:
    numbers = d.summary(query.day, query.scope)
    return Table(
        name="summary",
        title=_("Headline numbers on %(date)s") % {"date": numbers["date"]},
        columns=[_("Measure"), _("Number")],
        rows=[[str(headline.label), numbers[key]] for key, headline in d.HEADLINES.items()],
        links=[("summary", key) for key in d.HEADLINES],
        query_items=[
            *((k, v) for k, v in query.items() if k != "date"),
            ("date", str(numbers["date"])),
        ],
    )


def table_by_name(query: StatisticsQuery, name: str) -> Table | None:
    if name == "summary":
        return summary_table(query)
    if name in ("series-month", "series-year"):
        return series_table(query, name.removeprefix("series-"))
    if name == "collaboration":
        return collaboration_table(query)
    if name.startswith("by-") and name.removeprefix("by-") in d.Dimension.ALL:
        return breakdown_table(query, name.removeprefix("by-"))
    return None
