"""The search page as anonymous visitors see it is kept rendered, and never shown from
before a change of what the public search shows; every visitor still gets a form token
of their own, and signed-in users their own page."""

import re

import pytest
from django.db import connection
from django.test import Client

from trialnode.organisations.models import Region
from trialnode.studies.models import Study
from trialnode.studies.search_page import RENDERED_PAGES

pytestmark = [
    pytest.mark.postgresql,  # the page cache is kept on PostgreSQL only
    # Pages are kept only outside transactions, as a server answers them.
    pytest.mark.django_db(transaction=True),
]

URL = "/?q=hjärtsvikt"


@pytest.fixture(autouse=True)
def _empty_pages():
    RENDERED_PAGES.clear()
    yield
    RENDERED_PAGES.clear()


@pytest.fixture
def study(make_study):
    return make_study(title_sv="Träning vid hjärtsvikt", regions=("uppsala",))


def _count(html: str) -> int:
    return int(re.search(r'id="results-heading"[^>]*>\s*(\d+)', html).group(1))


def _without_token(html: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", html)


def _token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_the_page_is_kept_and_served_again(study):
    first = Client().get(URL)
    assert len(RENDERED_PAGES._pages) == 1
    again = Client().get(URL)
    assert again.status_code == first.status_code == 200
    assert "Träning vid hjärtsvikt" in again.content.decode()


def test_a_change_of_a_study_shows_at_once(study):
    assert "Träning vid hjärtsvikt" in Client().get(URL).content.decode()
    study.title_sv = "Styrketräning vid hjärtsvikt"
    study.save()
    page = Client().get(URL).content.decode()
    assert "Styrketräning vid hjärtsvikt" in page


def test_a_new_study_and_a_withdrawn_one_show_at_once(study, make_study):
    assert _count(Client().get(URL).content.decode()) == 1
    make_study(title_sv="Hjärtsvikt hos äldre")
    assert _count(Client().get(URL).content.decode()) == 2
    study.registration_state = "returned"
    study.save()
    page = Client().get(URL).content.decode()
    assert _count(page) == 1 and "Träning vid hjärtsvikt" not in page


def test_a_renamed_region_shows_in_the_facets_at_once(study):
    assert "Region Uppsala" in Client().get(URL).content.decode()
    Region.objects.filter(slug="uppsala").update(name="Region Uppland")  # no signal
    region = Region.objects.get(slug="uppsala")
    region.save()
    assert "Region Uppland" in Client().get(URL).content.decode()


def test_every_visitor_gets_a_form_token_of_their_own(study):
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first_token = _token(first.get(URL).content.decode())
    second_token = _token(second.get(URL).content.decode())
    assert first.cookies["csrftoken"].value != second.cookies["csrftoken"].value
    # Each page's token works with its own visitor's cookie.
    for client, token in ((first, first_token), (second, second_token)):
        response = client.post("/i18n/setlang/", {"language": "en", "csrfmiddlewaretoken": token})
        assert response.status_code == 302


def test_signed_in_users_get_their_own_page(study, django_user_model):
    Client().get(URL)
    user = django_user_model.objects.create_user("forskare", password="x")
    client = Client()
    client.force_login(user)
    page = client.get(URL).content.decode()
    assert "Log out" in page or "Logga ut" in page


def test_the_partial_and_the_whole_page_are_kept_apart(study):
    whole = Client().get(URL).content.decode()
    partial = Client().get(URL, headers={"HX-Request": "true"}).content.decode()
    assert "<html" in whole and "<html" not in partial
    assert "<html" in Client().get(URL).content.decode()


def test_what_the_cache_shows_is_what_the_search_finds(study, make_study):
    make_study(title_sv="Hjärtsvikt och diabetes", regions=("skane",))
    cached_twice = [Client().get(URL).content for _ in range(2)]
    RENDERED_PAGES.clear()
    fresh = Client().get(URL).content
    assert _without_token(cached_twice[0]) == _without_token(cached_twice[1])
    assert _without_token(cached_twice[0]) == _without_token(fresh)
    assert Study.objects.published().count() == 2


def test_a_change_by_another_server_process_is_seen_once_the_version_is_read_again(
    study, monkeypatch
):
    from trialnode.studies import searchrows

    before = searchrows.recent_data_version()
    with connection.cursor() as cursor:  # as another process's change does
        cursor.execute(f"SELECT nextval('{searchrows.VERSION_SEQUENCE}')")
    monkeypatch.setattr(searchrows, "VERSION_MAX_AGE", 0)
    assert searchrows.recent_data_version() > before


def _refuse_sessions(monkeypatch):
    """Any use of the session middleware fails the request: only the early answer works."""
    from django.contrib.sessions.middleware import SessionMiddleware

    def refuse(self, request):
        raise AssertionError("the whole request path was taken")

    monkeypatch.setattr(SessionMiddleware, "process_request", refuse)


def test_a_kept_page_is_answered_before_sessions_and_authentication(study, monkeypatch):
    first = Client().get(URL)
    _refuse_sessions(monkeypatch)
    again = Client().get(URL)
    assert again.status_code == 200
    assert _without_token(again.content) == _without_token(first.content)


def test_the_early_answer_has_the_headers_of_the_whole_path(study):
    Client().get(URL)
    early = Client().get(URL)
    # A session cookie (even an unknown one) sends the visitor down the whole path.
    whole_client = Client()
    whole_client.cookies["sessionid"] = "unknown"
    whole = whole_client.get(URL)
    differ = {"Set-Cookie", "Content-Length", "X-Request-Id"}  # per visitor or answer
    assert {k: v for k, v in early.headers.items() if k not in differ} == {
        k: v for k, v in whole.headers.items() if k not in differ
    }
    assert set(early.headers) == set(whole.headers)
    assert early["Content-Length"] == str(len(early.content))
    assert early.cookies["csrftoken"]["httponly"] and whole.cookies["csrftoken"]["httponly"]
    assert _without_token(early.content) == _without_token(whole.content)


def test_a_returning_visitor_keeps_their_cookie_and_their_token_works(study):
    Client().get(URL)  # the page is kept
    visitor = Client(enforce_csrf_checks=True)
    visitor.get(URL)
    cookie = visitor.cookies["csrftoken"].value
    token = _token(visitor.get(URL).content.decode())
    assert visitor.cookies["csrftoken"].value == cookie
    response = visitor.post("/i18n/setlang/", {"language": "en", "csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_the_early_answer_speaks_the_chosen_language(study, settings):
    other = "sv" if settings.LANGUAGE_CODE == "en" else "en"
    Client().get(URL)
    chooser = Client()
    chooser.cookies["django_language"] = other
    chooser.get(URL)  # the page in the other language is kept too
    response = chooser.get(URL)
    assert response["Content-Language"] == other
    assert f'<html lang="{other}"' in response.content.decode()
    default = Client().get(URL)
    assert default["Content-Language"] == settings.LANGUAGE_CODE
    assert f'<html lang="{settings.LANGUAGE_CODE}"' in default.content.decode()


def test_an_unknown_host_is_refused_even_for_a_kept_page(study):
    Client().get(URL)
    assert Client(HTTP_HOST="elsewhere.example").get(URL).status_code == 400


def test_messages_waiting_in_a_cookie_send_the_visitor_down_the_whole_path(study, monkeypatch):
    Client().get(URL)
    _refuse_sessions(monkeypatch)
    visitor = Client()
    visitor.cookies["messages"] = "waiting"
    with pytest.raises(AssertionError, match="whole request path"):
        visitor.get(URL)


def test_form_tokens_are_django_tokens_of_the_visitors_secret():
    from django.middleware.csrf import CSRF_ALLOWED_CHARS, _unmask_cipher_token
    from django.test import RequestFactory

    from trialnode.studies.search_page import form_token

    request = RequestFactory().get("/")
    tokens = {form_token(request) for _ in range(50)}
    secret = request.META["CSRF_COOKIE"]
    assert len(tokens) == 50  # a new mask every time
    assert len(secret) == 32 and set(secret) <= set(CSRF_ALLOWED_CHARS)
    for token in tokens:
        assert len(token) == 64 and set(token) <= set(CSRF_ALLOWED_CHARS)
        assert _unmask_cipher_token(token) == secret
