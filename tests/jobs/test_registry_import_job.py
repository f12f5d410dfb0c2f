"""A registry import started in the web interface runs as a job whose page shows its progress."""

import copy
import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from trialnode.audit.models import AuditEvent
from trialnode.interop import jobs
from trialnode.jobs.models import Job
from trialnode.organisations.models import Node, Role, RoleAssignment, User
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
    # Uppsala's coordinator creates the studies with a site in Uppsala; the others are
    # refused and listed.
    created = job.result["created"]
    assert 0 < created < 18 and created + job.result["rejected_count"] == 18
    assert {reason for _nct, reason in job.result["rejected"]} == {
        "the record has no site in your regions"
    }
    imported = Study.objects.filter(source=Source.CTGOV)
    assert imported.count() == created
    assert all(study.sites.filter(region__slug="uppsala").exists() for study in imported)

    page = client.get(response.url)
    assert "100 %" in page.content.decode() and f"New: {created}," in page.content.decode()
    assert "every 2s" not in page.content.decode()  # finished: the page stops asking

    # The imported studies are attributed to the coordinator, through the job.
    event = AuditEvent.objects.filter(object_type="studies.study").first()
    assert event.actor == users.coordinator
    assert json.loads(event.payload)["via"] == "job:import_ctgov"
    # Start and end are in the trail; the progress updates in between are not.
    job_events = AuditEvent.objects.filter(object_type="jobs.job", object_id=str(job.pk))
    assert [e.action for e in job_events.order_by("seq")] == ["create", "transition", "transition"]


def test_a_coordinator_reads_why_records_were_refused_in_swedish(
    client, users, sample_data, settings, django_capture_on_commit_callbacks
):
    settings.LANGUAGE_CODE = "sv"
    client.force_login(users.coordinator)
    content = (sample_data / "ctgov" / "sweden.json").read_bytes()
    response = _upload(client, "ctgov", "sweden.json", content, django_capture_on_commit_callbacks)
    job = Job.objects.get()
    reason = "posten har inget forskningsställe i dina regioner"
    assert {why for _nct, why in job.result["rejected"]} == {reason}
    assert reason in client.get(response.url).content.decode()


def test_a_coordinator_reads_why_a_record_could_not_be_read_in_swedish(
    client, users, sample_data, settings, django_capture_on_commit_callbacks
):
    settings.LANGUAGE_CODE = "sv"
    record = json.loads((sample_data / "ctgov" / "sweden.json").read_text())[0]
    unknown = copy.deepcopy(record)
    unknown["protocolSection"]["identificationModule"]["nctId"] = "NCT09999997"
    unknown["protocolSection"]["statusModule"]["overallStatus"] = "FINISHED"
    content = b"\n".join([json.dumps(unknown).encode(), b"{inte json"])
    client.force_login(users.coordinator)
    _upload(client, "ctgov", "poster.ndjson", content, django_capture_on_commit_callbacks)
    job = Job.objects.get()
    rejected = dict(job.result["rejected"])
    assert rejected["NCT09999997"] == "okänt overallStatus 'FINISHED'"
    assert rejected["poster.ndjson rad 2"].startswith("inte JSON vid tecken ")
    page = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert "okänt overallStatus" in page and "poster.ndjson rad 2" in page


def test_a_job_speaks_the_language_of_whoever_started_it(
    client, users, settings, django_capture_on_commit_callbacks
):
    settings.LANGUAGE_CODE = "sv"  # the site's language; this coordinator reads English
    client.force_login(users.coordinator)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    content = b'{"protocolSection": {}}\n{not json'
    _upload(client, "ctgov", "notes.ndjson", content, django_capture_on_commit_callbacks)
    job = Job.objects.get()
    assert job.language == "en"
    reasons = dict(job.result["rejected"])
    assert reasons["notes.ndjson line 2"].startswith("not JSON")
    assert job.message == (
        "Records read: 2. New: 0, updated: 0, unchanged: 0, outside Sweden (skipped): 0, "
        "rejected: 2"
    )


