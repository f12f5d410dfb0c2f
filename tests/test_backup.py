"""A backup restores to exactly the tables it was taken from, with the audit chain intact."""

from __future__ import annotations

import pytest
from django.db import connection

from trialnode.audit.trail import verify
from trialnode.core.backup import BackupError, backup, restore


def _every_table() -> dict[str, list[tuple]]:
    tables = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            if table.startswith("studies_study_fts"):
                continue  # SQLite's full-text shadow tables follow their content table
            cursor.execute(f'SELECT * FROM "{table}"')
            tables[table] = sorted(map(tuple, cursor.fetchall()), key=repr)
    return tables


@pytest.fixture
def data(transactional_db, make_study, users):
    make_study(title_sv="Före säkerhetskopian", nct_id="NCT01234567")
    make_study(title_sv="Också före", regions=("orebro", "skane"))


def test_a_restore_gives_back_every_table_as_it_was(data, tmp_path, make_study):
    before = _every_table()
    path = backup(tmp_path / "trialnode.backup")
    make_study(title_sv="Efter säkerhetskopian")
    from trialnode.studies.models import StudySite

    StudySite.objects.first().delete()
    assert _every_table() != before
    restore(path)
    assert _every_table() == before
    assert verify().intact


def test_a_damaged_backup_is_refused_and_changes_nothing(data, tmp_path):
    before = _every_table()
    broken = tmp_path / "broken.backup"
    broken.write_bytes(
        b"PGDMP" + b"\x00" * 100
        if connection.vendor == "postgresql"
        else b"SQLite format 3\x00" + b"\x01" * 100
    )
    with pytest.raises(BackupError):
        restore(broken)
    assert _every_table() == before


def test_a_file_that_is_no_backup_is_refused(data, tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("not a backup")
    with pytest.raises(BackupError, match="not a"):
        restore(other)
