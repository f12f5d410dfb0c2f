"""Changing, deleting or inserting an event behind the application's back is detected."""

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from trialnode.audit import trail
from trialnode.audit.models import AuditEvent


@pytest.fixture
def trail_of_events(make_study):
    for number in range(3):
        make_study(title_sv=f"Studie {number}")
    assert trail.verify().intact
    return list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))


def _raw(sql, params=()):
    """Tamper as a database superuser would: with triggers switched off for the session."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


def test_a_changed_event_is_reported_with_its_number(trail_of_events):
    target = trail_of_events[4]
    _raw(
        "UPDATE audit_auditevent SET payload = replace(payload, '\"create\"', '\"update\"') "
        "WHERE seq = %s",
        [target],
    )
    result = trail.verify()
    assert (result.intact, result.broken_seq) == (False, target)
    assert "changed" in result.problem


def test_a_deleted_event_is_reported(trail_of_events):
    target = trail_of_events[2]
    _raw("DELETE FROM audit_auditevent WHERE seq = %s", [target])
    result = trail.verify()
    assert result.broken_seq == target
    assert "missing" in result.problem


def test_an_inserted_event_is_reported(trail_of_events):
    first = AuditEvent.objects.order_by("seq").first()
    _raw("UPDATE audit_auditevent SET seq = seq + 1000 WHERE seq > 3")
    _raw(
        "INSERT INTO audit_auditevent (seq, occurred_at, actor_id, action, object_type, "
        "object_id, payload, prev_hash, hash) VALUES (4, %s, NULL, 'create', 'x', '1', '{}', "
        "%s, %s)",
        [first.occurred_at, first.hash, first.hash],
    )
    assert trail.verify().broken_seq == 4


def test_removing_the_newest_events_is_reported(trail_of_events):
    _raw("DELETE FROM audit_auditevent WHERE seq = %s", [trail_of_events[-1]])
    result = trail.verify()
    assert not result.intact
    assert "head" in result.problem


def test_the_database_itself_refuses_to_change_events(trail_of_events):
    """On PostgreSQL a trigger refuses UPDATE and DELETE, even in raw SQL."""
    if connection.vendor != "postgresql":
        # SQLite has no such guard: the hash chain is what catches the change there.
        with connection.cursor() as cursor:
            cursor.execute("UPDATE audit_auditevent SET object_id = 'x' WHERE seq = 1")
        assert trail.verify().broken_seq == 1
        return
    for statement in (
        "UPDATE audit_auditevent SET object_id = 'x' WHERE seq = 1",
        "DELETE FROM audit_auditevent WHERE seq = 1",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert trail.verify().intact
