"""Every operation accepts a token: reads open to everyone answer a token's account as they
answer its browser session, and a bad token is refused rather than ignored."""

from trialnode.organisations.services import api_token_create
from trialnode.studies.models import RegistrationState


def _bearer(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(user=user, name='test')[1]}"}


def test_a_coordinator_reads_a_submitted_study_of_their_region_with_a_token(
    client, users, make_study
):
    study = make_study(registration_state=RegistrationState.SUBMITTED)
    assert client.get(f"/api/v1/studies/{study.pk}").status_code == 404
    response = client.get(f"/api/v1/studies/{study.pk}", **_bearer(users.coordinator))
    assert response.status_code == 200
    assert response.json()["id"] == study.pk


def test_a_token_sees_no_more_than_its_account(client, users, make_study):
    study = make_study(registration_state=RegistrationState.SUBMITTED)
    response = client.get(f"/api/v1/studies/{study.pk}", **_bearer(users.other_coordinator))
    assert response.status_code == 404


def test_a_bad_token_is_refused_on_a_public_operation(client, make_study):
    study = make_study()
    for header in ("Bearer not-a-token", "Basic dXNlcjpwdw=="):
        response = client.get(f"/api/v1/studies/{study.pk}", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401
    assert client.get("/api/v1/studies", HTTP_AUTHORIZATION="Bearer nope").status_code == 401


def test_list_filters_are_documented_as_query_parameters(client):
    document = client.get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/studies"]["get"]
    parameters = {p["name"]: p["in"] for p in operation["parameters"]}
    assert parameters["status"] == parameters["region"] == parameters["phase"] == "query"
    assert "requestBody" not in operation
    summary = document["paths"]["/api/v1/statistics/summary"]["get"]
    assert {"date", "region", "study_type"} <= {p["name"] for p in summary["parameters"]}


def test_every_operation_documents_its_error_answers(client):
    document = client.get("/api/v1/openapi.json").json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            assert {"400", "401"} <= codes, (method, path)
            if method != "get":
                assert {"403", "404"} <= codes, (method, path)
