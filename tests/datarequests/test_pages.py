"""The pages: the form refuses bad input in Swedish, the handbook is edited by node
admins in both languages and linked from the form."""

from __future__ import annotations

import pytest

from trialnode.datarequests.models import DataRequest, HandbookPage
from trialnode.organisations.models import CareProvider

pytestmark = pytest.mark.django_db


def _form(**overrides):
    fields = {
        "applicant_organisation": "Uppsala universitet",
        "applicant_kind": "university",
        "data_holder": str(CareProvider.objects.get(slug="akademiska").pk),
        "source": "patient_records",
        "title": "Hjärtsvikt",
        "purpose": "Beskriva hjärtsvikt.",
        "legal_basis": "epm",
        "epm_dnr": "2023-04512-01",
        "output_kind": "aggregated",
    }
    fields.update(overrides)
    return fields


def test_a_personal_identity_number_in_the_form_is_refused_in_swedish(client, users, settings):
    settings.LANGUAGE_CODE = "sv"
    client.force_login(users.registrant)
    response = client.post("/datauttag/ny/", _form(purpose="Patient 19640823-3234"))
    assert response.status_code == 400
    assert "personnummer" in response.content.decode()
    assert not DataRequest.objects.exists()
    response = client.post("/datauttag/ny/", _form(epm_dnr="2023-4512"))
    assert response.status_code == 400
    assert "diarienummer" in response.content.decode().lower()
    response = client.post("/datauttag/ny/", _form())
    assert response.status_code == 302
    assert DataRequest.objects.get().applicant == users.registrant


def test_node_admins_edit_the_handbook_in_swedish_and_english(client, users, settings):
    page = HandbookPage.objects.create(
        slug="bilagor", step="attachments", title_sv="Bilagor", title_en="Attachments",
        body_sv="Bifoga PDF.", body_en="Attach PDF.",
    )  # fmt: skip
    client.force_login(users.registrant)
    assert client.get("/datauttag/handbok/bilagor/redigera/").status_code == 403
    client.force_login(users.node_admin)
    response = client.post(
        "/datauttag/handbok/bilagor/redigera/",
        {
            "slug": "bilagor",
            "step": "attachments",
            "title_sv": "Bilagor (PDF)",
            "title_en": "Attachments (PDF)",
            "body_sv": "Bifoga bara PDF-filer.",
            "body_en": "Attach PDF files only.",
            "position": "1",
        },
    )
    assert response.status_code == 302
    page.refresh_from_db()
    assert page.title_sv == "Bilagor (PDF)"
    settings.LANGUAGE_CODE = "en"
    assert "Attach PDF files only." in client.get("/datauttag/handbok/bilagor/").content.decode()
    settings.LANGUAGE_CODE = "sv"
    assert "Bifoga bara PDF-filer." in client.get("/datauttag/handbok/bilagor/").content.decode()


def test_each_step_of_the_form_links_to_its_handbook_pages(client, users, settings):
    settings.LANGUAGE_CODE = "sv"
    HandbookPage.objects.create(
        slug="etik", step="ethics", title_sv="Etikprövning", title_en="Ethics",
        body_sv="x", body_en="x",
    )  # fmt: skip
    client.force_login(users.registrant)
    content = client.get("/datauttag/ny/").content.decode()
    assert 'href="/datauttag/handbok/etik/"' in content
