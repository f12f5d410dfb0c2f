"""Who may use which URL: the declarations that ``test_every_url_is_scoped`` checks.

Every URL of the URL conf must be declared in the ``URL_ACCESS`` dictionary of a
``tests/<app>/url_access.py`` module, keyed by its URL name, with the actors who may
read it (GET) and who may write through it (POST, PATCH, PUT, DELETE). The generic
test then tries every URL as anonymous, as each role, and as users of another region
or node, and checks that

- the allowed actors get through (neither refused nor a server error);
- every other actor is refused (redirect to the login page, 401, 403 or 404);
- a refused write, and any request with a method a URL does not declare, leaves the
  audit trail exactly as it was (every write of the system leaves an event).

A URL that nobody declared fails the test, so a new view cannot be forgotten.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

ACTORS = (
    "anonymous",
    "registrant",
    "other_registrant",
    "coordinator",
    "other_coordinator",
    "node_admin",
    "other_node_admin",
    "auditor",
    "other_auditor",
    "sponsor",
    "outsider",
    "superuser",
)
"""Who tries every URL. ``registrant`` works at Akademiska (Uppsala); ``coordinator`` is
Uppsala's and ``other_coordinator`` Örebro's; ``node_admin`` and ``auditor`` belong to
Forum Mellansverige (Uppsala, Örebro …), ``other_node_admin`` and ``other_auditor`` to
Forum Söder (Skåne …); ``outsider`` is logged in with no role."""

EVERYONE = frozenset(ACTORS)
LOGGED_IN = EVERYONE - {"anonymous"}
NOBODY: frozenset[str] = frozenset()


def only(*actors: str) -> frozenset[str]:
    unknown = set(actors) - EVERYONE
    if unknown:
        raise ValueError(f"unknown actors {sorted(unknown)}")
    return frozenset(actors)


@dataclass(frozen=True)
class Access:
    """Who may use one URL. ``methods`` maps an HTTP method to the actors allowed it.

    ``kwargs`` builds the URL's arguments from the ``World`` of test objects; ``query``
    is added to a GET; ``body`` (form fields, or JSON for ``json=True``; or a function
    of the ``World`` that returns them) is sent with the writes.
    """

    methods: Mapping[str, frozenset[str]]
    kwargs: Callable[[World], dict[str, Any]] = field(default=lambda world: {})
    query: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, Any] | Callable[[World], Mapping[str, Any]] = field(default_factory=dict)
    json: bool = False

    def body_for(self, world: World) -> dict[str, Any]:
        return dict(self.body(world) if callable(self.body) else self.body)


def read(actors: frozenset[str], **options: Any) -> Access:
    return Access(methods={"GET": actors}, **options)


def read_write(readers: frozenset[str], writers: frozenset[str], **options: Any) -> Access:
    return Access(methods={"GET": readers, "POST": writers}, **options)


def write(writers: frozenset[str], method: str = "POST", **options: Any) -> Access:
    return Access(methods={method: writers}, **options)


class World:
    """The objects the URLs act on, created when first asked for.

    Apps add their own objects by registering a factory in ``FACTORIES`` from their
    ``url_access`` module: ``FACTORIES["inquiry"] = lambda world: ...``.
    """

    def __init__(self, users: Any) -> None:
        self.users = users
        self._made: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._made:
            if name not in FACTORIES:
                raise AttributeError(f"no test object {name!r}: register a factory in FACTORIES")
            self._made[name] = FACTORIES[name](self)
        return self._made[name]

    @cached_property
    def uppsala_provider(self) -> Any:
        from trialnode.organisations.models import CareProvider

        return CareProvider.objects.get(slug="akademiska")

    def study(self, *, state: str, owner: Any = None, region: str = "uppsala", **fields: Any):
        from trialnode.organisations.models import Region
        from trialnode.studies import search
        from trialnode.studies.models import Study, StudySite, StudyStatusChange

        values: dict[str, Any] = {
            "title_sv": f"Studie ({state}, {region})",
            "study_type": "INTERVENTIONAL",
            "sponsor_type": "ACADEMIC",
            "status": "RECRUITING",
            "registration_state": state,
            "owner": owner,
            "last_confirmed_at": date.today(),
        }
        values.update(fields)
        study = Study.objects.create(**values)
        StudyStatusChange.objects.create(
            study=study, status=study.status, effective_date=date(2024, 1, 1)
        )
        StudySite.objects.create(study=study, region=Region.objects.get(slug=region))
        search.index_studies([study.pk])
        return study


FACTORIES: dict[str, Callable[[World], Any]] = {}
