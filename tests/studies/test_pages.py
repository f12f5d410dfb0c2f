"""Public search and study pages, the language switch, and the registration pages."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from trialnode.studies.models import RegistrationState, Study


def test_the_search_page_is_swedish_by_default(client, make_study, settings):
    settings.LANGUAGE_CODE = "sv"
    make_study(title_sv="Hjärtsvikt")
    page = client.get("/").content.decode()
    assert '<html lang="sv">' in page
    assert "Hitta en klinisk studie" in page


def test_the_language_switch_turns_every_page_english(client, make_study, settings):
    settings.LANGUAGE_CODE = "sv"
    study = make_study(title_sv="Hjärtsvikt")
    response = client.post("/i18n/setlang/", {"language": "en", "next": f"/studier/{study.pk}/"})
    assert response.status_code == 302
    page = client.get(f"/studier/{study.pk}/").content.decode()
    assert '<html lang="en">' in page
    assert "Who can take part" in page


def test_a_reader_sees_the_title_in_their_language_and_the_other_as_subtitle(
    client, make_study, settings
):
    settings.LANGUAGE_CODE = "sv"
    study = make_study(title_sv="Träning vid hjärtsvikt", title_en="Exercise in heart failure")
    registry_only = make_study(title_sv="", title_en="Statins after stroke")
    swedish = client.get(f"/studier/{study.pk}/").content.decode()
    assert "<h1>Träning vid hjärtsvikt</h1>" in swedish
    assert '<p class="subtitle" lang="en">Exercise in heart failure</p>' in swedish
    assert (
        '<h1 lang="en">Statins after stroke</h1>'
        in client.get(f"/studier/{registry_only.pk}/").content.decode()
    )

    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = client.get(f"/studier/{study.pk}/").content.decode()
    assert "<h1>Exercise in heart failure</h1>" in english
    assert '<p class="subtitle" lang="sv">Träning vid hjärtsvikt</p>' in english
    results = client.get("/?q=hjärtsvikt").content.decode()
    assert ">Exercise in heart failure</a></h3>" in results
    assert "Träning vid hjärtsvikt</a>" not in results


def test_html_in_any_text_field_is_shown_escaped(client, make_study):
    study = make_study(
        title_sv="<script>alert(1)</script>",
        summary_sv="<b>fet</b>",
        sponsor_name="<img src=x onerror=alert(1)>",
    )
    detail = client.get(f"/studier/{study.pk}/").content.decode()
    search = client.get("/").content.decode()
    for page in (detail, search):
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in detail


def test_registry_markdown_is_shown_as_lists_without_its_escapes(client, make_study):
    """ClinicalTrials.gov writes criteria as Markdown lists with backslash escapes."""
    study = make_study(
        source="CTGOV",
        summary_en="Measured by the Erectile Function \\[EF\\] domain.",
        eligibility_criteria=(
            "Inclusion Criteria:\n\n* Adults \\>= 18 years\n* Life expectancy \\<3 years\n\n"
            "Exclusion Criteria:\n\n1\\. Other significant disease"
        ),
    )
    page = client.get(f"/studier/{study.pk}/").content.decode()
    assert "<li>Adults &gt;= 18 years</li>" in page
    assert "<li>Life expectancy &lt;3 years</li>" in page
    assert "1. Other significant disease" in page
    assert "Erectile Function [EF] domain." in page
    assert "\\[" not in page and "\\&lt;" not in page and "* Adults" not in page


def test_registry_markdown_can_add_no_markup_images_links_or_headings(client, make_study):
    study = make_study(
        source="CTGOV",
        eligibility_criteria=(
            "<script>alert(1)</script>\n\n![x](https://example.org/x.png)\n\n"
            "[a](javascript:alert(1)) <https://example.org>\n\n# Criteria\n\n"
            + ">" * 5000
            + " deep"
        ),
    )
    page = client.get(f"/studier/{study.pk}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "<img" not in page
    assert 'href="javascript' not in page and 'href="https://example.org' not in page
    assert "<h1>Criteria</h1>" not in page and "# Criteria" in page
    assert "deep" in page


def test_texts_entered_here_are_shown_as_typed(client, make_study):
    """Only a registry's Markdown is read as Markdown: a local summary keeps its asterisks."""
    study = make_study(summary_sv="* inte en lista \\[x\\]\n\nAndra stycket", source="LOCAL")
    page = client.get(f"/studier/{study.pk}/").content.decode()
    assert "<p>* inte en lista \\[x\\]</p>" in page and "<p>Andra stycket</p>" in page


