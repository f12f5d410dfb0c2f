"""Registry imports started in the web interface, run as background jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from trialnode.interop.files import import_ctgov_paths, import_ctis_paths
from trialnode.interop.upsert import ImportSummary
from trialnode.jobs.models import Job
from trialnode.jobs.services import Report

REJECTIONS_KEPT = 1000


def counts_message(summary: ImportSummary) -> str:
    return _(
        "%(seen)d records read: %(created)d new, %(updated)d updated, "
        "%(unchanged)d unchanged, %(outside)d outside Sweden (skipped), %(rejected)d rejected"
    ) % {
        "seen": summary.seen,
        "created": summary.created,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "outside": summary.outside_sweden,
        "rejected": len(summary.rejected),
    }


def run_registry_import(job: Job, report: Report) -> dict[str, Any]:
    importer = import_ctgov_paths if job.kind == Job.Kind.IMPORT_CTGOV else import_ctis_paths
    summary = importer(
        [Path(job.input_path)],
        progress=lambda counted, fraction: report(fraction, counts_message(counted)),
    )
    report(1.0, counts_message(summary))
    return {
        "created": summary.created,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "outside_sweden": summary.outside_sweden,
        "unplaced_sites": summary.unplaced_sites,
        "rejected_count": len(summary.rejected),
        "rejected": [list(item) for item in summary.rejected[:REJECTIONS_KEPT]],
    }
