"""Every step of a case through the API, with personal tokens."""

from __future__ import annotations

import json

import pytest

from tests.datarequests.conftest import PDF
from trialnode.organisations.services import api_token_create

pytestmark = pytest.mark.django_db


class Api:
    def __init__(self, client, user) -> None:
        _token, secret = api_token_create(user=user, name="test")
        self.client = client
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    def call(self, method: str, path: str, body=None, status: int = 200):
        response = self.client.generic(
            method,
            f"/api/v1/datarequests{path}",
            data=json.dumps(body or {}),
            content_type="application/json",
            **self.headers,
        )
        assert response.status_code == status, response.content
        return response.json()

    def attach(self, case_id: int, kind: str) -> None:
        from django.core.files.uploadedfile import SimpleUploadedFile

        response = self.client.post(
            f"/api/v1/datarequests/{case_id}/attachments",
            {"kind": kind, "file": SimpleUploadedFile(f"{kind}.pdf", PDF)},
            **self.headers,
        )
        assert response.status_code == 201, response.content


def test_a_case_runs_through_every_step_of_the_api(client, users, staff):
    applicant = Api(client, users.registrant)
    case = applicant.call(
        "POST",
        "",
        {
            "title": "Hjärtsvikt",
            "purpose": "Beskriva hjärtsvikt.",
            "applicant_organisation": "Uppsala universitet",
            "applicant_kind": "university",
            "data_holder": "akademiska",
            "source": "patient_records",
            "legal_basis": "epm",
            "epm_dnr": "2023-04512-01",
            "epm_decision_date": "2023-09-14",
            "cohort_description": "Vuxna med I50.",
            "environment": "Säker miljö.",
            "output_kind": "aggregated",
        },
        status=201,
    )
    pk = case["id"]
    assert case["stage"] == "draft"
    applicant.call("POST", f"/{pk}/submit", status=400)  # the checklist has gaps
    applicant.call(
        "PUT",
        f"/{pk}/variables",
        {"variables": [{"source": "Journal", "variable": "Diagnos", "period_from": "2020-01-01", "period_to": "2024-12-31"}]},
    )  # fmt: skip
    applicant.attach(pk, "epm_application")
    applicant.attach(pk, "epm_decision")
    applicant.call("PATCH", f"/{pk}", {"fields": {"title": "Hjärtsvikt efter covid-19"}})
    assert applicant.call("POST", f"/{pk}/submit")["stage"] == "submitted"

    officer = Api(client, staff.officer)
    officer.call("POST", f"/{pk}/return", {"reason": "Samtycke saknas."})
    applicant.call("POST", f"/{pk}/submit", {"reason": "Klart."})
    officer.call("POST", f"/{pk}/accept")
    Api(client, staff.legal).call(
        "POST", f"/{pk}/reviews", {"kind": "legal", "recommendation": "approve", "comment": "ok"}
    )
    Api(client, staff.engineer).call(
        "POST",
        f"/{pk}/reviews",
        {"kind": "technical", "recommendation": "approve", "comment": "ok"},
    )
    officer.call("POST", f"/{pk}/decide", {"outcome": "approved", "password": "nej"}, status=400)
    case = officer.call(
        "POST", f"/{pk}/decide", {"outcome": "approved", "password": "pw-caseofficer"}
    )
    assert case["stage"] == "extraction" and len(case["decision_hash"]) == 64
    officer.call("POST", f"/{pk}/assign", {"engineer": "engineer", "estimated_hours": 12})
    engineer = Api(client, staff.engineer)
    engineer.call("POST", f"/{pk}/extraction-done", {"output_description": "Tabeller."})
    engineer.call("POST", f"/{pk}/disclosure-review", {"passed": True, "comment": "x"}, status=403)
    Api(client, staff.second_engineer).call(
        "POST", f"/{pk}/disclosure-review", {"passed": True, "comment": "Inga små celler."}
    )
    engineer.call("POST", f"/{pk}/deliver", {"checksum": "d" * 64, "row_count": 99})
    case = applicant.call("POST", f"/{pk}/confirm")
    assert case["stage"] == "closed" and case["row_count"] == 99
    assert [p["stage"] for p in case["history"]] == [
        "draft", "submitted", "supplement", "submitted", "prequalification", "decision",
        "extraction", "disclosure_review", "delivered", "closed",
    ]  # fmt: skip
    case = applicant.call("POST", f"/{pk}/amend", {"reason": "Längre period."})
    assert case["version"] == 2 and case["stage"] == "draft"
    applicant.call("POST", f"/{pk}/withdraw", {"reason": "Avbrutet."})
    assert applicant.call("GET", f"/{pk}")["stage"] == "withdrawn"
    assert [c["id"] for c in applicant.call("GET", "")] == [pk]
    assert Api(client, users.other_registrant).call("GET", "") == []
    Api(client, users.other_registrant).call("GET", f"/{pk}", status=404)


def test_the_api_refuses_a_personal_identity_number_and_an_unknown_data_holder(client, users):
    applicant = Api(client, users.registrant)
    base = {
        "title": "Studie 19640823-3234",
        "purpose": "x",
        "applicant_organisation": "UU",
        "applicant_kind": "university",
        "data_holder": "akademiska",
        "source": "patient_records",
        "legal_basis": "epm",
        "epm_dnr": "2023-04512-01",
        "output_kind": "aggregated",
    }
    body = applicant.call("POST", "", base, status=400)
    assert "title" in body["errors"]
    applicant.call("POST", "", {**base, "title": "Ok", "data_holder": "nowhere"}, status=400)
    client.logout()
    assert client.get("/api/v1/datarequests").status_code == 401
