"""The feasibility section of the statistics dashboard and the yearly report: the same
measures as ``GET /api/v1/feasibility/measures``."""

from __future__ import annotations

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from trialnode.feasibility.models import THERAPY_AREAS, InquiryKind, SponsorOrganisation
from trialnode.feasibility.selectors import Measures, measures, node_measures, region_ids_of
from trialnode.organisations.models import Node
from trialnode.statistics.sections import Cell, Section, SectionTable


def _percent(value: float) -> float:
    return round(100 * value, 1)


def _counts_row(name: str, m: Measures) -> tuple[Cell, ...]:
    return (
        name,
        m.inquiries,
        m.dispatched,
        _percent(m.dispatch_rate),
        m.with_positive_answer,
        _percent(m.answer_rate),
    )


def _days_row(name: str, m: Measures) -> tuple[Cell, ...]:
    return (
        name,
        m.days_to_dispatch["median"],
        m.days_to_dispatch["p90"],
        m.days_to_first_answer["median"],
        m.days_to_first_answer["p90"],
    )


def _node_of(regions: tuple[str, ...]) -> Node | None:
    """The node whose regions these are: its name in the table, its slug in the API link."""
    if not regions:
        return None
    wanted = set(regions)
    for node in Node.objects.prefetch_related("regions"):
        if {r.slug for r in node.regions.all()} == wanted:
            return node
    return None


def feasibility_section(year: int, regions: tuple[str, ...]) -> Section | None:
    scope = region_ids_of(regions)
    total = measures(year, scope)
    if not total.inquiries:
        return None
    node = _node_of(regions)
    place = node.name if node else _("Selected regions") if scope is not None else _("Sweden")
    scopes = [(place, total)]
    if scope is None:
        scopes = [(node.name, m) for node, m in node_measures(year) if m.inquiries] + scopes
    kinds = dict(InquiryKind.choices)
    sponsor_kinds = dict(SponsorOrganisation.Kind.choices)
    areas = dict(THERAPY_AREAS)
    tables = (
        SectionTable(
            key="feasibility-measures",
            caption=_("Feasibility inquiries submitted in %(year)s") % {"year": year},
            header=(
                _("Scope"),
                _("Inquiries"),
                _("Dispatched"),
                _("Dispatch rate (%)"),
                _("With a positive answer"),
                _("Answer rate of recipients (%)"),
            ),
            rows=tuple(_counts_row(name, m) for name, m in scopes),
            note=_(
                "A node counts the inquiries that ask its regions; dispatch and answers count "
                "its own units."
            ),
        ),
        SectionTable(
            key="feasibility-days",
            caption=_("Days from submission"),
            header=(
                _("Scope"),
                _("To dispatch, median"),
                _("To dispatch, 90th percentile"),
                _("To first answer, median"),
                _("To first answer, 90th percentile"),
            ),
            rows=tuple(_days_row(name, m) for name, m in scopes),
        ),
        SectionTable(
            key="feasibility-kinds",
            caption=_("Inquiries by type"),
            header=(_("Type of inquiry"), _("Inquiries")),
            rows=tuple((str(kinds.get(k, k)), n) for k, n in total.by_kind.items()),
        ),
        SectionTable(
            key="feasibility-sponsors",
            caption=_("Inquiries by type of sponsor"),
            header=(_("Type of sponsor"), _("Inquiries")),
            rows=tuple((str(sponsor_kinds.get(k, k)), n) for k, n in total.by_sponsor_type.items()),
        ),
        SectionTable(
            key="feasibility-areas",
            caption=_("Inquiries by therapy area (ICD-10 chapter)"),
            header=(_("ICD-10 chapter"), _("Inquiries")),
            rows=tuple((str(areas.get(a, a)), n) for a, n in total.by_therapy_area.items()),
        ),
    )
    summary = (
        _(
            "%(inquiries)s feasibility inquiries were submitted in %(year)s; %(dispatched)s "
            "(%(rate)s %%) were sent to at least one unit, and %(positive)s had at least one "
            "positive answer."
        )
        % {
            "inquiries": total.inquiries,
            "year": year,
            "dispatched": total.dispatched,
            "rate": number_format(_percent(total.dispatch_rate), 1),
            "positive": total.with_positive_answer,
        },
    )
    query = f"?year={year}"
    if node:
        query += f"&node={node.slug}"
    return Section(
        key="feasibility",
        title=_("Feasibility inquiries"),
        summary=summary,
        tables=tables,
        api_url="/api/v1/feasibility/measures" + query,
    )
