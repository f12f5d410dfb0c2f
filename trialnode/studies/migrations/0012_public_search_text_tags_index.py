"""The public search rows' text index also holds their tags, so that a search with text
and filters reads only the rows that can count (PostgreSQL only)."""

from django.db import migrations

from trialnode.core.migration_sql import vendor_sql

POSTGRES_FORWARD = [
    "CREATE INDEX studies_publicsearchrow_tsv_tags ON studies_publicsearchrow "
    "USING gin (tsv, tags)",
    "DROP INDEX IF EXISTS studies_publicsearchrow_tsv",
]
POSTGRES_BACKWARD = [
    "CREATE INDEX studies_publicsearchrow_tsv ON studies_publicsearchrow USING gin (tsv)",
    "DROP INDEX IF EXISTS studies_publicsearchrow_tsv_tags",
]


class Migration(migrations.Migration):
    dependencies = [
        ("studies", "0011_tsquery_aggregates"),
    ]

    operations = [
        vendor_sql({"postgresql": POSTGRES_FORWARD}, {"postgresql": POSTGRES_BACKWARD}),
    ]
