"""The ClinicalTrials.gov mapping used by the demo, on the real Swedish records."""

import orjson
import pytest

from tests.interop import in_sweden
from trialnode.interop.ctgov import import_records, parse_age_years
from trialnode.studies.models import RegistrationState, Source, Study


@pytest.fixture
def sweden(sample_data):
    return orjson.loads((sample_data / "ctgov" / "sweden.json").read_bytes())


def test_the_real_swedish_records_import_as_published_registry_studies(reference_data, sweden):
    summary = import_records(sweden)
    assert (summary.created, summary.rejected) == (18, [])
    assert (
        Study.objects.filter(
            source=Source.CTGOV, registration_state=RegistrationState.PUBLISHED
        ).count()
        == 18
    )


def test_swedish_locations_become_sites_in_their_regions(reference_data, sweden):
    import_records(sweden)
    study = Study.objects.get(nct_id="NCT01949129")
    sites = {
        (s.region.slug, s.care_provider.slug if s.care_provider else None, s.recruitment_status)
        for s in study.sites.all()
    }
    assert sites == {
        ("vastra-gotaland", "sahlgrenska", "RECRUITING"),
        ("skane", "sus", "RECRUITING"),
        ("stockholm", "karolinska", "NOT_YET_RECRUITING"),
        # "University Children's Hospital" names no known provider: placed by city only.
        ("uppsala", None, "RECRUITING"),
    }
    assert study.status == "RECRUITING"
    assert study.phase == "PHASE2_PHASE3"


def test_a_site_without_a_known_provider_is_placed_by_its_city(reference_data, sweden):
    import_records(sweden)
    study = Study.objects.get(nct_id="NCT00245258")
    assert {s.region.slug for s in study.sites.all()} == {
        "blekinge",
        "skane",
        "vastra-gotaland",
        "stockholm",
    }
    assert all(s.care_provider is None for s in study.sites.all())


def test_importing_again_changes_nothing(reference_data, sweden):
    import_records(sweden)
    before = list(Study.objects.order_by("nct_id").values_list("nct_id", "title_en", "status"))
    summary = import_records(sweden)
    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 18)
    assert (
        list(Study.objects.order_by("nct_id").values_list("nct_id", "title_en", "status")) == before
    )


def test_a_bad_record_is_reported_and_the_others_import(reference_data, sweden):
    broken = in_sweden(
        {
            "protocolSection": {
                "identificationModule": {"nctId": "NCT99999999"},
                "statusModule": {"overallStatus": "FINISHED"},
            }
        }
    )
    summary = import_records([broken, *sweden[:2]])
    assert summary.created == 2
    assert summary.rejected == [("NCT99999999", "unknown overallStatus 'FINISHED'")]


@pytest.mark.parametrize(("text", "years"), [("18 Years", 18), ("6 Months", 0), (None, None)])
def test_ages_are_read_in_years(text, years):
    assert parse_age_years(text) == years


def test_a_reimport_is_recorded_as_a_change_not_a_new_record(reference_data, sweden):
    from trialnode.audit.models import AuditEvent

    import_records(sweden[:1])
    study = Study.objects.get()
    record = {**sweden[0]}
    record["protocolSection"] = {**record["protocolSection"]}
    record["protocolSection"]["identificationModule"] = {
        **record["protocolSection"]["identificationModule"],
        "acronym": "NYTT",
    }
    import_records([record])
    events = AuditEvent.objects.filter(object_type="studies.study", object_id=str(study.pk))
    assert list(events.values_list("action", flat=True)) == ["create", "update"]
    assert '"acronym":["","NYTT"]' in events.last().payload
