"""A study's status is one fact: the record, its history, the recruiting filter, the API and
the statistics can never disagree, on the demo, on synthetic data and after corrections."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from tests.conftest import complete_children, complete_fields
from trialnode.statistics import definitions as d
from trialnode.studies import services
from trialnode.studies.filters import StudySearch
from trialnode.studies.models import Status, Study
from trialnode.studies.selectors import status_periods
from trialnode.studies.synthetic import synthetic_studies_create


def assert_status_tells_the_truth(client) -> int:
    """Every published study: checked one by one; returns how many."""
    today = d.Period.day(date.today())
    counted_recruiting = set(d.studies(d.Measure.RECRUITING, today).values_list("pk", flat=True))
    found_recruiting = set(
        StudySearch.from_params({"recruiting": "true"})
        .filtered(Study.objects.published())
        .values_list("pk", flat=True)
    )
    studies = list(Study.objects.published())
    for study in studies:
        periods = status_periods(study)
        assert periods, study
        assert (periods[-1].status, periods[-1].end) == (study.status, None), study
        body = client.get(f"/api/v1/studies/{study.pk}").json()
        assert body["status"] == body["status_history"][-1]["status"] == study.status
        recruiting = study.status == Status.RECRUITING
        assert (study.pk in counted_recruiting) == recruiting, study
        assert (study.pk in found_recruiting) == recruiting, study
    assert d.count(d.Measure.RECRUITING, today) == len(counted_recruiting)
    return len(studies)


def test_status_agrees_everywhere_in_the_demo(client, db, sample_data):
    from trialnode.demo import load_demo

    load_demo()
    assert assert_status_tells_the_truth(client) > 10


def test_status_agrees_everywhere_on_synthetic_studies(client, reference_data):
    synthetic_studies_create(150, seed=7)
    assert assert_status_tells_the_truth(client) == 150


def test_status_agrees_after_corrections_with_earlier_dates(client, users):
    study = services.study_create(
        by=users.registrant,
        fields=complete_fields(),
        status=Status.NOT_YET_RECRUITING,
        status_date=date.today() - timedelta(days=200),
        **complete_children(),
    )
    services.study_submit(study=study, by=users.registrant)
    services.study_publish(
        study=study, by=users.coordinator, password="pw-coordinator", reason="Validerad"
    )
    # Recruiting since last month, recorded today; then a correction: it has recruited
    # since 150 days ago, recorded after that; then closed last week.
    services.study_change_status(
        study=study,
        by=users.coordinator,
        status=Status.RECRUITING,
        effective_date=date.today() - timedelta(days=30),
        reason="Rekryteringen har startat",
    )
    services.study_change_status(
        study=study,
        by=users.coordinator,
        status=Status.RECRUITING,
        effective_date=date.today() - timedelta(days=150),
        reason="Rättelse: rekryteringen startade tidigare",
    )
    assert [(p.status, p.start) for p in status_periods(study)] == [
        (Status.NOT_YET_RECRUITING, date.today() - timedelta(days=200)),
        (Status.RECRUITING, date.today() - timedelta(days=150)),
    ]
    assert_status_tells_the_truth(client)
    services.study_change_status(
        study=study,
        by=users.coordinator,
        status=Status.ACTIVE_NOT_RECRUITING,
        effective_date=date.today() - timedelta(days=7),
        reason="Fulltalig",
    )
    study.refresh_from_db()
    assert study.status == Status.ACTIVE_NOT_RECRUITING
    assert assert_status_tells_the_truth(client) == 1


def test_the_form_sets_the_status_and_its_date(client, users):
    from trialnode.organisations.models import CareProvider

    provider = CareProvider.objects.get(slug="akademiska")
    since = date.today() - timedelta(days=40)
    data = {
        **complete_fields(),
        "sex": "ALL",
        "status": "RECRUITING",
        "status_date": since.isoformat(),
        "sites-TOTAL_FORMS": "1",
        "sites-INITIAL_FORMS": "0",
        "sites-0-region": provider.region_id,
        "sites-0-care_provider": provider.pk,
        "sites-0-recruitment_status": "RECRUITING",
    }
    for name in ("conditions", "interventions", "contacts"):
        data.update({f"{name}-TOTAL_FORMS": "0", f"{name}-INITIAL_FORMS": "0"})
    client.force_login(users.registrant)
    assert client.post("/studier/ny/", data).status_code == 302
    study = Study.objects.get()
    assert study.status == Status.RECRUITING
    assert [(p.status, p.start) for p in status_periods(study)] == [(Status.RECRUITING, since)]


def test_a_recruiting_site_makes_a_study_that_is_not_recruiting_an_error(users):
    children = complete_children()
    children["sites"][0]["recruitment_status"] = Status.RECRUITING
    with pytest.raises(ValidationError) as error:
        services.study_create(
            by=users.registrant,
            fields=complete_fields(),
            status=Status.NOT_YET_RECRUITING,
            **children,
        )
    assert "status" in error.value.message_dict
    assert not Study.objects.exists()


def test_closing_a_study_closes_the_sites_that_still_recruit(users):
    children = complete_children()
    children["sites"][0]["recruitment_status"] = Status.RECRUITING
    study = services.study_create(
        by=users.registrant, fields=complete_fields(), status=Status.RECRUITING, **children
    )
    services.study_change_status(study=study, by=users.registrant, status=Status.COMPLETED)
    assert list(study.sites.values_list("recruitment_status", flat=True)) == [Status.COMPLETED]


def test_a_status_date_in_the_future_is_refused_and_nothing_changes(users):
    with pytest.raises(ValidationError) as error:
        services.study_create(
            by=users.registrant,
            fields=complete_fields(),
            status=Status.RECRUITING,
            status_date=date.today() + timedelta(days=1),
            **complete_children(),
        )
    assert "status_date" in error.value.message_dict
    assert not Study.objects.exists()
