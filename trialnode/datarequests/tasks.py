"""Background work of the health-data requests."""

from __future__ import annotations

from django_tasks import task

from trialnode.audit.context import acting_as
from trialnode.datarequests.deadlines import deadlines_check


@task()
def deadlines_check_task() -> dict[str, int]:
    with acting_as(via="job:datarequest_deadlines"):
        run = deadlines_check()
    return {"warnings": run.warnings, "escalations": run.escalations}
