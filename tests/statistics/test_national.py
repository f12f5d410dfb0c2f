"""National numbers over several instances count a study listed by more than one once."""

import pytest

from trialnode.statistics.national import InstanceError, merge, national_numbers


def test_instances_sharing_a_study_by_its_identifier_count_it_once(client, known_studies):
    known_studies["A"].nct_id = "NCT05000001"
    known_studies["A"].save()
    regions = {"https://uppsala.example": "uppsala", "https://orebro.example": "orebro"}

    def fetch(url):
        base, _sep, query = url.partition("/api/v1/")
        path = "/api/v1/" + query.split("?")[0]
        params = dict(pair.split("=") for pair in query.split("?")[1].split("&"))
        return client.get(path, {**params, "region": regions[base]}).json()

    result = national_numbers(
        list(regions), {"measure": "ongoing", "year": "2024"}, by="study_type", fetch=fetch
    )
    # Uppsala lists A and B, Örebro A and C: four listings, three studies.
    assert (result["listed"], result["count"], result["in_several_instances"]) == (4, 3, 1)
    assert result["rows"] == [
        {"key": "INTERVENTIONAL", "value": 2},
        {"key": "OBSERVATIONAL", "value": 1},
    ]


def test_studies_without_shared_identifiers_stay_apart_and_chains_of_identifiers_join():
    listings = [
        ("x", [{"reference": "TN-1", "nct_id": "NCT1"}, {"reference": "TN-2"}]),
        ("y", [{"reference": "TN-1", "eu_ct_number": "2024-500001-11-00", "nct_id": "NCT1"}]),
        ("z", [{"reference": "TN-9", "eu_ct_number": "2024-500001-11-00"}, {"reference": "TN-2"}]),
    ]
    merged = merge(listings)
    assert len(merged) == 3  # NCT1 ~ EU CT ~ z's TN-9; x's TN-2 and z's TN-2 are different


def test_an_unreachable_instance_is_an_error_not_a_smaller_number():
    with pytest.raises(InstanceError):
        national_numbers(["http://127.0.0.1:9"], {"measure": "ongoing"})


@pytest.mark.django_db(transaction=True)
def test_a_live_instance_is_read_over_http(live_server, reference_data):
    from trialnode.studies.models import Study, StudyStatusChange

    study = Study.objects.create(
        title_sv="Live", registration_state="published", status="RECRUITING", nct_id="NCT09999999"
    )
    StudyStatusChange.objects.create(study=study, status="RECRUITING", effective_date="2024-01-01")
    result = national_numbers([live_server.url], {"measure": "ongoing", "year": "2024"})
    assert result["count"] == 1


@pytest.mark.django_db(transaction=True)
def test_the_national_page_adds_up_the_configured_instances(
    live_server, reference_data, client, settings
):
    from trialnode.studies.models import Study, StudyStatusChange

    study = Study.objects.create(
        title_sv="Live", registration_state="published", status="RECRUITING", nct_id="NCT09999998"
    )
    StudyStatusChange.objects.create(study=study, status="RECRUITING", effective_date="2024-01-01")
    # The same instance under two addresses: its one study has an NCT number, so it counts once.
    settings.TRIALNODE_NATIONAL_INSTANCES = [live_server.url, live_server.url + "/"]
    page = client.get("/statistik/nationellt/", {"year": "2024"}).content.decode()
    assert '<span class="headline-value">1</span>' in page
    assert '<span class="headline-value">2</span>' in page  # two listings
