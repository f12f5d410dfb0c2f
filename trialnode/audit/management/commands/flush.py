"""``flush`` (the demo's reset, the tests' clean-up) empties the trail too.

The trail refuses TRUNCATE by trigger; a superuser session switches triggers off for the
flush. The application's role is no superuser, so it cannot flush the trail. On PostgreSQL
the tables are truncated with CASCADE, so that tables derived from the models outside
Django's knowledge (the public search rows) are emptied with them.
"""

from typing import Any

from django.core.management.commands import flush
from django.db import connections


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            return super().handle(**options)
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            return super().handle(**{**options, "allow_cascade": True})
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")
