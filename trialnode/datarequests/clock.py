"""The case clock: working days with Swedish holidays, stage targets and due dates.

A working day is a weekday that is neither a Swedish public holiday nor one of the days
everyone treats as one (midsummer eve, Christmas eve, New Year's eve), as the
``holidays`` package lists them. Elapsed time in a stage counts the working days after
the day it started up to and including the day it ended, in Stockholm time, so the
periods of a case add up without counting a day twice. The clock stops while the case
waits on the applicant (draft, returned for supplement).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from trialnode.env import env_int, env_str

STOCKHOLM = ZoneInfo("Europe/Stockholm")

DEFAULT_TARGETS: dict[str, str] = {
    "submitted": "5",  # completeness check: 5 working days (Findata: about a week)
    "prequalification": "15",  # legal review and technical feasibility: 15 working days
    "decision": "3m",  # decision: 3 months of a complete application
    "extraction": "20",
    "disclosure_review": "5",
}
"""Target per stage: working days, or calendar months (``3m``) from the day the
application was found complete. ``TRIALNODE_DATAREQUEST_TARGETS`` overrides them, e.g.
``submitted=5,prequalification=15,decision=3m``."""


@dataclass(frozen=True)
class Target:
    stage: str
    working_days: int | None = None
    months: int | None = None

    def __str__(self) -> str:
        return f"{self.months}m" if self.months else str(self.working_days)


def _parse_target(stage: str, raw: str) -> Target:
    raw = raw.strip().lower()
    try:
        if raw.endswith("m"):
            months = int(raw[:-1])
            if months < 1:
                raise ValueError
            return Target(stage, months=months)
        days = int(raw)
        if days < 1:
            raise ValueError
        return Target(stage, working_days=days)
    except ValueError:
        raise ImproperlyConfigured(
            f"TRIALNODE_DATAREQUEST_TARGETS: {stage}={raw!r} is neither a number of working "
            "days (15) nor of months (3m)"
        ) from None


def targets() -> dict[str, Target]:
    """The target of each stage that has one, defaults overridden from the environment."""
    values = dict(DEFAULT_TARGETS)
    raw = env_str("TRIALNODE_DATAREQUEST_TARGETS", "") or ""
    for item in filter(None, (part.strip() for part in raw.split(","))):
        stage, _sep, value = item.partition("=")
        if stage not in DEFAULT_TARGETS:
            raise ImproperlyConfigured(
                f"TRIALNODE_DATAREQUEST_TARGETS: unknown stage {stage!r}; "
                f"use {', '.join(DEFAULT_TARGETS)}"
            )
        values[stage] = value
    return {stage: _parse_target(stage, value) for stage, value in values.items()}


def warning_days() -> int:
    """How many working days before a deadline the warning goes out."""
    days = env_int("TRIALNODE_DATAREQUEST_WARNING_DAYS", 2)
    if days < 0:
        raise ImproperlyConfigured("TRIALNODE_DATAREQUEST_WARNING_DAYS must not be negative")
    return days


@lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[dt.date]:
    import holidays  # here, not at start-up: the package loads every country's calendar

    calendar_ = holidays.country_holidays(
        "SE", years=year, categories=(holidays.PUBLIC, holidays.DE_FACTO)
    )
    return frozenset(calendar_.keys())


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when end ≤ start)."""
    count = 0
    day = start + dt.timedelta(days=1)
    while day <= end:
        if is_working_day(day):
            count += 1
        day += dt.timedelta(days=1)
    return count


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The ``days``-th working day after ``start`` (``start`` itself for 0 or less)."""
    day = start
    while days > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            days -= 1
    return day


def add_months(start: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (the month's last day when it has no such day)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def local_date(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment, STOCKHOLM).date()


def today() -> dt.date:
    return local_date(timezone.now())


class PeriodLike(Protocol):
    """What the clock needs of a stage period (a ``StagePeriod`` or a test double)."""

    @property
    def stage(self) -> str: ...
    @property
    def started_at(self) -> dt.datetime: ...
    @property
    def ended_at(self) -> dt.datetime | None: ...


def period_working_days(period: PeriodLike, *, until: dt.date | None = None) -> int:
    end = local_date(period.ended_at) if period.ended_at else (until or today())
    return working_days_between(local_date(period.started_at), end)


def stage_working_days(
    periods: Iterable[PeriodLike], stage: str, *, until: dt.date | None = None
) -> int:
    """Working days spent in ``stage`` over all its periods: the clock of a stage that
    was left to wait on the applicant goes on where it stopped."""
    return sum(period_working_days(p, until=until) for p in periods if p.stage == stage)


def complete_on(periods: Iterable[PeriodLike]) -> dt.date | None:
    """The day the application was found complete (it entered pre-qualification)."""
    starts = [p.started_at for p in periods if p.stage == "prequalification"]
    return local_date(min(starts)) if starts else None


def due_date(periods: Sequence[PeriodLike], stage: str) -> dt.date | None:
    """When the stage the case is in (its last period) should be done, or None when the
    stage has no target or the case waits on the applicant."""
    target = targets().get(stage)
    if target is None or not periods:
        return None
    if target.months:
        complete = complete_on(periods)
        return add_months(complete, target.months) if complete else None
    current = periods[-1]
    earlier = stage_working_days(periods[:-1], stage)
    return add_working_days(local_date(current.started_at), (target.working_days or 0) - earlier)


def stage_kept_target(periods: Sequence[PeriodLike], stage: str) -> bool | None:
    """Whether a finished stage kept its target; None when it has none or is not finished."""
    target = targets().get(stage)
    mine = [p for p in periods if p.stage == stage]
    if target is None or not mine or any(p.ended_at is None for p in mine):
        return None
    if target.months:
        complete = complete_on(periods)
        if complete is None:
            return None
        last_end = max(p.ended_at for p in mine if p.ended_at)
        return local_date(last_end) <= add_months(complete, target.months)
    return stage_working_days(mine, stage) <= (target.working_days or 0)


CLOCK_STAGES = ("submitted", "prequalification", "decision", "extraction", "disclosure_review")
"""Stages whose time counts towards the lead time (the clock runs in them)."""


def lead_time(periods: Sequence[PeriodLike]) -> int | None:
    """Working days from submission to delivery with the applicant's time left out, or
    None when the case has not been delivered."""
    if not any(p.stage == "delivered" for p in periods):
        return None
    return sum(period_working_days(p) for p in periods if p.stage in CLOCK_STAGES)
