"""Every measure against numbers worked out by hand from the histories in conftest."""

from datetime import date

import pytest

from trialnode.organisations.models import Region
from trialnode.statistics.definitions import (
    Dimension,
    Measure,
    Period,
    Scope,
    breakdown,
    collaboration,
    count,
    regional_total,
    summary,
)
from trialnode.studies.models import Source, Study, StudyStatusChange

END_OF_2024 = Period.day(date(2024, 12, 31))


@pytest.mark.parametrize(
    ("measure", "period", "expected"),
    [
        # A closed to recruitment but still ongoing, B recruiting, C started that day.
        (Measure.ONGOING, END_OF_2024, 3),
        (Measure.RECRUITING, END_OF_2024, 2),
        # Mid-year A and B recruited; C had not started, D had ended.
        (Measure.RECRUITING, Period.day(date(2024, 6, 30)), 2),
        (Measure.ONGOING, Period.day(date(2024, 6, 30)), 2),
        # D's last ongoing day was 2023-12-30; A was still only planned in 2023.
        (Measure.ONGOING, Period.year(2024), 3),
        (Measure.ONGOING, Period.year(2023), 2),
        (Measure.ONGOING, Period.year(2025), 3),
        (Measure.ONGOING, Period.day(date(2025, 3, 1)), 2),
        (Measure.STARTED, Period.year(2024), 2),
        (Measure.STARTED, Period.year(2022), 1),
        (Measure.COMPLETED, Period.year(2023), 1),
        (Measure.COMPLETED, Period.year(2025), 1),
        (Measure.COMPLETED, Period.year(2024), 0),
    ],
)
def test_national_counts_count_each_study_once(known_studies, measure, period, expected):
    assert count(measure, period) == expected


def test_a_study_in_three_regions_counts_three_times_regionally_and_once_nationally(
    known_studies,
):
    rows = {row.key: row.value for row in breakdown("ongoing", "region", Period.year(2024))}
    assert rows == {"uppsala": 2, "orebro": 2, "dalarna": 1}
    assert regional_total(Measure.ONGOING, Period.year(2024)) == 5
    assert count(Measure.ONGOING, Period.year(2024)) == 3


def test_breakdowns_by_type_sponsor_phase_and_condition_area(known_studies):
    year = Period.year(2024)

    def rows(by):
        return {row.key: row.value for row in breakdown(Measure.ONGOING, by, year)}

    assert rows(Dimension.STUDY_TYPE) == {"INTERVENTIONAL": 2, "OBSERVATIONAL": 1}
    assert rows(Dimension.SPONSOR_TYPE) == {"INDUSTRY": 1, "ACADEMIC": 2}
    assert rows(Dimension.PHASE) == {"PHASE3": 1, "PHASE2": 1, "": 1}
    assert rows(Dimension.CONDITION_AREA) == {"II": 1, "IX": 1, "": 1}
    assert rows(Dimension.CANCER_AREA) == {"breast": 1}
    assert rows(Dimension.CARE_PROVIDER) == {"": 3}


def test_filters_narrow_every_measure_the_same_way(known_studies):
    orebro = Scope(regions=("orebro",))
    assert summary(date(2024, 12, 31), orebro) | {"date": None} == {
        "date": None,
        "ongoing": 2,  # A and C
        "recruiting": 1,  # C
        "ongoing_this_year": 2,
        "started_this_year": 2,
        "completed_this_year": 0,
        "ongoing_study_regions": 2,
    }
    interventional = Scope(study_type="INTERVENTIONAL")
    assert count(Measure.ONGOING, Period.year(2023), interventional) == 1  # D


def test_collaboration_lists_the_regions_that_share_studies(known_studies):
    assert collaboration(Measure.ONGOING, Period.year(2024)) == [
        ("Region Dalarna", "Region Uppsala", 1),
        ("Region Dalarna", "Region Örebro län", 1),
        ("Region Uppsala", "Region Örebro län", 1),
    ]


def test_the_staff_view_adds_unpublished_registrations_of_its_own_regions(known_studies):
    uppsala = frozenset({Region.objects.get(slug="uppsala").pk})
    orebro = frozenset({Region.objects.get(slug="orebro").pk})
    year = Period.year(2024)
    assert count(Measure.ONGOING, year, Scope(unpublished_in_regions=uppsala)) == 4
    assert count(Measure.ONGOING, year, Scope(unpublished_in_regions=orebro)) == 3


def test_a_status_change_recorded_later_changes_the_answer_for_that_date(known_studies):
    assert count(Measure.RECRUITING, Period.day(date(2024, 6, 30))) == 2
    StudyStatusChange.objects.create(
        study=known_studies["B"], status="SUSPENDED", effective_date=date(2024, 5, 1)
    )
    StudyStatusChange.objects.create(
        study=known_studies["B"], status="RECRUITING", effective_date=date(2024, 8, 1)
    )
    assert count(Measure.RECRUITING, Period.day(date(2024, 6, 30))) == 1
    assert count(Measure.ONGOING, Period.year(2024)) == 3  # B was ongoing before and after
    assert count(Measure.STARTED, Period.year(2024)) == 2  # B's restart is not a new start


def test_an_imported_record_counts_from_its_registered_start_to_its_completion(
    reference_data,
):
    study = Study.objects.create(
        title_en="Registry study",
        source=Source.CTGOV,
        nct_id="NCT07654321",
        registration_state="published",
        status="COMPLETED",
        start_date=date(2021, 5, 1),
        completion_date=date(2023, 6, 1),
    )
    # Its history begins when it was first imported, already completed.
    StudyStatusChange.objects.create(
        study=study, status="COMPLETED", effective_date=date(2025, 1, 10)
    )
    assert count(Measure.ONGOING, Period.year(2022)) == 1
    assert count(Measure.STARTED, Period.year(2021)) == 1
    assert count(Measure.COMPLETED, Period.year(2023)) == 1
    assert count(Measure.ONGOING, Period.year(2024)) == 0


def test_a_backdated_change_recorded_later_holds_from_its_date_on(reference_data):
    study = Study.objects.create(title_sv="Efterregistrerad", registration_state="published")
    # Registered today as planned, then corrected: it has recruited since March 2024.
    StudyStatusChange.objects.create(
        study=study, status="NOT_YET_RECRUITING", effective_date=date.today()
    )
    StudyStatusChange.objects.create(
        study=study, status="RECRUITING", effective_date=date(2024, 3, 1)
    )
    assert count(Measure.RECRUITING, Period.day(date.today())) == 1
    assert count(Measure.STARTED, Period.year(2024)) == 1
    assert count(Measure.ONGOING, Period.day(date(2024, 2, 28))) == 0
