"""The public search rows carry their filter values as numbered tags (a dictionary of
tags beside them), and a sequence numbers the versions of what the public search shows
(see studies/searchrows.py). PostgreSQL only."""

from django.db import migrations

from trialnode.core.migration_sql import vendor_sql

# Frozen copies of studies.searchrows' statements, over every shown study.
TAGS = """
array_remove(ARRAY[
    'status:' || s.status,
    'study_type:' || s.study_type,
    'phase:' || s.phase,
    'sponsor_type:' || s.sponsor_type,
    CASE WHEN s.status = 'RECRUITING' THEN 'recruiting:true' ELSE 'recruiting:false' END,
    CASE WHEN s.healthy_volunteers THEN 'healthy_volunteers:true' END,
    CASE WHEN s.sex IN ('ALL', 'FEMALE') THEN 'sex:FEMALE' END,
    CASE WHEN s.sex IN ('ALL', 'MALE') THEN 'sex:MALE' END,
    CASE WHEN s.min_age_years IS NULL OR s.min_age_years < 18 THEN 'age_group:children' END,
    CASE WHEN (s.min_age_years IS NULL OR s.min_age_years <= 64)
              AND (s.max_age_years IS NULL OR s.max_age_years >= 18)
         THEN 'age_group:adults' END,
    CASE WHEN s.max_age_years IS NULL OR s.max_age_years >= 65 THEN 'age_group:older' END
]::text[], NULL)
|| ARRAY(SELECT DISTINCT 'region:' || r.slug FROM studies_studysite x
         JOIN organisations_region r ON r.id = x.region_id WHERE x.study_id = s.id)
|| ARRAY(SELECT DISTINCT 'care_provider:' || p.slug FROM studies_studysite x
         JOIN organisations_careprovider p ON p.id = x.care_provider_id
         WHERE x.study_id = s.id)
|| ARRAY(SELECT DISTINCT 'condition_area:' || c.chapter FROM studies_studycondition c
         WHERE c.study_id = s.id AND c.chapter <> '')
"""
TAGS_NUMBER = f"""
INSERT INTO studies_searchtag (id, tag)
SELECT (CASE split_part(t, ':', 1) WHEN 'status' THEN 1 WHEN 'study_type' THEN 2 WHEN 'phase' THEN 3 WHEN 'sponsor_type' THEN 4 WHEN 'recruiting' THEN 5 WHEN 'healthy_volunteers' THEN 6 WHEN 'sex' THEN 7 WHEN 'age_group' THEN 8 WHEN 'region' THEN 9 WHEN 'care_provider' THEN 10 WHEN 'condition_area' THEN 11 END) * 1000000 + nextval('studies_searchtag_number'), t
FROM (SELECT DISTINCT t FROM studies_study s, unnest({TAGS}) t WHERE s.id IN (SELECT p.id FROM studies_study p
    WHERE p.registration_state = 'published' AND p.conducted_in_sweden
      AND NOT EXISTS (SELECT 1 FROM studies_study t
                      WHERE t.id = p.duplicate_of_id AND t.registration_state = 'published'))) new
WHERE NOT EXISTS (SELECT 1 FROM studies_searchtag k WHERE k.tag = new.t)
ON CONFLICT (tag) DO NOTHING
"""
ROW_SELECT = f"""
INSERT INTO studies_publicsearchrow (study_id, tsv, updated_at, start_date, title_sort, tags)
SELECT s.id, d.tsv, s.updated_at, s.start_date,
       LOWER(COALESCE(NULLIF(s.title_sv, ''), s.title_en)),
       ARRAY(SELECT k.id FROM unnest({TAGS}) t JOIN studies_searchtag k ON k.tag = t)
FROM studies_study s
LEFT JOIN studies_studysearchdocument d ON d.study_id = s.id
WHERE s.id IN (SELECT p.id FROM studies_study p
    WHERE p.registration_state = 'published' AND p.conducted_in_sweden
      AND NOT EXISTS (SELECT 1 FROM studies_study t
                      WHERE t.id = p.duplicate_of_id AND t.registration_state = 'published'))
"""

POSTGRES_FORWARD = [
    "DROP TABLE IF EXISTS studies_publicsearchrow",
    """
    CREATE TABLE studies_searchtag (
        id integer PRIMARY KEY,
        tag text NOT NULL UNIQUE
    )
    """,
    "CREATE SEQUENCE studies_searchtag_number",
    """
    CREATE TABLE studies_publicsearchrow (
        study_id bigint PRIMARY KEY REFERENCES studies_study (id) ON DELETE CASCADE,
        tsv tsvector,
        updated_at timestamp with time zone NOT NULL,
        start_date date,
        title_sort text NOT NULL,
        tags integer[] NOT NULL
    )
    """,
    "CREATE INDEX studies_publicsearchrow_tsv ON studies_publicsearchrow USING gin (tsv)",
    "CREATE INDEX studies_publicsearchrow_updated ON studies_publicsearchrow "
    "(updated_at DESC, study_id DESC)",
    "CREATE SEQUENCE IF NOT EXISTS studies_search_data_version",
    TAGS_NUMBER,
    ROW_SELECT,
    "ANALYZE studies_publicsearchrow",
]
POSTGRES_BACKWARD = [
    "DROP SEQUENCE IF EXISTS studies_search_data_version",
    "DROP TABLE IF EXISTS studies_publicsearchrow",
    "DROP TABLE IF EXISTS studies_searchtag",
    "DROP SEQUENCE IF EXISTS studies_searchtag_number",
    # Run rebuild_derived_data after going back: the old table is created empty.
    """
    CREATE TABLE studies_publicsearchrow (
        study_id bigint PRIMARY KEY REFERENCES studies_study (id) ON DELETE CASCADE,
        tsv tsvector,
        status varchar(30) NOT NULL,
        study_type varchar(20) NOT NULL,
        phase varchar(20) NOT NULL,
        sponsor_type varchar(10) NOT NULL,
        sex varchar(6) NOT NULL,
        healthy_volunteers boolean NOT NULL,
        min_age_years smallint,
        max_age_years smallint,
        start_date date,
        updated_at timestamp with time zone NOT NULL,
        title_sort text NOT NULL,
        regions text[] NOT NULL,
        care_providers text[] NOT NULL,
        condition_areas text[] NOT NULL
    )
    """,
    "CREATE INDEX studies_publicsearchrow_tsv ON studies_publicsearchrow USING gin (tsv)",
    "CREATE INDEX studies_publicsearchrow_updated ON studies_publicsearchrow "
    "(updated_at DESC, study_id DESC)",
]


class Migration(migrations.Migration):
    dependencies = [
        ("studies", "0009_public_search_rows"),
    ]

    operations = [
        vendor_sql({"postgresql": POSTGRES_FORWARD}, {"postgresql": POSTGRES_BACKWARD}),
    ]
