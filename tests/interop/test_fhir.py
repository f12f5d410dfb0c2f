"""FHIR R4B ResearchStudy: one study, and a searchable endpoint returning a Bundle."""

import orjson
import pytest
from fhir.resources.R4B.bundle import Bundle

from trialnode.interop.ctgov import import_records
from trialnode.studies.models import RegistrationState, Study


@pytest.fixture
def registry(reference_data, sample_data):
    import_records(orjson.loads((sample_data / "ctgov" / "sweden.json").read_bytes()))


def test_a_study_is_a_valid_r4b_research_study(client, registry):
    study = Study.objects.get(nct_id="NCT01949129")
    body = client.get(f"/fhir/ResearchStudy/{study.pk}").json()
    assert body["resourceType"] == "ResearchStudy"
    assert body["status"] == "active"
    assert body["phase"]["coding"][0]["code"] == "phase-2-phase-3"
    assert {"system": "https://clinicaltrials.gov", "value": "NCT01949129"} in body["identifier"]
    assert body["extension"][0]["valueCode"] == "RECRUITING"
    assert len(body["site"]) == 4


def test_search_by_identifier_returns_a_searchset_bundle(client, registry):
    response = client.get(
        "/fhir/ResearchStudy", {"identifier": "https://clinicaltrials.gov|NCT01949129"}
    )
    assert response["Content-Type"] == "application/fhir+json"
    bundle = Bundle.model_validate(response.json())
    assert bundle.type == "searchset" and bundle.total == 1
    assert bundle.entry[0].resource.id == str(Study.objects.get(nct_id="NCT01949129").pk)
    plain = client.get("/fhir/ResearchStudy", {"identifier": "NCT01949129"}).json()
    assert plain["total"] == 1


def test_search_by_status_and_last_updated(client, registry):
    completed = Study.objects.filter(status="COMPLETED").count()
    assert client.get("/fhir/ResearchStudy", {"status": "completed"}).json()["total"] == completed
    assert client.get("/fhir/ResearchStudy", {"_lastUpdated": "ge2000-01-01"}).json()["total"] == 18
    assert client.get("/fhir/ResearchStudy", {"_lastUpdated": "lt2000-01-01"}).json()["total"] == 0


def test_unpublished_studies_are_not_exported(client, make_study):
    study = make_study(registration_state=RegistrationState.SUBMITTED, nct_id="NCT01234567")
    assert client.get(f"/fhir/ResearchStudy/{study.pk}").status_code == 404
    assert client.get("/fhir/ResearchStudy", {"identifier": "NCT01234567"}).json()["total"] == 0


@pytest.mark.parametrize(
    "params",
    [
        {"name": "x"},
        {"status": "running"},
        {"_lastUpdated": "yesterday"},
        {"identifier": "https://example.org|1"},
        {"_count": "0"},
    ],
)
def test_bad_search_parameters_give_an_operation_outcome(client, reference_data, params):
    response = client.get("/fhir/ResearchStudy", params)
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_every_real_record_round_trips_through_fhir_to_the_same_values(client, registry):
    from trialnode.interop.fhir import study_fields_from_r4b

    for study in Study.objects.prefetch_related("conditions"):
        resource = client.get(f"/fhir/ResearchStudy/{study.pk}").json()
        back = study_fields_from_r4b(resource)
        for name, value in study.identifiers().items():
            assert back[name] == value, (study.nct_id, name)
        assert back["status"] == study.status
        assert back["title"] == (study.title_en or study.title_sv)
        assert back.get("phase", "") == study.phase
        assert back["description"] == (study.summary_en or study.summary_sv)
        assert back["sponsor_name"] == study.sponsor_name
        assert back.get("start_date") == study.start_date
        assert back.get("completion_date") == study.completion_date
        assert back["conditions"] == [(c.icd10_code, c.text) for c in study.conditions.all()]


def test_the_r5_resource_carries_the_state_in_progress_status(client, registry):
    study = Study.objects.get(nct_id="NCT01949129")
    body = client.get(f"/fhir/R5/ResearchStudy/{study.pk}").json()
    assert body["status"] == "active"
    assert body["progressStatus"][0]["state"]["coding"][0]["code"] == "recruiting"
    assert body["associatedParty"][0]["name"] == study.sponsor_name


def test_search_pages_link_to_the_next_and_previous_page_with_the_same_search(client, registry):
    search = {"_lastUpdated": "gt2000-01-01", "_count": "4"}
    first = client.get("/fhir/ResearchStudy", search).json()
    total = first["total"]
    assert total > 8
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert "previous" not in links and "_lastUpdated=gt2000-01-01" in links["next"]
    second = client.get(links["next"]).json()
    second_links = {link["relation"]: link["url"] for link in second["link"]}
    assert "_page=2" in second_links["self"] and "_page=1" in second_links["previous"]
    seen = []
    url = links["first"]
    while url:
        page = client.get(url).json()
        seen += [entry["resource"]["id"] for entry in page["entry"]]
        url = {link["relation"]: link["url"] for link in page["link"]}.get("next")
    assert len(seen) == len(set(seen)) == total
    last = {link["relation"]: link["url"] for link in client.get(links["last"]).json()["link"]}
    assert "next" not in last


def test_metadata_is_a_capability_statement_for_research_study(client, reference_data):
    from fhir.resources.R4B.capabilitystatement import CapabilityStatement

    response = client.get("/fhir/metadata")
    assert response["Content-Type"] == "application/fhir+json"
    statement = CapabilityStatement.model_validate(response.json())
    resource = statement.rest[0].resource[0]
    assert resource.type == "ResearchStudy"
    assert {p.name for p in resource.searchParam} >= {"identifier", "status", "_lastUpdated"}
