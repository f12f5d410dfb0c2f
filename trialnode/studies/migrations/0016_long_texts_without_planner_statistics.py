"""No planner statistics for the long texts nothing is filtered or sorted by (PostgreSQL).

ANALYZE read every summary, criterion and search text to describe values no query
compares: half of the analysis after an import of new studies, and of autovacuum's.
"""

from django.db import migrations

from trialnode.core.migration_sql import vendor_sql

COLUMNS = {
    "studies_study": [
        "summary_sv",
        "summary_en",
        "eligibility_criteria",
        "mesh_terms",
        "return_comment",
    ],
    "studies_studysearchdocument": ["title", "body"],
}


def _statistics(target: int) -> list[str]:
    return [
        f"ALTER TABLE {table} "
        + ", ".join(f"ALTER COLUMN {column} SET STATISTICS {target}" for column in columns)
        for table, columns in COLUMNS.items()
    ]


class Migration(migrations.Migration):
    dependencies = [("studies", "0015_long_texts_compressed_with_lz4")]

    operations = [
        vendor_sql({"postgresql": _statistics(0)}, {"postgresql": _statistics(-1)}),
    ]
