"""Where the OMOP tables live: DuckDB (Parquet folder or database file), PostgreSQL, Spark.

Each engine runs one statement with a time limit and returns plain rows. The SQL is
written in DuckDB's dialect and transpiled for the others (``compiler.transpile``).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from trialnode.counts.compiler import transpile

ENGINES = ("duckdb", "postgres", "spark")
DEFAULT_TIMEOUT_SECONDS = 120.0


class EngineError(RuntimeError):
    """The data cannot be read or the query failed; the message is safe to show."""


class QueryTimeout(EngineError):
    pass


class Engine:
    name = ""
    dialect = ""

    def tables(self) -> set[str]:
        raise NotImplementedError

    def run(self, sql: str, *, timeout: float) -> list[tuple[Any, ...]]:
        """Run DuckDB-dialect SQL (transpiled here) and return every row."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def data_version(self) -> str:
        """A fingerprint of the data: changes when the data are reloaded."""
        parts: list[Any] = []
        tables = self.tables()
        parts.extend(
            self.run(
                "SELECT COUNT(*), MIN(person_id), MAX(person_id), "
                "SUM(CAST(year_of_birth AS BIGINT)) FROM person",
                timeout=60,
            )
        )
        parts.extend(
            self.run(
                "SELECT COUNT(*), MAX(observation_period_end_date) FROM observation_period",
                timeout=60,
            )
        )
        if "cdm_source" in tables:
            parts.extend(
                self.run(
                    "SELECT cdm_source_name, cdm_release_date, vocabulary_version FROM cdm_source",
                    timeout=60,
                )
            )
        text = repr([tuple(str(v) for v in row) for row in parts])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _timer(seconds: float, cancel) -> threading.Timer:
    timer = threading.Timer(seconds, cancel)
    timer.daemon = True
    timer.start()
    return timer


class DuckDBEngine(Engine):
    """OMOP tables as Parquet files in a folder (one ``<table>.parquet`` or a folder of
    Parquet files per table) or as tables in a DuckDB database file."""

    name = dialect = "duckdb"

    def __init__(self, path: str | Path, *, memory_limit: str = "4GB", threads: int = 0):
        import duckdb

        self.path = Path(path)
        if not self.path.exists():
            raise EngineError(f"No OMOP data at {self.path}.")
        try:
            if self.path.is_dir():
                self.connection = duckdb.connect()
                self._tables = self._register_parquet(self.path)
            else:
                self.connection = duckdb.connect(str(self.path), read_only=True)
                rows = self.connection.execute(
                    "SELECT table_name FROM information_schema.tables"
                ).fetchall()
                self._tables = {row[0].lower() for row in rows}
        except duckdb.Error as exc:
            raise EngineError(f"Cannot open the OMOP data at {self.path}: {exc}") from None
        self.connection.execute(f"SET memory_limit = '{memory_limit}'")
        if threads:
            self.connection.execute(f"SET threads = {int(threads)}")

    @classmethod
    def from_connection(cls, connection, path: str | Path = "") -> DuckDBEngine:
        """An engine over an open DuckDB connection (benchmarks share one)."""
        engine = cls.__new__(cls)
        engine.path = Path(path)
        engine.connection = connection
        rows = connection.execute("SELECT table_name FROM information_schema.tables").fetchall()
        engine._tables = {row[0].lower() for row in rows}
        return engine

    def _register_parquet(self, folder: Path) -> set[str]:
        """Note the tables of a Parquet folder; their views are made when first used
        (reading the metadata of every file up front costs more than most counts)."""
        self._parquet: dict[str, str] = {}
        for entry in sorted(folder.iterdir()):
            if entry.suffix == ".parquet" and entry.is_file():
                name, source = entry.stem.lower(), str(entry)
            elif entry.is_dir() and any(entry.glob("*.parquet")):
                name, source = entry.name.lower(), str(entry / "*.parquet")
            else:
                continue
            if name.replace("_", "").isalnum():
                self._parquet[name] = source
        if not self._parquet:
            raise EngineError(f"No Parquet tables in {folder}.")
        return set(self._parquet)

    def _ensure_views(self, sql: str) -> None:
        import re

        for name in list(getattr(self, "_parquet", {})):
            if re.search(rf"\b{name}\b", sql, flags=re.IGNORECASE):
                quoted = self._parquet.pop(name).replace("'", "''")
                self.connection.execute(
                    f"CREATE VIEW \"{name}\" AS SELECT * FROM read_parquet('{quoted}')"
                )

    def tables(self) -> set[str]:
        return set(self._tables)

    def run(self, sql: str, *, timeout: float) -> list[tuple[Any, ...]]:
        import duckdb

        timer = _timer(timeout, self.connection.interrupt)
        try:
            self._ensure_views(sql)
            return self.connection.execute(sql).fetchall()
        except duckdb.InterruptException:
            raise QueryTimeout(f"The query took longer than {timeout:.0f} s.") from None
        except duckdb.Error as exc:
            raise EngineError(f"DuckDB could not run the query: {exc}") from None
        finally:
            timer.cancel()

    def close(self) -> None:
        self.connection.close()


