"""The yearly report made from the staff view, as a background job."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from trialnode.jobs.models import Job
from trialnode.jobs.services import Report, output_dir
from trialnode.organisations.models import Node
from trialnode.statistics.report import write_report


def run_yearly_report(job: Job, report: Report) -> dict[str, Any]:
    year = int(job.params["year"])
    node = Node.objects.get(slug=job.params["node"])
    report(None, _("Counting and drawing the report"))
    out = output_dir() / f"kliniska-studier-{node.slug}-{year}-{job.pk}.pdf"
    write_report(year, node, out)
    job.output_path = str(out)
    return {"year": year, "node": node.slug}
