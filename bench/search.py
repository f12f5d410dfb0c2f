"""Public search latency on PostgreSQL against a naive flat table, at 10k to 500k studies.

Generates synthetic published studies into a dedicated database (or reuses them), then
builds in the same database, from the same studies, the naive baseline: one row per
published study with its titles, conditions and summary in a weighted tsvector (GIN
index), and status, first region, type, phase and sponsor class (btree indexes); a
search there is one results query and three facet queries. Two kinds of search:

  - text + 3 filters + facets: a word and three filters the flat table can express;
    trialnode answers with every facet, through `GET /api/v1/studies` (the whole API),
  - broad: one word matching about 10 % of the studies, no filter,
  - filters only: no text, and no filter, one or two (``FILTERS_ONLY``), as a visitor
    starts; no goal of its own.

For each it prints trialnode's p50/p95, the baseline's p50/p95 (the same search as raw SQL
over the flat table) and the ratio of the p95s. Goals: ratio <= 3; p95 <= 50 ms (text +
filters) and <= 150 ms (broad) at 500k.

    python bench/search.py [--sizes 10000,100000,500000] [--queries 200] [--reuse] [--json]

Needs PostgreSQL at BENCH_DATABASE_URL (default postgres://root@127.0.0.1:5432/trialnode_bench).
Each size has a database of its own, BENCH_DATABASE_URL with the suffix ``_<size>``
(``trialnode_bench_100000``), measured in a process of its own. A size's database starts
as a copy (``CREATE DATABASE ... TEMPLATE``) of the next smaller size's and is grown to
its size with ``synthetic_studies_create``, so a run builds 10k, then 100k from it, then
500k from that. Without --reuse the databases of the sizes asked for are dropped and
rebuilt; with --reuse a size's database is measured again as it is (grown if it has
fewer studies), and a missing one is copied from the largest smaller one there.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from bench._setup import BENCH_DATABASE, django_on_bench_database, percentiles, say, timed

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
    "migrän",
    "diabets",
    "sepsis",
]
# Filters the flat table can express too: region (its first region), status, type, phase,
# sponsor class.
FILTERS = [
    {"region": "uppsala", "recruiting": "true", "study_type": "INTERVENTIONAL"},
    {"region": "stockholm", "sponsor_type": "INDUSTRY", "study_type": "INTERVENTIONAL"},
    {"region": "skane", "status": "ACTIVE_NOT_RECRUITING", "phase": "PHASE3"},
    {"region": "vastra-gotaland", "recruiting": "true", "sponsor_type": "ACADEMIC"},
    {"region": "orebro", "study_type": "OBSERVATIONAL", "status": "COMPLETED"},
]
# Searches without text, as a visitor starts: everything, one filter, two filters.
FILTERS_ONLY = [
    {},
    {"recruiting": "true"},
    {"region": "uppsala"},
    {"region": "stockholm", "recruiting": "true"},
]
BROAD_CANDIDATES = ["studie", "behandling", "patienter", "cancer", "diabetes", "hjärt", "vid"]

FLAT_TABLE = """
DROP TABLE IF EXISTS bench_flat_search;
CREATE TABLE bench_flat_search AS
SELECT s.id,
       setweight(to_tsvector('swedish', s.title_sv || ' ' || s.title_en), 'A')
       || setweight(to_tsvector('swedish', coalesce(c.texts, '') || ' ' || s.summary_sv), 'B')
       AS tsv,
       s.status, f.region_id, s.study_type, s.phase, s.sponsor_type, s.updated_at
FROM studies_study s
LEFT JOIN LATERAL (SELECT string_agg(text, ' ') AS texts FROM studies_studycondition
                   WHERE study_id = s.id) c ON true
LEFT JOIN LATERAL (SELECT region_id FROM studies_studysite WHERE study_id = s.id
                   ORDER BY id LIMIT 1) f ON true
