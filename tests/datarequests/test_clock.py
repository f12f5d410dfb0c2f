"""Waiting-time arithmetic: working days with Swedish holidays, and pauses while the case
waits on the applicant."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.datarequests.conftest import at, ready_application
from trialnode.datarequests import clock, services
from trialnode.datarequests.selectors import standing

D = dt.date


def test_easter_and_weekends_are_not_working_days():
    # Thursday 2 April 2026 to Tuesday 7 April: Good Friday 3, the weekend, Easter Monday 6.
    assert clock.working_days_between(D(2026, 4, 2), D(2026, 4, 7)) == 1
    assert not clock.is_working_day(D(2026, 4, 3))
    assert not clock.is_working_day(D(2026, 4, 6))
    assert clock.is_working_day(D(2026, 4, 7))


def test_midsummer_eve_christmas_eve_and_national_day_are_not_working_days():
    assert not clock.is_working_day(D(2026, 6, 19))  # midsummer eve, a Friday
    assert not clock.is_working_day(D(2026, 12, 24))
    assert not clock.is_working_day(D(2025, 6, 6))  # national day, a Friday in 2025


def test_five_working_days_after_a_wednesday_before_ascension_day():
    # Wednesday 13 May 2026; Ascension Day Thursday 14 May.
    assert clock.add_working_days(D(2026, 5, 13), 5) == D(2026, 5, 21)


def test_three_months_keep_the_day_or_take_the_months_last():
    assert clock.add_months(D(2026, 3, 10), 3) == D(2026, 6, 10)
    assert clock.add_months(D(2025, 11, 30), 3) == D(2026, 2, 28)


def test_the_targets_can_be_configured_and_a_bad_value_stops(monkeypatch):
    monkeypatch.setenv("TRIALNODE_DATAREQUEST_TARGETS", "submitted=7,decision=4m")
    targets = clock.targets()
    assert targets["submitted"].working_days == 7
    assert targets["decision"].months == 4
    assert targets["prequalification"].working_days == 15
    monkeypatch.setenv("TRIALNODE_DATAREQUEST_TARGETS", "submitted=soon")
    with pytest.raises(ImproperlyConfigured):
        clock.targets()
    monkeypatch.setenv("TRIALNODE_DATAREQUEST_TARGETS", "lunch=3")
    with pytest.raises(ImproperlyConfigured):
        clock.targets()


@pytest.mark.django_db
def test_the_completeness_clock_stops_while_the_applicant_supplements(users, staff):
    with at(D(2026, 3, 27)):
        draft = ready_application(users.registrant)
    with at(D(2026, 3, 30)):  # Monday
        case = services.datarequest_submit(case=draft, by=users.registrant)
    assert standing(case, today=D(2026, 3, 30)).due == D(2026, 4, 8)  # 5 wd, Easter inside
    with at(D(2026, 4, 1)):  # Wednesday: 2 working days used
        case = services.datarequest_return_for_supplement(
            case=case, by=staff.officer, reason="Bifoga samtycket."
        )
    where = standing(case, today=D(2026, 4, 20))
    assert where.clock_stopped and where.due is None
    with at(D(2026, 4, 20)):  # Monday, back with the case officer: 3 working days left
        case = services.datarequest_submit(case=case, by=users.registrant)
    where = standing(case, today=D(2026, 4, 21))
    assert where.due == D(2026, 4, 23)
    assert where.working_days_in_stage == 3  # 2 before the pause and 1 since


@pytest.mark.django_db
def test_the_decision_is_due_three_months_after_the_application_was_complete(users, staff):
    with at(D(2026, 1, 30)):
        draft = ready_application(users.registrant)
    with at(D(2026, 2, 2)):
        case = services.datarequest_submit(case=draft, by=users.registrant)
    with at(D(2026, 2, 4)):
        case = services.datarequest_accept_complete(case=case, by=staff.officer)
    assert standing(case, today=D(2026, 2, 4)).due == D(2026, 2, 25)  # 15 working days
    with at(D(2026, 2, 10)):
        services.review_record(
            case=case, by=staff.legal, kind="legal", recommendation="approve", comment="ok"
        )
        services.review_record(
            case=case, by=staff.engineer, kind="technical", recommendation="approve", comment="ok"
        )
    case.refresh_from_db()
    where = standing(case, today=D(2026, 5, 5))
    assert where.due == D(2026, 5, 4)
    assert where.overdue
