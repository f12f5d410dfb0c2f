"""The whole feasibility service in a real browser, in Swedish, at phone width: a sponsor
submits a site and a country inquiry, a national coordinator sends them to units in two
regions, the units answer through their e-mailed links, the sponsor reads the compiled
answer, and the measures appear on the statistics dashboard."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.browser.test_public_pages import _serious_violations, browser  # noqa: F401
from trialnode.feasibility.models import DirectoryEntry, SponsorMembership, SponsorOrganisation
from trialnode.organisations.models import CareProvider, Node, Role, RoleAssignment, User

pytestmark = pytest.mark.browser
WIDTH = 375


@pytest.fixture
def service(live_server, transactional_db, users, settings, tmp_path):
    settings.LANGUAGE_CODE = "sv"
    settings.DATA_DIR = tmp_path
    organisation = SponsorOrganisation.objects.create(name="Läkemedel AB", kind="industry")
    SponsorMembership.objects.create(organisation=organisation, user=users.sponsor)
    national = User.objects.create_user(
        username="national", email="national@example.se", password="pw-national"
    )
    for node in Node.objects.all():
        RoleAssignment.objects.create(user=national, role=Role.COORDINATOR, node=node)
    for provider in (
        CareProvider.objects.get(slug="akademiska"),
        CareProvider.objects.filter(region__slug="orebro").first(),
    ):
        DirectoryEntry.objects.create(
            care_provider=provider,
            unit_name="Kardiologkliniken",
            investigator="Prövare (test)",
            email=f"kardiologi.{provider.slug}@example.se",
            specialty="Kardiologi",
            therapy_areas=["IX"],
            is_expert=True,
        )
    return users


def _login(page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(base + "/accounts/login/")
    page.locator("main input[name=username]").fill(username)
    page.locator("main input[name=password]").fill(f"pw-{username}")
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH


def _links(mailoutbox) -> list[str]:
    found = []
    for message in mailoutbox:
        match = re.search(r"(/forfragningar/svar/\d+/[^/\s]+/)", message.body)
        if match:
            found.append(match.group(1))
    return found


def test_a_sponsor_gets_a_compiled_answer_from_units_in_two_regions(
    browser,  # noqa: F811
    live_server,
    service,
    mailoutbox,
    tmp_path,
):
    base = live_server.url
    page = browser.new_page(viewport={"width": WIDTH, "height": 900}, bypass_csp=True)
    reply_by = (dt.date.today() + dt.timedelta(days=14)).isoformat()

    # The sponsor submits a site inquiry to Uppsala and Örebro ...
    _login(page, base, "sponsor")
    page.goto(base + "/forfragningar/")
    with page.expect_navigation():
        page.get_by_role("link", name="Ny klinikförfrågan").click()
    assert _serious_violations(page) == []
    _fits(page)
    page.get_by_label("Studiens titel").fill("Ny behandling vid hjärtsvikt")
    page.get_by_label("Terapiområde (ICD-10-kapitel)").select_option("IX")
    page.get_by_label("Indikation och syfte").fill("Hjärtsvikt med bevarad ejektionsfraktion")
    page.locator("select[name=phase]").select_option("PHASE3")
    page.get_by_label("Inklusionskriterier").fill("Vuxna över 40 år")
    page.get_by_label("Sista svarsdag").fill(reply_by)
    page.get_by_label("Kontaktperson hos sponsorn").fill("Studieansvarig")
    page.get_by_label("Kontaktpersonens e-post").fill("studie@example.se")
    page.get_by_label("Region Uppsala").check()
    page.get_by_label("Region Örebro län").check()
    page.get_by_role("button", name="Skicka in förfrågan").click()
    page.wait_for_url("**/forfragningar/*/")
    site_url = page.url
    assert "Din förfrågan har skickats till noderna" in page.content()

    # ... and a country inquiry to all of Sweden, with its synopsis.
    synopsis = tmp_path / "synopsis.pdf"
    synopsis.write_bytes(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
    page.goto(base + "/forfragningar/ny/country/")
    page.get_by_label("Studiens titel").fill("Kan studien göras i Sverige?")
    page.get_by_label("Terapiområde (ICD-10-kapitel)").select_option("IX")
    page.get_by_label("Produkt").fill("Läkemedel X")
    page.get_by_label("Planerad start").fill("2030-01-01")
    page.get_by_label("ATMP (avancerad terapi)").select_option("no")
    page.get_by_label("Sista svarsdag").fill(reply_by)
    page.get_by_label("Kontaktperson hos sponsorn").fill("Studieansvarig")
    page.get_by_label("Kontaktpersonens e-post").fill("studie@example.se")
    page.get_by_label("Hela Sverige").check()
    page.get_by_label("Synopsis (PDF)").set_input_files(str(synopsis))
    page.get_by_role("button", name="Skicka in förfrågan").click()
    page.wait_for_url("**/forfragningar/*/")
    country_url = page.url

    # The national coordinator checks both and sends them to the proposed units.
    _login(page, base, "national")
    for url in (site_url, country_url):
        page.goto(url)
        page.get_by_role("button", name="Förfrågan är komplett").click()
        page.wait_for_load_state()
        with page.expect_navigation():  # measured on the new page, not during the change
            page.get_by_role("link", name="Välj enheter och skicka").click()
        _fits(page)
        assert page.locator("input[name=entries]:checked").count() == 2
        page.get_by_role("button", name="Skicka till de valda enheterna").click()
        page.wait_for_url(url)
        assert "Skickad till enheter" in page.content()
        assert "Region Uppsala" in page.content() and "Region Örebro län" in page.content()

    # Each unit answers through its own link, without an account.
    page.context.clear_cookies()
    links = _links(mailoutbox)
    assert len(links) == 4
    for link in links:
        page.goto(base + link)
        _fits(page)
        page.get_by_label("Intresserad av att delta").check()
        page.get_by_label("Uppskattat antal möjliga patienter per år").fill("12")
        if page.get_by_label("Patientpopulationen finns i Sverige").count():
            page.get_by_label("Patientpopulationen finns i Sverige").select_option("yes")
        page.get_by_role("button", name="Spara svaret").click()
        page.wait_for_load_state()
        assert "Ditt svar är sparat" in page.content()

    # The coordinator sends the compiled answer; the sponsor reads it.
    _login(page, base, "national")
    page.goto(site_url)
    page.get_by_label("Sammanställt svar till sponsorn").fill(
        "Två kliniker vill delta, i Uppsala och Örebro."
    )
    page.get_by_role("button", name="Skicka det sammanställda svaret till sponsorn").click()
    page.wait_for_load_state()
    _login(page, base, "sponsor")
    page.goto(site_url)
    assert "Svar skickat till sponsorn" in page.content()
    assert "Två kliniker vill delta" in page.locator(".compiled-answer").inner_text()
    assert page.locator("tbody tr").count() == 2
    assert _serious_violations(page) == []
    _fits(page)

    # The measures are on the dashboard, equal to the API's.
    year = dt.date.today().year
    page.goto(base + f"/statistik/?year={year}")
    section = page.locator("#section-feasibility")
    assert section.count() == 1
    api = page.request.get(base + f"/api/v1/feasibility/measures?year={year}").json()
    assert api["inquiries"] == 2 and api["dispatched"] == 2 and api["with_positive_answer"] == 2
    sweden_row = page.locator("section.statistics-section tr", has_text="Sverige").first
    cells = sweden_row.locator("td").all_inner_texts()
    assert cells[0] == "2" and cells[1] == "2"
    page.close()
