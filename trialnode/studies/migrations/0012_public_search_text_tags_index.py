"""The public search rows' text index also holds their tags, so that a search with text
and filters reads only the rows that can count (PostgreSQL only)."""

from django.db import migrations

POSTGRES_FORWARD = [
    "CREATE INDEX studies_publicsearchrow_tsv_tags ON studies_publicsearchrow "
    "USING gin (tsv, tags)",
    "DROP INDEX IF EXISTS studies_publicsearchrow_tsv",
]
POSTGRES_BACKWARD = [
    "CREATE INDEX studies_publicsearchrow_tsv ON studies_publicsearchrow USING gin (tsv)",
    "DROP INDEX IF EXISTS studies_publicsearchrow_tsv_tags",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("studies", "0011_tsquery_aggregates"),
    ]

    operations = [
        migrations.RunPython(_run(POSTGRES_FORWARD), _run(POSTGRES_BACKWARD)),
    ]
