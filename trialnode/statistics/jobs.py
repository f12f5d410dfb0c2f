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
    language = job.params.get("language", "sv")
    report(None, _("Counting and drawing the report"))
    name = "kliniska-studier" if language == "sv" else "clinical-studies"
    out = output_dir() / f"{name}-{node.slug}-{year}-{job.pk}.pdf"
    write_report(year, node, out, language=language)
    job.output_path = str(out)
    return {"year": year, "node": node.slug, "language": language}
