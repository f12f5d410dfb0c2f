"""Shared fixtures: reference data, a user for every role, and a study factory."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest


def pytest_collection_modifyitems(config, items) -> None:
    """Tests of PostgreSQL-only features are left out of a run on SQLite, and said so; on
    PostgreSQL they run, and an unreachable server fails them."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    only_postgres = [item for item in items if item.get_closest_marker("postgresql")]
    if only_postgres:
        config.hook.pytest_deselected(items=only_postgres)
        items[:] = [item for item in items if not item.get_closest_marker("postgresql")]
        config._postgresql_only = len(only_postgres)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    left_out = getattr(config, "_postgresql_only", 0)
    if left_out:
        terminalreporter.write_line(
            f"{left_out} tests of PostgreSQL-only features were not run on this database; "
            "run the suite with DATABASE_URL=postgres://… for them (CI runs both).",
            yellow=True,
        )


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _english_by_default(settings) -> None:
    """Tests read messages in English unless they choose a language themselves."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def reference_data(db):
    from trialnode.organisations.services import reference_data_load

    reference_data_load()


@pytest.fixture
def sample_data() -> Path:
    """The real registry sample data (../shared/data or TRIALNODE_SAMPLE_DATA)."""
    from trialnode.env import sample_data_dir

    folder = sample_data_dir()
    if folder is None or not (folder / "ctgov" / "sweden.json").is_file():
        pytest.fail(
            "The sample data folder is missing: set TRIALNODE_SAMPLE_DATA to the folder "
            "holding ctgov/sweden.json."
        )
    return folder


class Users:
    """One user per role in the tests: who acts, and who must be refused."""

    def __init__(self) -> None:
        from trialnode.organisations.models import (
            CareProvider,
            Node,
            Region,
            Role,
            RoleAssignment,
            User,
        )

        def make(username: str, role: str | None = None, **scope) -> User:
            user = User.objects.create_user(
                username=username, email=f"{username}@example.se", password="pw-" + username
            )
            if role:
                RoleAssignment.objects.create(user=user, role=role, **scope)
            return user

        akademiska = CareProvider.objects.get(slug="akademiska")
        self.registrant = make("registrant", Role.REGISTRANT, care_provider=akademiska)
        self.other_registrant = make("other_registrant", Role.REGISTRANT)
        self.coordinator = make(
            "coordinator", Role.COORDINATOR, region=Region.objects.get(slug="uppsala")
        )
        self.other_coordinator = make(
            "coordinator_orebro", Role.COORDINATOR, region=Region.objects.get(slug="orebro")
        )
        self.node_admin = make(
            "nodeadmin", Role.NODE_ADMIN, node=Node.objects.get(slug="forum-mellansverige")
        )
        self.sponsor = make("sponsor", Role.SPONSOR)
        self.auditor = make(
            "auditor", Role.AUDITOR, node=Node.objects.get(slug="forum-mellansverige")
        )
        self.outsider = make("outsider")
        # Staff of another node (Forum Söder: Skåne, Blekinge, Kronoberg, Halland).
        self.other_node_admin = make(
            "nodeadmin_soder", Role.NODE_ADMIN, node=Node.objects.get(slug="forum-soder")
        )
        self.other_auditor = make(
            "auditor_soder", Role.AUDITOR, node=Node.objects.get(slug="forum-soder")
        )
        self.superuser = User.objects.create_superuser(
            username="superuser", email="superuser@example.se", password="pw-superuser"
        )


@pytest.fixture
def users(reference_data) -> Users:
    return Users()


def complete_fields(**overrides) -> dict:
    """Study fields that satisfy the minimal data set."""
    fields = {
        "title_sv": "Fysisk träning vid hjärtsvikt",
        "title_en": "Exercise training in heart failure",
        "epm_dnr": "2024-01234-01",
        "study_type": "INTERVENTIONAL",
        "interventional_kind": "OTHER_TREATMENT",
        "sponsor_name": "Uppsala universitet",
        "sponsor_type": "ACADEMIC",
        "summary_sv": "Vi undersöker om träning hjälper personer med hjärtsvikt.",
        "min_age_years": 18,
    }
    fields.update(overrides)
    return fields


def complete_children(provider_slug: str = "akademiska") -> dict:
    from trialnode.organisations.models import CareProvider

    provider = CareProvider.objects.get(slug=provider_slug)
    return {
        "sites": [{"care_provider": provider, "region": provider.region}],
        "conditions": [{"icd10_code": "I50.9", "text": "Hjärtsvikt"}],
        "interventions": [{"type": "BEHAVIORAL", "name": "Fysisk träning"}],
        "contacts": [{"name": "Studiesjuksköterska", "email": "studie@example.se"}],
    }


@pytest.fixture
def make_study(reference_data):
    """Create a study directly (no workflow rules), with its sites and search document."""
    from trialnode.organisations.models import CareProvider, Region
    from trialnode.studies import search
    from trialnode.studies.models import (
        RegistrationState,
        Study,
        StudyCondition,
        StudySite,
        StudyStatusChange,
    )

    def make(
        *,
        regions: tuple[str, ...] = ("uppsala",),
        providers: tuple[str, ...] = (),
        icd10: tuple[str, ...] = (),
        **fields,
    ) -> Study:
        values = {
            "title_sv": "En studie",
            "study_type": "INTERVENTIONAL",
            "sponsor_type": "ACADEMIC",
            "status": "RECRUITING",
            "registration_state": RegistrationState.PUBLISHED,
            "last_confirmed_at": date.today(),
        }
        values.update(fields)
        study = Study.objects.create(**values)
        StudyStatusChange.objects.create(
            study=study, status=study.status, effective_date=date(2024, 1, 1)
        )
        for slug in regions:
            StudySite.objects.create(study=study, region=Region.objects.get(slug=slug))
        for slug in providers:
            provider = CareProvider.objects.get(slug=slug)
            StudySite.objects.create(study=study, region=provider.region, care_provider=provider)
        for code in icd10:
            StudyCondition.objects.create(study=study, icd10_code=code, text=code)
        search.index_studies([study.pk])
        return study

    return make


@pytest.fixture(autouse=True)
def _empty_cache():
    """Every test starts with an empty cache."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
