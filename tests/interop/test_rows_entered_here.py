"""A row a coordinator adds to a registry study stays when the registry's record changes;
the rows the record brought are replaced by its new version."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from tests.interop import in_sweden
from trialnode.interop.ctgov import import_records
from trialnode.studies import services
from trialnode.studies.filters import StudySearch
from trialnode.studies.models import Study, StudySearchDocument


def _record(contact: str, condition: str) -> dict[str, Any]:
    return in_sweden(
        {
            "protocolSection": {
                "identificationModule": {"nctId": "NCT09999996", "briefTitle": "A study"},
                "statusModule": {"overallStatus": "RECRUITING"},
                "designModule": {"studyType": "INTERVENTIONAL"},
                "conditionsModule": {"conditions": [condition]},
                "contactsLocationsModule": {
                    "centralContacts": [{"name": contact, "email": "central@example.org"}]
                },
            }
        },
        location={"facility": "Akademiska sjukhuset", "city": "Uppsala", "country": "Sweden"},
    )


def _rows(study: Study, name: str) -> list[dict[str, Any]]:
    """The study's rows of one kind as the edit form sends them back."""
    fields = {
        "sites": ("region", "care_provider", "unit", "facility_name", "city", "investigator"),
        "conditions": ("icd10_code", "text"),
        "interventions": ("type", "name", "atc_code"),
        "contacts": ("name", "role", "email", "phone"),
    }[name]
    return [{f: getattr(row, f) for f in fields} for row in getattr(study, name).all()]


def _edit(study: Study, by, **rows: list[dict[str, Any]]) -> Study:
    """A coordinator's edit sending the given rows of some kinds, the others as stored."""
    kinds = ("sites", "conditions", "interventions", "contacts")
    return services.study_update(
        study=study,
        by=by,
        expected_version=study.version,
        fields={},
        reason="Rättat av koordinatorn",
        **{name: rows[name] if name in rows else _rows(study, name) for name in kinds},
    )


def _add_rows(study: Study, by, **added: list[dict[str, Any]]) -> Study:
    """A coordinator's edit that keeps every row and adds ``added``."""
    return _edit(study, by, **{name: [*_rows(study, name), *rows] for name, rows in added.items()})


@pytest.fixture
def imported(reference_data, users) -> Study:
    summary = import_records([_record("Central Kontakt", "Asthma")])
    assert summary.created == 1
    return Study.objects.get(nct_id="NCT09999996")


def test_rows_a_coordinator_added_stay_when_the_record_changes(imported, users):
    _add_rows(
        imported,
        users.coordinator,
        contacts=[{"name": "Studiesköterska Uppsala", "email": "studie@example.se"}],
        conditions=[{"text": "Sarkoidos"}],
    )
    assert imported.contacts.filter(entered_here=True).count() == 1
    assert imported.contacts.filter(entered_here=False).count() == 1  # the record's

    summary = import_records([_record("Ny Central Kontakt", "Bronchial Asthma")])

    assert summary.updated == 1
    assert sorted(imported.contacts.values_list("name", "entered_here")) == [
        ("Ny Central Kontakt", False),
        ("Studiesköterska Uppsala", True),
    ]
    assert sorted(imported.conditions.values_list("text", "entered_here")) == [
        ("Bronchial Asthma", False),
        ("Sarkoidos", True),
    ]
    # The search document holds the rows the study has, the kept ones too.
    body = StudySearchDocument.objects.get(study=imported).body
    assert "Sarkoidos" in body and "Bronchial Asthma" in body
    found = StudySearch.from_params({"q": "sarkoidos"}).run(Study.objects.all(), page_size=20)
    assert [study.pk for study in found.studies] == [imported.pk]


def test_an_edit_that_keeps_the_records_rows_leaves_them_to_the_registry(imported, users):
    _add_rows(imported, users.coordinator)  # saved without a change to the rows
    assert not imported.contacts.filter(entered_here=True).exists()

    import_records([_record("Ny Central Kontakt", "Asthma")])

    assert list(imported.contacts.values_list("name", flat=True)) == ["Ny Central Kontakt"]


def test_a_row_entered_here_that_the_record_then_lists_is_not_doubled(imported, users):
    _add_rows(imported, users.coordinator, conditions=[{"text": "Sarkoidos"}])

    import_records([_record("Central Kontakt", "Sarkoidos")])

    assert list(imported.conditions.values_list("text", "entered_here")) == [("Sarkoidos", True)]


def test_the_edit_form_marks_the_records_rows(client, imported, users):
    _add_rows(imported, users.coordinator, contacts=[{"name": "Studiesköterska Uppsala"}])
    client.force_login(users.coordinator)
    page = client.get(reverse("studies:edit", args=[imported.pk])).content.decode()
    assert 'id="registry-rows-note"' in page
    # The record's contact, condition and site are marked; the contact entered here is not.
    assert page.count('<span class="badge">from the registry</span>') == 3


def test_a_row_of_the_records_that_a_coordinator_edited_stays_the_registrys(imported, users):
    site = imported.sites.get()
    rows = _rows(imported, "sites")
    rows[0]["investigator"] = "Dr Lokal"
    _edit(imported, users.coordinator, sites=rows)
    edited = imported.sites.get()
    assert (edited.investigator, edited.entered_here) == ("Dr Lokal", False)
    assert edited.pk != site.pk

    import_records([_record("Ny Central Kontakt", "Asthma")])

    # The record's next version replaces it: one site, the registry's, not two.
    assert list(imported.sites.values_list("facility_name", "investigator", "entered_here")) == [
        ("Akademiska sjukhuset", "", False)
    ]


def test_the_history_says_which_rows_were_entered_here_and_only_those(client, imported, users):
    _add_rows(imported, users.coordinator, contacts=[{"name": "Studiesköterska Uppsala"}])
    client.force_login(users.coordinator)
    page = client.get(reverse("studies:history", args=[imported.pk])).content.decode()
    # The imported site, condition and contact say nothing of it; the added contact does.
    assert page.count("Entered here, not from the registry") == 1


def test_a_code_a_coordinator_gave_a_condition_of_the_records_is_kept(imported, users):
    conditions = _rows(imported, "conditions")
    conditions[0]["icd10_code"] = "J45.9"
    _edit(imported, users.coordinator, conditions=conditions)

    summary = import_records([_record("Ny Central Kontakt", "Asthma")])

    assert summary.updated == 1
    assert list(imported.conditions.values_list("text", "icd10_code", "entered_here")) == [
        ("Asthma", "J45.9", False)
    ]
