"""The health-data requests' section of the statistics dashboard and the yearly report:
the same ``selectors.measures`` as ``GET /api/v1/datarequests/measures``."""

from __future__ import annotations

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from trialnode.datarequests.clock import CLOCK_STAGES
from trialnode.datarequests.models import Outcome, Source, Stage
from trialnode.datarequests.selectors import measures
from trialnode.organisations.models import CareProvider
from trialnode.statistics.sections import Section, SectionTable


def _label(choices, key: str) -> str:
    try:
        return str(choices(key).label)
    except ValueError:
        return _("Not yet decided") if key == "pending" else key


def datarequests_section(year: int, regions: tuple[str, ...]) -> Section | None:
    found = measures(year, regions)
    if not found.cases:
        return None
    lead = found.lead_time
    summary = [
        _(
            "%(cases)d health-data requests were submitted in %(year)d; %(delivered)d of them "
            "have been delivered."
        )
        % {"cases": found.cases, "year": year, "delivered": found.delivered},
    ]
    median, p90 = lead["median"], lead["p90"]
    if median is not None and p90 is not None:
        summary.append(
            _(
                "Lead time from submission to delivery, not counting the applicant's time: "
                "median %(median)s working days, 90th percentile %(p90)s."
            )
            % {"median": number_format(median, 1), "p90": number_format(p90, 1)}
        )
    if found.within_target is not None:
        summary.append(
            _("%(share)d %% of the cases kept the target of every finished stage.")
            % {"share": round(100 * found.within_target)}
        )
    count = _("Cases")
    holders = dict(
        CareProvider.objects.filter(slug__in=list(found.lead_times_by_holder)).values_list(
            "slug", "name"
        )
    )
    tables = [
        SectionTable(
            key="datarequests-stage",
            caption=_("Cases by current stage"),
            header=(_("Stage"), count),
            rows=tuple((_label(Stage, k), v) for k, v in found.by_stage.items()),
        ),
        SectionTable(
            key="datarequests-source",
            caption=_("Cases by data source"),
            header=(_("Data source"), count),
            rows=tuple((_label(Source, k), v) for k, v in found.by_source.items()),
        ),
        SectionTable(
            key="datarequests-outcome",
            caption=_("Cases by outcome"),
            header=(_("Outcome"), count),
            rows=tuple((_label(Outcome, k), v) for k, v in found.by_outcome.items()),
        ),
        SectionTable(
            key="datarequests-stage-time",
            caption=_("Working days per stage (finished stages)"),
            header=(_("Stage"), _("Median"), _("90th percentile")),
            rows=tuple(
                (
                    _label(Stage, stage),
                    found.stage_lead_time(stage)["median"],
                    found.stage_lead_time(stage)["p90"],
                )
                for stage in CLOCK_STAGES
            ),
        ),
        SectionTable(
            key="datarequests-holder-time",
            caption=_("Lead time in working days per data holder (delivered cases)"),
            header=(_("Data holder"), _("Delivered"), _("Median"), _("90th percentile")),
            rows=tuple(
                (
                    holders.get(holder, holder),
                    len(values),
                    found.holder_lead_time(holder)["median"],
                    found.holder_lead_time(holder)["p90"],
                )
                for holder, values in found.lead_times_by_holder.items()
            ),
        ),
    ]
    return Section(
        key="datarequests",
        title=_("Health-data requests"),
        summary=tuple(summary),
        tables=tuple(tables),
        api_url=f"/api/v1/datarequests/measures?year={year}",
    )
