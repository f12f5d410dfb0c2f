"""Public search API latency on PostgreSQL at 10k, 100k and 500k studies.

Generates synthetic published studies (with sites, conditions and search documents) into a
dedicated database, then times `GET /api/v1/studies` with free text, three filters and all
facets, and the very same SQL statements run raw through the database cursor.

    python bench/search.py [--sizes 10000,100000,500000] [--queries 200]

Needs PostgreSQL at BENCH_DATABASE_URL (default postgres://root@127.0.0.1:5432/trialnode_bench);
the database is dropped and recreated.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._setup import django_on_bench_database, percentiles, say, timed

WORDS = [
    "hjärtsvikt",
    "diabetes",
    "bröstcancer",
    "astma",
    "depression",
    "träning",
    "stroke",
    "psoriasis",
    "metformin",
    "epilepsi",
    "heart failure",
    "migrän",
    "diabets",
    "sepsis",
]
FILTERS = [
    {"region": "uppsala", "recruiting": "true", "study_type": "INTERVENTIONAL"},
    {"region": "stockholm", "sponsor_type": "INDUSTRY", "age_group": "adults"},
    {"region": "skane", "status": "ACTIVE_NOT_RECRUITING", "phase": "PHASE3"},
    {"condition_area": "IX", "recruiting": "true", "sex": "FEMALE"},
    {"region": "orebro", "study_type": "OBSERVATIONAL", "age_group": "older"},
]


def run(sizes: list[int], query_count: int) -> None:
    django_on_bench_database(recreate=True)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from trialnode.organisations.services import reference_data_load
    from trialnode.studies.synthetic import synthetic_studies_create

    reference_data_load()
    client = Client()
    queries = list(
        itertools.islice(
            itertools.cycle([{"q": w, **f} for w, f in itertools.product(WORDS, FILTERS)]),
            query_count,
        )
    )
    have = 0
    say(
        f"{'studies':>8} {'API p50':>9} {'API p95':>9} {'raw p50':>9} {'raw p95':>9} "
        f"{'ratio p50':>9} {'ratio p95':>9} {'hits/query':>10}"
    )
    for size in sizes:
        started = time.perf_counter()
        synthetic_studies_create(size - have, seed=size)
        have = size
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        load_seconds = time.perf_counter() - started

        for params in queries[:10]:  # warm caches and plans
            client.get("/api/v1/studies", params)
        api_times, raw_times, hits = [], [], []
        for params in queries:
            with CaptureQueriesContext(connection) as captured:
                elapsed = timed(lambda p=params: client.get("/api/v1/studies", p))
            api_times.append(elapsed)
            statements = [q["sql"] for q in captured.captured_queries]

            def raw(statements=statements):
                with connection.cursor() as cursor:
                    for sql in statements:
                        cursor.execute(sql)
                        cursor.fetchall()

            raw_times.append(timed(raw))
            hits.append(client.get("/api/v1/studies", params).json()["count"])
        api50, api95 = percentiles(api_times)
        raw50, raw95 = percentiles(raw_times)
        say(
            f"{size:>8} {api50:>8.1f}ms {api95:>8.1f}ms {raw50:>8.1f}ms {raw95:>8.1f}ms "
            f"{api50 / raw50:>9.2f} {api95 / raw95:>9.2f} {sum(hits) / len(hits):>10.0f}"
            f"   (loaded in {load_seconds:.0f}s)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,500000")
    parser.add_argument("--queries", type=int, default=200)
    arguments = parser.parse_args()
    run([int(s) for s in arguments.sizes.split(",")], arguments.queries)
