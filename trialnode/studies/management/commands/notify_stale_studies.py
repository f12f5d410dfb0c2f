from django.core.management.base import BaseCommand

from trialnode.studies.services import stale_studies_notify


class Command(BaseCommand):
    help = "E-mail the contacts of published studies that are due for re-confirmation."

    def handle(self, *args, **options) -> None:
        sent = stale_studies_notify()
        self.stdout.write(f"Re-confirmation requests sent for {sent} studies.")
