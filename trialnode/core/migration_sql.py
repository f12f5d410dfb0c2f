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
