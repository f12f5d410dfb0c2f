"""The in-memory counting gives exactly what the definitions' database queries give."""

import itertools
from datetime import date

import pytest
from django.db import connection

from trialnode.organisations.models import Region
from trialnode.statistics import definitions as d
from trialnode.studies.synthetic import synthetic_studies_create

PERIODS = [
    d.Period.year(2019),
    d.Period.year(2023),
    d.Period.day(date(2021, 6, 30)),
    d.Period.day(date.today()),
    d.Period(date(2020, 3, 1), date(2022, 2, 28)),
]


@pytest.fixture
def many_studies(known_studies):
    synthetic_studies_create(400, seed=7)
    if connection.vendor == "postgresql":
        # Fresh tables have no planner statistics until autovacuum comes by, and the
        # reference queries' nested subqueries get a plan fit for empty tables.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _scopes():
    uppsala = frozenset({Region.objects.get(slug="uppsala").pk})
    return [
        d.Scope(),
        d.Scope(regions=("stockholm",)),
        d.Scope(regions=("uppsala", "orebro"), study_type="INTERVENTIONAL"),
        d.Scope(sponsor_type="INDUSTRY", phase="PHASE3"),
        d.Scope(unpublished_in_regions=uppsala),
    ]


def test_every_measure_period_and_scope_agrees(many_studies):
    for scope in _scopes():
        for period in PERIODS:
            for measure in d.Measure.ALL:
                expected = d.studies(measure, period, scope).count()
                assert d.count(measure, period, scope) == expected, (measure, period, scope)
            assert d.collaboration("ongoing", period, scope) == d.reference_collaboration(
                "ongoing", period, scope
            )


def test_every_breakdown_agrees(many_studies):
    """Every measure by every dimension, each pair in two periods and scopes.

    The pairs rotate through the periods and scopes, so that every period and scope
    is met by many breakdowns without running the whole product of them all.
    """
    combinations = list(itertools.product(_scopes(), PERIODS))
    pairs = list(itertools.product(d.Measure.ALL, d.Dimension.ALL))
    for i, (measure, by) in enumerate(pairs):
        for scope, period in (
            combinations[i % len(combinations)],
            combinations[(7 * i + 3) % len(combinations)],
        ):
            engine = {row.key: row.value for row in d.breakdown(measure, by, period, scope)}
            reference = {
                key: value
                for key, value in d.reference_counts_by_value(measure, by, period, scope).items()
                if value
            }
            assert engine == reference, (measure, by, period, scope)


def test_the_status_in_force_is_the_status_on_the_study(many_studies):
    from trialnode.studies.models import StatusSpan, Study

    in_force = dict(StatusSpan.objects.filter(end__isnull=True).values_list("study_id", "status"))
    assert in_force == dict(Study.objects.filter(pk__in=in_force).values_list("pk", "status"))
    assert len(in_force) == Study.objects.count()


def _assert_agrees(scopes, periods):
    for scope in scopes:
        for period in periods:
            for measure in d.Measure.ALL:
                expected = d.studies(measure, period, scope).count()
                assert d.count(measure, period, scope) == expected, (measure, period, scope)
                for by in d.Dimension.ALL:
                    engine = {row.key: row.value for row in d.breakdown(measure, by, period, scope)}
                    reference = {
                        key: value
                        for key, value in d.reference_counts_by_value(
                            measure, by, period, scope
                        ).items()
                        if value
                    }
                    assert engine == reference, (measure, by, period, scope)
            assert d.collaboration("ongoing", period, scope) == d.reference_collaboration(
                "ongoing", period, scope
            )


