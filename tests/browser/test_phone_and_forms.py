"""A patient on a phone, a registrant filling the form, a reader going Back through the
statistics: in a real browser, in Swedish."""

from __future__ import annotations

import pytest

from tests.browser import wait_until
from tests.browser.test_public_pages import browser  # noqa: F401
from trialnode.organisations.models import CareProvider, Unit
from trialnode.studies.models import Study

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 667}


@pytest.fixture
def patient_studies(transactional_db, make_study, settings):
    settings.LANGUAGE_CODE = "sv"
    leukaemia = make_study(
        title_sv="Behandling av akut leukemi hos vuxna",
        icd10=("C91.0",),
        providers=("akademiska",),
        regions=(),
        status="RECRUITING",
    )
    leukaemia.contacts.create(name="Studiesjuksköterska", email="leukemi@example.se")
    make_study(
        title_sv="Uppföljning efter bröstcancer",
        icd10=("C50.9",),
        regions=("orebro",),
        status="COMPLETED",
    )
    for number in range(12):
        make_study(title_sv=f"Astma hos vuxna {number}", icd10=("J45.9",), regions=("skane",))
    return leukaemia


def _box(locator) -> dict:
    box = locator.bounding_box()
    assert box is not None
    return box


def test_a_patient_on_a_phone_finds_a_recruiting_study_and_its_contact(
    browser,  # noqa: F811
    live_server,
    patient_studies,
):
    page = browser.new_page(viewport=PHONE)
    page.goto(live_server.url + "/")
    page.get_by_label("Sökord").fill("cancer")
    page.get_by_role("button", name="Sök", exact=True).click()
    page.wait_for_url("**q=cancer*")
    page.wait_for_load_state("networkidle")
    first = page.locator(".result h3 a").first
    # The results come first, on the first screen; the filters are folded below them.
    assert _box(first)["y"] + _box(first)["height"] <= PHONE["height"]
    assert page.locator("#filters").evaluate("filters => filters.open") is False
    assert _box(page.locator("#filters"))["y"] > _box(page.locator(".result-list"))["y"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.get_by_role("link", name="Filtrera resultaten").click()
    page.locator("#f-recruiting-true").check()
    page.wait_for_url("**recruiting=true*")
    page.wait_for_load_state("networkidle")
    assert page.locator(".result h3").all_inner_texts() == [patient_studies.title_sv]
    # The choice is shown with a link that undoes it.
    chip = page.locator(".chip", has_text="Öppen för rekrytering")
    assert chip.is_visible()

    page.get_by_role("link", name=patient_studies.title_sv).click()
    page.wait_for_url(f"**/studier/{patient_studies.pk}/")
    contact = page.get_by_role("link", name="leukemi@example.se")
    assert contact.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.go_back()
    page.wait_for_load_state("networkidle")
    page.locator(".chip", has_text="Öppen för rekrytering").click()
    page.wait_for_load_state("networkidle")
    assert "recruiting" not in page.url
    assert page.locator(".result h3").count() == 2
    page.close()


def test_the_language_switch_keeps_a_search_made_on_the_page(
    browser,  # noqa: F811
    live_server,
    patient_studies,
):
    """The search answers without reloading the page; switching language after it shows
    the same search in the other language."""
    page = browser.new_page(viewport=PHONE)
    page.goto(live_server.url + "/")
    page.get_by_role("searchbox").fill("cancer")
    page.get_by_role("searchbox").press("Enter")
    page.wait_for_url("**q=cancer*")
    page.get_by_role("link", name="Filtrera resultaten").click()
    page.locator("#f-recruiting-true").check()
    page.wait_for_url("**recruiting=true*")
    page.wait_for_load_state("networkidle")
    with page.expect_navigation():
        page.get_by_role("button", name="In English").click()
    assert "q=cancer" in page.url and "recruiting=true" in page.url
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator(".result h3").all_inner_texts() == [patient_studies.title_sv]
    page.close()


def test_a_keyboard_user_reaches_the_first_result_through_the_skip_link(
    browser,  # noqa: F811
    live_server,
    patient_studies,
):
    page = browser.new_page(viewport=PHONE)
    page.goto(live_server.url + "/?q=cancer")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Hoppa till sökresultaten"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "results-heading"
    first_href = page.locator(".result h3 a").first.get_attribute("href")
    presses = 0
    while page.evaluate("document.activeElement.getAttribute('href')") != first_href:
        page.keyboard.press("Tab")
        presses += 1
        assert presses <= 3, "the sort menu and the filter link are all that come between"
    page.close()


def _unit_names(select) -> list[str]:
    """The units a unit menu offers (each option reads "unit, care provider")."""
    return [text.split(",")[0] for text in select.locator("option").all_inner_texts()[1:]]


def test_a_registrant_adds_and_removes_rows_and_sees_only_the_providers_units(
    browser,  # noqa: F811
    live_server,
    users,
    settings,
    transactional_db,
):
    settings.LANGUAGE_CODE = "sv"
    akademiska = CareProvider.objects.get(slug="akademiska")
    orebro = CareProvider.objects.get(slug="uso")
    Unit.objects.create(care_provider=akademiska, name="Kardiologkliniken")
    Unit.objects.create(care_provider=orebro, name="Lungkliniken Örebro")
    page = browser.new_page(viewport=PHONE)
    page.goto(live_server.url + "/accounts/login/")
    page.locator("main input[name=username]").fill("registrant")
    page.locator("main input[name=password]").fill("pw-registrant")
    page.locator("main button[type=submit]").click()
    page.goto(live_server.url + "/studier/ny/")
    assert page.locator("[name=reason]").count() == 0

    sites = page.locator("[data-formset=sites]")
    sites.get_by_role("button", name="Lägg till ett forskningsställe").click()
    assert sites.locator("[data-row]").count() == 2
    assert page.input_value("[name=sites-TOTAL_FORMS]") == "2"
    assert page.evaluate("document.activeElement.name") == "sites-1-region"
    unit = page.locator("[name=sites-1-unit]")
    assert unit.is_disabled()
    page.locator("[name=sites-1-care_provider]").select_option(str(orebro.pk))
    assert _unit_names(unit) == ["Lungkliniken Örebro"]
    page.locator("[name=sites-1-care_provider]").select_option(str(akademiska.pk))
    assert _unit_names(unit) == ["Kardiologkliniken"]

    sites.get_by_role("button", name="Ta bort forskningsställe 2").click()
    assert page.locator("[name=sites-1-DELETE]").is_checked()
    sites.get_by_role("button", name="Ångra").click()
    assert not page.locator("[name=sites-1-DELETE]").is_checked()

    page.get_by_label("Titel på svenska").fill("Ny studie")
    page.locator("[name=contacts-0-email]").fill("inte-en-adress")
    page.locator("#study-form button[type=submit]").last.click()
    page.wait_for_load_state()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    link = page.locator("#error-summary a", has_text="E-post")
    link.click()
    assert page.evaluate("document.activeElement.name") == "contacts-0-email"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert not Study.objects.exists()
    page.close()


def _updated(page, query: str) -> None:
    """Wait until htmx has put the answer with ``query`` in the address and settled it. The
    address changes before the new filters are bound (for htmx's 20 ms of settling): a
    choice made in between starts no request."""
    page.wait_for_url(f"**{query}*")
    wait_until(page, "!document.querySelector('.htmx-settling, .htmx-request')")


def test_statistics_filters_replace_their_values_and_back_restores_the_page(
    browser,  # noqa: F811
    live_server,
    patient_studies,
):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_server.url + "/statistik/")
    wait_until(page, "document.querySelectorAll('canvas[data-drawn]').length >= 3")
    everywhere = page.locator(".headline-value").first.inner_text()
    region = page.locator("#f-region")
    region.select_option("orebro")
    _updated(page, "region=orebro")
    region.select_option("skane")
    _updated(page, "region=skane")
    page.wait_for_load_state("networkidle")
    assert page.url.count("region=") == 1 and "study_type=" not in page.url
    in_skane = page.locator(".headline-value").first.inner_text()

    page.go_back()
    page.wait_for_url("**region=orebro*")
    wait_until(page, "document.querySelector('#f-region').value === 'orebro'")
    page.go_back()
    wait_until(page, "document.querySelector('#f-region').value === ''")
    assert page.locator(".headline-value").first.inner_text() == everywhere
    # The charts of the restored page are drawn again, not left blank.
    wait_until(
        page,
        "Array.from(document.querySelectorAll('canvas[data-chart]')).every(c => "
        "c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some(v => v !== 0))",
    )
    page.go_forward()
    page.go_forward()
    wait_until(page, "document.querySelector('#f-region').value === 'skane'")
    assert page.locator(".headline-value").first.inner_text() == in_skane
    csv_links = page.locator("a[href*='.csv']")
    assert csv_links.count() > 0
    assert page.locator("a[href*='sep=semicolon']").count() == csv_links.count() // 2
    page.close()
