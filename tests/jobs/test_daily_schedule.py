"""The worker runs the daily reminders itself: each daily task waits in the queue once, runs
at the configured local time, queues the next day's run, and sends nothing twice."""

import datetime as dt
from datetime import date, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from trialnode.jobs import schedule
from trialnode.studies.models import StudyContact

STOCKHOLM = timezone.get_default_timezone()


@pytest.fixture
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def waiting_runs() -> list[tuple[str, dt.datetime]]:
    return sorted(
        (row.args_kwargs["args"][0], row.run_after)
        for row in DBTaskResult.objects.filter(
            status="READY", task_path=schedule.daily_run.module_path
        )
    )


def local(*args: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime(*args), STOCKHOLM)


@pytest.mark.django_db
def test_every_daily_task_is_queued_once_however_often_the_worker_starts(database_queue):
    assert schedule.daily_schedule() == list(schedule.DAILY)
    assert schedule.daily_schedule() == []
    assert [name for name, _at in waiting_runs()] == sorted(schedule.DAILY)


@pytest.mark.django_db
def test_the_daily_tasks_wait_for_the_configured_local_time(database_queue, settings):
    settings.TRIALNODE_DAILY_AT = "06:30"
    schedule.daily_schedule()
    for _name, run_after in waiting_runs():
        at = timezone.localtime(run_after, STOCKHOLM)
        assert (at.hour, at.minute) == (6, 30)
        assert timezone.now() < run_after <= timezone.now() + timedelta(days=1)


def test_the_next_run_is_today_before_the_hour_and_tomorrow_after_it(settings):
    settings.TRIALNODE_DAILY_AT = "06:00"
    assert schedule.next_run(local(2026, 3, 2, 5, 59)) == local(2026, 3, 2, 6, 0)
    assert schedule.next_run(local(2026, 3, 2, 6, 0)) == local(2026, 3, 3, 6, 0)
    assert schedule.next_run(local(2026, 3, 2, 23, 0)) == local(2026, 3, 3, 6, 0)
    # The night summer time begins, 06:00 is still 06:00 in Stockholm.
    assert schedule.next_run(local(2026, 3, 28, 12, 0)) == local(2026, 3, 29, 6, 0)


def test_a_time_that_is_not_a_time_of_day_is_a_configuration_error(settings):
    settings.TRIALNODE_DAILY_AT = "six"
    with pytest.raises(ImproperlyConfigured, match="TRIALNODE_DAILY_AT"):
        schedule.next_run()


@pytest.mark.django_db
def test_a_daily_run_mails_the_stale_studies_once_and_queues_tomorrows_run(
    database_queue, make_study
):
    study = make_study(last_confirmed_at=date.today() - timedelta(days=400))
    StudyContact.objects.create(study=study, name="Kontakt", email="kontakt@example.se")

    assert schedule.daily_run.call("stale_studies") == 1
    assert [m.to for m in mail.outbox] == [["kontakt@example.se"]]
    assert [name for name, _at in waiting_runs()] == ["stale_studies"]

    # A second run the same day (a restarted worker) sends nothing more.
    DBTaskResult.objects.all().delete()
    assert schedule.daily_run.call("stale_studies") == 0
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_other_daily_tasks_run_from_the_schedule(database_queue):
    assert schedule.daily_run.call("feasibility_reminders") == {
        "recipients_reminded": 0,
        "coordinators_alerted": 0,
    }
    assert schedule.daily_run.call("datarequest_deadlines") == {"warnings": 0, "escalations": 0}
    assert [name for name, _at in waiting_runs()] == [
        "datarequest_deadlines",
        "feasibility_reminders",
    ]


@pytest.mark.django_db
def test_files_of_uploads_whose_transaction_rolled_back_are_removed_after_a_day(
    settings, tmp_path, users
):
    import os
    import uuid

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import transaction

    from trialnode.datarequests.attachments import folder as attachment_folder
    from trialnode.feasibility.synopses import synopsis_dir
    from trialnode.jobs.models import Job
    from trialnode.jobs.services import job_start, upload_dir

    settings.DATA_DIR = tmp_path
    with pytest.raises(RuntimeError), transaction.atomic():
        job_start(
            kind=Job.Kind.IMPORT_CTGOV,
            by=users.coordinator,
            upload=SimpleUploadedFile("studies.json", b"[]"),
        )
        raise RuntimeError("the request failed after the upload was written")
    (orphan,) = upload_dir().iterdir()
    kept = upload_dir() / f"{uuid.uuid4().hex}-kept.json"
    kept.write_bytes(b"[]")
    Job.objects.create(kind=Job.Kind.IMPORT_CTGOV, started_by=users.coordinator, input_path=kept)
    stray_attachment = attachment_folder() / f"{uuid.uuid4().hex}.pdf"
    stray_synopsis = synopsis_dir() / f"{uuid.uuid4().hex}.pdf"
    unrelated = upload_dir() / "README.txt"
    for path in (stray_attachment, stray_synopsis, unrelated):
        path.write_bytes(b"%PDF-1.4")

    # A day may pass between an upload and its commit: nothing younger is touched.
    assert schedule.orphan_files_remove() == {"attachments": 0, "synopses": 0, "uploads": 0}

    two_days_ago = (timezone.now() - timedelta(days=2)).timestamp()
    for path in (orphan, kept, stray_attachment, stray_synopsis, unrelated):
        os.utime(path, (two_days_ago, two_days_ago))
    assert schedule.orphan_files_remove() == {"attachments": 1, "synopses": 1, "uploads": 1}
    assert not orphan.exists() and not stray_attachment.exists() and not stray_synopsis.exists()
    assert kept.exists() and unrelated.exists()
