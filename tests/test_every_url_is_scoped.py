"""Every URL of the URL conf, tried by anonymous, each role and users of another region.

The declarations live in ``tests/<app>/url_access.py`` (see ``tests/urlaccess.py``).
Each request runs in a transaction that is rolled back afterwards, so every actor
meets the same objects in the same state.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import transaction
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

import tests
from tests.urlaccess import ACTORS, Access, World

WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")
ADMIN_OUTSIDERS = ("anonymous", "outsider", "registrant", "coordinator", "sponsor", "auditor")
ADMIN_PUBLIC = ("admin/login/", "admin/logout/")
"""The admin's own log-in and log-out pages, open to everyone like the site's."""


def _walk(patterns, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str | None]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else None
            yield prefix + str(pattern.pattern), name


def all_urls() -> list[tuple[str, str | None]]:
    return sorted(set(_walk(get_resolver().url_patterns)), key=lambda item: item[0])


def declarations() -> dict[str, Access]:
    declared: dict[str, Access] = {}
    for module in pkgutil.iter_modules(tests.__path__):
        if not module.ispkg:
            continue
        try:
            access = importlib.import_module(f"tests.{module.name}.url_access")
        except ModuleNotFoundError:
            continue
        for name, rule in access.URL_ACCESS.items():
            assert name not in declared, f"{name} is declared twice"
            declared[name] = rule
    return declared


def _refused(response) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    if response.status_code in (301, 302, 303):
        location = response["Location"]
        return location.startswith(
            (resolve_url(settings.LOGIN_URL), "/admin/login/", "/accounts/tvafaktor/")
        )
    return False


def _event_count() -> int:
    from trialnode.audit.models import AuditEvent

    return AuditEvent.objects.count()


class Attempt:
    """One actor's request, run in a transaction that is rolled back afterwards."""

    def __init__(self, users, actor: str) -> None:
        self.client = Client()
        if actor != "anonymous":
            self.client.force_login(getattr(users, actor))

    def send(self, method: str, url: str, access: Access | None, world=None, query=None):
        body = access.body_for(world) if access else {}
        with transaction.atomic():
            before = _event_count()
            if method == "GET":
                response = self.client.get(url, query or {})
            elif access is not None and access.json:
                response = self.client.generic(
                    method, url, data=_json(body), content_type="application/json"
                )
            elif method == "POST":
                response = self.client.post(url, body)
            else:
                response = self.client.generic(method, url, data=b"")
            written = _event_count() - before
            transaction.set_rollback(True)
        return response, written


def _json(body) -> bytes:
    import json

    return json.dumps(body).encode()


URLS = all_urls()
ADMIN_ROUTES = sorted(
    {route for route, _name in URLS if route.startswith("admin/") and route not in ADMIN_PUBLIC}
)
NAMES = sorted({name for route, name in URLS if name and not route.startswith("admin/")})


def test_every_url_is_declared():
    declared = declarations()
    missing = [
        f"{route} ({name or 'give it a name'})"
        for route, name in URLS
        if not route.startswith("admin/") and (name is None or name not in declared)
    ]
    assert not missing, "Say who may use these URLs in tests/<app>/url_access.py: " + ", ".join(
        missing
    )
    assert not set(declared) - set(NAMES), "declared URLs that no longer exist"


@pytest.mark.parametrize("name", NAMES)
def test_the_url_lets_in_whom_it_declares_and_refuses_everyone_else(name, users):
    declared = declarations()
    if name not in declared:
        pytest.fail(f"{name} is not declared in any tests/<app>/url_access.py")
    access = declared[name]
    world = World(users)
    url = reverse(name, kwargs=access.kwargs(world))
    problems: list[str] = []
    for actor in ACTORS:
        attempt = Attempt(users, actor)
        for method in ("GET", *WRITE_METHODS):
            allowed = access.methods.get(method)
            if allowed is None and method != "POST" and method != "GET":
                continue
            query = access.query if method == "GET" else None
            response, written = attempt.send(method, url, access, world, query)
            status = response.status_code
            if status >= 500:
                problems.append(f"{actor} {method}: server error {status}")
            elif allowed is None:
                if written:
                    problems.append(f"{actor} {method} (not offered) wrote {written} events")
            elif actor in allowed:
                if _refused(response) or status == 405:
                    problems.append(f"{actor} {method}: refused ({status}) but allowed")
            else:
                if not _refused(response):
                    problems.append(f"{actor} {method}: let through ({status}) but not allowed")
                if written:
                    problems.append(f"{actor} {method}: refused but wrote {written} events")
    assert not problems, f"{url}:\n" + "\n".join(problems)


@pytest.mark.parametrize("route", ADMIN_ROUTES)
def test_the_admin_is_closed_to_everyone_without_an_admin_role(route, users):
    url = "/" + route.replace("<path:object_id>", "1").replace("<id>", "1")
    url = url.replace("^", "").replace("$", "")
    if "<" in url or "(" in url:
        return  # a pattern with free arguments: covered by its plain siblings
    for actor in ADMIN_OUTSIDERS:
        attempt = Attempt(users, actor)
        for method in ("GET", "POST"):
            response, written = attempt.send(method, url, None)
            assert _refused(response), f"{actor} {method} {url}: {response.status_code}"
            assert not written, f"{actor} {method} {url} wrote {written} events"
