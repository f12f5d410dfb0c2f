"""A migration operation that runs each database's own SQL statements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import migrations


def _statements_of(by_vendor: Mapping[str, Sequence[str]]):
    def run(apps: Any, schema_editor: Any) -> None:
        for statement in by_vendor.get(schema_editor.connection.vendor, ()):
            schema_editor.execute(statement)

    return run


def vendor_sql(
    forward: Mapping[str, Sequence[str]], backward: Mapping[str, Sequence[str]]
) -> migrations.RunPython:
    """Run the statements listed for the database's vendor (``"postgresql"``,
    ``"sqlite"``); a vendor without statements is left alone."""
    return migrations.RunPython(_statements_of(forward), _statements_of(backward))


def compressed_with_lz4(columns: Mapping[str, Sequence[str]]) -> migrations.RunPython:
    """Compress the long values of these columns (by table) with LZ4 instead of
    PostgreSQL's own pglz, where the server has it (PostgreSQL 14 and later, built with
    LZ4; elsewhere, and on SQLite, nothing changes). LZ4 compresses several times faster
    for about the same size, and reads faster: an import of new studies, whose audit
    events and texts are long, took about 7 % less time. Values written before keep
    their compression."""

    def compression(method: str):
        def run(apps: Any, schema_editor: Any) -> None:
            connection = schema_editor.connection
            if connection.vendor != "postgresql":
                return
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' "
                    "AND 'lz4' = ANY(enumvals)"
                )
                if cursor.fetchone() is None:
                    return
            quote = connection.ops.quote_name
            for table, names in columns.items():
                changes = ", ".join(
                    f"ALTER COLUMN {quote(name)} SET COMPRESSION {method}" for name in names
                )
                schema_editor.execute(f"ALTER TABLE {quote(table)} {changes}")

        return run

    return migrations.RunPython(compression("lz4"), compression("default"))
