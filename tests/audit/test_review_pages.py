"""Reading the trail: a study's history, the auditor's search and export, reviews, access."""

import csv
import io

from tests.conftest import complete_children, complete_fields
from trialnode.audit.context import acting_as, because
from trialnode.audit.models import AuditEvent, AuditReview
from trialnode.studies import services


def _study_with_history(users):
    with acting_as(actor=users.registrant, via="web"):
        study = services.study_create(
            by=users.registrant, fields=complete_fields(), **complete_children()
        )
        with because("Ny titel enligt protokollet"):
            services.study_update(
                study=study,
                by=users.registrant,
                expected_version=study.version,
                fields={"title_sv": "Träning och hjärtsvikt"},
            )
        services.study_submit(study=study, by=users.registrant)
    return study


def test_the_owner_reads_the_history_of_a_study_as_a_timeline(client, users):
    study = _study_with_history(users)
    client.force_login(users.registrant)
    page = client.get(f"/studier/{study.pk}/historik/").content.decode()
    assert "Ny titel enligt protokollet" in page
    assert "Träning och hjärtsvikt" in page
    assert "Draft → Submitted for validation" in page  # states by their labels
    assert "Site «" in page  # the site created with the study is part of its history


def test_the_history_is_closed_to_the_public_and_to_other_registrants(client, users, make_study):
    study = make_study()
    assert client.get(f"/studier/{study.pk}/historik/").status_code == 302
    client.force_login(users.other_registrant)
    assert client.get(f"/studier/{study.pk}/historik/").status_code == 403


def test_a_deleted_site_stays_in_the_study_history(client, users):
    study = _study_with_history(users)
    site = study.sites.get()
    site.delete()
    client.force_login(users.registrant)
    page = client.get(f"/studier/{study.pk}/historik/").content.decode()
    assert "Deleted" in page


def test_only_auditors_search_the_whole_trail(client, users):
    client.force_login(users.coordinator)
    assert client.get("/granskning/").status_code == 403
    client.force_login(users.auditor)
    assert client.get("/granskning/").status_code == 200


def test_the_auditor_filters_by_record_user_and_period_and_exports_csv(client, users):
    study = _study_with_history(users)
    client.force_login(users.auditor)
    params = {
        "object_type": "studies.study",
        "object_id": str(study.pk),
        "actor": "registrant",
        "date_from": "2000-01-01",
        "date_to": "2100-01-01",
    }
    page = client.get("/granskning/", params).content.decode()
    assert "Ny titel enligt protokollet" in page
    response = client.get("/granskning/", {**params, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["action"] for r in rows] == ["Created", "Changed", "Workflow step"]
    assert rows[1]["reason"] == "Ny titel enligt protokollet"
    assert AuditEvent.objects.filter(action="export").exists()


def test_a_bad_period_changes_nothing_and_says_why(client, users):
    client.force_login(users.auditor)
    page = client.get("/granskning/", {"date_from": "2025-02-01", "date_to": "2025-01-01"})
    assert "The period must start before it ends." in page.content.decode()


def test_account_details_are_masked_for_readers_who_are_not_auditors(users):
    from trialnode.audit.selectors import readable

    users.outsider.email = "ny.adress@example.se"
    users.outsider.save()
    event = AuditEvent.objects.filter(object_type="organisations.user").last()
    assert ("email", "•••", "•••") in readable(event, reader=users.coordinator).changes
    assert ("email", "outsider@example.se", "ny.adress@example.se") in readable(
        event, reader=users.auditor
    ).changes


def test_an_auditor_plans_a_review_and_records_its_outcome(client, users):
    client.force_login(users.auditor)
    client.post(
        "/granskning/granskningar/",
        {
            "scope": "Studier i Region Uppsala",
            "period_start": "2026-01-01",
            "period_end": "2026-06-30",
            "planned_for": "2026-07-15",
        },
    )
    review = AuditReview.objects.get()
    response = client.post(
        f"/granskning/granskningar/{review.pk}/", {"outcome": "findings", "findings": ""}
    )
    assert "Describe the findings." in response.content.decode()
    client.post(
        f"/granskning/granskningar/{review.pk}/",
        {"outcome": "findings", "findings": "Två publiceringar saknade motivering."},
    )
    review.refresh_from_db()
    assert review.completed_at is not None and review.reviewer == users.auditor


def test_the_access_review_lists_who_holds_which_role_where(client, users):
    client.force_login(users.auditor)
    page = client.get("/accounts/behorigheter/").content.decode()
    assert "Node coordinator" in page and "Region Uppsala" in page
    response = client.get("/accounts/behorigheter/", {"format": "csv"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    by_user = {row[0]: row for row in rows[1:]}
    assert by_user["coordinator"][2:5] == ["true", "coordinator", "Region Uppsala"]
    assert "outsider" not in by_user


def test_the_access_review_is_closed_to_coordinators(client, users):
    client.force_login(users.coordinator)
    assert client.get("/accounts/behorigheter/").status_code == 403
