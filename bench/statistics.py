"""Statistics latency on PostgreSQL: every dashboard request and the full yearly report.

Generates synthetic published studies with dated status histories (planned, recruiting,
closed, ended) into a dedicated database, then times each request the public dashboard
makes (the page itself and each API endpoint behind it) over varying years, regions and
study types, and writes the yearly report for all of Sweden (PDF and HTML). It also times
loading the counting data into memory (at start, or after a change too large to apply
study by study), and the first request after 1, 10 and 100 studies were changed through
the services (the changes are applied to the loaded data), and reports the worst p95.

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
    else:
        _analyze_if_never_analyzed()
    say(f"studies: {Study.objects.count()}, status periods: {StatusSpan.objects.count()}")

    from trialnode.statistics import engine

    outcome: dict = {"benchmark": "statistics", "studies": Study.objects.count(), "requests": []}
    loaded = timed(engine.snapshot)
    outcome["full_load_s"] = round(loaded, 2)
    say(f"loading the counting data into memory (at start): {loaded:.1f} s")
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

    # The first request after a write: N studies change status through the service (each
    # in its own transaction, as editors save them), then one dashboard request is timed;
    # the request kinds take turns, so each is measured as the first after a write.
    outcome["after_write"] = []
    targets = _write_targets(repeat * max(WRITES))
    for writes in WRITES:
        samples, by_kind = [], {}
        for number in range(repeat):
            _change_statuses(targets, writes, number)
            name, path, params = REQUESTS[number % len(REQUESTS)]
            query = {**FILTERS[number % len(FILTERS)], **params}
            seconds = timed(lambda q=query, p=path: _ok(client.get(p, q)))
            samples.append(seconds)
            by_kind[name] = max(by_kind.get(name, 0.0), seconds)
        p50, p95 = percentiles(samples)
        slowest = max(by_kind, key=by_kind.__getitem__)
        label = f"after {writes} write{'s' if writes > 1 else ''}"
        say(
            f"{label:<26} {p50:8.1f} {p95:8.1f}  (slowest: {slowest}, {by_kind[slowest] * 1000:.1f} ms)"
        )
        outcome["after_write"].append(
            {
                "writes": writes,
                "p50_ms": round(p50, 1),
                "p95_ms": round(p95, 1),
                "max_ms": round(max(samples) * 1000, 1),
                "slowest": slowest,
            }
        )
    worst = max(
        [(r["p95_ms"], r["request"]) for r in outcome["requests"]]
        + [
            (r["p95_ms"], f"first request after {r['writes']} writes")
            for r in outcome["after_write"]
        ]
    )
    outcome["worst_p95_ms"], outcome["worst"] = worst
    say(f"worst p95: {worst[0]:.1f} ms ({worst[1]}); goal < 100 ms")

    with tempfile.TemporaryDirectory() as folder:
        seconds = timed(lambda: write_report(2024, None, Path(folder) / "report.pdf"))
    say(f"\nyearly report, all of Sweden, 2024 (PDF and HTML): {seconds:.1f} s")
    import os

    outcome["report_s"] = round(seconds, 1)
    outcome["load"] = round(os.getloadavg()[0], 2)
    return outcome


WRITES = (1, 10, 100)


def _analyze_if_never_analyzed() -> None:
    """Give a reused database planner statistics if it has none (a copy of a database
    generated without them): without them PostgreSQL reads whole tables to find a few
    studies' rows, where a live database, analysed by autovacuum, uses the indexes."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'studies_statusspan'")
        if cursor.fetchone()[0]:
            return
        say("the database has no planner statistics: ANALYZE")
        cursor.execute("ANALYZE")


def _write_targets(wanted: int) -> list[int]:
    """Published studies conducted in Sweden, spread over the whole table."""
    from trialnode.studies.models import RegistrationState, Study

    pks = list(
        Study.objects.filter(
            registration_state=RegistrationState.PUBLISHED, conducted_in_sweden=True
        ).values_list("pk", flat=True)
    )
    step = max(1, len(pks) // wanted)
    return pks[::step][:wanted]


def _change_statuses(targets: list[int], writes: int, number: int) -> None:
    """``writes`` studies change their overall status through the service, one
    transaction each (to recruiting, or from recruiting to closed to recruitment)."""
    from trialnode.audit.context import acting_as
    from trialnode.studies.models import Status, Study
    from trialnode.studies.services import study_change_status

    first = (number * writes) % len(targets)
    chosen = [targets[(first + n) % len(targets)] for n in range(writes)]
    with acting_as(via="benchmark"):
        for study in Study.objects.filter(pk__in=chosen):
            status = (
                Status.ACTIVE_NOT_RECRUITING
                if study.status == Status.RECRUITING
                else Status.RECRUITING
            )
            study_change_status(
                study=study, by=None, status=status, effective_date=date.today(), reason="benchmark"
            )


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
