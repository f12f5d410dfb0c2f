"""Shared set-up for the benchmarks: a dedicated PostgreSQL database, migrated and seeded."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

BENCH_DATABASE = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://root@127.0.0.1:5432/trialnode_bench"
)


def django_on_bench_database(*, recreate: bool, suffix: str = "") -> None:
    """Point Django at the benchmark database (recreated when asked) and migrate it."""
    import psycopg

    url = BENCH_DATABASE + suffix
    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0].replace("postgres://", "postgresql://") + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if recreate and exists:
            connection.execute(f'DROP DATABASE "{name}"')
            exists = None
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "benchmark-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialnode.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    # Not the standard library's statistics module: bench/statistics.py shadows it here.
    ordered = sorted(samples)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return median * 1000, p95 * 1000


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def say(*parts: object) -> None:
    print(*parts, flush=True)
    sys.stdout.flush()