def _changes():
    """A status change, a site added and one removed, a condition, a record marked as the
    same study as another which is then deleted, a study withdrawn, twenty new studies:
    each a step that can be applied on its own."""
    from trialnode.studies.models import (
        RegistrationState,
        Study,
        StudyCondition,
        StudySite,
        StudyStatusChange,
    )

    first, second, third, fourth = Study.objects.order_by("pk")[:4]

    def status():
        StudyStatusChange.objects.create(
            study=first, status="COMPLETED", effective_date=date(2023, 5, 1)
        )
        first.status = "COMPLETED"
        first.save()

    def sites():
        StudySite.objects.create(study=second, region=Region.objects.get(slug="norrbotten"))
        StudySite.objects.filter(study=third).first().delete()

    def condition():
        StudyCondition.objects.create(study=third, icd10_code="C61", text="Prostatacancer")

    def same_study():
        fourth.duplicate_of = second
        fourth.save()

    def deleted():
        Study.objects.filter(pk=second.pk).first().delete()

    def withdrawn():
        study = Study.objects.order_by("-pk").first()
        study.registration_state = RegistrationState.RETURNED
        study.save()

    def created():
        synthetic_studies_create(20, seed=11)

    return [status, sites, condition, same_study, deleted, withdrawn, created]


def _change_some_studies():
    for change in _changes():
        change()


def _no_reload(version):
    raise AssertionError("the whole data was loaded again")


def test_changes_are_applied_to_the_loaded_data_without_reloading_it(many_studies, monkeypatch):
    from trialnode.statistics import engine

    engine.snapshot()
    monkeypatch.setattr(engine, "_load", _no_reload)
    _change_some_studies()
    scopes = _scopes()
    _assert_agrees([scopes[0]], [PERIODS[1], PERIODS[3]])
    _assert_agrees([scopes[4]], [PERIODS[4]])


def _no_counting(*args, **kwargs):
    raise AssertionError("a number was counted again over all studies")


def test_numbers_counted_before_a_change_are_corrected_by_the_changed_studies_alone(
    many_studies, monkeypatch
):
    """The first request after a write must not count everything again: each number
    already counted is corrected by what the changed studies added to it before and add
    now, and still agrees with the definitions."""
    from trialnode.statistics import engine

    scopes = _scopes()[:4]
    periods = [PERIODS[1], PERIODS[3]]
    _assert_agrees(scopes, periods)
    monkeypatch.setattr(engine, "_load", _no_reload)
    monkeypatch.setattr(engine, "counted", _no_counting)
    monkeypatch.setattr(engine, "_count", _no_counting)
    _change_some_studies()
    _assert_agrees(scopes, periods)


@pytest.mark.parametrize("held", [2, 1000], ids=["arrays-rebuilt", "changes-held"])
def test_changes_applied_one_by_one_agree_with_the_definitions(many_studies, monkeypatch, held):
    """Changes applied one at a time pile up beside the loaded arrays (or, past a number
    of changed studies, are built into them); numbers counted before are corrected and
    numbers counted afterwards for the first time agree too."""
    from trialnode.statistics import engine

    monkeypatch.setattr(engine, "OVERLAY_STUDIES", held)
    scopes = _scopes()
    year, today = PERIODS[1], PERIODS[3]
    _assert_agrees([scopes[0], scopes[1]], [year])
    monkeypatch.setattr(engine, "_load", _no_reload)
    for change in _changes():
        change()
        d.count("ongoing", today, scopes[2])  # applies the change
    _assert_agrees([scopes[0], scopes[1]], [year])
    _assert_agrees([scopes[2], scopes[3], scopes[4]], [today])


def _assert_series_agree(scopes):
    """Time series agree with the definitions period by period: years, month ends, and
    periods of different lengths one after the other."""
    series = [
        d.series_periods("year", 2024, date(2024, 12, 31)),
        d.series_periods("month", 2023, date(2023, 12, 31)),
        [
            d.Period.day(date(2020, 3, 1)),
            d.Period(date(2020, 3, 2), date(2021, 6, 30)),
            d.Period.year(2022),
            d.Period(date(2023, 1, 1), date(2023, 1, 2)),
        ],
    ]
    for scope in scopes:
        for periods in series:
            for measure in d.Measure.ALL:
                numbers = [row.value for row in d.time_series(measure, periods, scope)]
                expected = [d.studies(measure, period, scope).count() for period in periods]
                assert numbers == expected, (measure, periods, scope)


def test_time_series_agree(many_studies):
    _assert_series_agree(_scopes())


def test_time_series_counted_after_changes_agree(many_studies, monkeypatch):
    from trialnode.statistics import engine

    engine.snapshot()
    monkeypatch.setattr(engine, "_load", _no_reload)
    _change_some_studies()
    _assert_series_agree(_scopes())
