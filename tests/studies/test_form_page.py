"""The study registration form helps: an error summary linking to every field, marked
required fields, several rows of each kind, units of the chosen care provider, one
duplicate warning beside its override, and no change reason on a new study."""

from __future__ import annotations

import re

import pytest

from tests.studies.test_pages import form_data  # noqa: F401
from trialnode.organisations.models import CareProvider, Unit
from trialnode.studies.models import Study


def _page(response) -> str:
    return response.content.decode()


def test_a_new_study_has_no_change_reason_and_an_edit_has_one(client, users, make_study):
    client.force_login(users.registrant)
    assert 'name="reason"' not in _page(client.get("/studier/ny/"))
    study = make_study(owner=users.registrant)
    assert 'name="reason"' in _page(client.get(f"/studier/{study.pk}/andra/"))


def test_required_fields_are_marked(client, users):
    client.force_login(users.registrant)
    page = _page(client.get("/studier/ny/"))
    assert re.search(r'<label for="id_study_type" class="required">', page)
    assert not re.search(r'<label for="id_acronym" class="required">', page)
    assert "must be filled in" in page


def test_the_error_summary_lists_every_error_with_a_link_to_its_field(
    client,
    users,
    form_data,  # noqa: F811
):
    client.force_login(users.registrant)
    form_data.update(
        {
            "study_type": "",
            "start_date": "2025-05-01",
            "completion_date": "2024-01-01",
            "contacts-0-email": "inte-en-adress",
        }
    )
    response = client.post("/studier/ny/", form_data)
    assert response.status_code == 400
    page = _page(response)
    summary = page[
        page.index('id="error-summary"') : page.index("</div>", page.index("error-summary"))
    ]
    links = re.findall(r'<a href="#([\w-]+)">([^<]+)</a>', summary)
    targets = [target for target, _message in links]
    assert targets == ["id_study_type", "id_contacts-0-email"] or set(targets) >= {
        "id_study_type",
        "id_contacts-0-email",
    }
    for target in targets:
        assert f'id="{target}"' in page, f"the summary links to #{target}, which is not on the page"
    assert not Study.objects.exists()


def test_the_date_rule_error_is_linked_to_the_completion_date(
    client,
    users,
    form_data,  # noqa: F811
):
    client.force_login(users.registrant)
    form_data.update({"start_date": "2025-05-01", "completion_date": "2024-01-01"})
    page = _page(client.post("/studier/ny/", form_data))
    assert re.search(r'<a href="#id_completion_date">[^<]*before the start date', page)


def test_several_sites_conditions_interventions_and_contacts_are_saved_and_removed(
    client,
    users,
    form_data,  # noqa: F811
):
    orebro = CareProvider.objects.get(slug="uso")
    form_data.update(
        {
            "sites-TOTAL_FORMS": "2",
            "sites-1-region": orebro.region_id,
            "sites-1-care_provider": orebro.pk,
            "conditions-TOTAL_FORMS": "2",
            "conditions-1-text": "KOL",
            "conditions-1-icd10_code": "J44.9",
            "interventions-TOTAL_FORMS": "2",
            "interventions-0-type": "DRUG",
            "interventions-0-name": "Budesonid",
            "interventions-1-type": "BEHAVIORAL",
            "interventions-1-name": "Andningsträning",
            "contacts-TOTAL_FORMS": "2",
            "contacts-1-name": "Andra kontakten",
        }
    )
    client.force_login(users.registrant)
    assert client.post("/studier/ny/", form_data).status_code == 302
    study = Study.objects.get()
    assert study.sites.count() == 2
    assert study.conditions.count() == 2
    assert study.interventions.count() == 2
    assert study.contacts.count() == 2

    edit = _page(client.get(f"/studier/{study.pk}/andra/"))
    assert edit.count('name="sites-TOTAL_FORMS" value="3"') == 1  # two rows and a new one
    site_ids = sorted(study.sites.values_list("pk", flat=True))
    edit_data = {
        key: value for key, value in form_data.items() if not key.startswith(("sites", "contacts"))
    }
    edit_data.update(
        {
            "version": study.version,
            "interventions-INITIAL_FORMS": "0",
            "conditions-INITIAL_FORMS": "0",
            "sites-TOTAL_FORMS": "2",
            "sites-INITIAL_FORMS": "2",
            "sites-0-id": site_ids[0],
            "sites-0-region": form_data["sites-0-region"],
            "sites-0-care_provider": form_data["sites-0-care_provider"],
            "sites-1-id": site_ids[1],
            "sites-1-region": orebro.region_id,
            "sites-1-care_provider": orebro.pk,
            "sites-1-DELETE": "on",
            "contacts-TOTAL_FORMS": "0",
            "contacts-INITIAL_FORMS": "0",
        }
    )
    response = client.post(f"/studier/{study.pk}/andra/", edit_data)
    assert response.status_code == 302, _page(response)
    assert list(study.sites.values_list("care_provider__slug", flat=True)) == ["akademiska"]