@pytest.mark.parametrize(
    ("low", "high", "shown"),
    [(18, 65, "18–65 år"), (18, None, "18 år och äldre"), (None, 17, "Upp till 17 år")],
)
def test_the_age_limits_read_as_words(client, make_study, settings, low, high, shown):
    settings.LANGUAGE_CODE = "sv"
    study = make_study(min_age_years=low, max_age_years=high)
    page = client.get(f"/studier/{study.pk}/").content.decode()
    assert f"<dd>{shown}</dd>" in page


def test_a_site_known_only_by_its_region_names_the_region_once(client, make_study):
    study = make_study(regions=("vasternorrland",))
    page = client.get(f"/studier/{study.pk}/").content.decode()
    assert "<strong>Region Västernorrland</strong>" in page
    assert "Region Västernorrland</strong>, Region Västernorrland" not in page


def test_a_search_of_only_punctuation_says_it_shows_every_study(client, make_study, settings):
    settings.LANGUAGE_CODE = "sv"
    make_study(title_sv="Astmastudie")
    page = client.get("/?q=%21%21%21").content.decode()
    assert "Söktexten har inga ord att söka på, så alla studier visas." in page
    assert "1 studie" in page
    assert "Söktexten har inga ord" not in client.get("/?q=astma").content.decode()
    assert "Söktexten har inga ord" not in client.get("/").content.decode()


def test_a_page_past_the_last_says_so_and_leads_back(client, make_study, settings):
    settings.LANGUAGE_CODE = "sv"
    settings.TRIALNODE_SEARCH_PAGE_SIZE = 2
    for number in range(3):
        make_study(title_sv=f"Astmastudie {number}")
    page = client.get("/?q=astmastudie&page=5").content.decode()
    assert "Sökningen har 2 sidor, inte 5." in page
    assert 'href="?q=astmastudie&amp;sort=relevance&amp;page=2">Gå till sista sidan' in page
    assert "Inga studier matchar" not in page and "Sida 5 av 2" not in page


def test_the_study_page_links_to_the_registries_it_has_identifiers_in(client, make_study):
    study = make_study(
        nct_id="NCT01234567", eu_ct_number="2023-501234-12-00", epm_dnr="2022-01051-01"
    )
    page = client.get(f"/studier/{study.pk}/").content.decode()
    assert "https://clinicaltrials.gov/study/NCT01234567" in page
    assert "2023-501234-12-00" in page and "euclinicaltrials.eu" in page
    assert "etikprovningsmyndigheten.se" in page


def test_an_unknown_filter_value_is_a_clear_message_on_the_page(client, reference_data):
    response = client.get("/", {"status": "FINISHED"})
    assert response.status_code == 400
    assert "Unknown value FINISHED" in response.content.decode()


def test_an_unpublished_study_page_is_404_to_the_public(client, make_study):
    study = make_study(registration_state=RegistrationState.SUBMITTED)
    assert client.get(f"/studier/{study.pk}/").status_code == 404


