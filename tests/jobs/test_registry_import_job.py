"""A registry import started in the web interface runs as a job whose page shows its progress."""

import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from trialnode.audit.models import AuditEvent
from trialnode.jobs.models import Job
from trialnode.studies.models import Source, Study


def _upload(client, registry, name, content, capture):
    with capture(execute=True):
        return client.post(
            reverse("registry_import"),
            {"registry": registry, "file": SimpleUploadedFile(name, content)},
        )


def test_an_uploaded_file_is_imported_in_the_background_and_the_page_shows_the_outcome(
    client, users, sample_data, django_capture_on_commit_callbacks
):
    client.force_login(users.coordinator)
    content = (sample_data / "ctgov" / "sweden.json").read_bytes()
    response = _upload(client, "ctgov", "sweden.json", content, django_capture_on_commit_callbacks)
    job = Job.objects.get()
    assert response.status_code == 302 and response.url == reverse("jobs:detail", args=[job.pk])
    assert (job.state, job.progress, job.started_by) == (Job.State.DONE, 1.0, users.coordinator)
    assert job.result["created"] == 18
    assert Study.objects.filter(source=Source.CTGOV).count() == 18

    page = client.get(response.url)
    assert "100 %" in page.content.decode() and "18 new" in page.content.decode()
    assert "every 2s" not in page.content.decode()  # finished: the page stops asking

    # The imported studies are attributed to the coordinator, through the job.
    event = AuditEvent.objects.filter(object_type="studies.study").first()
    assert event.actor == users.coordinator
    assert json.loads(event.payload)["via"] == "job:import_ctgov"
    # Start and end are in the trail; the progress updates in between are not.
    job_events = AuditEvent.objects.filter(object_type="jobs.job", object_id=str(job.pk))
    assert [e.action for e in job_events.order_by("seq")] == ["create", "transition", "transition"]


def test_a_file_that_is_not_a_ctis_download_fails_the_job_and_changes_nothing(
    client, users, django_capture_on_commit_callbacks
):
    client.force_login(users.coordinator)
    _upload(client, "ctis", "other.csv", b"Number;Name\n1;x\n", django_capture_on_commit_callbacks)
    job = Job.objects.get()
    assert job.state == Job.State.FAILED
    assert "missing columns: trial number" in job.error
    assert not Study.objects.exists()
    assert "missing columns" in client.get(reverse("jobs:detail", args=[job.pk])).content.decode()


def test_a_running_job_page_asks_for_progress_and_others_cannot_follow_it(client, users):
    job = Job.objects.create(
        kind=Job.Kind.IMPORT_CTGOV, started_by=users.coordinator, state=Job.State.RUNNING
    )
    Job.objects.filter(pk=job.pk).update(progress=0.25, message="5 records read")
    client.force_login(users.coordinator)
    fragment = client.get(reverse("jobs:detail", args=[job.pk]), HTTP_HX_REQUEST="true")
    text = fragment.content.decode()
    assert 'hx-trigger="every 2s"' in text and 'value="25"' in text and "5 records read" in text
    assert "<html" not in text

    client.force_login(users.other_coordinator)
    assert client.get(reverse("jobs:detail", args=[job.pk])).status_code == 403


def test_only_staff_who_manage_registry_data_may_start_an_import(client, users):
    client.force_login(users.registrant)
    assert client.get(reverse("registry_import")).status_code == 403
    client.force_login(users.node_admin)
    assert client.get(reverse("registry_import")).status_code == 200