WHERE s.registration_state = 'published';
CREATE INDEX bench_flat_tsv ON bench_flat_search USING gin (tsv);
CREATE INDEX bench_flat_status ON bench_flat_search (status);
CREATE INDEX bench_flat_region ON bench_flat_search (region_id);
CREATE INDEX bench_flat_type ON bench_flat_search (study_type);
CREATE INDEX bench_flat_phase ON bench_flat_search (phase);
CREATE INDEX bench_flat_sponsor ON bench_flat_search (sponsor_type);
ANALYZE bench_flat_search;
"""


def _flat_statements(params: dict[str, str], regions: dict[str, int]) -> list[tuple[str, list]]:
    """The baseline's four statements for a search: results, then three facets."""
    where, values = [], []
    if "q" in params:
        where.append("tsv @@ plainto_tsquery('swedish', %s)")
        values.append(params["q"])
    for name, value in params.items():
        if name == "region":
            where.append("region_id = %s")
            values.append(regions[value])
        elif name == "recruiting":
            where.append("status = 'RECRUITING'")
        elif name in ("status", "study_type", "phase", "sponsor_type"):
            where.append(f"{name} = %s")
            values.append(value)
    condition = " AND ".join(where) or "true"
    # Without text, the newest first (trialnode's order then too).
    rank = "ts_rank(tsv, plainto_tsquery('swedish', %s)) DESC, " if "q" in params else ""
    rank_values = [params["q"]] if "q" in params else []
    statements = [
        (
            f"SELECT id FROM bench_flat_search WHERE {condition} "
            f"ORDER BY {rank}updated_at DESC, id DESC LIMIT 20",
            [*values, *rank_values],
        )
    ]
    for column in ("status", "region_id", "study_type"):
        statements.append(
            (
                f"SELECT {column}, COUNT(*) FROM bench_flat_search WHERE {condition} "
                f"GROUP BY {column}",
                values,
            )
        )
    return statements


def _measure(client, connection, searches, regions) -> dict[str, float]:
    def flat(params):
        with connection.cursor() as cursor:
            for sql, values in _flat_statements(params, regions):
                cursor.execute(sql, values)
                cursor.fetchall()

    for params in searches[:10]:  # warm caches and plans
        client.get("/api/v1/studies", params)
        flat(params)
    ours, baseline, hits = [], [], []
    for params in searches:
        ours.append(timed(lambda p=params: client.get("/api/v1/studies", p)))
        baseline.append(timed(lambda p=params: flat(p)))
    for params in searches[:20]:
        hits.append(client.get("/api/v1/studies", params).json()["count"])
    p50, p95 = percentiles(ours)
    b50, b95 = percentiles(baseline)
    return {
        "p50_ms": round(p50, 1),
        "p95_ms": round(p95, 1),
        "baseline_p50_ms": round(b50, 1),
        "baseline_p95_ms": round(b95, 1),
        "ratio_p95": round(p95 / b95, 2),
        "hits_per_query": round(sum(hits) / len(hits)),
    }


HEADER = (
    f"{'studies':>8} {'search':<16} {'p50':>7} {'p95':>7} {'flat p50':>9} {'flat p95':>9} "
    f"{'p95 ratio':>9} {'hits':>7}  load"
)


def _admin() -> psycopg.Connection:
    admin_url = BENCH_DATABASE.rsplit("/", 1)[0].replace("postgres://", "postgresql://")
    return psycopg.connect(admin_url + "/postgres", autocommit=True)


def _database_name(size: int) -> str:
    return f"{BENCH_DATABASE.rsplit('/', 1)[1]}_{size}"


def _prepare_database(size: int, reuse: bool, built: list[int]) -> None:
    """Make the database of ``size`` exist: kept as it is (``reuse``), or a copy of the
    next smaller size's (the one built just before in this run; with ``reuse`` the largest
    smaller one there), or empty when there is none."""
    name = _database_name(size)
    prefix = _database_name(0)[:-1]
    with _admin() as admin:
        present = {row[0] for row in admin.execute("SELECT datname FROM pg_database")}
        if name in present:
            if reuse:
                return
            admin.execute(f'DROP DATABASE "{name}"')
        if reuse:
            there = [d.removeprefix(prefix) for d in present if d.startswith(prefix)]
            smaller = [int(n) for n in there if n.isdigit() and int(n) < size]
        else:
            smaller = [n for n in built if n < size]
        if not smaller:
            admin.execute(f'CREATE DATABASE "{name}"')
            return
        template = _database_name(max(smaller))
        say(f"{name}: a copy of {template}")
        for attempt in range(30):  # refused while anyone is connected to the template
            try:
                admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                return
            except psycopg.errors.ObjectInUse:
                if attempt == 29:
                    raise
                time.sleep(1)


