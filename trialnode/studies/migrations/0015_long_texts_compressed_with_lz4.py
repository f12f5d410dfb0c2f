"""Studies' long texts and their search documents compressed with LZ4 where the server
has it (see the helper)."""

from django.db import migrations

from trialnode.core.migration_sql import compressed_with_lz4


class Migration(migrations.Migration):
    dependencies = [("studies", "0014_rows_entered_here")]

    operations = [
        compressed_with_lz4(
            {
                "studies_study": [
                    "summary_sv",
                    "summary_en",
                    "eligibility_criteria",
                    "mesh_terms",
                    "return_comment",
                ],
                "studies_studysearchdocument": ["title", "body", "tsv"],
                "studies_publicsearchrow": ["tsv"],
            }
        )
    ]
