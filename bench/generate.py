"""How fast the benchmark generator creates synthetic studies on PostgreSQL.

`synthetic_studies_create` (used by bench/search.py and bench/statistics.py) writes each
batch of studies with their rows, audit events, search documents and rows, status periods
and condition areas, as the registry import does. This times it and extrapolates to
500,000 studies (goal: under 10 minutes).

    python bench/generate.py [--count 50000] [--suffix _generate] [--reuse] [--json]

The database is BENCH_DATABASE_URL with --suffix appended (default "_generate"; pass
--suffix "" to fill BENCH_DATABASE_URL itself); it is dropped and recreated unless
--reuse is given, in which case only the studies missing up to --count are added.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._setup import django_on_bench_database, say


def run(count: int, suffix: str, reuse: bool) -> dict:
    django_on_bench_database(recreate=not reuse, suffix=suffix)
    from trialnode.organisations.models import Region
    from trialnode.organisations.services import reference_data_load
    from trialnode.studies.models import Study
    from trialnode.studies.synthetic import synthetic_studies_create

    if not Region.objects.exists():
        reference_data_load()
    have = Study.objects.count()
    missing = max(0, count - have)
    say(f"{have:,} studies there, creating {missing:,}; load {os.getloadavg()[0]:.2f}")
    started = time.perf_counter()
    made = 0
    step = 10_000
    while made < missing:
        size = min(step, missing - made)
        synthetic_studies_create(size, seed=count + have + made)
        made += size
        elapsed = time.perf_counter() - started
        say(f"  {have + made:>9,} studies, {made / elapsed:,.0f} studies/s")
    seconds = time.perf_counter() - started
    rate = made / seconds if made else 0.0
    if made:
        say(
            f"{made:,} studies in {seconds:.0f}s = {rate:,.0f} studies/s; "
            f"500,000 at this rate: {500_000 / rate / 60:.1f} min (goal < 10 min); "
            f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
    return {
        "benchmark": "generate",
        "studies": have + made,
        "created": made,
        "studies_per_s": round(rate),
        "minutes_for_500k": round(500_000 / rate / 60, 1) if rate else None,
        "load": [round(x, 2) for x in os.getloadavg()],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--suffix", default="_generate")
    parser.add_argument("--reuse", action="store_true", help="keep the studies already there")
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    arguments = parser.parse_args()
    outcome = run(arguments.count, arguments.suffix, arguments.reuse)
    if arguments.json:
        print(orjson.dumps(outcome).decode(), flush=True)
