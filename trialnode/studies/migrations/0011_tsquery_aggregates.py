"""Aggregates that join text-search queries with OR and AND, so that the public search
builds a query with its spelling alternatives in one statement (PostgreSQL only)."""

from django.db import migrations

from trialnode.core.migration_sql import vendor_sql

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


class Migration(migrations.Migration):
    dependencies = [
        ("studies", "0010_public_search_tags"),
    ]

    operations = [
        vendor_sql({"postgresql": POSTGRES_FORWARD}, {"postgresql": POSTGRES_BACKWARD}),
    ]
