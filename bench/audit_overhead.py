"""The cost of the audit trail on PostgreSQL: single updates and a batch.

1. ``--updates`` study updates (10,000 by default), each in its own transaction,
   through the audited save and through Django's plain ``Model.save`` (the same UPDATE,
   and the same signal receivers, without the trail), interleaved in short rounds so
   both see the same database state and the same load from other work on the machine;
   the ratio of the two times (goal: at most 1.3). Every audited save changes a value,
   so each one writes an event.
2. One audited ``bulk_create`` of a batch of rows: how many times the chain head moved
   (goal: once for the batch).
3. ``audit verify`` throughput over the whole chain, in events per second.

    python bench/audit_overhead.py [--updates 10000] [--json]

Needs PostgreSQL at BENCH_DATABASE_URL (default postgres://root@127.0.0.1:5432/trialnode_bench)
with "_audit" appended; that database is dropped and recreated.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._setup import django_on_bench_database, say


def run(updates: int, rounds: int) -> dict[str, float | int]:
    django_on_bench_database(recreate=True, suffix="_audit")
    from django.db import connection, models, transaction
    from django.test.utils import CaptureQueriesContext

    from trialnode.audit.context import acting_as, because
    from trialnode.audit.models import AuditChainHead, AuditEvent
    from trialnode.audit.trail import verify
    from trialnode.organisations.models import Locality, Region
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

    def statements(update, number: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            update(number)
        return sum(
            1
            for query in queries.captured_queries
            if not query["sql"].startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))
        )

    timings = {"plain": 0.0, "audited": 0.0}
    seq_at_start = AuditChainHead.objects.get(pk=1).seq
    rounds = max(1, min(rounds, updates))
    per_round = updates // rounds
    with acting_as(via="bench"), because("benchmark"):
        for round_number in range(rounds):
            # Numbers never repeat, so every audited save changes the acronym.
            numbers = range(round_number * per_round, (round_number + 1) * per_round)
            order = (("plain", plain), ("audited", audited))
            for label, update in order if round_number % 2 else reversed(order):
                started = time.perf_counter()
                for number in numbers:
                    update(number)
                timings[label] += time.perf_counter() - started
        events_written = AuditChainHead.objects.get(pk=1).seq - seq_at_start
        statements_per_audited_update = statements(audited, updates + 1)
        statements_per_plain_update = statements(plain, updates + 1)

        head_before = AuditChainHead.objects.get(pk=1).seq
        region = Region.objects.order_by("pk").first()
        batch = [
            Locality(name=f"Ort {n}", normalised_name=f"bench-ort-{n}", region=region)
            for n in range(1000)
        ]
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            Locality.objects.bulk_create(batch)
        head_moves = sum(
            1 for q in queries.captured_queries if 'UPDATE "audit_auditchainhead"' in q["sql"]
        )
        batch_events = AuditChainHead.objects.get(pk=1).seq - head_before

    events = AuditEvent.objects.count()
    started = time.perf_counter()
    result = verify()
    verify_seconds = time.perf_counter() - started
    assert result.intact, result.problem
    done = per_round * rounds
    figures: dict[str, float | int] = {
        "updates": done,
        "plain_seconds": round(timings["plain"], 3),
        "audited_seconds": round(timings["audited"], 3),
        "plain_per_second": round(done / timings["plain"]),
        "audited_per_second": round(done / timings["audited"]),
        "ratio": round(timings["audited"] / timings["plain"], 3),
        "goal_ratio": 1.3,
        "events_written": events_written,
        "statements_per_audited_update": statements_per_audited_update,
        "statements_per_plain_update": statements_per_plain_update,
        "batch_rows": len(batch),
        "batch_events": batch_events,
        "batch_chain_head_updates": head_moves,
        "verify_events": events,
        "verify_events_per_second": round(events / verify_seconds),
    }
    say(f"{done} study updates, each in its own transaction ({rounds} interleaved rounds)")
    say(f"  without the trail: {timings['plain']:.2f}s ({figures['plain_per_second']}/s)")
    say(f"  with the trail:    {timings['audited']:.2f}s ({figures['audited_per_second']}/s)")
    say(f"  ratio with/without: {figures['ratio']:.2f} (goal ≤ 1.3)")
    say(f"  audit events written by the audited saves: {events_written}")
    say(
        f"  statements for one update: {statements_per_audited_update} with the trail, "
        f"{statements_per_plain_update} without"
    )
    say(f"bulk_create of {len(batch)} rows: {batch_events} events, head moved {head_moves}×")
    say(f"audit verify: {events} events = {figures['verify_events_per_second']:,} events/s")
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument(
        "--rounds", type=int, default=100, help="interleaved rounds of each (default 100)"
    )
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    arguments = parser.parse_args()
    figures = run(arguments.updates, arguments.rounds)
    if arguments.json:
        print(json.dumps(figures))