def test_the_search_page_query_count_does_not_grow_with_results(
    client, make_study, django_assert_max_num_queries
):
    make_study(title_sv="A")
    with CaptureQueriesContext(connection) as few:
        client.get("/")
    for number in range(15):
        make_study(title_sv=f"Studie {number}", regions=("uppsala", "orebro"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/")


def test_filters_and_results_update_together_without_a_reload(client, make_study):
    make_study(title_sv="Hjärtsvikt")
    partial = client.get("/", HTTP_HX_REQUEST="true").content.decode()
    assert '<div class="search-layout" id="search-area">' in partial
    assert "Hjärtsvikt" in partial and "<html" not in partial


@pytest.fixture
def form_data(users):
    from trialnode.organisations.models import CareProvider

    provider = CareProvider.objects.get(slug="akademiska")
    data = {
        "title_sv": "Ny studie om astma",
        "study_type": "OBSERVATIONAL",
        "sponsor_type": "ACADEMIC",
        "sponsor_name": "Uppsala universitet",
        "summary_sv": "Vi följer personer med astma.",
        "epm_dnr": "2024-00001-01",
        "sex": "ALL",
        "status": "NOT_YET_RECRUITING",
    }
    for name in ("sites", "conditions", "interventions", "contacts"):
        data.update({f"{name}-TOTAL_FORMS": "1", f"{name}-INITIAL_FORMS": "0"})
    data.update(
        {
            "sites-0-region": provider.region_id,
            "sites-0-care_provider": provider.pk,
            "conditions-0-icd10_code": "J45.9",
            "conditions-0-text": "Astma",
            "contacts-0-name": "Studiekontakt",
            "contacts-0-email": "studie@example.se",
        }
    )
    return data


def test_a_registrant_registers_a_study_through_the_form(client, users, form_data):
    client.force_login(users.registrant)
    response = client.post("/studier/ny/", form_data)
    assert response.status_code == 302
    study = Study.objects.get()
    assert study.owner == users.registrant
    assert study.sites.get().care_provider.slug == "akademiska"
    assert study.conditions.get().chapter == "X"


def test_the_form_shows_identifier_errors_and_saves_nothing(client, users, form_data):
    client.force_login(users.registrant)
    form_data["epm_dnr"] = "2024-1"
    response = client.post("/studier/ny/", form_data)
    assert response.status_code == 400
    assert "is not an Ethical Review Authority reference number" in response.content.decode()
    assert not Study.objects.exists()


def test_the_form_warns_about_duplicates_before_creating(client, users, form_data, make_study):
    make_study(epm_dnr="2024-00001-01", title_sv="Annan titel")
    client.force_login(users.registrant)
    response = client.post("/studier/ny/", form_data)
    assert response.status_code == 400
    assert "Possible duplicates" in response.content.decode()
    form_data["allow_duplicate"] = "on"
    assert client.post("/studier/ny/", form_data).status_code == 302


def test_a_second_user_saving_an_older_version_is_refused_on_the_page(client, users, form_data):
    client.force_login(users.registrant)
    client.post("/studier/ny/", form_data)
    study = Study.objects.get()
    form_data["version"] = study.version
    form_data["title_sv"] = "Först"
    assert client.post(f"/studier/{study.pk}/andra/", form_data).status_code == 302
    form_data["title_sv"] = "Sist, men från en gammal version"
    response = client.post(f"/studier/{study.pk}/andra/", form_data)
    assert response.status_code == 400
    assert "Someone else saved this study" in response.content.decode()
    study.refresh_from_db()
    assert study.title_sv == "Först"


def test_the_coordinator_queue_lists_submitted_studies_of_the_region(client, users, make_study):
    mine = make_study(title_sv="I Uppsala", registration_state=RegistrationState.SUBMITTED)
    make_study(
        title_sv="I Örebro", registration_state=RegistrationState.SUBMITTED, regions=("orebro",)
    )
    client.force_login(users.coordinator)
    page = client.get("/arbetsyta/").content.decode()
    assert f"/studier/{mine.pk}/" in page
    assert "I Örebro" not in page


def test_publishing_through_the_page(client, users, make_study):
    study = make_study(
        registration_state=RegistrationState.SUBMITTED,
        title_sv="Klar studie",
        epm_dnr="2024-00001-01",
        sponsor_name="Uppsala universitet",
        summary_sv="Sammanfattning",
        icd10=("J45.9",),
        study_type="OBSERVATIONAL",
    )
    study.contacts.create(name="Studiekontakt")
    client.force_login(users.other_coordinator)
    client.post(
        f"/studier/{study.pk}/publicera/", {"reason": "OK", "password": "pw-coordinator_orebro"}
    )
    study.refresh_from_db()
    assert study.registration_state == RegistrationState.SUBMITTED
    client.force_login(users.coordinator)
    client.post(f"/studier/{study.pk}/publicera/", {"reason": "OK", "password": "fel"})
    study.refresh_from_db()
    assert study.registration_state == RegistrationState.SUBMITTED
    client.post(f"/studier/{study.pk}/publicera/", {"reason": "OK", "password": "pw-coordinator"})
    study.refresh_from_db()
    assert study.registration_state == RegistrationState.PUBLISHED


def test_workspace_requires_login(client, reference_data):
    response = client.get("/arbetsyta/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
