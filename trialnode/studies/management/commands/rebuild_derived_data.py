"""Recompute what is derived from the studies' audited records: status periods (from the
status history), condition areas (from codes and registry terms), search documents and the
public search rows.
Run it after restoring an old backup or upgrading to a version that derives more."""

from django.core.management.base import BaseCommand

from trialnode.studies import search
from trialnode.studies.concepts import rebuild_all_condition_areas
from trialnode.studies.models import Study
from trialnode.studies.searchrows import rebuild_search_rows
from trialnode.studies.spans import rebuild_all_spans

CHUNK = 2000


class Command(BaseCommand):
    help = (
        "Recompute the status periods, condition areas, search documents and public search "
        "rows of every study."
    )

    def handle(self, *args, **options) -> None:
        periods = rebuild_all_spans()
        areas = rebuild_all_condition_areas()
        ids = list(Study.objects.order_by("pk").values_list("pk", flat=True))
        for offset in range(0, len(ids), CHUNK):
            search.index_studies(ids[offset : offset + CHUNK])
        rows = rebuild_search_rows()
        self.stdout.write(
            f"{periods} status periods, {areas} condition areas, {len(ids)} search documents, "
            f"{rows} public search rows"
        )
