"""The demo has a case in every stage; deadline warnings and escalations go out once."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.datarequests.conftest import at, ready_application
from trialnode.audit.trail import verify
from trialnode.datarequests import services
from trialnode.datarequests.deadlines import deadlines_check
from trialnode.datarequests.models import DataRequest, DeadlineNotice, Stage
from trialnode.datarequests.selectors import measures, standing

pytestmark = pytest.mark.django_db
D = dt.date


def test_the_demo_has_cases_in_every_stage_one_returned_and_one_overdue(reference_data):
    from trialnode.datarequests.demo import load_datarequests_demo
    from trialnode.demo import create_demo_users

    create_demo_users()
    load_datarequests_demo()
    stages = set(DataRequest.objects.values_list("stage", flat=True))
    assert stages == set(Stage.values)
    assert any(standing(case).overdue for case in DataRequest.objects.all())
    assert DataRequest.objects.filter(stage=Stage.SUPPLEMENT).count() == 1
    assert DataRequest.objects.filter(version=2).count() == 1
    this_year = dt.date.today().year
    for earlier in (this_year - 1, this_year):
        found = measures(earlier)
        assert sum(found.by_stage.values()) == found.cases
    year = measures(this_year)
    assert year.delivered >= 1 and year.lead_time["median"] is not None
    assert sum(year.by_stage.values()) == year.cases
    assert verify().broken_seq is None  # the demo's past dates keep the trail intact


def test_a_warning_goes_out_before_the_deadline_and_an_escalation_after_it_once(users, staff):
    with at(D(2026, 3, 2)):
        case = services.datarequest_submit(
            case=ready_application(users.registrant), by=users.registrant
        )
    # Due Monday 9 March (5 working days); the warning comes 2 working days before.
    assert deadlines_check(today=D(2026, 3, 3)).warnings == 0
    assert deadlines_check(today=D(2026, 3, 5)).warnings == 1
    assert deadlines_check(today=D(2026, 3, 6)).warnings == 0
    run = deadlines_check(today=D(2026, 3, 10))
    assert run.escalations == 1
    assert deadlines_check(today=D(2026, 3, 11)).escalations == 0
    kinds = list(DeadlineNotice.objects.values_list("kind", "due"))
    assert kinds == [("warning", D(2026, 3, 9)), ("escalation", D(2026, 3, 9))]
    assert "caseofficer@example.se" in DeadlineNotice.objects.get(kind="warning").recipients
    escalation = DeadlineNotice.objects.get(kind="escalation")
    assert "nodeadmin@example.se" in escalation.recipients
    assert case.pk == escalation.period.request_id


def test_no_deadline_runs_while_the_case_waits_on_the_applicant(users, staff):
    with at(D(2026, 3, 2)):
        case = services.datarequest_submit(
            case=ready_application(users.registrant), by=users.registrant
        )
        services.datarequest_return_for_supplement(case=case, by=staff.officer, reason="Mer.")
    run = deadlines_check(today=D(2026, 6, 1))
    assert (run.warnings, run.escalations) == (0, 0)
