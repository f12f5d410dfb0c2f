"""Full-text search structures that differ per database engine (see studies/search.py)."""

from django.db import migrations

from trialnode.core.migration_sql import vendor_sql

POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """
    ALTER TABLE studies_studysearchdocument ADD COLUMN tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('swedish'::regconfig, title), 'A')
        || setweight(to_tsvector('english'::regconfig, title), 'A')
        || setweight(to_tsvector('swedish'::regconfig, body), 'B')
        || setweight(to_tsvector('english'::regconfig, body), 'B')
    ) STORED
    """,
    "CREATE INDEX studies_searchdocument_tsv ON studies_studysearchdocument USING gin (tsv)",
    "CREATE INDEX studies_searchterm_trgm ON studies_searchterm USING gin (term gin_trgm_ops)",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS studies_searchterm_trgm",
    "DROP INDEX IF EXISTS studies_searchdocument_tsv",
    "ALTER TABLE studies_studysearchdocument DROP COLUMN IF EXISTS tsv",
]

SQLITE_FORWARD = [
    """
    CREATE VIRTUAL TABLE studies_study_fts USING fts5(
        title_stems, body_stems, content='studies_studysearchdocument',
        content_rowid='study_id', tokenize='unicode61 remove_diacritics 0'
    )
    """,
    """
    CREATE TRIGGER studies_searchdocument_ai AFTER INSERT ON studies_studysearchdocument BEGIN
        INSERT INTO studies_study_fts(rowid, title_stems, body_stems)
        VALUES (new.study_id, new.title_stems, new.body_stems);
    END
    """,
    """
    CREATE TRIGGER studies_searchdocument_ad AFTER DELETE ON studies_studysearchdocument BEGIN
        INSERT INTO studies_study_fts(studies_study_fts, rowid, title_stems, body_stems)
        VALUES ('delete', old.study_id, old.title_stems, old.body_stems);
    END
    """,
    """
    CREATE TRIGGER studies_searchdocument_au AFTER UPDATE ON studies_studysearchdocument BEGIN
        INSERT INTO studies_study_fts(studies_study_fts, rowid, title_stems, body_stems)
        VALUES ('delete', old.study_id, old.title_stems, old.body_stems);
        INSERT INTO studies_study_fts(rowid, title_stems, body_stems)
        VALUES (new.study_id, new.title_stems, new.body_stems);
    END
    """,
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS studies_searchdocument_au",
    "DROP TRIGGER IF EXISTS studies_searchdocument_ad",
    "DROP TRIGGER IF EXISTS studies_searchdocument_ai",
    "DROP TABLE IF EXISTS studies_study_fts",
]


class Migration(migrations.Migration):
    dependencies = [("studies", "0001_initial")]

    operations = [
        vendor_sql(
            {"postgresql": POSTGRES_FORWARD, "sqlite": SQLITE_FORWARD},
            {"postgresql": POSTGRES_BACKWARD, "sqlite": SQLITE_BACKWARD},
        )
    ]
