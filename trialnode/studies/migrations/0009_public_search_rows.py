"""The public search's narrow rows (see studies/searchrows.py): a table on PostgreSQL only,
filled from the published studies."""

import django.contrib.postgres.fields
import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models

from trialnode.core.migration_sql import vendor_sql

POSTGRES_FORWARD = [
    """
    CREATE TABLE studies_publicsearchrow (
        study_id bigint PRIMARY KEY REFERENCES studies_study (id)
            ON DELETE CASCADE,
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
    """
    INSERT INTO studies_publicsearchrow
    SELECT s.id, d.tsv, s.status, s.study_type, s.phase, s.sponsor_type, s.sex,
           s.healthy_volunteers, s.min_age_years, s.max_age_years, s.start_date, s.updated_at,
           LOWER(COALESCE(NULLIF(s.title_sv, ''), s.title_en)),
           ARRAY(SELECT DISTINCT r.slug FROM studies_studysite x
                 JOIN organisations_region r ON r.id = x.region_id WHERE x.study_id = s.id),
           ARRAY(SELECT DISTINCT p.slug FROM studies_studysite x
                 JOIN organisations_careprovider p ON p.id = x.care_provider_id
                 WHERE x.study_id = s.id),
           ARRAY(SELECT DISTINCT c.chapter FROM studies_studycondition c
                 WHERE c.study_id = s.id AND c.chapter <> '')
    FROM studies_study s
    LEFT JOIN studies_studysearchdocument d ON d.study_id = s.id
    WHERE s.registration_state = 'published' AND s.conducted_in_sweden
      AND NOT EXISTS (SELECT 1 FROM studies_study t
                      WHERE t.id = s.duplicate_of_id AND t.registration_state = 'published')
    """,
]
POSTGRES_BACKWARD = ["DROP TABLE IF EXISTS studies_publicsearchrow"]


class Migration(migrations.Migration):
    dependencies = [
        ("studies", "0008_longer_titles"),
    ]

    operations = [
        migrations.CreateModel(
            name="PublicSearchRow",
            fields=[
                (
                    "study",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="studies.study",
                    ),
                ),
                ("tsv", django.contrib.postgres.search.SearchVectorField()),
                ("status", models.CharField(max_length=30)),
                ("study_type", models.CharField(max_length=20)),
                ("phase", models.CharField(max_length=20)),
                ("sponsor_type", models.CharField(max_length=10)),
                ("sex", models.CharField(max_length=6)),
                ("healthy_volunteers", models.BooleanField()),
                ("min_age_years", models.SmallIntegerField(null=True)),
                ("max_age_years", models.SmallIntegerField(null=True)),
                ("start_date", models.DateField(null=True)),
                ("updated_at", models.DateTimeField()),
                ("title_sort", models.TextField()),
                (
                    "regions",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.TextField(), size=None
                    ),
                ),
                (
                    "care_providers",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.TextField(), size=None
                    ),
                ),
                (
                    "condition_areas",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.TextField(), size=None
                    ),
                ),
            ],
            options={
                "db_table": "studies_publicsearchrow",
                "managed": False,
            },
        ),
        vendor_sql({"postgresql": POSTGRES_FORWARD}, {"postgresql": POSTGRES_BACKWARD}),
    ]
