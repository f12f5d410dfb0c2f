"""Two database roles on PostgreSQL: the tables' owner migrates, the application only
reads and writes rows.

The application's role (the user of ``DATABASE_URL``) cannot alter or truncate tables,
switch triggers off, or change and delete audit events; ``trialnode migrate`` connects
with ``DATABASE_MIGRATE_URL`` (the owner), applies the migrations and then grants the
application's role what it needs, table by table.
"""

from __future__ import annotations

import dj_database_url
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

RUNTIME_GRANTS = """
GRANT USAGE ON SCHEMA {schema} TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role};
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {role};
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON django_migrations FROM {role};
REVOKE UPDATE, DELETE, TRUNCATE ON audit_auditevent FROM {role};
REVOKE INSERT, DELETE, TRUNCATE ON audit_auditchainhead FROM {role};
"""


def runtime_role_grant(*, role: str) -> None:
    """Give ``role`` row access to every table of the schema, and append-only access to
    the trail. Run by the tables' owner after migrating."""
    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        (schema,) = cursor.fetchone()
        cursor.execute(RUNTIME_GRANTS.format(schema=quote(schema), role=quote(role)))


def migrate_as_owner(*, verbosity: int = 1) -> str | None:
    """Apply the migrations as the owner when ``DATABASE_MIGRATE_URL`` is set, then grant
    the application's role its row access; returns the role granted, if any."""
    owner_url = settings.DATABASE_MIGRATE_URL
    if not owner_url:
        call_command("migrate", verbosity=verbosity)
        return None
    try:
        owner = dj_database_url.parse(owner_url)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_MIGRATE_URL is not a database URL: {exc}") from exc
    current = connection.settings_dict
    if owner["ENGINE"] != current["ENGINE"] or owner["NAME"] != current["NAME"]:
        raise ImproperlyConfigured(
            "DATABASE_MIGRATE_URL must name the same database as DATABASE_URL."
        )
    runtime = current["USER"]
    saved = dict(current)
    connection.close()
    current.update({key: owner[key] for key in ("USER", "PASSWORD", "HOST", "PORT")})
    try:
        call_command("migrate", verbosity=verbosity)
        granted = runtime if runtime and runtime != owner["USER"] else None
        if granted:
            runtime_role_grant(role=granted)
    finally:
        connection.close()
        current.clear()
        current.update(saved)
    return granted
