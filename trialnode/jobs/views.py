"""Following background jobs: the list of one's jobs and a page per job that updates itself."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from trialnode.jobs.services import job_for, jobs_for
from trialnode.organisations.http import AuthenticatedHttpRequest


@login_required
@require_GET
def job_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    jobs = jobs_for(request.user).select_related("started_by")[:100]
    return render(request, "jobs/job_list.html", {"jobs": jobs})


@login_required
@require_GET
def job_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    job = job_for(request.user, pk)
    template = (
        "jobs/_progress.html" if request.headers.get("HX-Request") else "jobs/job_detail.html"
    )
    return render(request, template, {"job": job})


@login_required
@require_GET
def job_output(request: AuthenticatedHttpRequest, pk: int) -> FileResponse:
    job = job_for(request.user, pk)
    path = Path(job.output_path) if job.output_path else None
    if path is None or not path.is_file():
        raise Http404
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)
