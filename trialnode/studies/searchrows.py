"""The public search's narrow rows (``PublicSearchRow``), kept in step with the studies.

A row exists for every study that ``Study.objects.published()`` shows, and for no other.
``refresh_search_rows`` rewrites the rows of some studies (and of the records marked as
the same study as them, whose visibility follows theirs) in two statements; it is called
after every save of a study, its sites and its conditions (``studies.signals``) and at
the end of every re-index (``search.index_studies``), which bulk imports go through.
PostgreSQL only: on SQLite the search reads the studies themselves.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import Q

from trialnode.studies.models import Study

COLUMNS = (
    "study_id, tsv, status, study_type, phase, sponsor_type, sex, healthy_volunteers, "
    "min_age_years, max_age_years, start_date, updated_at, title_sort, regions, "
    "care_providers, condition_areas"
)
ROW_SELECT = f"""
INSERT INTO studies_publicsearchrow ({COLUMNS})
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
WHERE s.id IN ({{shown}})
"""


def maintained() -> bool:
    return connection.vendor == "postgresql"


def refresh_search_rows(study_ids: Iterable[int]) -> None:
    """Rewrite the rows of these studies and of the records that are the same study."""
    ids = list({int(i) for i in study_ids if i is not None})
    if not ids or not maintained():
        return
    affected = Q(pk__in=ids) | Q(duplicate_of_id__in=ids)
    shown_sql, shown_params = (
        Study.objects.published().filter(affected).order_by().values("pk").query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM studies_publicsearchrow WHERE study_id = ANY(%s) OR study_id IN "
            "(SELECT id FROM studies_study WHERE duplicate_of_id = ANY(%s))",
            [ids, ids],
        )
        cursor.execute(ROW_SELECT.format(shown=shown_sql), shown_params)


def rebuild_search_rows() -> int:
    """Recompute every row from the studies; the number of rows."""
    if not maintained():
        return 0
    shown_sql, shown_params = (
        Study.objects.published().order_by().values("pk").query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE studies_publicsearchrow")
        cursor.execute(ROW_SELECT.format(shown=shown_sql), shown_params)
        count = cursor.rowcount
        cursor.execute("ANALYZE studies_publicsearchrow")
    return count
