"""The count builder and result in a real browser, in Swedish, at phone and desktop width."""

from __future__ import annotations

import pytest

from tests.browser.test_public_pages import _serious_violations, browser  # noqa: F401
from tests.counts.conftest import _keys_in_a_temporary_data_dir, gibleed, omop  # noqa: F401
from trialnode.counts import signing
from trialnode.counts.models import DataSource, Peer, TrustedHub
from trialnode.organisations.models import Region

pytestmark = pytest.mark.browser


@pytest.fixture
def region_node(live_server, transactional_db, users, settings, gibleed):  # noqa: F811
    settings.LANGUAGE_CODE = "sv"
    settings.TRIALNODE_COUNTS_SELF_URL = live_server.url
    region = Region.objects.get(slug="uppsala")
    DataSource.objects.create(
        slug="uppsala", name="Uppsala", region=region, engine="duckdb", location=str(gibleed)
    )
    TrustedHub.objects.create(
        name="self", public_key=signing.public_pem(signing.private_key("hub"))
    )
    Peer.objects.create(
        slug="uppsala",
        name="Region Uppsala (nod)",
        region=region,
        url="/api/v1/counts/node/uppsala",
        public_key=signing.public_pem(signing.private_key("source-uppsala")),
    )
    return users


@pytest.mark.parametrize("width", [375, 1280])
def test_a_coordinator_builds_a_count_sees_the_json_and_the_protected_result(
    browser,  # noqa: F811
    live_server,
    region_node,
    width,
):
    page = browser.new_page(viewport={"width": width, "height": 900}, bypass_csp=True)
    page.goto(live_server.url + "/accounts/login/")
    page.locator("main input[name=username]").fill("coordinator")
    page.locator("main input[name=password]").fill("pw-coordinator")
    page.locator("main button[type=submit]").click()
    page.goto(live_server.url + "/antal/ny/")
    assert _serious_violations(page) == []
    page.get_by_label("Titel").fill("GI-blödning efter celekoxib")
    page.get_by_label("Koder:").first.fill("K92.2A")
    page.locator("select[name=form-0-kind]").select_option("drug")
    page.locator("input[name=form-0-codes]").fill("M01AH01")
    page.locator("input[name=form-0-days_before]").fill("365")
    page.get_by_role("button", name="Visa definitionen").click()
    page.wait_for_load_state()
    assert "192671" in page.locator("pre.counts-json").inner_text()
    assert "K92.2A" in page.content() and "K92.2" in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.get_by_role("button", name="Räkna i alla regioner").click()
    page.wait_for_url("**/antal/*/")
    cell = page.locator(".counts-result tbody td.number").first.inner_text()
    assert "–" in cell  # a released value with its interval
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert _serious_violations(page) == []
    page.close()
