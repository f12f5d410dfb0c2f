"""The yearly report, "Kliniska studier i <node> <year>": HTML and PDF from the same measures.

Charts are drawn as SVG on the server so that the PDF needs no browser.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone, translation

from trialnode.organisations.models import Node
from trialnode.statistics import definitions as d
from trialnode.statistics import engine, sections, tables
from trialnode.statistics.params import StatisticsQuery

REPORT_DIMENSIONS = (
    d.Dimension.REGION,
    d.Dimension.STUDY_TYPE,
    d.Dimension.PHASE,
    d.Dimension.SPONSOR_TYPE,
    d.Dimension.CONDITION_AREA,
    d.Dimension.CANCER_AREA,
)


@dataclass
class Bar:
    label: str
    value: int
    width: float


def bars(rows: Sequence[Sequence[Any]], limit: int = 12) -> list[Bar]:
    """Bars for the rows' last cells, their counts."""
    top = rows[:limit]
    largest = max((int(row[-1]) for row in top), default=0) or 1
    return [Bar(str(row[0]), int(row[-1]), 100 * int(row[-1]) / largest) for row in top]


@engine.consistent
def report_context(year: int, node: Node | None) -> dict[str, object]:
    regions = tuple(node.regions.values_list("slug", flat=True)) if node else ()
    scope = d.Scope(regions=regions)
    day = min(date(year, 12, 31), timezone.localdate())
    query = StatisticsQuery(day=day, year=year, scope=scope)
    previous = StatisticsQuery(day=date(year - 1, 12, 31), year=year - 1, scope=scope)
    this_year = d.count(d.Measure.ONGOING, d.Period.year(year), scope)
    last_year = d.count(d.Measure.ONGOING, d.Period.year(year - 1), scope)
    breakdowns = []
    for by in REPORT_DIMENSIONS:
        table = tables.breakdown_table(query, by)
        before = {
            row.key: row.value for row in d.breakdown(d.Measure.ONGOING, by, previous.period, scope)
        }
        current = d.breakdown(d.Measure.ONGOING, by, query.period, scope)
        rows = [[row.label, before.get(row.key, 0), row.value] for row in current]
        breakdowns.append((table, rows, bars([[r[0], r[2]] for r in rows])))
    month_series = tables.series_table(query, "month")
    return {
        "year": year,
        "node": node,
        "place": node.name if node else "Sverige",
        "totals": {
            "ongoing": this_year,
            "ongoing_previous": last_year,
            "change": this_year - last_year,
            "change_percent": round(100 * (this_year - last_year) / last_year, 1)
            if last_year
            else None,
            "started": d.count(d.Measure.STARTED, d.Period.year(year), scope),
            "completed": d.count(d.Measure.COMPLETED, d.Period.year(year), scope),
            "recruiting_end": d.count(d.Measure.RECRUITING, d.Period.day(day), scope),
            "ongoing_end": d.count(d.Measure.ONGOING, d.Period.day(day), scope),
            "study_regions": d.regional_total(d.Measure.ONGOING, d.Period.year(year), scope),
        },
        "month_series": month_series,
        "month_bars": bars(month_series.rows, limit=12),
        "breakdowns": breakdowns,
        "collaboration": tables.collaboration_table(query),
        "sections": sections.sections_for(year, regions),
        "generated_at": timezone.now(),
    }


def report_html(year: int, node: Node | None, *, language: str = "sv") -> str:
    with translation.override(language):
        return render_to_string("statistics/report/report.html", report_context(year, node))


def write_report(year: int, node: Node | None, out: Path, *, language: str = "sv") -> Path:
    """Write the PDF to ``out`` and the HTML beside it; returns the HTML's path."""
    from weasyprint import HTML

    html = report_html(year, node, language=language)
    html_path = out.with_suffix(".html")
    out.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(html, encoding="utf-8")
    HTML(string=html, base_url=str(out.parent)).write_pdf(out)
    return html_path
