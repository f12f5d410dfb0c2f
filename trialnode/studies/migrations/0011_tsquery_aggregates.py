"""Aggregates that join text-search queries with OR and AND, so that the public search
builds a query with its spelling alternatives in one statement (PostgreSQL only)."""

from django.db import migrations

POSTGRES_FORWARD = [
    "CREATE OR REPLACE AGGREGATE trialnode_tsquery_or(tsquery) "
    "(SFUNC = tsquery_or, STYPE = tsquery)",
    "CREATE OR REPLACE AGGREGATE trialnode_tsquery_and(tsquery) "
    "(SFUNC = tsquery_and, STYPE = tsquery)",
]
POSTGRES_BACKWARD = [
    "DROP AGGREGATE IF EXISTS trialnode_tsquery_or(tsquery)",
    "DROP AGGREGATE IF EXISTS trialnode_tsquery_and(tsquery)",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("studies", "0010_public_search_tags"),
    ]

    operations = [
        migrations.RunPython(_run(POSTGRES_FORWARD), _run(POSTGRES_BACKWARD)),
    ]
