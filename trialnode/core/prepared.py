"""Statements the database plans once per connection and then reuses (PostgreSQL).

Django sends every statement with its parameters written into the text, so PostgreSQL
plans it afresh each time. For a large statement asked again and again with other
values, such as the public search's, the planning can cost as much as running it: a
*prepared* statement is planned once per connection, with the parameters sent apart, and
each later run only binds new values to the one generic plan (the connection's
``plan_cache_mode``, see settings). Only the statements run through ``prepared_cursor``
are prepared; every other statement keeps Django's defaults.
"""

from __future__ import annotations

from typing import Any

import psycopg
from django.db import connection
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper


class PreparingCursor(psycopg.Cursor[Any]):
    """psycopg's cursor with server-side parameters, preparing every statement it runs."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("prepare", True)
        return super().execute(query, params, **kwargs)


def prepared_cursor() -> CursorWrapper:
    """A cursor of the default connection whose statements are prepared (PostgreSQL),
    logged and wrapped like Django's own."""
    connection.ensure_connection()
    raw = PreparingCursor(connection.connection)
    if connection.queries_logged:
        return CursorDebugWrapper(raw, connection)
    return CursorWrapper(raw, connection)
