"""The public pages in a real browser: search, filter, open a study, switch language, axe-core."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.browser import wait_until
from trialnode.studies.models import Study

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = (
    Path(__file__).resolve().parents[2]
    / "trialnode"
    / "static"
    / "vendor"
    / "axe-core"
    / "axe.min.js"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's Chromium is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def studies(transactional_db, make_study, settings):
    settings.LANGUAGE_CODE = "sv"
    heart = make_study(
        title_sv="Träning vid hjärtsvikten",
        title_en="Exercise training in heart failure",
        summary_sv="Vi undersöker om träning hjälper personer med hjärtsvikt.",
        summary_en="We study whether exercise helps people with heart failure.",
        icd10=("I50.9",),
        providers=("akademiska",),
        regions=(),
        nct_id="NCT01234567",
        min_age_years=18,
    )
    make_study(
        title_sv="Hjärtsvikt hos barn i Skåne",
        icd10=("I50.9",),
        regions=("skane",),
        min_age_years=2,
        max_age_years=17,
    )
    make_study(title_sv="Astma hos vuxna", icd10=("J45.9",), regions=("orebro",))
    return heart


def _serious_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', "
        "'wcag21aa', 'best-practice']})"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} – {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_a_patient_searches_filters_opens_a_study_and_switches_language(
    browser, live_server, studies
):
    page = browser.new_page(bypass_csp=True)
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "sv"
    page.get_by_label("Sökord").fill("hjärtsvikt")
    page.get_by_role("button", name="Sök", exact=True).click()
    page.wait_for_url("**q=hj*")
    page.wait_for_load_state("networkidle")
    results = page.locator(".result h3")
    results.first.wait_for()
    assert sorted(results.all_inner_texts()) == [
        "Hjärtsvikt hos barn i Skåne",
        "Träning vid hjärtsvikten",
    ]

    page.get_by_label("Region Uppsala").check()
    page.wait_for_url("**region=uppsala*")
    page.wait_for_load_state("networkidle")
    wait_until(page, "document.querySelectorAll('.result h3').length === 1")
    assert results.all_inner_texts() == ["Träning vid hjärtsvikten"]
    assert "region=uppsala" in page.url

    page.get_by_role("link", name="Träning vid hjärtsvikten").click()
    page.wait_for_url(f"**/studier/{studies.pk}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Träning vid hjärtsvikten"
    assert page.get_by_role("heading", name="Vem kan delta").is_visible()
    assert page.get_by_role("link", name="NCT01234567").is_visible()

    page.get_by_role("button", name="In English").click()
    wait_until(page, "document.documentElement.lang === 'en'")
    assert page.get_by_role("heading", name="Who can take part").is_visible()
    assert "We study whether exercise helps" in page.content()
    page.close()


@pytest.mark.parametrize("width", [1280, 375])
def test_search_and_study_pages_have_no_serious_accessibility_violations(
    browser, live_server, studies, width
):
    # axe-core is injected inline, which the Content Security Policy would refuse.
    page = browser.new_page(viewport={"width": width, "height": 900}, bypass_csp=True)
    page.goto(live_server.url + "/?q=hj%C3%A4rtsvikt&region=uppsala")
    assert _serious_violations(page) == []
    study = Study.objects.get(pk=studies.pk)
    page.goto(f"{live_server.url}/studier/{study.pk}/")
    assert _serious_violations(page) == []
    page.close()


def test_the_statistics_dashboard_draws_charts_filters_in_place_and_is_accessible(
    browser, live_server, studies
):
    page = browser.new_page(viewport={"width": 375, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "response",
        lambda r: errors.append(r.url) if r.status >= 400 and "favicon" not in r.url else None,
    )
    page.goto(live_server.url + "/statistik/")
    wait_until(page, "document.querySelectorAll('canvas[data-drawn]').length >= 3")
    headline = page.locator(".headline-value").first.inner_text()
    assert headline == "3"  # the three studies are recruiting today

    page.get_by_label("Region", exact=True).and_(page.locator("select")).select_option("orebro")
    page.wait_for_url("**region=orebro*")
    wait_until(page, "document.querySelector('.headline-value').innerText === '1'")
    # The swapped-in charts are drawn too, and nothing broke on the way.
    wait_until(page, "document.querySelectorAll('canvas[data-drawn]').length >= 3")
    assert errors == []
    page.close()

    checked = browser.new_page(viewport={"width": 375, "height": 900}, bypass_csp=True)
    checked.goto(live_server.url + "/statistik/")
    assert _serious_violations(checked) == []
    checked.close()
