"""Statistics latency on PostgreSQL: every dashboard request and the full yearly report.

Generates synthetic published studies with dated status histories (planned, recruiting,
closed, ended) into a dedicated database, then times each request the public dashboard
makes (the page itself and each API endpoint behind it) over varying years, regions and
study types, and writes the yearly report for all of Sweden (PDF and HTML). It also times
loading the counting data into memory, which the first request after any write waits for.

    python bench/statistics.py [--count 500000] [--repeat 20] [--reuse]

Needs PostgreSQL at BENCH_DATABASE_URL (default postgres://root@127.0.0.1:5432/trialnode_bench);
the database `<name>_statistics` is dropped and recreated unless --reuse is given.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

# This file's folder must not shadow the standard library's `statistics`.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from bench._setup import django_on_bench_database, percentiles, say, timed  # noqa: E402

FILTERS = [
    {"year": "2024"},
    {"year": "2023", "region": "uppsala"},
    {"year": "2024", "region": "stockholm", "study_type": "INTERVENTIONAL"},
    {"year": "2022", "sponsor_type": "INDUSTRY"},
    {"year": "2025", "region": "skane"},
]
REQUESTS = [
    ("dashboard page", "/statistik/", {}),
    ("summary", "/api/v1/statistics/summary", {"date": "2024-12-31"}),
    ("breakdown region", "/api/v1/statistics/breakdown", {"by": "region"}),
    ("breakdown study_type", "/api/v1/statistics/breakdown", {"by": "study_type"}),
    ("breakdown phase", "/api/v1/statistics/breakdown", {"by": "phase"}),
    ("breakdown sponsor_type", "/api/v1/statistics/breakdown", {"by": "sponsor_type"}),
    ("breakdown condition_area", "/api/v1/statistics/breakdown", {"by": "condition_area"}),
    ("breakdown care_provider", "/api/v1/statistics/breakdown", {"by": "care_provider"}),
    ("timeseries month", "/api/v1/statistics/timeseries", {"interval": "month"}),
    ("timeseries year", "/api/v1/statistics/timeseries", {"interval": "year"}),
    ("collaboration", "/api/v1/statistics/collaboration", {}),
]


def run(count: int, repeat: int, reuse: bool) -> dict:
    django_on_bench_database(recreate=not reuse, suffix="_statistics")
    from django.db import connection
    from django.test import Client

    from trialnode.organisations.services import reference_data_load
    from trialnode.statistics.report import write_report
    from trialnode.studies.models import StatusSpan, Study

    if not reuse or not Study.objects.exists():
        reference_data_load()
        from trialnode.studies.synthetic import synthetic_studies_create

        started = time.perf_counter()
        synthetic_studies_create(count, batch_size=5000)
        say(f"generated {count} studies in {time.perf_counter() - started:.0f} s")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    say(f"studies: {Study.objects.count()}, status periods: {StatusSpan.objects.count()}")

    from trialnode.statistics import engine

    outcome: dict = {"benchmark": "statistics", "studies": Study.objects.count(), "requests": []}
    loaded = timed(engine.snapshot)
    outcome["full_load_s"] = round(loaded, 2)
    say(f"loading the counting data into memory (after any write): {loaded:.1f} s")
    client = Client()
    client.get("/statistik/", FILTERS[0])  # warm up connections and caches
    say(f"\n{'request':<26} {'p50 ms':>8} {'p95 ms':>8}  ({repeat} requests each)")
    for name, path, params in REQUESTS:
        samples = []
        for number in range(repeat):
            query = {**FILTERS[number % len(FILTERS)], **params}
            samples.append(timed(lambda q=query, p=path: _ok(client.get(p, q))))
        p50, p95 = percentiles(samples)
        say(f"{name:<26} {p50:8.1f} {p95:8.1f}")
        outcome["requests"].append(
            {"request": name, "p50_ms": round(p50, 1), "p95_ms": round(p95, 1)}
        )

    # The first request after a write: the changed study is applied to the loaded arrays.
    from trialnode.studies.models import StudyStatusChange

    after_write = []
    for study in Study.objects.order_by("pk")[:repeat]:
        StudyStatusChange.objects.create(
            study=study, status="COMPLETED", effective_date=date.today()
        )
        study.status = "COMPLETED"
        study.save()
        after_write.append(
            timed(lambda: _ok(client.get("/api/v1/statistics/summary", {"date": "2024-12-31"})))
        )
    p50, p95 = percentiles(after_write)
    say(f"{'first request after a write':<26} {p50:8.1f} {p95:8.1f}")
    outcome["after_write"] = {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1)}

    with tempfile.TemporaryDirectory() as folder:
        seconds = timed(lambda: write_report(2024, None, Path(folder) / "report.pdf"))
    say(f"\nyearly report, all of Sweden, 2024 (PDF and HTML): {seconds:.1f} s")
    import os

    outcome["report_s"] = round(seconds, 1)
    outcome["load"] = round(os.getloadavg()[0], 2)
    return outcome


def _ok(response) -> None:
    if response.status_code != 200:
        raise SystemExit(f"{response.status_code}: {response.content[:300]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="keep an existing database")
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    args = parser.parse_args()
    outcome = run(args.count, args.repeat, args.reuse)
    if args.json:
        import json

        print(json.dumps(outcome), flush=True)


if __name__ == "__main__":
    main()
