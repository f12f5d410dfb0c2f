"""How PostgreSQL keeps long texts: compressed with LZ4 where the server has it (a
study's long texts, its search document and its audit events; with pglz an import took
about 7 % longer), and without planner statistics where nothing compares them."""

import pytest
from django.db import connection

from trialnode.audit.models import AuditEvent

pytestmark = pytest.mark.postgresql


def _lz4_available() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' "
            "AND 'lz4' = ANY(enumvals)"
        )
        return cursor.fetchone() is not None


def test_a_long_study_its_document_and_its_events_are_compressed_with_lz4(make_study):
    """With LZ4 where the server has it; with PostgreSQL's own pglz where it has not."""
    method = "lz4" if _lz4_available() else "pglz"
    long_text = " ".join(f"Mening {n} om behandling av hjärtsvikt." for n in range(400))
    study = make_study(summary_en=long_text, eligibility_criteria=long_text)
    event = AuditEvent.objects.filter(object_type="studies.study", object_id=str(study.pk))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT pg_column_compression(s.summary_en),
                   pg_column_compression(s.eligibility_criteria),
                   pg_column_compression(d.body),
                   (SELECT pg_column_compression(e.payload) FROM audit_auditevent e
                    WHERE e.id = %s)
            FROM studies_study s JOIN studies_studysearchdocument d ON d.study_id = s.id
            WHERE s.id = %s
            """,
            [event.earliest("seq").pk, study.pk],
        )
        assert cursor.fetchone() == (method, method, method, method)


def test_the_planner_keeps_no_statistics_of_texts_nothing_compares(db):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT attrelid::regclass::text, attname, attstattarget FROM pg_attribute
            WHERE attrelid IN ('studies_study'::regclass, 'studies_studysearchdocument'::regclass)
              AND attname IN ('summary_en', 'eligibility_criteria', 'body', 'title', 'status')
            ORDER BY 1, 2
            """
        )
        targets = {(table, column): target for table, column, target in cursor.fetchall()}
    assert targets[("studies_study", "summary_en")] == 0
    assert targets[("studies_study", "eligibility_criteria")] == 0
    assert targets[("studies_studysearchdocument", "body")] == 0
    assert targets[("studies_study", "status")] == -1  # filtered: the default target
