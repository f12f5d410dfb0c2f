"""The count pages and API, with this instance's own data source as the region node
(as the demo runs it): the hub's request goes over HTTP to the live server."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from tests.counts.conftest import load_cohort
from trialnode.counts import signing
from trialnode.counts.federation import count_request_create
from trialnode.counts.models import CountRequest, DataSource, NodeQuery, Peer, TrustedHub
from trialnode.organisations.models import Region


@pytest.fixture
def self_node(live_server, settings, gibleed, users, client):
    """Region Uppsala's data on this instance, asked through its own address (the test
    client's requests name the live server as their host)."""
    settings.TRIALNODE_COUNTS_SELF_URL = live_server.url
    client.defaults["HTTP_HOST"] = live_server.url.split("//", 1)[1]
    region = Region.objects.get(slug="uppsala")
    DataSource.objects.create(
        slug="uppsala", name="Uppsala", region=region, engine="duckdb", location=str(gibleed)
    )
    TrustedHub.objects.create(
        name="self", public_key=signing.public_pem(signing.private_key("hub"))
    )
    return Peer.objects.create(
        slug="uppsala",
        name="Uppsala",
        region=region,
        url="/api/v1/counts/node/uppsala",
        public_key=signing.public_pem(signing.private_key("source-uppsala")),
        timeout_seconds=30,
    )


def test_the_builder_shows_the_circe_json_before_sending(client, users, self_node):
    client.force_login(users.coordinator)
    response = client.post(
        reverse("counts:new"),
        {
            "title": "GI-blödning",
            "entry_kind": "diagnosis",
            "entry_codes": "K92.2A",
            "first_event": "on",
            "prior_days": "0",
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "0",
            "form-0-include": "include",
            "form-0-kind": "drug",
            "form-0-codes": "M01AH01",
            "form-0-days_before": "365",
            "form-0-min_count": "1",
            "action": "preview",
        },
    )
    assert response.status_code == 200
    shown = response.context["definition"]
    assert shown["ConceptSets"][0]["expression"]["items"][0]["concept"]["CONCEPT_ID"] == 192671
    assert "&quot;ConceptSets&quot;" in response.content.decode()
    assert not CountRequest.objects.exists()


def test_sending_from_the_builder_counts_in_the_region(client, users, self_node):
    client.force_login(users.coordinator)
    response = client.post(
        reverse("counts:new"),
        {
            "title": "Celecoxib",
            "entry_kind": "drug",
            "entry_codes": "M01AH01",
            "first_event": "on",
            "form-TOTAL_FORMS": "0",
            "form-INITIAL_FORMS": "0",
            "action": "send",
        },
    )
    request = CountRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "counts:detail", args=[request.pk]
    )
    page = client.get(response["Location"])
    (row,) = page.context["summary"].rows
    assert row.answered and row.persons % 10 == 0 and row.low <= 1800 <= row.high
    assert NodeQuery.objects.get().released["persons"] == row.persons


def test_the_builder_lists_problems_at_the_top(client, users, self_node):
    client.force_login(users.sponsor)
    response = client.post(
        reverse("counts:new"),
        {
            "title": "",
            "entry_kind": "diagnosis",
            "entry_codes": "Q99.9",
            "age_min": "70",
            "age_max": "20",
            "form-TOTAL_FORMS": "0",
            "form-INITIAL_FORMS": "0",
            "action": "send",
        },
    )
    assert response.status_code == 400
    anchors = [anchor for anchor, _message in response.context["errors"]]
    assert "id_title" in anchors and "id_age_max" in anchors
    assert not CountRequest.objects.exists()


def test_a_count_attached_to_a_study_over_the_api(client, users, self_node, make_study):
    from trialnode.organisations.services import api_token_create

    study = make_study(title_sv="Celekoxibstudien")
    token = api_token_create(user=users.coordinator, name="t")[1]
    response = client.post(
        "/api/v1/counts/requests",
        data=json.dumps(
            {
                "title": "Män över 40",
                "definition": load_cohort("cg_celecoxibAge40Male.json"),
                "study_id": study.pk,
            }
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["target_type"] == "studies.study" and body["target_id"] == str(study.pk)
    (region,) = body["result"]["regions"]
    assert region["state"] == "answered" and region["persons"] != 266
    assert region["interval"][0] <= 266 <= region["interval"][1]
    assert [a["person_count"] for a in region["attrition"]] == [
        a["person_count"] for a in region["attrition"]
    ]
    listed = client.get(
        "/api/v1/counts/requests",
        {"target_type": "studies.study", "target_id": str(study.pk)},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    ).json()
    assert [item["id"] for item in listed] == [body["id"]]
    client.force_login(users.coordinator)
    page = client.get(reverse("counts:attached", args=["studies.study", study.pk]))
    assert "Män över 40" in page.content.decode()


def test_the_daily_limit_stops_further_counts(users, self_node, settings):
    from django.core.exceptions import PermissionDenied

    settings.TRIALNODE_COUNTS_DAILY_LIMIT = 1
    count_request_create(
        by=users.sponsor, title="Första", definition=load_cohort("cg_celecoxib.json")
    )
    with pytest.raises(PermissionDenied, match="today's 1 count queries"):
        count_request_create(
            by=users.sponsor, title="Andra", definition=load_cohort("cg_celecoxib.json")
        )


def test_users_without_a_counting_role_cannot_count(users, self_node):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        count_request_create(
            by=users.auditor, title="x", definition=load_cohort("cg_celecoxib.json")
        )
