"""Reads with a rule: where a case stands, and the measures of the waiting times.

The measures are defined once here and used by the API, the statistics dashboard and
the yearly report, so the three always agree.

- A case counts in a year when it was first submitted in that year (Stockholm time).
- ``by_stage``: the current stage of those cases (every stage listed, draft too for an
  amendment back with the applicant; adds up to cases).
- ``delivered``: those that reached delivery (delivered or closed after delivery).
- Lead time: working days from submission to delivery of the original application
  (version 1), the time waiting on the applicant left out; median and 90th percentile
  (linear interpolation) over the delivered cases.
- Within target: of the cases with at least one finished stage that has a target, the
  share whose every finished stage kept it.
- Lead time per stage: working days of each finished stage (all its periods); per data
  holder: the lead times of its delivered cases.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch

from trialnode.datarequests import clock
from trialnode.datarequests.models import DataRequest, Stage, StagePeriod

REPORTED_STAGES = list(Stage.values)
"""Every stage: an amended case is back in draft after its first submission."""


@dataclass(frozen=True)
class Standing:
    """Where a case is, since when, and when the current stage is expected to be done."""

    stage: str
    stage_label: str
    since: dt.datetime
    due: dt.date | None
    clock_stopped: bool
    overdue: bool
    working_days_in_stage: int


def _periods(case: DataRequest, version: int | None = None) -> list[StagePeriod]:
    periods = sorted(case.periods.all(), key=lambda p: (p.started_at, p.pk))
    wanted = case.version if version is None else version
    return [p for p in periods if p.version == wanted]


def standing(case: DataRequest, *, today: dt.date | None = None) -> Standing:
    today = today or clock.today()
    periods = _periods(case)
    due = None if case.waits_on_applicant else clock.due_date(list(periods), case.stage)
    in_stage = clock.stage_working_days(periods, case.stage, until=today) if periods else 0
    return Standing(
        stage=case.stage,
        stage_label=str(case.get_stage_display()),
        since=case.stage_since,
        due=due,
        clock_stopped=case.waits_on_applicant,
        overdue=due is not None and today > due,
        working_days_in_stage=in_stage,
    )


def _percentiles(values: list[int]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "p90": None}
    import numpy as np  # here, not at start-up: every command loads this module

    median, p90 = np.percentile(np.array(values, dtype=float), [50, 90])
    return {"median": round(float(median), 1), "p90": round(float(p90), 1)}


@dataclass
class Measures:
    year: int
    cases: int = 0
    by_stage: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)
    by_outcome: dict[str, int] = field(default_factory=dict)
    delivered: int = 0
    lead_times: list[int] = field(default_factory=list)
    stage_times: dict[str, list[int]] = field(default_factory=dict)
    lead_times_by_holder: dict[str, list[int]] = field(default_factory=dict)
    """Lead times of the delivered cases by the slug of their data holder."""
    judged: int = 0
    kept: int = 0

    @property
    def lead_time(self) -> dict[str, float | None]:
        return _percentiles(self.lead_times)

    @property
    def within_target(self) -> float | None:
        return round(self.kept / self.judged, 4) if self.judged else None

    def stage_lead_time(self, stage: str) -> dict[str, float | None]:
        return _percentiles(self.stage_times.get(stage, []))

    def holder_lead_time(self, holder: str) -> dict[str, float | None]:
        return _percentiles(self.lead_times_by_holder.get(holder, []))

    def as_api(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "cases": self.cases,
            "by_stage": self.by_stage,
            "delivered": self.delivered,
            "lead_time_working_days": self.lead_time,
            "within_target": self.within_target,
            "by_source": self.by_source,
            "by_outcome": self.by_outcome,
            "lead_time_by_stage": {
                stage: self.stage_lead_time(stage) for stage in clock.CLOCK_STAGES
            },
            "lead_time_by_data_holder": {
                holder: {"delivered": len(values), **self.holder_lead_time(holder)}
                for holder, values in self.lead_times_by_holder.items()
            },
        }


def cases_of_year(year: int, regions: tuple[str, ...] = ()):
    start = dt.datetime(year, 1, 1, tzinfo=clock.STOCKHOLM)
    end = dt.datetime(year + 1, 1, 1, tzinfo=clock.STOCKHOLM)
    queryset = DataRequest.objects.filter(submitted_at__gte=start, submitted_at__lt=end)
    if regions:
        queryset = queryset.filter(data_holder__region__slug__in=regions)
    return queryset


def measures(year: int, regions: tuple[str, ...] = ()) -> Measures:
    """The measures of the cases first submitted in ``year`` (data holders in ``regions``,
    or all)."""
    queryset = (
        cases_of_year(year, regions)
        .select_related("data_holder")
        .prefetch_related(Prefetch("periods", queryset=StagePeriod.objects.order_by("started_at")))
    )
    result = Measures(year=year)
    stages: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    stage_times: dict[str, list[int]] = defaultdict(list)
    by_holder: dict[str, list[int]] = defaultdict(list)
    for case in queryset:
        result.cases += 1
        stages[case.stage] += 1
        sources[case.source] += 1
        outcomes[case.outcome or "pending"] += 1
        original = _periods(case, version=1)
        if any(p.stage == Stage.DELIVERED for p in original):
            result.delivered += 1
        lead = clock.lead_time(original)
        if lead is not None:
            result.lead_times.append(lead)
            by_holder[case.data_holder.slug].append(lead)
        verdicts = []
        for stage in clock.CLOCK_STAGES:
            mine = [p for p in original if p.stage == stage]
            if mine and all(p.ended_at for p in mine):
                stage_times[stage].append(clock.stage_working_days(mine, stage))
            kept = clock.stage_kept_target(original, stage)
            if kept is not None:
                verdicts.append(kept)
        if verdicts:
            result.judged += 1
            result.kept += all(verdicts)
    result.by_stage = {stage: stages.get(stage, 0) for stage in REPORTED_STAGES}
    result.by_source = dict(sorted(sources.items()))
    result.by_outcome = dict(sorted(outcomes.items()))
    result.stage_times = dict(stage_times)
    result.lead_times_by_holder = dict(sorted(by_holder.items()))
    return result
