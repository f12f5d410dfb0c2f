"""Moving OMOP data between forms: replicas with offset ids, PostgreSQL schemas.

Used by the demo (two more regions made from one data set), the tests (the same data
in PostgreSQL) and the benchmark (about a million persons from GiBleed).
"""

from __future__ import annotations

import math
from pathlib import Path

VOCABULARY_TABLES = {
    "concept",
    "concept_ancestor",
    "concept_class",
    "concept_relationship",
    "concept_synonym",
    "domain",
    "drug_strength",
    "relationship",
    "vocabulary",
    "source_to_concept_map",
    "cdm_source",
    "metadata",
    "cohort_definition",
    "attribute_definition",
}


def _tables(folder: Path) -> dict[str, str]:
    tables = {}
    for entry in sorted(folder.iterdir()):
        if entry.suffix == ".parquet":
            tables[entry.stem.lower()] = str(entry)
        elif entry.is_dir() and any(entry.glob("*.parquet")):
            tables[entry.name.lower()] = str(entry / "*.parquet")
    return tables


def _id_columns(connection, source: str) -> list[str]:
    columns = connection.execute(f"DESCRIBE SELECT * FROM read_parquet('{source}')").fetchall()
    return [
        name
        for name, kind, *_rest in columns
        if name.endswith("_id")
        and not name.endswith("concept_id")
        and kind.upper() in ("BIGINT", "INTEGER", "HUGEINT", "SMALLINT")
    ]


def id_offset(folder: Path) -> int:
    """A power of ten above every id of the data set (replica k adds k times it)."""
    import duckdb

    connection = duckdb.connect()
    highest = 1
    for table, source in _tables(folder).items():
        if table in VOCABULARY_TABLES:
            continue
        columns = _id_columns(connection, source)
        if columns:
            select = ", ".join(f"MAX({c})" for c in columns)
            row = connection.execute(f"SELECT {select} FROM read_parquet('{source}')").fetchone()
            highest = max([highest, *(v for v in (row or ()) if v is not None)])
    return 10 ** math.ceil(math.log10(highest + 1))


def _cluster_key(table: str) -> str:
    """Event tables sorted by their concept, so that a count reading a few concepts skips
    most of the table (DuckDB and Parquet keep each block's lowest and highest value);
    the others by person."""
    from trialnode.counts.compiler import DOMAINS

    concepts = {
        domain.table: domain.concept
        for domain in DOMAINS.values()
        if domain.table not in ("observation_period", "death")
    }
    return f"{concepts[table]}, person_id" if table in concepts else "person_id"


def replicate(
    source: Path,
    target: Path,
    *,
    copies: int = 1,
    first: int = 0,
    offset: int | None = None,
    duckdb_file: bool = False,
    threads: int = 0,
) -> Path:
    """Write ``copies`` replicas of the data set (copy k with every id plus
    (first + k) × offset) as Parquet files in ``target``, or as one DuckDB file
    ``target`` when ``duckdb_file``. Vocabulary tables are written once."""
    import duckdb

    offset = offset or id_offset(source)
    if duckdb_file:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        connection = duckdb.connect(str(target))
    else:
        target.mkdir(parents=True, exist_ok=True)
        connection = duckdb.connect()
    connection.execute("SET enable_progress_bar = false")
    if threads:
        connection.execute(f"SET threads = {int(threads)}")
    for table, path in _tables(source).items():
        columns = [] if table in VOCABULARY_TABLES else _id_columns(connection, path)
        if columns:
            replaced = ", ".join(f"{c} + (r.k + {first}) * {offset} AS {c}" for c in columns)
            select = (
                f"SELECT * REPLACE ({replaced}) FROM read_parquet('{path}'), range({copies}) r(k)"
            )
            if "person_id" in columns:
                select += f" ORDER BY {_cluster_key(table)}"
        else:
            select = f"SELECT * FROM read_parquet('{path}')"
        if duckdb_file:
            connection.execute(f'CREATE TABLE "{table}" AS {select}')
        else:
            out = str(target / f"{table}.parquet").replace("'", "''")
            connection.execute(f"COPY ({select}) TO '{out}' (FORMAT parquet)")
    connection.close()
    return target


def load_postgres(source: Path, url: str, schema: str) -> None:
    """Create ``schema`` (replacing it) with every table of the Parquet data set."""
    import duckdb
    import psycopg

    from trialnode.counts.engines import split_postgres_url

    dsn, _unused = split_postgres_url(url)
    if not schema.replace("_", "").isalnum():
        raise ValueError(f"invalid schema name {schema!r}")
    reader = duckdb.connect()
    types = {
        "BIGINT": "bigint",
        "INTEGER": "integer",
        "DOUBLE": "double precision",
        "FLOAT": "real",
        "DATE": "date",
        "TIMESTAMP": "timestamp",
        "VARCHAR": "text",
        "BOOLEAN": "boolean",
    }
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        connection.execute(f'CREATE SCHEMA "{schema}"')
        for table, path in _tables(source).items():
            described = reader.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()
            columns = [
                (name, types.get(kind.upper().split("(")[0], "text"))
                for name, kind, *_ in described
            ]
            ddl = ", ".join(f'"{name}" {kind}' for name, kind in columns)
            connection.execute(f'CREATE TABLE "{schema}"."{table}" ({ddl})')
            names = ", ".join(f'"{name}"' for name, _kind in columns)
            result = reader.execute(f"SELECT * FROM read_parquet('{path}')")
            with (
                connection.cursor() as cursor,
                cursor.copy(f'COPY "{schema}"."{table}" ({names}) FROM STDIN') as copy,
            ):
                while True:
                    batch = result.fetchmany(10_000)
                    if not batch:
                        break
                    for row in batch:
                        copy.write_row(row)
            if any(name == "person_id" for name, _kind in columns):
                connection.execute(f'CREATE INDEX ON "{schema}"."{table}" (person_id)')
            connection.execute(f'ANALYZE "{schema}"."{table}"')


def drop_postgres_schema(url: str, schema: str) -> None:
    import psycopg

    from trialnode.counts.engines import split_postgres_url

    dsn, _unused = split_postgres_url(url)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
