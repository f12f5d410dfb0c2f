"""Starting, running and following background jobs.

A runner is a function ``run(job, report) -> dict``: it does the work, calls
``report(fraction, message)`` as it goes (fraction from 0 to 1, or None when it cannot
tell), may set ``job.output_path``, and returns the result to keep on the job. Runners
are named by dotted path so that the apps that own the work need not be imported here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from trialnode.audit.context import acting_as
from trialnode.jobs.models import Job

RUNNERS: dict[str, str] = {
    Job.Kind.IMPORT_CTGOV: "trialnode.interop.jobs.run_registry_import",
    Job.Kind.IMPORT_CTIS: "trialnode.interop.jobs.run_registry_import",
    Job.Kind.YEARLY_REPORT: "trialnode.statistics.jobs.run_yearly_report",
}
Report = Callable[[float | None, str], None]


def upload_dir() -> Path:
    folder = Path(settings.DATA_DIR) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def output_dir() -> Path:
    folder = Path(settings.DATA_DIR) / "outputs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name)[-120:] or "upload"


def job_start(
    *, kind: str, by, params: dict[str, Any] | None = None, upload: UploadedFile | None = None
) -> Job:
    """Queue a job (with its uploaded input saved beside the data) to run after commit."""
    from trialnode.jobs.tasks import run_job

    job = Job(
        kind=kind, started_by=by, params=params or {}, language=translation.get_language() or ""
    )
    if upload is not None:
        name = upload.name or ""
        target = upload_dir() / f"{uuid.uuid4().hex}-{_safe_name(name)}"
        with target.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        job.input_name = name[:255]
        job.input_path = str(target)
    job.save()
    transaction.on_commit(lambda: run_job.enqueue(job.pk))
    return job


UPLOAD_NAME = re.compile(r"^[0-9a-f]{32}-[A-Za-z0-9._-]+$")


def orphan_uploads_remove() -> int:
    """Remove uploaded job inputs that no job names (see ``core.orphans``)."""
    from trialnode.core.orphans import orphans_remove

    return orphans_remove(
        upload_dir(),
        pattern=UPLOAD_NAME,
        referenced=Job.objects.values_list("input_path", flat=True),
    )


def job_run(job_id: int) -> str:
    """Run a queued job to its end; a failure is kept on the job, never raised further."""
    job = Job.objects.get(pk=job_id)
    if job.state != Job.State.QUEUED:
        return job.state
    with translation.override(job.language or settings.LANGUAGE_CODE):
        return _run(job)


def _run(job: Job) -> str:
    job.state = Job.State.RUNNING
    job.started_at = timezone.now()
    job.message = _("Started")
    job.save()

    def report(fraction: float | None, message: str) -> None:
        job.progress = fraction
        job.message = message[:300]
        Job.objects.filter(pk=job.pk).update(progress=fraction, message=job.message)

    runner = import_string(RUNNERS[job.kind])
    try:
        with acting_as(actor=job.started_by, via=f"job:{job.kind}"):
            result = runner(job, report)
    except Exception as exc:
        job.state = Job.State.FAILED
        job.error = f"{type(exc).__name__}: {exc}"[:5000]
    else:
        job.state = Job.State.DONE
        job.result = result
        job.progress = 1.0
    job.finished_at = timezone.now()
    job.save()
    if job.input_path:
        Path(job.input_path).unlink(missing_ok=True)
    return job.state


def jobs_for(user):
    """The jobs a user may follow: their own (all of them for a superuser)."""
    if not user.is_authenticated:
        return Job.objects.none()
    if user.is_superuser:
        return Job.objects.all()
    return Job.objects.filter(started_by=user)


def job_for(user, pk: int) -> Job:
    job = jobs_for(user).filter(pk=pk).first()
    if job is None:
        raise PermissionDenied(_("This job is not yours to follow."))
    return job
