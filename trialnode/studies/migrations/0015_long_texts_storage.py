"""How PostgreSQL keeps the long texts of studies and their search documents.

- Compressed with LZ4 where the server has it (see ``compressed_with_lz4``), their text
  vectors too.
- Without planner statistics: nothing filters or sorts by them, and ANALYZE read every
  summary, criterion and search text to describe them (half of the analysis after an
  import of new studies, and of autovacuum's).
"""

from django.db import migrations

from trialnode.core.migration_sql import compressed_with_lz4, vendor_sql

LONG_TEXTS = {
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
        for table, columns in LONG_TEXTS.items()
    ]


class Migration(migrations.Migration):
    dependencies = [("studies", "0014_rows_entered_here")]

    operations = [
        compressed_with_lz4(
            {
                **LONG_TEXTS,
                "studies_studysearchdocument": [*LONG_TEXTS["studies_studysearchdocument"], "tsv"],
                "studies_publicsearchrow": ["tsv"],
            }
        ),
        vendor_sql({"postgresql": _statistics(0)}, {"postgresql": _statistics(-1)}),
    ]
