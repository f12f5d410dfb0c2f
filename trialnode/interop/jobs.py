"""Registry imports started in the web interface, run as background jobs."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from trialnode.audit.context import because
from trialnode.interop.files import import_ctgov_paths, import_ctis_paths
from trialnode.interop.upsert import ImportSummary
from trialnode.jobs.models import Job
from trialnode.jobs.services import Report
from trialnode.organisations.models import Role, User

REJECTIONS_KEPT = 1000
REASONS_KEPT = 20
"""The most frequent reasons are counted one by one on the job page, the others together."""


def counts_message(summary: ImportSummary) -> str:
    return _(
        "Records read: %(seen)d. New: %(created)d, updated: %(updated)d, unchanged: "
        "%(unchanged)d, outside Sweden (skipped): %(outside)d, rejected: %(rejected)d"
    ) % {
        "seen": summary.seen,
        "created": summary.created,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "outside": summary.outside_sweden,
        "rejected": len(summary.rejected),
    }


def may_import(user: User) -> bool:
    """Registry files are uploaded by those who may edit the studies they change: the
    coordinators (and superusers)."""
    return user.is_superuser or user.has_role(Role.COORDINATOR)


def import_regions(user: User) -> frozenset[int] | None:
    """The regions whose studies an upload by ``user`` may create or change (None: any):
    those where the user coordinates, as for editing a study.

    Only a superuser changes any record from an uploaded file; the registry sync and the
    command line, run by the node's operators, are not limited.
    """
    if user.is_superuser:
        return None
    return frozenset(user.region_ids_for(Role.COORDINATOR))


def run_registry_import(job: Job, report: Report) -> dict[str, Any]:
    importer = import_ctgov_paths if job.kind == Job.Kind.IMPORT_CTGOV else import_ctis_paths
    upload = Path(job.input_path)
    with because(_("Imported from the uploaded file %(name)s") % {"name": job.input_name}):
        summary = importer(
            [upload],
            regions=import_regions(job.started_by),
            # Rejected records say where they were in the file as the user named it.
            names={upload: Path(job.input_name).name},
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
        **rejections_by_reason(summary),
    }


def rejections_by_reason(summary: ImportSummary) -> dict[str, Any]:
    """How many records were rejected for each reason, most frequent first (the first
    ``REASONS_KEPT``; the records of the other reasons together): they add up to the
    rejected records, also those beyond the ones listed."""
    reasons = Counter(reason for _where, reason in summary.rejected).most_common()
    kept = reasons[:REASONS_KEPT]
    return {
        "rejected_reasons": [[reason, count] for reason, count in kept],
        "rejected_other_reasons": sum(count for _reason, count in reasons[REASONS_KEPT:]),
    }
