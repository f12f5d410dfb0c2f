"""The study history speaks the reader's language: field labels and value labels, never
column names or stored codes."""

from __future__ import annotations

from datetime import date

from django.utils import translation

from trialnode.studies import services
from trialnode.studies.models import StudyStatusChange


def test_the_history_shows_labels_of_fields_and_values_not_columns_or_codes(
    client, users, make_study, settings
):
    settings.LANGUAGE_CODE = "sv"
    study = make_study(owner=users.registrant, title_sv="Metformin vid diabetes")
    services.study_update(
        study=study,
        by=users.registrant,
        expected_version=study.version,
        fields={"completion_date": date(2030, 6, 30), "phase": "PHASE2", "sex": "FEMALE"},
        reason="Nytt slutdatum",
        interventions=[{"type": "DRUG", "name": "Metformin", "atc_code": "A10BA02"}],
    )
    client.force_login(users.coordinator)
    response = client.get(f"/studier/{study.pk}/historik/")
    assert response.status_code == 200
    page = response.content.decode()
    for label in ("Slutdatum", "Fas", "Kön", "Läkemedel", "Fas 2", "Kvinnor", "Intervention"):
        assert label in page, label
    for code in ("completion_date", "PHASE2", "FEMALE", ">DRUG<", "owner", ">1<", "atc_code"):
        assert code not in page, code


def test_an_owner_is_shown_by_name(client, users, make_study, settings):
    settings.LANGUAGE_CODE = "sv"
    users.registrant.first_name, users.registrant.last_name = "Rut", "Registrerare"
    users.registrant.save()
    study = make_study(owner=users.registrant)
    client.force_login(users.coordinator)
    page = client.get(f"/studier/{study.pk}/historik/").content.decode()
    assert "Rut Registrerare" in page


def test_a_change_no_person_made_names_the_channel_it_came_through(
    client, users, make_study, settings
):
    from trialnode.audit.context import acting_as

    settings.LANGUAGE_CODE = "sv"
    with acting_as(via="command:import ctgov"):
        study = make_study()
    client.force_login(users.coordinator)
    page = client.get(f"/studier/{study.pk}/historik/").content.decode()
    assert "kommandoraden (import ctgov)" in page
    assert "command:import" not in page


def test_a_status_change_is_named_by_its_label_in_the_readers_language(make_study):
    change = StudyStatusChange.objects.get(study=make_study())
    assert change.status == "RECRUITING"
    with translation.override("sv"):
        assert str(change) == f"{change.effective_date}: Rekryterar"
    with translation.override("en"):
        assert str(change) == f"{change.effective_date}: Recruiting"
