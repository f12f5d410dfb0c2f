from django.core.management.base import BaseCommand

from trialnode.audit.context import acting_as
from trialnode.datarequests.deadlines import deadlines_check


class Command(BaseCommand):
    help = "Warn before and escalate after the deadlines of health-data request stages."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--queue", action="store_true", help="run as a background task")

    def handle(self, *args, queue: bool = False, **options) -> None:
        if queue:
            from trialnode.datarequests.tasks import deadlines_check_task

            deadlines_check_task.enqueue()
            self.stdout.write("queued")
            return
        with acting_as(via="command:datarequest_deadlines"):
            run = deadlines_check()
        self.stdout.write(f"{run.warnings} warnings, {run.escalations} escalations")
