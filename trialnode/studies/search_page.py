"""What the search page shows beside the results: the chosen terms with the links that
undo them, and the sort menu; and the cache of rendered search pages, with the middleware
that answers from it early."""

from __future__ import annotations

import secrets
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from django.conf import settings
from django.contrib.messages import get_messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.csrf import (
    CSRF_ALLOWED_CHARS,
    CSRF_SECRET_LENGTH,
    CsrfViewMiddleware,
)
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from trialnode.core.middleware import chosen_language
from trialnode.studies import searchrows
from trialnode.studies.filters import FILTERS, SORTS, StudySearch

MESSAGES_COOKIE = CookieStorage.cookie_name


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

_CSRF_CHAR_INDEX = {char: index for index, char in enumerate(CSRF_ALLOWED_CHARS)}
# The largest multiple of the alphabet's size a byte can hold: bytes above it are skipped,
# so that every character is equally likely.
_CSRF_BYTE_LIMIT = 256 - 256 % len(CSRF_ALLOWED_CHARS)


def _random_csrf_string(length: int = CSRF_SECRET_LENGTH) -> str:
    """As Django's CSRF secrets and masks (``get_random_string`` over the same
    characters, from the operating system's random source), from one read of random
    bytes instead of one per character."""
    chars: list[str] = []
    while len(chars) < length:
        chars.extend(
            CSRF_ALLOWED_CHARS[byte % len(CSRF_ALLOWED_CHARS)]
            for byte in secrets.token_bytes(2 * length)
            if byte < _CSRF_BYTE_LIMIT
        )
    return "".join(chars[:length])


def form_token(request: HttpRequest) -> str:
    """The visitor's CSRF form token, as ``django.middleware.csrf.get_token`` gives it:
    the secret of the visitor's cookie (a new one, set on the answer, when there is none)
    masked by a new random mask. Served pages of the search make one per answer, which
    with Django's one read of the random source per character cost more than the rest of
    the answer."""
    secret = request.META.get("CSRF_COOKIE")
    if secret is None:
        secret = _random_csrf_string()
        request.META["CSRF_COOKIE"] = secret
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True  # renew the cookie, as get_token does
    mask = _random_csrf_string()
    size = len(CSRF_ALLOWED_CHARS)
    return mask + "".join(
        CSRF_ALLOWED_CHARS[(_CSRF_CHAR_INDEX[s] + _CSRF_CHAR_INDEX[m]) % size]
        for s, m in zip(secret, mask, strict=True)
    )


def page_kind(request: HttpRequest) -> str:
    """``partial`` for an htmx update of the search form, else ``page``. Back on a page
    missing from htmx's cache asks for the whole page."""
    partial = bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )
    return "partial" if partial else "page"


# The page and its htmx partial share a URL: caches must keep them apart.
VARY = ("HX-Request", "HX-History-Restore-Request")


@dataclass(frozen=True)
class RenderedPage:
    status: int
    content: bytes
    content_type: str

    def response(self, request: HttpRequest) -> HttpResponse:
        token = form_token(request).encode()
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

    @staticmethod
    def key(request: HttpRequest, kind: str, language: str) -> tuple:
        return (searchrows.recent_data_version(), language, kind, request.get_full_path())

    def serve(
        self, request: HttpRequest, kind: str, render: Callable[[str | None], HttpResponse]
    ) -> HttpResponse:
        """The page for ``request``: from the cache when the visitor is anonymous and has
        no messages waiting, else rendered. ``render(csrf_token)`` renders the page
        (with that token in its forms, or the request's own when None)."""
        if not self.cacheable(request):
            return render(None)
        key = self.key(request, kind, get_language())
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


class KeptSearchPageMiddleware:
    """Answers a kept search page before sessions, authentication and the rest of the
    request's path, when the visitor can only be anonymous: no session cookie (so not
    signed in and no messages in a session) and no messages cookie.

    The answer is the one the whole path would give: the same page, the visitor's own
    form token and cookie (through Django's CSRF middleware), the language the visitor
    chose, and the same headers. A page not kept, or any other request, goes down the
    whole path, where the search view keeps what it renders.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.csrf = CsrfViewMiddleware(get_response)
        self.frame_options = XFrameOptionsMiddleware(get_response)

    @cached_property
    def search_path(self) -> str:
        return reverse("studies:search")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.kept_answer(request) or self.get_response(request)

    def kept_answer(self, request: HttpRequest) -> HttpResponse | None:
        if (
            request.method not in ("GET", "HEAD")
            or request.path != self.search_path
            or settings.SESSION_COOKIE_NAME in request.COOKIES
            or MESSAGES_COOKIE in request.COOKIES
            or not searchrows.maintained()
            or connection.in_atomic_block
        ):
            return None
        request.get_host()  # an unknown host is refused here as on the whole path
        language = chosen_language(request)
        page = RENDERED_PAGES.get(RENDERED_PAGES.key(request, page_kind(request), language))
        if page is None:
            return None
        self.csrf.process_request(request)  # the visitor's cookie, when it has a valid one
        response = page.response(request)
        patch_vary_headers(response, VARY)
        # Both set their headers on the response they are given.
        self.csrf.process_response(request, response)
        self.frame_options.process_response(request, response)
        patch_vary_headers(response, ("Cookie",))
        response.headers["Content-Language"] = language
        response.headers["Content-Length"] = str(len(response.content))
        response.headers["X-Request-Id"] = uuid.uuid4().hex  # as every answer has one
        return response
