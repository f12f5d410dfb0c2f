"""The one task the queue runs: a ``Job``, by the runner registered for its kind."""

from __future__ import annotations

from django_tasks import task

from trialnode.jobs import services


@task()
def run_job(job_id: int) -> str:
    return services.job_run(job_id)
