"""Full backup and restore of the configured database (BK1).

SQLite: the online backup API (a consistent copy while the application runs).
PostgreSQL: ``pg_dump`` in its custom format, restored with ``pg_restore`` in a single
transaction, so a failed restore leaves the database as it was. The audit chain is
verified after every restore.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

from django.db import connection

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"


class BackupError(RuntimeError):
    pass


def _pg_environment() -> tuple[list[str], dict[str, str]]:
    database = connection.settings_dict
    arguments = ["--dbname", database["NAME"]]
    if database.get("HOST"):
        arguments += ["--host", database["HOST"]]
    if database.get("PORT"):
        arguments += ["--port", str(database["PORT"])]
    if database.get("USER"):
        arguments += ["--username", database["USER"]]
    environment = dict(os.environ)
    if database.get("PASSWORD"):
        environment["PGPASSWORD"] = database["PASSWORD"]
    return arguments, environment


def _run(command: list[str], environment: dict[str, str]) -> None:
    result = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[:2000]}")


def backup(path: Path) -> Path:
    """Write a full copy of the database to ``path``."""
    path = path.expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        target = sqlite3.connect(path)
        try:
            connection.connection.backup(target)
        finally:
            target.close()
        return path
    if connection.vendor == "postgresql":
        arguments, environment = _pg_environment()
        _run(
            ["pg_dump", "--format=custom", "--no-owner", "--file", str(path), *arguments],
            environment,
        )
        return path
    raise BackupError(f"No backup for the {connection.vendor} engine.")


def restore(path: Path) -> None:
    """Replace the database's content with the backup at ``path``."""
    path = path.expanduser().resolve()
    try:
        magic = path.read_bytes()[:16]
    except OSError as exc:
        raise BackupError(f"Cannot read the backup: {exc}") from exc
    if connection.vendor == "sqlite":
        if not magic.startswith(SQLITE_MAGIC):
            raise BackupError("This is not a backup of an SQLite database.")
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            source.execute("PRAGMA quick_check").fetchone()
            connection.ensure_connection()
            source.backup(connection.connection)
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"The backup is damaged: {exc}") from exc
        finally:
            source.close()
        return
    if connection.vendor == "postgresql":
        if not magic.startswith(PG_MAGIC):
            raise BackupError("This is not a pg_dump backup of a PostgreSQL database.")
        arguments, environment = _pg_environment()
        connection.close()
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--exit-on-error",
                *arguments,
                str(path),
            ],
            environment,
        )
        return
    raise BackupError(f"No restore for the {connection.vendor} engine.")
