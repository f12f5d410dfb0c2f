"""The yearly report, "Kliniska studier i <node> <year>": HTML and PDF from the same measures.

A cover with the node (or Sweden) and the period, a one-page summary in words generated
from the numbers, then the numbers behind it: key figures, ongoing studies per month and
per year, breakdowns compared with the year before, regions that share studies, and the
sections other capabilities register (``statistics.sections``). A breakdown without
studies is left out and said so in one sentence. Charts are SVG drawn on the server, so
the PDF needs no browser; numbers are formatted by ``statistics.formatting``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from trialnode.organisations.models import Node
from trialnode.statistics import charts, engine, narrative, sections, tables
from trialnode.statistics import definitions as d
from trialnode.statistics.params import StatisticsQuery
from trialnode.studies.filters import CONDITION_AREA_LABELS
from trialnode.studies.models import Source

REPORT_DIMENSIONS = (
    d.Dimension.REGION,
    d.Dimension.STUDY_TYPE,
    d.Dimension.PHASE,
    d.Dimension.SPONSOR_TYPE,
    d.Dimension.CONDITION_AREA,
    d.Dimension.CANCER_AREA,
)
# Breakdowns whose largest value the summary names.
SUMMARY_DIMENSIONS = (
    d.Dimension.STUDY_TYPE,
    d.Dimension.SPONSOR_TYPE,
    d.Dimension.CONDITION_AREA,
)
CHART_BARS = 12
COLLABORATION_ROWS = 15


@dataclass(frozen=True)
class ComparedRow:
    key: str
    label: str
    previous: int
    current: int


@dataclass(frozen=True)
class Breakdown:
    key: str
    title: str
    rows: list[ComparedRow]
    # The sum of the rows, for dimensions where each study has one value (the count itself).
    total: ComparedRow | None
    note: str
    chart: SafeString
    chart_note: str

    @property
    def anchor(self) -> str:
        return f"by-{self.key}"

    @property
    def heading(self) -> str:
        return _("Ongoing studies by %(dimension)s") % {
            "dimension": self.title[:1].lower() + self.title[1:]
        }


@dataclass(frozen=True)
class Series:
    title: str
    column: str
    # (label in the table, value)
    rows: list[tuple[str, int]]
    chart: SafeString


@dataclass(frozen=True)
class KeyFigure:
    key: str
    label: str
    previous: int
    current: int


def _compared_breakdown(by: str, query: StatisticsQuery, previous: d.Period) -> Breakdown | None:
    """The year's breakdown (the dashboard's and the API's numbers) beside the year before's;
    ``None`` when no study of the year has a row in it."""
    current = d.breakdown(d.Measure.ONGOING, by, query.period, query.scope)
    if not current:
        return None
    before = d.breakdown(d.Measure.ONGOING, by, previous, query.scope)
    before_by_key = {row.key: row.value for row in before}
    rows = [
        ComparedRow(row.key, row.label, before_by_key.get(row.key, 0), row.value) for row in current
    ]
    shown = {row.key for row in current}
    rows += [
        ComparedRow(row.key, row.label, row.value, 0) for row in before if row.key not in shown
    ]
    title = str(d.Dimension.LABELS[by])
    total = None
    if by not in d.Dimension.PER_VALUE:
        total = ComparedRow(
            "",
            pgettext("yearly report", "Total"),
            sum(row.previous for row in rows),
            sum(row.current for row in rows),
        )
    charted = [row for row in rows if row.current][:CHART_BARS]
    return Breakdown(
        key=by,
        title=title,
        rows=rows,
        total=total,
        note=_(
            "A study counts once in each value it has, so the rows may add up to more than "
            "the number of studies."
        )
        if by in d.Dimension.PER_VALUE
        else "",
        chart=charts.bar_chart(
            [charts.Bar(row.label, row.current, row.previous) for row in charted],
            title=title,
            current_label=str(query.year),
            previous_label=str(query.year - 1),
        ),
        chart_note=_("The chart shows the %(count)s largest; the table shows all.")
        % {"count": CHART_BARS}
        if len(charted) < len([row for row in rows if row.current])
        else "",
    )


def _month(day: date) -> str:
    """A month's short name as written in running text: "jan" in Swedish, "Jan" in English."""
    return date_format(day, "b" if translation.get_language() == "sv" else "M")


