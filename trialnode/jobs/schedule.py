"""Daily work that no one starts by hand: reminders, deadline warnings, re-confirmation mail.

``trialnode worker`` queues each daily task to run at ``TRIALNODE_DAILY_AT`` (local time)
unless it already waits in the queue; each run queues the next day's. The tasks record
what they sent, so a run that comes twice (two workers, a restart) sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import task

from trialnode.audit.context import acting_as

# Name: the function that does the day's work (a plain callable, or a task's ``call``).
DAILY: dict[str, str] = {
    "feasibility_reminders": "trialnode.feasibility.tasks.send_feasibility_reminders",
    "datarequest_deadlines": "trialnode.datarequests.tasks.deadlines_check_task",
    "stale_studies": "trialnode.studies.services.stale_studies_notify",
    "orphan_files": "trialnode.jobs.schedule.orphan_files_remove",
}


def orphan_files_remove() -> dict[str, int]:
    """Uploads left behind by transactions that rolled back (see ``core.orphans``)."""
    from trialnode.datarequests.attachments import orphans_remove as attachments
    from trialnode.feasibility.synopses import orphan_synopses_remove as synopses
    from trialnode.jobs.services import orphan_uploads_remove as uploads

    return {"attachments": attachments(), "synopses": synopses(), "uploads": uploads()}


def daily_time() -> dt.time:
    raw = settings.TRIALNODE_DAILY_AT
    try:
        return dt.time.fromisoformat(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"TRIALNODE_DAILY_AT must be a time of day such as 06:00, not {raw!r}"
        ) from exc


def next_run(after: dt.datetime | None = None) -> dt.datetime:
    """The first daily time (in the installation's time zone) later than ``after``."""
    local = timezone.localtime(after or timezone.now())
    at = daily_time()
    candidate = local.replace(hour=at.hour, minute=at.minute, second=at.second, microsecond=0)
    if candidate <= local:
        candidate = timezone.make_aware(
            dt.datetime.combine(local.date() + dt.timedelta(days=1), at)
        )
    return candidate


@task()
def daily_run(name: str) -> Any:
    """Do one day's run of ``name`` and queue the next."""
    target = import_string(DAILY[name])
    with acting_as(via=f"schedule:{name}"):
        result = target.call() if hasattr(target, "call") else target()
    daily_queue(name, after=timezone.now())
    return result


def _waiting(name: str) -> bool:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        status="READY", task_path=daily_run.module_path, args_kwargs__args__0=name
    ).exists()


def daily_queue(name: str, *, after: dt.datetime | None = None) -> bool:
    """Queue the next run of ``name`` unless one already waits; False when nothing queued."""
    if name not in DAILY:
        raise KeyError(name)
    if not daily_run.get_backend().supports_defer or _waiting(name):
        return False
    daily_run.using(run_after=next_run(after)).enqueue(name)
    return True


def daily_schedule() -> list[str]:
    """Queue every daily task that is not waiting yet; returns the names queued."""
    return [name for name in DAILY if daily_queue(name)]
