"""OMOP data for the count tests: GiBleed as Parquet, in PostgreSQL and under Spark.

The PostgreSQL copy goes into a schema of its own in the database named by
``TRIALNODE_OMOP_TEST_POSTGRES`` (default: the database of a PostgreSQL
``DATABASE_URL``, else ``postgres://root@127.0.0.1:5432/test``), made once per test
session and dropped afterwards. One Spark session serves the whole test session.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest


def omop_folder() -> Path:
    from trialnode.env import sample_data_dir

    folder = sample_data_dir()
    if folder is None or not (folder / "omop" / "gibleed_cdm53" / "person.parquet").is_file():
        pytest.fail(
            "The OMOP sample data (omop/gibleed_cdm53) is missing: set TRIALNODE_SAMPLE_DATA."
        )
    return folder / "omop"


@pytest.fixture(scope="session", autouse=True)
def _keys_in_a_temporary_data_dir(tmp_path_factory):
    """Signing keys are written to the data directory: a temporary one in tests."""
    from django.conf import settings

    previous = settings.DATA_DIR
    settings.DATA_DIR = tmp_path_factory.mktemp("data")
    yield
    settings.DATA_DIR = previous


@pytest.fixture(scope="session")
def omop() -> Path:
    return omop_folder()


@pytest.fixture(scope="session")
def gibleed(omop) -> Path:
    return omop / "gibleed_cdm53"


def load_cohort(name: str) -> dict:
    return json.loads((omop_folder() / "cohorts" / name).read_text())


def expected_counts() -> list[dict[str, str]]:
    with (omop_folder() / "cohorts" / "EXPECTED_COUNTS.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def postgres_server_url() -> str:
    explicit = os.environ.get("TRIALNODE_OMOP_TEST_POSTGRES")
    if explicit:
        return explicit
    database = os.environ.get("DATABASE_URL", "")
    if database.startswith(("postgres://", "postgresql://")):
        return database
    return "postgres://root@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def gibleed_postgres(gibleed) -> str:
    """A postgres://…?schema= URL holding GiBleed."""
    from trialnode.counts.loading import drop_postgres_schema, load_postgres

    server = postgres_server_url().split("?")[0]
    schema = f"omop_test_{os.getpid()}"
    load_postgres(gibleed, server, schema)
    yield f"{server}?schema={schema}"
    drop_postgres_schema(server, schema)


@pytest.fixture(scope="session")
def spark_ready():
    from trialnode.counts.engines import spark_session

    return spark_session()