def test_the_unit_list_names_each_units_care_provider_and_refuses_another_providers_unit(
    client,
    users,
    form_data,  # noqa: F811
):
    akademiska = CareProvider.objects.get(slug="akademiska")
    orebro = CareProvider.objects.get(slug="uso")
    heart = Unit.objects.create(care_provider=akademiska, name="Kardiologkliniken")
    lungs = Unit.objects.create(care_provider=orebro, name="Lungkliniken Örebro")
    client.force_login(users.registrant)
    page = _page(client.get("/studier/ny/"))
    assert f'data-care-provider="{akademiska.pk}" value="{heart.pk}"' in page or re.search(
        rf'value="{heart.pk}"[^>]*data-care-provider="{akademiska.pk}"', page
    )
    assert re.search(rf'value="{lungs.pk}"[^>]*data-care-provider="{orebro.pk}"', page) or (
        f'data-care-provider="{orebro.pk}" value="{lungs.pk}"' in page
    )

    form_data["sites-0-unit"] = lungs.pk
    response = client.post("/studier/ny/", form_data)
    assert response.status_code == 400
    assert "Choose a unit of the chosen care provider." in _page(response)
    assert not Study.objects.exists()
    form_data["sites-0-unit"] = heart.pk
    assert client.post("/studier/ny/", form_data).status_code == 302
    assert Study.objects.get().sites.get().unit == heart


def test_the_duplicate_warning_appears_once_with_its_override_beside_it(
    client,
    users,
    form_data,  # noqa: F811
    make_study,
):
    existing = make_study(epm_dnr="2024-00001-01", title_sv="Annan titel")
    client.force_login(users.registrant)
    page = _page(client.post("/studier/ny/", form_data))
    assert page.count(f'href="/studier/{existing.pk}/"') == 1
    assert page.count("Annan titel") == 1
    notice = page[page.index('id="duplicates"') :]
    notice = notice[: notice.index("</div>")]
    assert 'name="allow_duplicate"' in notice
    assert page.count('name="allow_duplicate"') == 1
    assert '<a href="#duplicates">' in page


@pytest.mark.parametrize("language", ["sv", "en"])
def test_the_form_labels_are_in_the_users_language(client, users, settings, language):
    settings.LANGUAGE_CODE = language
    client.force_login(users.registrant)
    page = _page(client.get("/studier/ny/"))
    if language == "sv":
        assert "Vårdgivare" in page and "Care provider" not in page
        assert "Lägg till ett forskningsställe" in page
    else:
        assert "Care provider" in page and "Add a site" in page


def test_line_breaks_sent_by_a_browser_are_stored_as_imports_store_them(
    client,
    users,
    form_data,  # noqa: F811
):
    """Browsers send a text area's line breaks as CRLF: stored as they came, every save
    of an imported study's form would change its texts."""
    form_data["summary_sv"] = "Första stycket.\r\n\r\nAndra stycket.\rTredje."
    client.force_login(users.registrant)
    assert client.post("/studier/ny/", form_data).status_code == 302
    assert Study.objects.get().summary_sv == "Första stycket.\n\nAndra stycket.\nTredje."
