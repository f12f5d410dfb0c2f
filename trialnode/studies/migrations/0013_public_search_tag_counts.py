"""How many public search rows carry each tag, kept by PostgreSQL itself (see
``studies.searchrows``): a statement that adds, removes or changes rows adds one row per
tag with the change of its count to ``studies_searchtagdelta``, and a tag's count is the
sum of its changes. Rows are only ever added there, so writers never wait for each other;
``searchrows.compact_tag_counts`` sums them up again."""

from django.db import migrations

from trialnode.core.migration_sql import vendor_sql

POSTGRES_FORWARD = [
    "CREATE TABLE studies_searchtagdelta (tag integer NOT NULL, delta bigint NOT NULL)",
    """
    CREATE FUNCTION studies_searchtagdelta_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            INSERT INTO studies_searchtagdelta (tag, delta)
            SELECT t, COUNT(*) FROM (SELECT unnest(tags || 0) AS t FROM added) u GROUP BY t;
        END IF;
        IF TG_OP IN ('DELETE', 'UPDATE') THEN
            INSERT INTO studies_searchtagdelta (tag, delta)
            SELECT t, -COUNT(*) FROM (SELECT unnest(tags || 0) AS t FROM removed) u GROUP BY t;
        END IF;
        IF TG_OP = 'TRUNCATE' THEN
            DELETE FROM studies_searchtagdelta;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    "CREATE TRIGGER studies_searchtagdelta_insert AFTER INSERT ON studies_publicsearchrow "
    "REFERENCING NEW TABLE AS added "
    "FOR EACH STATEMENT EXECUTE FUNCTION studies_searchtagdelta_count()",
    "CREATE TRIGGER studies_searchtagdelta_delete AFTER DELETE ON studies_publicsearchrow "
    "REFERENCING OLD TABLE AS removed "
    "FOR EACH STATEMENT EXECUTE FUNCTION studies_searchtagdelta_count()",
    "CREATE TRIGGER studies_searchtagdelta_update AFTER UPDATE ON studies_publicsearchrow "
    "REFERENCING OLD TABLE AS removed NEW TABLE AS added "
    "FOR EACH STATEMENT EXECUTE FUNCTION studies_searchtagdelta_count()",
    "CREATE TRIGGER studies_searchtagdelta_truncate AFTER TRUNCATE ON studies_publicsearchrow "
    "FOR EACH STATEMENT EXECUTE FUNCTION studies_searchtagdelta_count()",
    """
    INSERT INTO studies_searchtagdelta (tag, delta)
    SELECT t, COUNT(*) FROM (SELECT unnest(tags || 0) AS t FROM studies_publicsearchrow) u
    GROUP BY t
    """,
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS studies_searchtagdelta_truncate ON studies_publicsearchrow",
    "DROP TRIGGER IF EXISTS studies_searchtagdelta_update ON studies_publicsearchrow",
    "DROP TRIGGER IF EXISTS studies_searchtagdelta_delete ON studies_publicsearchrow",
    "DROP TRIGGER IF EXISTS studies_searchtagdelta_insert ON studies_publicsearchrow",
    "DROP FUNCTION IF EXISTS studies_searchtagdelta_count()",
    "DROP TABLE IF EXISTS studies_searchtagdelta",
]


class Migration(migrations.Migration):
    dependencies = [
        ("studies", "0012_public_search_text_tags_index"),
    ]

    operations = [
        vendor_sql({"postgresql": POSTGRES_FORWARD}, {"postgresql": POSTGRES_BACKWARD}),
    ]
