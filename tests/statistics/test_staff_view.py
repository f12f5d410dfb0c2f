"""The staff view: the same measures with unpublished registrations, follow-up, the report job."""

from pathlib import Path

from django.urls import reverse

from trialnode.jobs.models import Job


def test_a_coordinator_sees_their_regions_follow_up_and_unpublished_registrations(
    client, users, known_studies
):
    client.force_login(users.coordinator)  # Uppsala
    page = client.get(reverse("statistics:staff"), {"year": "2024"})
    assert page.status_code == 200
    text = page.content.decode()
    # E (submitted, Uppsala) awaits validation and counts among the ongoing studies of 2024.
    assert 'headline-value">1</span> <span class="headline-label">Awaiting validation' in text
    summary = page.context["summary"]
    assert (
        dict((label, value) for label, value in summary.rows)["Ongoing at some time this year"] == 4
    )
    public = client.get(reverse("statistics:dashboard"), {"year": "2024"}).context["summary"]
    assert dict(public.rows)["Ongoing at some time this year"] == 3


def test_people_without_a_staff_role_in_a_region_are_refused(client, users):
    client.force_login(users.registrant)
    assert client.get(reverse("statistics:staff")).status_code == 403


def test_the_yearly_report_is_made_as_a_background_job_and_downloaded(
    client, users, known_studies, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.DATA_DIR = tmp_path
    client.force_login(users.coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("statistics:staff"), {"year": "2024", "node": "forum-mellansverige"}
        )
    job = Job.objects.get(kind=Job.Kind.YEARLY_REPORT)
    assert response.url == reverse("jobs:detail", args=[job.pk])
    assert job.state == Job.State.DONE, job.error
    download = client.get(reverse("jobs:output", args=[job.pk]))
    assert b"".join(download.streaming_content).startswith(b"%PDF")
    client.force_login(users.other_coordinator)
    assert client.get(reverse("jobs:output", args=[job.pk])).status_code == 403


def test_the_yearly_report_can_be_made_in_english(
    client, users, known_studies, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.DATA_DIR = tmp_path
    client.force_login(users.coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("statistics:staff"),
            {"year": "2024", "node": "forum-mellansverige", "language": "en"},
        )
    job = Job.objects.get(kind=Job.Kind.YEARLY_REPORT)
    assert job.state == Job.State.DONE, job.error
    html = Path(job.output_path).with_suffix(".html").read_text()
    assert '<html lang="en">' in html
    assert "Clinical studies in Forum Mellansverige 2024" in html


def test_a_report_in_an_unknown_language_or_a_future_year_is_refused_and_nothing_started(
    client, users, known_studies
):
    client.force_login(users.coordinator)
    response = client.post(
        reverse("statistics:staff"),
        {"year": "2024", "node": "forum-mellansverige", "language": "de"},
    )
    assert response.status_code == 403
    future = client.post(
        reverse("statistics:staff"), {"year": "2999", "node": "forum-mellansverige"}
    )
    assert future.status_code == 403
    assert not Job.objects.exists()
