"""Signed checkpoints on a schedule: each run writes one and queues the next."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from trialnode.audit.checkpoints import checkpoint_write


@task()
def audit_checkpoint() -> str:
    checkpoint = checkpoint_write()
    checkpoint_schedule(after=timezone.now() + interval())
    return str(checkpoint.path)


def interval() -> dt.timedelta:
    return dt.timedelta(hours=max(1, settings.TRIALNODE_AUDIT_CHECKPOINT_HOURS))


def checkpoint_schedule(*, after: dt.datetime | None = None) -> bool:
    """Queue the next scheduled checkpoint unless one is already waiting; only on a queue
    that can wait (the database queue of ``trialnode worker``)."""
    from django_tasks_db.models import DBTaskResult

    if not audit_checkpoint.get_backend().supports_defer:
        return False
    waiting = DBTaskResult.objects.filter(status="READY", task_path=audit_checkpoint.module_path)
    if waiting.exists():
        return False
    audit_checkpoint.using(run_after=after).enqueue()
    return True
