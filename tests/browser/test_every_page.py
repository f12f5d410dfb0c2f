"""Every page of the URL conf in a real browser, in Swedish: as wide as a 320 px screen
at most (WCAG 1.4.10), no axe violation at 320 and 1280 px, and no English field name or
column name on any page anonymous users or any role can read.

The pages come from the URL declarations of ``tests/<app>/url_access.py`` (the same that
``test_every_url_is_scoped`` checks), so a new app's pages are crawled as soon as they
are declared.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest
from django.apps import apps
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.text import capfirst

from tests.browser.test_public_pages import AXE, browser  # noqa: F401
from tests.test_every_url_is_scoped import declarations
from tests.urlaccess import World
from trialnode.studies import services
from trialnode.studies.forms import FORMSETS, StudyForm

pytestmark = pytest.mark.browser

CRAWLERS = (
    "anonymous",
    "registrant",
    "coordinator",
    "node_admin",
    "auditor",
    "sponsor",
    "outsider",
    "superuser",
)
"""One actor of each kind; "other_*" actors read the same pages of other regions."""

NOT_PAGES = ("/api/", "/admin/", "/fhir/", "/export/")
"""Paths of machine interfaces and of Django's own admin, not pages of the site."""


def _readable_pages(world: World, actor: str, client: Client) -> Iterator[tuple[str, str]]:
    """(name, url) of every HTML page the actor may read."""
    for name, access in sorted(declarations().items()):
        if actor not in access.methods.get("GET", ()):
            continue
        url = reverse(name, kwargs=access.kwargs(world))
        if url.startswith(NOT_PAGES):
            continue
        if access.query:
            url += "?" + "&".join(f"{k}={v}" for k, v in access.query.items())
        response = client.get(url)
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            yield name, url


@pytest.fixture
def world(transactional_db, users, settings):
    """The declared test objects, with a study whose history holds edits of every kind."""
    settings.LANGUAGE_CODE = "sv"
    declarations()  # the url_access modules register the factories of their objects
    world = World(users)
    study = world.published_study
    services.study_update(
        study=study,
        by=users.registrant,
        expected_version=study.version,
        fields={
            "completion_date": date(2030, 6, 30),
            "phase": "PHASE2",
            "healthy_volunteers": True,
        },
        reason="Nytt slutdatum",
        interventions=[{"type": "DRUG", "name": "Metformin", "atc_code": "A10BA02"}],
    )
    return world


def _client(users, actor: str) -> Client:
    client = Client()
    if actor != "anonymous":
        client.force_login(getattr(users, actor))
    return client


def _browser_page(browser, live_server, client: Client, width: int):  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    cookie = client.cookies.get(settings.SESSION_COOKIE_NAME)
    if cookie is not None:
        context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    return context.new_page()


def english_field_names() -> set[str]:
    """The English labels of every model and form field whose Swedish label differs, and
    every column name with an underscore."""
    labels: set[str] = set()
    names: list[tuple[str, object]] = []
    for model in apps.get_models():
        if not model.__module__.startswith("trialnode."):
            continue
        for field in model._meta.get_fields():
            if hasattr(field, "verbose_name"):
                names.append((field.name, field.verbose_name))
    for form_class in (StudyForm, *(f.form for f in FORMSETS.values())):
        for name, field in form_class.base_fields.items():
            if field.label:
                names.append((name, field.label))
    for name, label in names:
        if "_" in name:
            labels.add(name)
        with translation.override("en"):
            english = capfirst(str(label))
        with translation.override("sv"):
            swedish = capfirst(str(label))
        if english != swedish and len(english) > 3:
            labels.add(english)
    return labels


def _english_on(text: str, words: set[str]) -> list[str]:
    """Each English name found, with the words around it."""
    found = []
    for word in sorted(words):
        match = re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text)
        if match:
            found.append(repr(text[max(0, match.start() - 40) : match.end() + 40]))
    return found


def test_no_page_in_swedish_shows_english_field_names(
    browser,  # noqa: F811
    live_server,
    world,
    users,
):
    words = english_field_names()
    assert {"completion_date", "Care provider", "Completion date"} <= words
    problems: list[str] = []
    crawled = 0
    for actor in CRAWLERS:
        client = _client(users, actor)
        page = _browser_page(browser, live_server, client, 1280)
        for name, url in _readable_pages(world, actor, client):
            page.goto(live_server.url + url)
            assert page.locator("html").get_attribute("lang") == "sv", url
            found = _english_on(page.locator("body").inner_text(), words)
            if found:
                problems.append(f"{actor} {url} ({name}): {found}")
            crawled += 1
        page.context.close()
    assert crawled > 30
    assert problems == []


def _public_pages(world: World, users) -> list[str]:
    client = _client(users, "anonymous")
    return [url for _name, url in _readable_pages(world, "anonymous", client)] + [
        "/studier/999999/"  # the 404 page
    ]


def test_no_public_page_is_wider_than_a_320_px_screen(
    browser,  # noqa: F811
    live_server,
    world,
    users,
):
    page = _browser_page(browser, live_server, Client(), 320)
    too_wide = {}
    for url in _public_pages(world, users):
        page.goto(live_server.url + url)
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 320:
            too_wide[url] = width
    assert too_wide == {}


@pytest.mark.parametrize("width", [320, 1280])
def test_no_public_page_has_an_accessibility_violation(
    browser,  # noqa: F811
    live_server,
    world,
    users,
    width,
):
    page = _browser_page(browser, live_server, Client(), width)
    violations = {}
    for url in _public_pages(world, users):
        page.goto(live_server.url + url)
        page.wait_for_load_state("networkidle")
        page.add_script_tag(path=str(AXE))
        result = page.evaluate(
            "async () => await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', "
            "'wcag21aa', 'best-practice']})"
        )
        found = [
            f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]
        ]
        if found:
            violations[url] = found
    assert violations == {}
