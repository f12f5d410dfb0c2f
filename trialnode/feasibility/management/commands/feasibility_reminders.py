from django.core.management.base import BaseCommand

from trialnode.feasibility.tasks import send_feasibility_reminders


class Command(BaseCommand):
    help = (
        "Queue the feasibility reminders for the worker now (it also runs them daily): units "
        "that have not answered before the reply date, coordinators of inquiries that wait."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--now", action="store_true", help="run here instead of queueing")

    def handle(self, *args, **options) -> None:
        if options["now"]:
            result = send_feasibility_reminders.call()
            self.stdout.write(
                f"{result['recipients_reminded']} units reminded, "
                f"{result['coordinators_alerted']} inquiries reported to coordinators"
            )
            return
        send_feasibility_reminders.enqueue()
        self.stdout.write("Feasibility reminders queued for the worker.")
