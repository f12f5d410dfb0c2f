"""A study's dates make sense: the same rules, with clear messages, in the form, the API and
the spreadsheet import; a study with impossible dates is never saved."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.exceptions import ValidationError

from tests.conftest import complete_children, complete_fields
from trialnode.studies import services
from trialnode.studies.models import Study
from trialnode.studies.validators import study_date_errors


@pytest.mark.parametrize(
    ("dates", "field"),
    [
        ({"start": date(2025, 6, 1), "completion": date(2025, 5, 31)}, "completion_date"),
        (
            {"start": date(2025, 6, 1), "primary_completion": date(2025, 1, 1)},
            "primary_completion_date",
        ),
        (
            {"primary_completion": date(2026, 1, 1), "completion": date(2025, 12, 31)},
            "primary_completion_date",
        ),
        ({"start": date(1899, 1, 1)}, "start_date"),
        ({"completion": date(2999, 1, 1)}, "completion_date"),
    ],
)
def test_impossible_dates_are_named_by_field(dates, field):
    arguments = {"start": None, "primary_completion": None, "completion": None, **dates}
    assert field in study_date_errors(**arguments)


def test_plausible_dates_pass():
    assert not study_date_errors(
        start=date(2024, 1, 15), primary_completion=date(2025, 6, 30), completion=date(2025, 12, 31)
    )
    assert not study_date_errors(start=date(2024, 1, 15), primary_completion=None, completion=None)


def test_the_service_saves_nothing_with_an_end_before_the_start(users):
    fields = complete_fields(start_date=date(2025, 6, 1), completion_date=date(2025, 1, 1))
    with pytest.raises(ValidationError) as error:
        services.study_create(by=users.registrant, fields=fields, **complete_children())
    assert error.value.message_dict["completion_date"] == [
        "The completion date cannot be before the start date."
    ]
    assert not Study.objects.exists()


def test_the_form_shows_the_rule_and_saves_nothing(client, users):
    from trialnode.organisations.models import CareProvider

    provider = CareProvider.objects.get(slug="akademiska")
    data = {
        **complete_fields(),
        "sex": "ALL",
        "status": "NOT_YET_RECRUITING",
        "start_date": "2025-06-01",
        "completion_date": "2025-01-01",
        "sites-TOTAL_FORMS": "1",
        "sites-INITIAL_FORMS": "0",
        "sites-0-region": provider.region_id,
        "sites-0-care_provider": provider.pk,
    }
    for name in ("conditions", "interventions", "contacts"):
        data.update({f"{name}-TOTAL_FORMS": "0", f"{name}-INITIAL_FORMS": "0"})
    client.force_login(users.registrant)
    response = client.post("/studier/ny/", data)
    assert response.status_code == 400
    assert "The completion date cannot be before the start date." in response.content.decode()
    assert not Study.objects.exists()


def test_the_api_refuses_the_same_with_a_field_error(client, users):
    client.force_login(users.registrant)
    response = client.post(
        "/api/v1/studies",
        {
            "title_sv": "Ny studie",
            "study_type": "OBSERVATIONAL",
            "start_date": "2025-06-01",
            "completion_date": "2025-01-01",
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "completion_date" in response.json()["errors"]
    assert not Study.objects.exists()


def test_the_spreadsheet_import_rejects_the_row_with_its_reason(client, users):
    header = (
        "title_sv,study_type,sponsor_name,sponsor_type,epm_dnr,summary_sv,conditions,"
        "care_providers,contact_name,start_date,completion_date\n"
    )
    upload = io.BytesIO(
        (
            header + "Astma hos vuxna,OBSERVATIONAL,Region Uppsala,ACADEMIC,2024-00011-01,"
            "Vi följer astma.,J45.9 Astma,akademiska,Studiekontakt,2025-06-01,2025-01-01\n"
        ).encode()
    )
    upload.name = "studies.csv"
    client.force_login(users.coordinator)
    page = client.post("/koppling/kalkylark/", {"file": upload}).content.decode()
    assert "The completion date cannot be before the start date." in page
    assert not Study.objects.exists()
