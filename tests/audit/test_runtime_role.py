"""On PostgreSQL the application runs as a role that does not own the tables: it reads and
writes rows, appends to the trail, and can do nothing else to the trail."""

import secrets
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection

from trialnode.audit import trail
from trialnode.audit.models import AuditEvent
from trialnode.core.database_roles import runtime_role_grant

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgresql,  # database roles are PostgreSQL's
]


@pytest.fixture
def runtime_role():
    role = f"trialnode_runtime_{secrets.token_hex(4)}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE')
    runtime_role_grant(role=role)
    yield role
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP OWNED BY "{role}"')
        cursor.execute(f'DROP ROLE "{role}"')


@contextmanager
def connected_as(role):
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"],
        user=role,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        autocommit=True,
    ) as conn:
        yield conn


@contextmanager
def application_as(role):
    """Django's own connection logged in as ``role`` for the duration."""
    saved = connection.settings_dict["USER"]
    connection.close()
    connection.settings_dict["USER"] = role
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["USER"] = saved


def test_the_application_works_as_the_runtime_role(runtime_role, make_study):
    with application_as(runtime_role):
        study = make_study(title_sv="Skriven av körrollen")
        study.title_sv = "Ändrad av körrollen"
        study.save()
        assert AuditEvent.objects.filter(object_id=str(study.pk)).exists()
        assert trail.verify().intact


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE audit_auditevent DISABLE TRIGGER USER",
        "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only",
        "ALTER TABLE audit_auditevent ADD COLUMN note text",
        "DROP TRIGGER audit_event_append_only ON audit_auditevent",
        "TRUNCATE audit_auditevent",
        "TRUNCATE audit_auditchainhead",
        "TRUNCATE studies_study CASCADE",
        "SET session_replication_role = replica",
        "UPDATE audit_auditevent SET object_id = 'x'",
        "DELETE FROM audit_auditevent",
        "DELETE FROM audit_auditchainhead",
        "ALTER TABLE studies_study DISABLE TRIGGER ALL",
    ],
)
def test_the_runtime_role_cannot(statement, runtime_role, make_study):
    make_study()
    events = AuditEvent.objects.count()
    with (
        connected_as(runtime_role) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute(statement)
    assert AuditEvent.objects.count() == events
    assert trail.verify().intact


def test_migrate_runs_as_the_owner_and_grants_the_runtime_role(settings):
    from trialnode.core.database_roles import migrate_as_owner

    role = f"trialnode_runtime_{secrets.token_hex(4)}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER')
    current = connection.settings_dict
    settings.DATABASE_MIGRATE_URL = (
        f"postgres://{current['USER']}@{current['HOST'] or 'localhost'}:"
        f"{current['PORT'] or 5432}/{current['NAME']}"
    )
    try:
        with application_as(role):
            assert migrate_as_owner(verbosity=0) == role
        with connected_as(role) as conn:
            assert conn.execute("SELECT count(*) FROM audit_auditevent").fetchone()[0] >= 0
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("TRUNCATE audit_auditevent")
    finally:
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP OWNED BY "{role}"')
            cursor.execute(f'DROP ROLE "{role}"')