def _month_series(query: StatisticsQuery) -> Series:
    table = tables.series_table(query, "month")
    periods = d.series_periods("month", query.year, query.day)
    values = [int(row[-1]) for row in table.rows]  # type: ignore[call-overload]
    return Series(
        title=table.title,
        column=pgettext("yearly report", "Month"),
        rows=[(_month(p.end), value) for p, value in zip(periods, values, strict=True)],
        chart=charts.column_chart(
            [charts.Bar(_month(p.end), value) for p, value in zip(periods, values, strict=True)],
            title=table.title,
        ),
    )


def _year_series(query: StatisticsQuery) -> Series:
    table = tables.series_table(query, "year")
    rows = [(str(row[0]), int(row[-1])) for row in table.rows]  # type: ignore[call-overload]
    return Series(
        title=table.title,
        column=_("Year"),
        rows=rows,
        chart=charts.column_chart([charts.Bar(y, v) for y, v in rows], title=table.title),
    )


def _sources(scope: d.Scope) -> str:
    """Where the counted studies come from, with the credit the registries ask for."""
    names = {
        Source.LOCAL: _("registrations made in trialnode"),
        Source.CTGOV: _("ClinicalTrials.gov (U.S. National Library of Medicine)"),
        Source.CTIS: _("EU CTIS (European Medicines Agency)"),
    }
    found = set(scope.population().values_list("source", flat=True).distinct())
    listed = [str(name) for source, name in names.items() if source in found]
    if not listed:
        return ""
    return _("Sources: %(sources)s.") % {
        "sources": get_text_list(listed, pgettext("yearly report", "and"))
    }


def _footer_css(place: str, year: int) -> SafeString:
    """The page footer's CSS ``content``: "Page 3 of 9" in the report's language."""
    counter = _("Page %(number)s of %(total)s") % {
        "number": '" counter(page) "',
        "total": '" counter(pages) "',
    }
    title = _("Clinical studies in %(place)s %(year)s") % {"place": place, "year": year}

    def css(text: str) -> str:
        escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ")
        return f'"{escaped}"'

    # Both are this module's own strings, the place name escaped for CSS.
    return mark_safe(
        f'@bottom-left {{ content: {css(title)}; }} @bottom-right {{ content: "{counter}"; }}'
    )


@engine.consistent
def report_context(year: int, node: Node | None) -> dict[str, object]:
    regions = tuple(node.regions.values_list("slug", flat=True)) if node else ()
    scope = d.Scope(regions=regions)
    today = timezone.localdate()
    day = min(date(year, 12, 31), today)
    query = StatisticsQuery(day=day, year=year, scope=scope)
    previous_year = d.Period.year(year - 1)
    previous_day = d.Period.day(date(year - 1, 12, 31))
    place = node.name if node else pgettext("yearly report", "Sweden")

    def figure(key: str, label: str, measure: str, period: d.Period, before: d.Period) -> KeyFigure:
        return KeyFigure(
            key, label, d.count(measure, before, scope), d.count(measure, period, scope)
        )

    key_figures = [
        figure(
            "ongoing",
            _("Ongoing at some time in the year"),
            d.Measure.ONGOING,
            query.period,
            previous_year,
        ),
        figure(
            "started",
            _("Newly started in the year"),
            d.Measure.STARTED,
            query.period,
            previous_year,
        ),
        figure(
            "completed",
            _("Completed in the year"),
            d.Measure.COMPLETED,
            query.period,
            previous_year,
        ),
        figure(
            "ongoing_end",
            _("Ongoing at the end of the year"),
            d.Measure.ONGOING,
            d.Period.day(day),
            previous_day,
        ),
        figure(
            "recruiting_end",
            _("Open for recruitment at the end of the year"),
            d.Measure.RECRUITING,
            d.Period.day(day),
            previous_day,
        ),
        KeyFigure(
            "study_regions",
            _("Ongoing studies counted once per region (study–region pairs)"),
            d.regional_total(d.Measure.ONGOING, previous_year, scope),
            d.regional_total(d.Measure.ONGOING, query.period, scope),
        ),
    ]
    figures = {figure.key: figure for figure in key_figures}

    found = {by: _compared_breakdown(by, query, previous_year) for by in REPORT_DIMENSIONS}
    breakdowns = [breakdown for breakdown in found.values() if breakdown is not None]
    left_out = [str(d.Dimension.LABELS[by]) for by, found_ in found.items() if found_ is None]
    pairs = d.collaboration(d.Measure.ONGOING, query.period, scope)
    month_series = _month_series(query)
    year_series = _year_series(query)
    added_sections = sections.sections_for(year, regions)

    summary = _summary(
        year=year,
        day=day,
        partial=day < date(year, 12, 31),
        figures=figures,
        found=found,
        left_out=left_out,
        pairs=pairs,
    )
    contents = [
        ("summary", pgettext("yearly report", "Summary")),
        ("key-figures", _("Key figures")),
    ]
    if figures["ongoing"].current:
        contents.append(("series-month", month_series.title))
    if any(value for _label, value in year_series.rows):
        contents.append(("series-year", year_series.title))
    contents += [(breakdown.anchor, breakdown.heading) for breakdown in breakdowns]
    if pairs:
        contents.append(("collaboration", _("Regions that share studies")))
    contents += [(f"section-{section.key}", section.title) for section in added_sections]
    contents.append(("method", _("Method")))
    return {
        "year": year,
        "node": node,
        "place": place,
        "region_names": list(node.regions.order_by("name").values_list("name", flat=True))
        if node
        else [],
        "period_start": date(year, 1, 1),
        "period_end": day,
        "partial": day < date(year, 12, 31),
        "summary": summary,
        "key_figures": key_figures,
        "month_series": month_series if figures["ongoing"].current else None,
        "year_series": year_series if any(v for _l, v in year_series.rows) else None,
        "breakdowns": breakdowns,
        "left_out": left_out,
        "collaboration": pairs[:COLLABORATION_ROWS],
        "collaboration_cut": len(pairs) > COLLABORATION_ROWS,
        "sections": added_sections,
        "contents": contents,
        "footer_css": _footer_css(place, year),
        "sources": _sources(scope),
        "generated_at": timezone.localtime(),
    }