def run(sizes: list[int], query_count: int, reuse: bool) -> dict:
    """Measure every size, each in a child process on its own database."""
    say(HEADER)
    results: list[dict] = []
    built: list[int] = []
    for size in sorted(sizes):
        _prepare_database(size, reuse, built)
        built.append(size)
        command = [
            sys.executable,
            __file__,
            "--size-only",
            str(size),
            "--queries",
            str(query_count),
        ]
        last = ""
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
            assert child.stdout is not None
            for line in child.stdout:
                if last:
                    say(last)
                last = line.rstrip("\n")
        if child.returncode:
            raise SystemExit(f"measuring {size} studies failed ({child.returncode})")
        results.extend(json.loads(last))
    return {"benchmark": "search", "results": results}


def run_size(size: int, query_count: int) -> list[dict]:
    """Grow the database of ``size`` to it if needed and measure it (one process)."""
    django_on_bench_database(recreate=False, suffix=f"_{size}")
    from django.db import connection
    from django.test import Client

    from trialnode.organisations.models import Region
    from trialnode.organisations.services import reference_data_load
    from trialnode.studies.models import Study
    from trialnode.studies.synthetic import synthetic_studies_create

    if not Region.objects.exists():
        reference_data_load()
    regions = dict(Region.objects.values_list("slug", "pk"))
    client = Client()
    text_searches = list(
        itertools.islice(
            itertools.cycle([{"q": w, **f} for w, f in itertools.product(WORDS, FILTERS)]),
            query_count,
        )
    )
    results: list[dict] = []
    started = time.perf_counter()
    have = Study.objects.count()
    if have < size:
        synthetic_studies_create(size - have, seed=size)
    with connection.cursor() as cursor:
        # Statistics first: without them (a freshly generated or copied database) the
        # flat table's statement joins every study with every site.
        cursor.execute("ANALYZE")
        cursor.execute(FLAT_TABLE)
        cursor.execute("VACUUM ANALYZE")
        counts = {}
        total = Study.objects.published().count()
        for word in BROAD_CANDIDATES:
            cursor.execute(
                "SELECT COUNT(*) FROM bench_flat_search "
                "WHERE tsv @@ plainto_tsquery('swedish', %s)",
                [word],
            )
            counts[word] = cursor.fetchone()[0]
    broad_word = min(counts, key=lambda w: abs(counts[w] / max(total, 1) - 0.10))
    prepare_seconds = time.perf_counter() - started
    broad_searches = [{"q": broad_word}] * max(20, query_count // 4)
    filter_searches = list(
        itertools.islice(itertools.cycle(FILTERS_ONLY), max(20, query_count // 4))
    )
    for name, searches in (
        ("text+3 filters", text_searches),
        ("broad", broad_searches),
        ("filters only", filter_searches),
    ):
        figures = _measure(client, connection, searches, regions)
        load = os.getloadavg()[0]
        say(
            f"{size:>8} {name:<16} {figures['p50_ms']:>6.1f}ms {figures['p95_ms']:>6.1f}ms "
            f"{figures['baseline_p50_ms']:>8.1f}ms {figures['baseline_p95_ms']:>8.1f}ms "
            f"{figures['ratio_p95']:>9.2f} {figures['hits_per_query']:>7}  {load:.2f}"
        )
        results.append(
            {
                "studies": size,
                "search": name,
                **figures,
                "load": round(load, 2),
                "word": broad_word if name == "broad" else None,
                "prepare_s": round(prepare_seconds),
            }
        )
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,500000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--reuse", action="store_true", help="keep the studies already there")
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    parser.add_argument("--size-only", type=int, help=argparse.SUPPRESS)  # the child's size
    arguments = parser.parse_args()
    if arguments.size_only:
        print(json.dumps(run_size(arguments.size_only, arguments.queries)), flush=True)
        sys.exit(0)
    outcome = run([int(s) for s in arguments.sizes.split(",")], arguments.queries, arguments.reuse)
    if arguments.json:
        print(json.dumps(outcome), flush=True)
