"""The measures are defined once: the API, the dashboard section and the report show the
same numbers, per node and nationally. Every step is also in the API, with a token."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from tests.feasibility.conftest import pdf, submit_country, submit_site
from trialnode.feasibility import services
from trialnode.feasibility.models import Inquiry, Recipient
from trialnode.feasibility.section import feasibility_section
from trialnode.organisations.models import Node
from trialnode.organisations.services import api_token_create
from trialnode.statistics.sections import sections_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered_inquiries(users, organisation, directory, national_coordinator):
    """Three inquiries: one sent to Uppsala and Örebro and answered positively in Uppsala,
    one sent to Örebro and declined, one not sent."""
    year = timezone.now().year
    first = submit_site(users.sponsor)
    second = submit_site(users.sponsor, regions=("orebro",))
    submit_site(users.sponsor, regions=("skane",))
    for inquiry, entries in (
        (first, [directory["uppsala_heart"], directory["orebro_heart"]]),
        (second, [directory["orebro_heart"]]),
    ):
        services.inquiry_triage(inquiry=inquiry, by=national_coordinator)
        services.inquiry_dispatch(inquiry=inquiry, by=national_coordinator, entries=entries)
    submitted = timezone.now() - dt.timedelta(days=10)
    Inquiry.objects.update(submitted_at=submitted)
    Recipient.objects.update(dispatched_at=submitted + dt.timedelta(days=2))
    uppsala = Recipient.objects.get(inquiry=first, region__slug="uppsala")
    Recipient.objects.filter(pk=uppsala.pk).update(
        response="interested", first_answered_at=submitted + dt.timedelta(days=5)
    )
    Recipient.objects.filter(inquiry=second).update(
        response="declines",
        decline_reason="Konkurrerande studie",
        first_answered_at=submitted + dt.timedelta(days=7),
    )
    return year


def _api(year: int, node: str = "") -> dict:
    response = Client().get(
        "/api/v1/feasibility/measures", {"year": year, **({"node": node} if node else {})}
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_the_measures_follow_their_definitions(answered_inquiries):
    national = _api(answered_inquiries)
    assert national["inquiries"] == 3
    assert national["dispatched"] == 2
    assert national["dispatch_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert national["with_positive_answer"] == 1
    assert national["days_to_dispatch"] == {"median": 2.0, "p90": 2.0}
    assert national["days_to_first_answer"] == {"median": 6.0, "p90": 6.8}
    assert national["answer_rate"] == pytest.approx(2 / 3, abs=1e-4)
    mellansverige = _api(answered_inquiries, "forum-mellansverige")
    assert mellansverige["inquiries"] == 2
    assert mellansverige["dispatched"] == 2
    soder = _api(answered_inquiries, "forum-soder")
    assert soder["inquiries"] == 1 and soder["dispatched"] == 0
    assert soder["days_to_dispatch"] == {"median": None, "p90": None}


def test_the_dashboard_section_shows_the_api_numbers_per_node_and_nationally(
    answered_inquiries,
):
    year = answered_inquiries
    section = feasibility_section(year, ())
    assert section is not None
    counts = {row[0]: row for row in section.tables[0].rows}
    days = {row[0]: row for row in section.tables[1].rows}
    for node in Node.objects.all():
        api = _api(year, node.slug)
        if not api["inquiries"]:
            assert node.name not in counts
            continue
        assert counts[node.name][1:] == (
            api["inquiries"],
            api["dispatched"],
            round(100 * api["dispatch_rate"], 1),
            api["with_positive_answer"],
            round(100 * api["answer_rate"], 1),
        )
        assert days[node.name][1:] == (
            api["days_to_dispatch"]["median"],
            api["days_to_dispatch"]["p90"],
            api["days_to_first_answer"]["median"],
            api["days_to_first_answer"]["p90"],
        )
    national = _api(year)
    assert counts["Sweden"][1:3] == (national["inquiries"], national["dispatched"])
    node = Node.objects.get(slug="forum-mellansverige")
    scoped = feasibility_section(year, tuple(node.regions.values_list("slug", flat=True)))
    assert scoped is not None
    assert scoped.tables[0].rows[0][1:3] == (2, 2)
    assert any(s.key == "feasibility" for s in sections_for(year, ()))
    assert feasibility_section(year - 30, ()) is None


def test_the_measures_refuse_a_bad_year_and_an_unknown_node(answered_inquiries):
    client = Client()
    assert client.get("/api/v1/feasibility/measures", {"year": "x"}).status_code == 400
    assert client.get("/api/v1/feasibility/measures").status_code == 400
    response = client.get("/api/v1/feasibility/measures", {"year": 2026, "node": "nowhere"})
    assert response.status_code == 404


def test_a_sponsor_submits_and_a_coordinator_dispatches_through_the_api(
    users, organisation, directory
):
    _token, sponsor_key = api_token_create(user=users.sponsor, name="ci")
    _token, coordinator_key = api_token_create(user=users.coordinator, name="ci")
    sponsor = Client(HTTP_AUTHORIZATION=f"Bearer {sponsor_key}")
    coordinator = Client(HTTP_AUTHORIZATION=f"Bearer {coordinator_key}")
    body = {
        "kind": "country",
        "title": "Landsförfrågan via API",
        "therapy_area": "IX",
        "product": "Läkemedel X",
        "planned_start": "2030-01-01",
        "is_atmp": False,
        "reply_by": str(dt.date.today() + dt.timedelta(days=14)),
        "sponsor_contact_name": "Kontakt",
        "sponsor_contact_email": "kontakt@example.se",
        "regions": ["uppsala"],
    }
    response = sponsor.post(
        "/api/v1/feasibility/inquiries", {"inquiry": json.dumps(body), "synopsis": pdf()}
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["state"] == "submitted" and created["has_synopsis"]
    base = f"/api/v1/feasibility/inquiries/{created['id']}"

    assert coordinator.post(f"{base}/triage").json()["state"] == "triaged"
    proposal = coordinator.get(f"{base}/proposal").json()
    proposed = [e["id"] for e in proposal["entries"] if e["proposed"]]
    assert proposed == [directory["uppsala_heart"].pk]
    response = coordinator.post(
        f"{base}/dispatch", {"entry_ids": proposed}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert [a["unit"] for a in response.json()["answers"]] == ["Kardiologi"]

    read = sponsor.get(base).json()
    assert read["state"] == "dispatched" and read["answers"][0]["response"] == ""
    # The sponsor may not dispatch; a bad body is a 400; no token is a 401.
    assert (
        sponsor.post(
            f"{base}/dispatch", {"entry_ids": proposed}, content_type="application/json"
        ).status_code
        == 403
    )
    assert (
        coordinator.post(
            f"{base}/dispatch", {"entry_ids": []}, content_type="application/json"
        ).status_code
        == 400
    )
    assert Client().get(base).status_code == 401


def test_a_submission_without_a_synopsis_or_targets_is_refused_through_the_api(users, organisation):
    _token, key = api_token_create(user=users.sponsor, name="ci")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    body = {
        "kind": "country",
        "title": "Utan synopsis",
        "therapy_area": "IX",
        "reply_by": str(dt.date.today() + dt.timedelta(days=14)),
        "sponsor_contact_name": "Kontakt",
        "sponsor_contact_email": "kontakt@example.se",
    }
    response = client.post("/api/v1/feasibility/inquiries", {"inquiry": json.dumps(body)})
    assert response.status_code == 400
    assert "synopsis" in response.json()["detail"]
    assert client.post("/api/v1/feasibility/inquiries", {"inquiry": "{"}).status_code == 400
    assert not Inquiry.objects.exists()
    submit_country(users.sponsor)
    assert Inquiry.objects.count() == 1


def test_the_inquiry_list_takes_the_same_number_of_queries_for_more_inquiries(
    users, organisation, directory
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(users.coordinator)

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as context:
            assert client.get(url).status_code == 200
        return len(context.captured_queries)

    def grow():
        inquiry = submit_site(users.sponsor, regions=("uppsala",))
        services.inquiry_triage(inquiry=inquiry, by=users.coordinator)
        services.inquiry_dispatch(
            inquiry=inquiry, by=users.coordinator, entries=[directory["uppsala_heart"]]
        )

    grow()
    few = (queries("/api/v1/feasibility/inquiries"), queries("/forfragningar/"))
    for _ in range(4):
        grow()
    many = (queries("/api/v1/feasibility/inquiries"), queries("/forfragningar/"))
    assert many == few
