from django.core.management.base import BaseCommand

from trialnode.organisations.services import reference_data_load


class Command(BaseCommand):
    help = "Load or update regions, nodes, care providers and localities from the shipped data."

    def handle(self, *args, **options) -> None:
        summary = reference_data_load()
        self.stdout.write(
            f"Reference data: {summary.healthcare_regions} healthcare regions, "
            f"{summary.regions} regions, {summary.nodes} nodes, "
            f"{summary.care_providers} care providers, {summary.localities} localities."
        )
