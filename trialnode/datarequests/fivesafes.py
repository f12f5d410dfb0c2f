"""The Five Safes summary of a case for the deciding officer: safe people, projects,
settings, data and outputs, filled from the application and the reviews."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from trialnode.datarequests.models import DataRequest, Review


@dataclass(frozen=True)
class Safe:
    key: str
    title: str
    lines: tuple[str, ...]


def five_safes(case: DataRequest) -> list[Safe]:
    reviews = {r.kind: r for r in case.reviews.all() if r.version == case.version}
    legal = reviews.get(Review.Kind.LEGAL)
    technical = reviews.get(Review.Kind.TECHNICAL)
    disclosure = reviews.get(Review.Kind.DISCLOSURE)
    variables = list(case.variables.all())
    sources = sorted({v.source for v in variables})
    pending = _("not yet given")
    return [
        Safe(
            "people",
            _("Safe people"),
            (
                f"{case.applicant} ({case.applicant_organisation}, "
                f"{case.get_applicant_kind_display()})",
            ),
        ),
        Safe(
            "projects",
            _("Safe projects"),
            (
                case.title,
                _("EPM %(dnr)s, decided %(date)s")
                % {"dnr": case.epm_dnr, "date": case.epm_decision_date or "–"},
                str(case.get_legal_basis_display()),
                _("Legal review: %(value)s")
                % {
                    "value": f"{legal.get_recommendation_display()} – {legal.comment}"
                    if legal
                    else pending
                },
            ),
        ),
        Safe("settings", _("Safe settings"), (case.environment,)),
        Safe(
            "data",
            _("Safe data"),
            (
                str(case.get_source_display()),
                _("%(count)d variables from %(sources)s")
                % {"count": len(variables), "sources": ", ".join(sources) or "–"},
                _("Technical feasibility: %(value)s")
                % {
                    "value": f"{technical.get_recommendation_display()} – {technical.comment}"
                    if technical
                    else pending
                },
            ),
        ),
        Safe(
            "outputs",
            _("Safe outputs"),
            (
                str(case.get_output_kind_display()),
                _("Disclosure review: %(value)s")
                % {
                    "value": f"{disclosure.get_recommendation_display()} – {disclosure.comment}"
                    if disclosure
                    else pending
                },
            ),
        ),
    ]
