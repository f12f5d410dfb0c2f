"""403, 404 and 500 pages are the site's own, in the user's language."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.utils import translation


def test_a_missing_page_is_styled_and_swedish(client, reference_data, settings):
    settings.LANGUAGE_CODE = "sv"
    response = client.get("/studier/999999/")
    assert response.status_code == 404
    page = response.content.decode()
    assert '<html lang="sv">' in page and "trialnode.css" in page
    assert "Sidan finns inte" in page and "Hitta en klinisk studie" in page


def test_a_refused_page_is_styled_and_swedish(client, users, settings):
    settings.LANGUAGE_CODE = "sv"
    client.force_login(users.outsider)
    response = client.get("/studier/ny/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "Åtkomst nekad" in page and "trialnode.css" in page


@pytest.mark.parametrize(
    ("language", "heading"), [("sv", "Något gick fel"), ("en", "Something went wrong")]
)
def test_the_server_error_page_renders_without_a_request_in_the_language(language, heading):
    with translation.override(language):
        page = render_to_string("500.html")
    assert f'<html lang="{language}">' in page and heading in page


def test_an_expired_form_is_explained_in_swedish(reference_data, settings):
    from django.test import Client

    settings.LANGUAGE_CODE = "sv"
    response = Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "x"})
    assert response.status_code == 403
    page = response.content.decode()
    assert "Formuläret hade gått ut" in page and "Inget sparades" in page