def test_the_job_page_counts_the_rejections_by_reason_and_says_where_the_list_is_cut(
    client, users, sample_data, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(jobs, "REJECTIONS_KEPT", 3)
    monkeypatch.setattr(jobs, "REASONS_KEPT", 1)
    records = json.loads((sample_data / "ctgov" / "sweden.json").read_text())
    unknown = copy.deepcopy(records[0])
    unknown["protocolSection"]["identificationModule"]["nctId"] = "NCT09999997"
    unknown["protocolSection"]["statusModule"]["overallStatus"] = "FINISHED"
    client.force_login(users.coordinator)
    content = json.dumps([*records, unknown]).encode()
    response = _upload(client, "ctgov", "mixed.json", content, django_capture_on_commit_callbacks)

    result = Job.objects.get().result
    [[reason, count]] = result["rejected_reasons"]
    assert reason == "the record has no site in your regions"
    assert result["rejected_other_reasons"] == 1
    assert count + 1 == result["rejected_count"] > 3
    page = client.get(response.url).content.decode()
    assert f"<td>{reason}</td><td>{count}</td>" in page
    assert "<td>Other reasons</td><td>1</td>" in page
    assert f"Each record: the first 3 of {result['rejected_count']}" in page


def test_a_rejected_line_is_named_by_the_file_as_it_was_uploaded(
    client, users, sample_data, django_capture_on_commit_callbacks
):
    records = json.loads((sample_data / "ctgov" / "sweden.json").read_text())
    content = b"\n".join([json.dumps(records[0]).encode(), b"{not json", b"[1]"])
    client.force_login(users.coordinator)
    _upload(client, "ctgov", "dagens poster.ndjson", content, django_capture_on_commit_callbacks)
    job = Job.objects.get()
    assert job.input_path.endswith("-dagens_poster.ndjson")  # stored under a name of its own
    where = [where for where, _reason in job.result["rejected"]]
    assert "dagens poster.ndjson line 2" in where
    assert "dagens poster.ndjson line 3" in where
    page = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert "dagens poster.ndjson line 2" in page and job.input_path not in page


def test_a_ctis_csv_without_its_columns_is_named_as_uploaded(
    client, users, django_capture_on_commit_callbacks
):
    client.force_login(users.coordinator)
    _upload(
        client, "ctis", "sökning.csv", b"Number;Name\n1;x\n", django_capture_on_commit_callbacks
    )
    assert Job.objects.get().error.startswith("CsvTemplateError: sökning.csv: missing columns")


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
    Job.objects.filter(pk=job.pk).update(progress=0.25, message="Records read: 5.")
    client.force_login(users.coordinator)
    fragment = client.get(reverse("jobs:detail", args=[job.pk]), HTTP_HX_REQUEST="true")
    text = fragment.content.decode()
    assert 'hx-trigger="every 2s"' in text and 'value="25"' in text and "Records read: 5." in text
    assert "<html" not in text

    client.force_login(users.other_coordinator)
    assert client.get(reverse("jobs:detail", args=[job.pk])).status_code == 403


def test_only_those_who_may_edit_the_studies_may_upload_registry_files(client, users):
    # A node admin, a data engineer or a registrant may not edit studies of their regions,
    # so they may not change them by uploading a file either.
    engineer = User.objects.create_user("engineer")
    RoleAssignment.objects.create(
        user=engineer, role=Role.DATA_ENGINEER, node=Node.objects.get(slug="forum-mellansverige")
    )
    for user in (users.registrant, users.node_admin, engineer):
        client.force_login(user)
        assert client.get(reverse("registry_import")).status_code == 403
        assert client.post(reverse("registry_import")).status_code == 403
    client.force_login(users.coordinator)
    assert client.get(reverse("registry_import")).status_code == 200


def test_a_coordinator_cannot_change_another_regions_record_by_uploading_a_file(
    client, users, sample_data, django_capture_on_commit_callbacks
):
    from trialnode.interop.files import import_ctgov_paths

    import_ctgov_paths([sample_data / "ctgov" / "sweden.json"])
    records = json.loads((sample_data / "ctgov" / "sweden.json").read_text())
    uppsala_only = next(
        r
        for r in records
        if {
            loc["city"]
            for loc in r["protocolSection"]["contactsLocationsModule"]["locations"]
            if loc.get("country") == "Sweden"
        }
        == {"Uppsala"}
    )
    nct = uppsala_only["protocolSection"]["identificationModule"]["nctId"]
    before = Study.objects.get(nct_id=nct)
    forged = json.loads(json.dumps(uppsala_only))
    forged["protocolSection"]["identificationModule"]["briefTitle"] = "FORGED by coordinator"
    forged["protocolSection"]["contactsLocationsModule"]["locations"].append(
        {"facility": "Universitetssjukhuset Örebro", "city": "Örebro", "country": "Sweden"}
    )
    events = AuditEvent.objects.filter(object_type="studies.study").count()
    client.force_login(users.other_coordinator)
    _upload(
        client,
        "ctgov",
        "forged.json",
        json.dumps([forged]).encode(),
        django_capture_on_commit_callbacks,
    )
    job = Job.objects.get()
    assert job.result["rejected"] == [
        [
            nct,
            "the stored study has no site in your regions; its coordinators or the "
            "registry sync update it",
        ]
    ]
    after = Study.objects.get(nct_id=nct)
    assert after.title_en == before.title_en and after.version == before.version
    assert AuditEvent.objects.filter(object_type="studies.study").count() == events


def test_an_uploaded_change_to_a_published_record_keeps_its_reason(
    client, users, sample_data, django_capture_on_commit_callbacks
):
    records = json.loads((sample_data / "ctgov" / "sweden.json").read_text())
    from trialnode.interop.ctgov import import_records

    import_records(records)
    study = next(s for s in Study.objects.all() if s.sites.filter(region__slug="uppsala").exists())
    record = next(
        r for r in records if r["protocolSection"]["identificationModule"]["nctId"] == study.nct_id
    )
    record["protocolSection"]["identificationModule"]["acronym"] = "NYTT"
    client.force_login(users.coordinator)
    _upload(
        client,
        "ctgov",
        "change.json",
        json.dumps([record]).encode(),
        django_capture_on_commit_callbacks,
    )
    assert Job.objects.get().result["updated"] == 1
    change = AuditEvent.objects.filter(
        object_type="studies.study", object_id=str(study.pk), action="update"
    ).last()
    payload = json.loads(change.payload)
    assert payload["reason"] == "Imported from the uploaded file change.json"
    assert change.actor == users.coordinator
