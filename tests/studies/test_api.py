"""/api/v1/studies: the same search as the page, JSON errors, and writes with the same rules."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import complete_fields
from trialnode.organisations.services import api_token_create
from trialnode.studies.models import RegistrationState, Study


@pytest.fixture
def token(users):
    _token, secret = api_token_create(user=users.registrant, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def coordinator_token(users):
    _token, secret = api_token_create(user=users.coordinator, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _create_payload(**overrides):
    payload = {
        **complete_fields(),
        "sites": [{"care_provider": "akademiska"}],
        "conditions": [{"icd10_code": "I50.9", "text": "Hjärtsvikt"}],
        "interventions": [{"type": "BEHAVIORAL", "name": "Träning"}],
        "contacts": [{"name": "Studiesjuksköterska", "email": "studie@example.se"}],
    }
    payload.update(overrides)
    return payload


def test_the_list_returns_count_results_and_facets(client, make_study):
    make_study(title_sv="Hjärtsvikt och träning", nct_id="NCT01234567", epm_dnr="2022-01051-01")
    make_study(title_sv="Opublicerad", registration_state=RegistrationState.DRAFT)
    body = client.get("/api/v1/studies", {"q": "hjärtsvikten"}).json()
    assert body["count"] == 1
    study = body["results"][0]
    assert study["nct_id"] == "NCT01234567"
    assert study["epm_dnr"] == "2022-01051-01"
    assert study["status"] == "RECRUITING"
    assert study["regions"] == ["uppsala"]
    assert {"region", "status", "study_type", "phase"} <= set(body["facets"])


def test_each_result_links_to_its_own_page(client, make_study, settings):
    settings.ALLOWED_HOSTS = ["studier.example.se"]
    studies = [make_study(title_sv=f"Hjärtsvikt {n}") for n in range(1, 4)] + [
        make_study(title_sv=f"Hjärtsvikt {n}") for n in range(10, 13)
    ]
    body = client.get("/api/v1/studies", {"sort": "title"}, HTTP_HOST="studier.example.se")
    urls = {r["id"]: r["url"] for r in body.json()["results"]}
    assert urls == {s.pk: f"http://studier.example.se/studier/{s.pk}/" for s in studies}
    one = client.get(f"/api/v1/studies/{studies[-1].pk}", HTTP_HOST="studier.example.se")
    assert one.json()["url"] == f"http://studier.example.se/studier/{studies[-1].pk}/"


def test_the_api_and_the_page_use_the_same_filters(client, make_study):
    make_study(title_sv="Studie i Örebro", regions=("orebro",), phase="PHASE2")
    make_study(title_sv="Studie i Uppsala", regions=("uppsala",), phase="PHASE3")
    params = {"region": "orebro", "phase": "PHASE2"}
    api_titles = [r["title"] for r in client.get("/api/v1/studies", params).json()["results"]]
    page = client.get("/", params).content.decode()
    assert api_titles == ["Studie i Örebro"]
    assert "Studie i Örebro" in page and "Studie i Uppsala" not in page


@pytest.mark.parametrize(
    "params",
    [
        {"status": "FINISHED"},
        {"region": "atlantis"},
        {"page": "-1"},
        {"recruiting": "perhaps"},
        {"sort": "drop table"},
    ],
)
def test_unknown_filter_values_give_400_with_a_json_message(client, reference_data, params):
    response = client.get("/api/v1/studies", params)
    assert response.status_code == 400
    assert response.json()["detail"]


def test_list_query_count_does_not_grow_with_results(
    client, make_study, django_assert_max_num_queries
):
    for number in range(3):
        make_study(title_sv=f"Studie {number}")
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/studies")
    for number in range(3, 20):
        make_study(title_sv=f"Studie {number}", regions=("uppsala", "orebro"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/api/v1/studies")


def test_one_study_with_sites_and_status_history(client, make_study):
    study = make_study(providers=("akademiska",), regions=())
    body = client.get(f"/api/v1/studies/{study.pk}").json()
    assert body["sites"][0]["care_provider"] == "akademiska"
    assert body["sites"][0]["region"] == "uppsala"
    assert body["status_history"] == [
        {"status": "RECRUITING", "effective_date": "2024-01-01", "until": None}
    ]


def test_an_unpublished_study_is_404_to_the_public(client, make_study):
    study = make_study(registration_state=RegistrationState.SUBMITTED)
    response = client.get(f"/api/v1/studies/{study.pk}")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found"}


def test_writing_requires_authentication(client, reference_data):
    response = client.post("/api/v1/studies", _create_payload(), content_type="application/json")
    assert response.status_code == 401


def test_a_registrant_creates_submits_and_a_coordinator_publishes(client, token, coordinator_token):
    created = client.post(
        "/api/v1/studies", _create_payload(), content_type="application/json", **token
    )
    assert created.status_code == 201, created.content
    study_id = created.json()["id"]
    assert created.json()["registration_state"] == "draft"
    submitted = client.post(f"/api/v1/studies/{study_id}/submit", **token)
    assert submitted.json()["registration_state"] == "submitted"
    signature = {"reason": "Validerad", "password": "pw-coordinator"}
    refused = client.post(
        f"/api/v1/studies/{study_id}/publish", signature, content_type="application/json", **token
    )
    assert refused.status_code == 403
    wrong = client.post(
        f"/api/v1/studies/{study_id}/publish",
        {**signature, "password": "fel"},
        content_type="application/json",
        **coordinator_token,
    )
    assert wrong.status_code == 400
    published = client.post(
        f"/api/v1/studies/{study_id}/publish",
        signature,
        content_type="application/json",
        **coordinator_token,
    )
    assert published.json()["registration_state"] == "published"


def test_an_invalid_identifier_is_a_400_naming_the_field(client, token):
    response = client.post(
        "/api/v1/studies",
        _create_payload(eu_ct_number="2023-12"),
        content_type="application/json",
        **token,
    )
    assert response.status_code == 400
    assert "eu_ct_number" in response.json()["errors"]
    assert not Study.objects.exists()


def test_a_wrongly_typed_field_is_a_400_not_a_500(client, token):
    response = client.post(
        "/api/v1/studies",
        _create_payload(min_age_years="eighteen"),
        content_type="application/json",
        **token,
    )
    assert response.status_code == 400
    assert "min_age_years" in response.json()["detail"]


def test_an_unknown_care_provider_is_a_400(client, token):
    response = client.post(
        "/api/v1/studies",
        _create_payload(sites=[{"care_provider": "nowhere"}]),
        content_type="application/json",
        **token,
    )
    assert response.status_code == 400
    assert not Study.objects.exists()


def test_a_likely_duplicate_is_a_409_listing_it(client, token, make_study):
    existing = make_study(nct_id="NCT01234567")
    response = client.post(
        "/api/v1/studies",
        _create_payload(nct_id="NCT01234567"),
        content_type="application/json",
        **token,
    )
    assert response.status_code == 409
    assert response.json()["duplicates"][0]["id"] == existing.pk


def test_an_update_from_an_old_version_is_a_409(client, token):
    study_id = client.post(
        "/api/v1/studies", _create_payload(), content_type="application/json", **token
    ).json()["id"]
    first = client.patch(
        f"/api/v1/studies/{study_id}",
        {"version": 1, "fields": {"acronym": "A"}},
        content_type="application/json",
        **token,
    )
    assert first.status_code == 200
    second = client.patch(
        f"/api/v1/studies/{study_id}",
        {"version": 1, "fields": {"acronym": "B"}},
        content_type="application/json",
        **token,
    )
    assert second.status_code == 409
    assert Study.objects.get(pk=study_id).acronym == "A"


def test_a_revoked_token_is_refused(client, users):
    from django.utils import timezone

    token, secret = api_token_create(user=users.registrant, name="old")
    token.revoked_at = timezone.now()
    token.save()
    response = client.post(
        "/api/v1/studies",
        _create_payload(),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 401


def test_a_deactivated_users_token_is_refused(client, users, token):
    users.registrant.is_active = False
    users.registrant.save()
    response = client.post(
        "/api/v1/studies", _create_payload(), content_type="application/json", **token
    )
    assert response.status_code == 401


def test_the_openapi_document_describes_the_api(client):
    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/studies" in document["paths"]
    assert "/api/v1/studies/{study_id}" in document["paths"]


def test_answers_are_utf8_json_with_dates_and_labels_as_django_writes_them(client, make_study):
    from django.core.serializers.json import DjangoJSONEncoder

    study = make_study(title_sv="Träning vid hjärtsvikt")
    response = client.get("/api/v1/studies", {"q": "hjärtsvikt"})
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert "Träning vid hjärtsvikt".encode() in response.content  # not escaped
    body = response.json()
    listed = next(s for s in body["results"] if s["id"] == study.pk)
    study.refresh_from_db()
    assert listed["updated_at"] == DjangoJSONEncoder().default(study.updated_at)
    # Translated labels (lazy texts) arrive as text in the request's language.
    labels = {f["value"]: f["label"] for f in body["facets"]["status"]}
    assert labels["RECRUITING"] == "Recruiting"
