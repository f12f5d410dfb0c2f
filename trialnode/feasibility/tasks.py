"""The reminder jobs, run by ``trialnode worker``: they load nothing themselves and call
the services."""

from __future__ import annotations

from django_tasks import task

from trialnode.audit.context import acting_as
from trialnode.feasibility import services


@task()
def send_feasibility_reminders() -> dict[str, int]:
    """Remind units before the reply date and alert coordinators of inquiries that wait."""
    with acting_as(via="job:feasibility_reminders"):
        return {
            "recipients_reminded": services.reminders_send(),
            "coordinators_alerted": services.stage_alerts_send(),
        }