def _summary(
    *,
    year: int,
    day: date,
    partial: bool,
    figures: dict[str, KeyFigure],
    found: dict[str, Breakdown | None],
    left_out: list[str],
    pairs: list[tuple[str, str, int]],
) -> list[list[str]]:
    """The summary's paragraphs of sentences, in the order a reader asks: how many, started
    and ended; what was open at the end; what kind; where; then why tables are missing."""
    ongoing = figures["ongoing"]
    volume = [narrative.year_not_over(year=year, day=day)] if partial else []
    volume += [
        narrative.ongoing_change(year=year, count=ongoing.current, before=ongoing.previous),
        narrative.started(
            year=year, count=figures["started"].current, before=figures["started"].previous
        ),
        narrative.completed(
            year=year, count=figures["completed"].current, before=figures["completed"].previous
        ),
    ]
    at_end = narrative.at_end(
        day=day,
        ongoing=figures["ongoing_end"].current,
        recruiting=figures["recruiting_end"].current,
    )
    kinds: list[str] = []
    places: list[str] = []
    for by in (*SUMMARY_DIMENSIONS, d.Dimension.REGION):
        breakdown = found.get(by)
        if breakdown is None or (by == d.Dimension.REGION and len(breakdown.rows) < 2):
            continue
        stated = [row for row in breakdown.rows if row.key != d.UNKNOWN_KEY]
        # A tie has no "most common".
        if (
            stated
            and stated[0].current
            and (len(stated) == 1 or stated[0].current > stated[1].current)
        ):
            (places if by == d.Dimension.REGION else kinds).append(
                narrative.most_common(
                    by,
                    # A condition area by its name in a sentence, without its chapter number.
                    label=str(CONDITION_AREA_LABELS[stated[0].key])
                    if by == d.Dimension.CONDITION_AREA
                    else stated[0].label,
                    count=stated[0].current,
                    total=ongoing.current,
                )
            )
    if pairs and (len(pairs) == 1 or pairs[0][2] > pairs[1][2]):
        first, second, count = pairs[0]
        places.append(narrative.most_shared(first=first, second=second, count=count))
    missing: list[str] = []
    if left_out:
        missing.append(
            narrative.left_out(
                year=year, titles=left_out, all_of_them=len(left_out) == len(REPORT_DIMENSIONS)
            )
        )
    return [paragraph for paragraph in (volume, at_end, kinds, places, missing) if paragraph]


def report_html(year: int, node: Node | None, *, language: str = "sv") -> str:
    with translation.override(language):
        context = report_context(year, node)
        context["language"] = language
        return render_to_string("statistics/report/report.html", context)


def write_report(year: int, node: Node | None, out: Path, *, language: str = "sv") -> Path:
    """Write the PDF to ``out`` and the HTML beside it; returns the HTML's path."""
    from weasyprint import HTML

    html = report_html(year, node, language=language)
    html_path = out.with_suffix(".html")
    out.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(html, encoding="utf-8")
    HTML(string=html, base_url=str(out.parent)).write_pdf(out)
    return html_path
