"""The measures: exact for a known set of cases, and equal in the API and the statistics
section."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.datarequests.conftest import PASSWORD, at, ready_application
from trialnode.datarequests import services
from trialnode.datarequests.section import datarequests_section
from trialnode.datarequests.selectors import measures

pytestmark = pytest.mark.django_db
D = dt.date


def _delivered_with_a_supplement(users, staff):
    """Submitted Monday 2 March 2026, returned on the 4th, back on the 16th, delivered
    Friday 24 April: 2 + 3 + 9 + 5 + 4 + 3 + 1 working days with the clock running."""
    with at(D(2026, 2, 27)):
        case = ready_application(users.registrant)
    with at(D(2026, 3, 2)):
        case = services.datarequest_submit(case=case, by=users.registrant)
    with at(D(2026, 3, 4)):  # 2 working days of completeness check
        case = services.datarequest_return_for_supplement(
            case=case, by=staff.officer, reason="Samtycket saknas."
        )
    with at(D(2026, 3, 16)):  # the clock was stopped for 8 working days
        case = services.datarequest_submit(case=case, by=users.registrant)
    with at(D(2026, 3, 19)):  # 3 more working days: completeness took 5 in all
        case = services.datarequest_accept_complete(case=case, by=staff.officer)
    with at(D(2026, 3, 31)):  # 8 working days of pre-qualification
        services.review_record(
            case=case, by=staff.legal, kind="legal", recommendation="approve", comment="ok"
        )
        services.review_record(
            case=case, by=staff.engineer, kind="technical", recommendation="approve", comment="ok"
        )
    case.refresh_from_db()
    with at(D(2026, 4, 9)):  # 31 Mar → 9 Apr: 5 working days (Easter 3 and 6 April)
        case = services.datarequest_decide(
            case=case, by=staff.officer, outcome="approved", text="", password=PASSWORD
        )
        services.extraction_assign(
            case=case, by=staff.officer, engineer=staff.engineer, estimated_hours=8
        )
    with at(D(2026, 4, 15)):  # 4 working days of extraction
        case = services.extraction_complete(case=case, by=staff.engineer, output_description="ok")
    with at(D(2026, 4, 20)):  # 3 working days of disclosure review
        services.disclosure_review_record(
            case=case, by=staff.second_engineer, passed=True, comment="ok"
        )
        case = services.datarequest_deliver(
            case=case, by=staff.engineer, checksum="b" * 64, row_count=10
        )
    return case


def test_the_lead_time_leaves_out_the_applicants_time_and_holidays(users, staff):
    _delivered_with_a_supplement(users, staff)
    found = measures(2026)
    assert found.cases == 1 and found.delivered == 1
    assert found.lead_times == [5 + 8 + 5 + 4 + 3]
    assert found.stage_times["submitted"] == [5]
    assert found.stage_times["prequalification"] == [8]
    assert found.within_target == 1.0
    assert found.by_stage["delivered"] == 1
    assert sum(found.by_stage.values()) == found.cases


def test_a_stage_over_its_target_counts_against_the_share_within_target(users, staff):
    _delivered_with_a_supplement(users, staff)
    with at(D(2026, 5, 4)):
        late = services.datarequest_submit(
            case=ready_application(users.other_registrant), by=users.other_registrant
        )
    with at(D(2026, 5, 12)):  # 6 working days (target 5)
        services.datarequest_accept_complete(case=late, by=staff.officer)
    found = measures(2026)
    assert found.cases == 2
    assert found.within_target == 0.5
    assert found.by_stage == {
        **{stage: 0 for stage in found.by_stage},
        "delivered": 1,
        "prequalification": 1,
    }


def test_cases_count_in_the_year_they_were_first_submitted(users, staff):
    with at(D(2025, 12, 30)):
        services.datarequest_submit(case=ready_application(users.registrant), by=users.registrant)
    with at(D(2026, 1, 2)):
        ready_application(users.registrant)  # a draft is not counted
    assert measures(2025).cases == 1
    assert measures(2026).cases == 0


def test_the_api_and_the_statistics_section_give_the_same_numbers(client, users, staff):
    _delivered_with_a_supplement(users, staff)
    with at(D(2026, 6, 1)):
        services.datarequest_submit(
            case=ready_application(users.registrant, source="administrative"),
            by=users.registrant,
        )
    body = client.get("/api/v1/datarequests/measures", {"year": 2026}).json()
    assert body["cases"] == 2 and body["delivered"] == 1
    assert body["lead_time_working_days"] == {"median": 25.0, "p90": 25.0}
    assert body["within_target"] == 1.0
    assert sum(body["by_stage"].values()) == body["cases"]
    section = datarequests_section(2026, ())
    assert section is not None
    tables = {table.key: dict((row[0], row[1]) for row in table.rows) for table in section.tables}
    assert sum(tables["datarequests-stage"].values()) == body["cases"]
    assert tables["datarequests-stage"]["Delivered"] == body["by_stage"]["delivered"]
    assert tables["datarequests-stage"]["Completeness check"] == body["by_stage"]["submitted"]
    assert tables["datarequests-source"] == {
        "Patient records": body["by_source"]["patient_records"],
        "Administrative database": body["by_source"]["administrative"],
    }
    holder = next(row for row in section.tables[4].rows)
    assert holder[0] == "Akademiska sjukhuset"
    assert list(holder[1:]) == list(body["lead_time_by_data_holder"]["akademiska"].values())
    stage_rows = {row[0]: list(row[1:]) for row in section.tables[3].rows}
    assert stage_rows["Pre-qualification"] == list(
        body["lead_time_by_stage"]["prequalification"].values()
    )
    assert body["lead_time_by_stage"]["submitted"] == {"median": 5.0, "p90": 5.0}
    assert "median 25.0 working days" in " ".join(section.summary)


def test_the_measures_refuse_a_year_out_of_range(client, db):
    assert client.get("/api/v1/datarequests/measures", {"year": "1850"}).status_code == 400
    assert client.get("/api/v1/datarequests/measures", {"year": "x"}).status_code == 400


def test_a_year_without_cases_has_no_section_and_null_lead_times(client, db):
    assert datarequests_section(2026, ()) is None
    body = client.get("/api/v1/datarequests/measures", {"year": 2026}).json()
    assert body["cases"] == 0
    assert body["lead_time_working_days"] == {"median": None, "p90": None}
    assert body["within_target"] is None