def split_postgres_url(url: str) -> tuple[str, str]:
    """``postgres://…/db?schema=omop`` → (connection URL, schema)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    schema = (query.pop("schema", ["public"]) or ["public"])[0]
    if not schema.replace("_", "").isalnum():
        raise EngineError(f"Invalid schema name {schema!r}.")
    rest = urlencode({k: v[0] for k, v in query.items()})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, rest, parts.fragment)), schema


class PostgresEngine(Engine):
    """OMOP tables in a PostgreSQL schema: ``postgres://user@host/db?schema=cdm``."""

    name = "postgres"
    dialect = "postgres"

    def __init__(self, url: str):
        import psycopg

        dsn, self.schema = split_postgres_url(url)
        try:
            self.connection = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise EngineError(f"Cannot connect to PostgreSQL: {exc}".strip()) from None
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT set_config('search_path', %s, false)", [self.schema])
            cursor.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                [self.schema],
            )
            self._tables = {row[0].lower() for row in cursor.fetchall()}
        if not self._tables:
            raise EngineError(f"The schema {self.schema!r} has no tables.")

    def tables(self) -> set[str]:
        return set(self._tables)

    def run(self, sql: str, *, timeout: float) -> list[tuple[Any, ...]]:
        import psycopg

        statement = transpile(sql, "postgres")
        try:
            with self.connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('statement_timeout', %s, false)",
                    [str(int(timeout * 1000))],
                )
                # The planner cannot estimate the rows left after a window filter and
                # picks nested loops over thousands of events; hash joins are right
                # for cohort queries.
                cursor.execute("SET enable_nestloop = off")
                cursor.execute(statement)
                return [tuple(row) for row in cursor.fetchall()]
        except psycopg.errors.QueryCanceled:
            raise QueryTimeout(f"The query took longer than {timeout:.0f} s.") from None
        except psycopg.Error as exc:
            raise EngineError(f"PostgreSQL could not run the query: {exc}".strip()) from None

    def close(self) -> None:
        self.connection.close()


_spark_lock = threading.Lock()
_spark_session: Any = None


def spark_session():
    """One local Spark session per process (starting one takes seconds)."""
    global _spark_session
    with _spark_lock:
        if _spark_session is None:
            try:
                from pyspark.sql import SparkSession
            except ImportError:
                raise EngineError(
                    "Spark is not installed: pip install 'trialnode[spark]' (pyspark)."
                ) from None
            _spark_session = (
                SparkSession.builder.master("local[2]")
                .appName("trialnode-counts")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.shuffle.partitions", "4")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.driver.memory", "2g")
                .config("spark.sql.ansi.enabled", "false")
                .getOrCreate()
            )
            _spark_session.sparkContext.setLogLevel("ERROR")
        return _spark_session


class SparkEngine(Engine):
    """OMOP tables as Parquet in a folder, read by Spark SQL (local mode here; a
    cluster's master through ``SPARK_MASTER`` style configuration in production)."""

    name = "spark"
    dialect = "spark"
    _counter = 0

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_dir():
            raise EngineError(f"No OMOP Parquet folder at {self.path}.")
        self.spark = spark_session()
        SparkEngine._counter += 1
        self.prefix = f"omop{SparkEngine._counter}_"
        self._tables: dict[str, str] = {}
        for entry in sorted(self.path.iterdir()):
            if entry.suffix == ".parquet" or (entry.is_dir() and any(entry.glob("*.parquet"))):
                name = (entry.stem if entry.suffix == ".parquet" else entry.name).lower()
                if name.replace("_", "").isalnum():
                    self._tables[name] = str(entry)
        if not self._tables:
            raise EngineError(f"No Parquet tables in {self.path}.")
        self._views: set[str] = set()

    def tables(self) -> set[str]:
        return set(self._tables)

    def _ensure_views(self, statement: str) -> str:
        # Views are registered under a prefix per engine so that two data sets can be
        # open in one session; the statement's table names are rewritten to them.
        import sqlglot
        from sqlglot import exp

        tree = sqlglot.parse_one(statement, read="spark")
        ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
        for table in tree.find_all(exp.Table):
            name = table.name.lower()
            if name in ctes or name not in self._tables:
                continue
            view = self.prefix + name
            if view not in self._views:
                self.spark.read.parquet(self._tables[name]).createOrReplaceTempView(view)
                self._views.add(view)
            table.set("this", exp.to_identifier(view))
        return tree.sql(dialect="spark")

    def run(self, sql: str, *, timeout: float) -> list[tuple[Any, ...]]:
        statement = self._ensure_views(transpile(sql, "spark"))
        context = self.spark.sparkContext
        group = f"trialnode-{id(self)}-{threading.get_ident()}"
        context.setJobGroup(group, "trialnode count", interruptOnCancel=True)
        timed_out = threading.Event()

        def cancel() -> None:
            timed_out.set()
            context.cancelJobGroup(group)

        timer = _timer(timeout, cancel)
        try:
            return [tuple(row) for row in self.spark.sql(statement).collect()]
        except Exception as exc:
            if timed_out.is_set():
                raise QueryTimeout(f"The query took longer than {timeout:.0f} s.") from None
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise EngineError(f"Spark could not run the query: {message}") from None
        finally:
            timer.cancel()
            context.setLocalProperty("spark.jobGroup.id", None)

    def close(self) -> None:
        for view in self._views:
            self.spark.catalog.dropTempView(view)
        self._views.clear()


def open_engine(kind: str, location: str) -> Engine:
    """The engine of ``kind`` over the OMOP data at ``location`` (a path or a URL)."""
    if kind == "duckdb":
        return DuckDBEngine(location)
    if kind == "postgres":
        if not location.startswith(("postgres://", "postgresql://")):
            raise EngineError("The PostgreSQL engine takes a postgres://…?schema=NAME URL.")
        return PostgresEngine(location)
    if kind == "spark":
        return SparkEngine(location)
    raise EngineError(f"Unknown engine {kind!r}: choose one of {', '.join(ENGINES)}.")


@contextmanager
def opened(kind: str, location: str) -> Iterator[Engine]:
    engine = open_engine(kind, location)
    try:
        yield engine
    finally:
        engine.close()
