"""Recompute every study's status periods from its history (after restoring an old backup)."""

from django.core.management.base import BaseCommand

from trialnode.studies.spans import rebuild_all_spans


class Command(BaseCommand):
    help = "Recompute the status periods the statistics count from, for every study."

    def handle(self, *args, **options) -> None:
        count = rebuild_all_spans()
        self.stdout.write(f"{count} status periods")
