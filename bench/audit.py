"""The cost of the audit trail on PostgreSQL.

1. 10,000 study updates, each in its own transaction, through the audited save and
   through Django's plain ``Model.save`` (the same UPDATE without the trail); the ratio
   of the two times.
2. ``audit verify`` throughput in events per second over the whole chain.

    python bench/audit.py [--updates 10000]

Needs PostgreSQL at BENCH_DATABASE_URL (default postgres://root@127.0.0.1:5432/trialnode_bench) with "_audit" appended;
the database is dropped and recreated.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._setup import django_on_bench_database, say


def run(updates: int) -> None:
    django_on_bench_database(recreate=True, suffix="_audit")
    from django.db import models, transaction

    from trialnode.audit.context import acting_as, because
    from trialnode.audit.models import AuditEvent
    from trialnode.audit.trail import verify
    from trialnode.organisations.services import reference_data_load
    from trialnode.studies.models import Study
    from trialnode.studies.synthetic import synthetic_studies_create

    reference_data_load()
    synthetic_studies_create(1000, seed=7)
    studies = list(Study.objects.order_by("pk")[:1000])

    def audited(number: int) -> None:
        study = studies[number % len(studies)]
        study.acronym = f"A{number}"
        with transaction.atomic():
            study.save()

    def plain(number: int) -> None:
        study = studies[number % len(studies)]
        study.acronym = f"P{number}"
        with transaction.atomic():
            models.Model.save(study)

    timings = {}
    with acting_as(via="bench"), because("benchmark"):
        for label, update in (
            ("plain", plain),
            ("audited", audited),
            ("plain", plain),
            ("audited", audited),
        ):
            started = time.perf_counter()
            for number in range(updates // 2):
                update(number)
            timings[label] = timings.get(label, 0.0) + time.perf_counter() - started
    say(f"{updates} study updates, each in its own transaction")
    say(f"  without the trail: {timings['plain']:.2f}s ({updates / timings['plain']:.0f}/s)")
    say(f"  with the trail:    {timings['audited']:.2f}s ({updates / timings['audited']:.0f}/s)")
    say(f"  ratio with/without: {timings['audited'] / timings['plain']:.2f}")

    events = AuditEvent.objects.count()
    started = time.perf_counter()
    result = verify()
    seconds = time.perf_counter() - started
    assert result.intact, result.problem
    say(f"audit verify: {events} events in {seconds:.2f}s = {events / seconds:,.0f} events/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=10_000)
    run(parser.parse_args().updates)
