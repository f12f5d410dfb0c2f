"""Who may follow a background job: the user who started it."""

from tests.urlaccess import FACTORIES, LOGGED_IN, only, read


def _job(world):
    from trialnode.jobs import services
    from trialnode.jobs.models import Job

    output = services.output_dir() / "url-access-report.pdf"
    output.write_bytes(b"%PDF-1.4\n")
    return Job.objects.create(
        kind=Job.Kind.YEARLY_REPORT,
        state=Job.State.DONE,
        started_by=world.users.coordinator,
        output_path=str(output),
    )


FACTORIES["job"] = _job


def job(world):
    return {"pk": world.job.pk}


URL_ACCESS = {
    "jobs:list": read(LOGGED_IN),
    "jobs:detail": read(only("coordinator", "superuser"), kwargs=job),
    "jobs:output": read(only("coordinator", "superuser"), kwargs=job),
}
