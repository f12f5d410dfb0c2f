"""What the search page shows beside the results: the chosen terms with the links that
undo them, and the sort menu; and the cache of rendered search pages."""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.messages import get_messages
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from trialnode.studies import searchrows
from trialnode.studies.filters import FILTERS, SORTS, StudySearch


def sort_options(study_search: StudySearch) -> list[tuple[str, str, bool]]:
    """(value, label, selected) of the sort menu. The first option is the default order
    (relevance with search words, latest update without) and sends no value, so a new
    search from the menu's default sorts by relevance."""
    default = "relevance" if study_search.text else "updated"
    options = [("", str(SORTS[default][0]), study_search.sort == default)]
    options.extend(
        (key, str(label), study_search.sort == key)
        for key, (label, _order) in SORTS.items()
        if key not in (default, "relevance")
    )
    return options


@dataclass(frozen=True)
class ChosenTerm:
    """One choice of the searcher, shown with a link that undoes it."""

    label: str
    value: str
    remove_url: str


def chosen_search_terms(study_search: StudySearch) -> list[ChosenTerm]:
    """The search words and every chosen filter value, each with the URL without it."""
    chosen = []
    if study_search.text:
        chosen.append(
            ChosenTerm(
                str(_("Search words")), study_search.text, search_url_without(study_search, "q")
            )
        )
    for definition in FILTERS:
        values = study_search.values.get(definition.name, [])
        labels = dict(study_search.choices.get(definition.name, []))
        for value in values:
            remaining = [v for v in values if v != value]
            chosen.append(
                ChosenTerm(
                    str(definition.label),
                    str(labels.get(value, value)),
                    search_url_without(study_search, definition.name, remaining),
                )
            )
    return chosen


def search_url_without(
    study_search: StudySearch, name: str, remaining: list[str] | None = None
) -> str:
    """The search's URL with the parameter ``name`` keeping only ``remaining`` (dropped
    when none remain), back on the first page."""
    overrides: dict[str, object] = {name: remaining or None, "page": None}
    if name == "q" and study_search.sort == "relevance":
        overrides["sort"] = None  # relevance needs words to be relevant to
    items = study_search.query_items(**overrides)
    return reverse("studies:search") + ("?" + urlencode(items) if items else "")


# Rendered into cached pages where each visitor's own CSRF token goes (the language switch
# is a form), and replaced by that token on every answer.
CSRF_PLACEHOLDER = f"csrf-{secrets.token_hex(16)}"


@dataclass(frozen=True)
class RenderedPage:
    status: int
    content: bytes
    content_type: str

    def response(self, request: HttpRequest) -> HttpResponse:
        token = get_token(request).encode()
        return HttpResponse(
            self.content.replace(CSRF_PLACEHOLDER.encode(), token),
            status=self.status,
            content_type=self.content_type,
        )


class RenderedPages:
    """Search pages as anonymous visitors see them, kept by each server process.

    Keyed by the page's URL, language and kind (whole page or htmx partial) and by the
    data version (``searchrows.recent_data_version``), which every change of what the
    public search shows advances: a page is not served from before a change made by this
    process, nor longer than ``searchrows.VERSION_MAX_AGE`` after one made by another. The least
    recently used pages go first when ``max_pages`` are kept.
    """

    def __init__(self, max_pages: int = 256) -> None:
        self.max_pages = max_pages
        self._pages: OrderedDict[tuple, RenderedPage] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> RenderedPage | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: tuple, page: RenderedPage) -> None:
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_pages:
                self._pages.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()

    def serve(
        self, request: HttpRequest, kind: str, render: Callable[[str | None], HttpResponse]
    ) -> HttpResponse:
        """The page for ``request``: from the cache when the visitor is anonymous and has
        no messages waiting, else rendered. ``render(csrf_token)`` renders the page
        (with that token in its forms, or the request's own when None)."""
        if not self.cacheable(request):
            return render(None)
        key = (
            searchrows.recent_data_version(),
            get_language(),
            kind,
            request.get_full_path(),
        )
        page = self.get(key)
        if page is None:
            rendered = render(CSRF_PLACEHOLDER)
            page = RenderedPage(
                rendered.status_code, rendered.content, rendered.headers["Content-Type"]
            )
            self.put(key, page)
        return page.response(request)

    @staticmethod
    def cacheable(request: HttpRequest) -> bool:
        # Not inside a transaction: what it reads may yet be rolled back.
        return (
            searchrows.maintained()
            and not connection.in_atomic_block
            and request.method in ("GET", "HEAD")
            and not request.user.is_authenticated
            and not len(get_messages(request))
        )


RENDERED_PAGES = RenderedPages()
