"""Every write leaves an event: who, when, what (old and new), why; in the same transaction."""

import orjson
import pytest
from django.db import transaction

from tests.conftest import complete_children, complete_fields
from trialnode.audit import trail
from trialnode.audit.context import acting_as, because
from trialnode.audit.models import AuditEvent
from trialnode.studies import services
from trialnode.studies.models import Study


def _events(instance):
    return [
        orjson.loads(e.payload)
        for e in AuditEvent.objects.filter(
            object_type=instance._meta.label_lower, object_id=str(instance.pk)
        )
    ]


def test_creating_a_study_records_who_and_every_value(users):
    with acting_as(actor=users.registrant, via="web", ip="192.0.2.10"):
        study = services.study_create(
            by=users.registrant, fields=complete_fields(), **complete_children()
        )
    created = _events(study)[0]
    assert created["action"] == "create"
    assert created["actor"]["id"] == users.registrant.pk
    assert "registrant@" in created["actor"]["roles"]
    assert created["ip"] == "192.0.2.10"
    assert created["changes"]["title_sv"] == [None, "Fysisk träning vid hjärtsvikt"]
    site = study.sites.get()
    assert _events(site)[0]["changes"]["region"][1] == site.region_id


def test_a_change_records_the_field_its_old_and_new_value_and_why(users):
    study = services.study_create(by=users.registrant, fields=complete_fields())
    with acting_as(actor=users.registrant, via="web"), because("Rättade stavfel"):
        services.study_update(
            study=study,
            by=users.registrant,
            expected_version=study.version,
            fields={"title_sv": "Ny titel"},
        )
    change = _events(study)[-1]
    assert change["action"] == "update"
    assert change["changes"]["title_sv"] == ["Fysisk träning vid hjärtsvikt", "Ny titel"]
    assert change["changes"]["version"] == [1, 2]
    assert change["reason"] == "Rättade stavfel"


def test_a_workflow_step_records_from_and_to_state(users):
    study = services.study_create(
        by=users.registrant, fields=complete_fields(), **complete_children()
    )
    services.study_submit(study=study, by=users.registrant)
    step = _events(study)[-1]
    assert step["action"] == "transition"
    assert (step["from_state"], step["to_state"]) == ("draft", "submitted")


def test_a_delete_records_the_old_values(users, make_study):
    study = make_study(title_sv="Ska bort")
    site = study.sites.get()
    site_id = site.pk
    site.delete()
    deleted = [
        e
        for e in AuditEvent.objects.filter(object_type="studies.studysite", object_id=str(site_id))
    ][-1]
    payload = orjson.loads(deleted.payload)
    assert payload["action"] == "delete"
    assert payload["changes"]["region"][1] is None


def test_queryset_updates_and_cascading_deletes_are_recorded(make_study):
    study = make_study(title_sv="Före")
    Study.objects.filter(pk=study.pk).update(title_sv="Efter")
    assert _events(study)[-1]["changes"]["title_sv"] == ["Före", "Efter"]
    site_ids = list(study.sites.values_list("pk", flat=True))
    Study.objects.filter(pk=study.pk).delete()
    assert _events(study)[-1]["action"] == "delete"
    for site_id in site_ids:
        assert AuditEvent.objects.filter(
            object_type="studies.studysite", object_id=str(site_id), action="delete"
        ).exists()


def test_a_change_whose_event_cannot_be_written_does_not_happen(users, monkeypatch):
    study = services.study_create(by=users.registrant, fields=complete_fields())

    def broken(entries):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(trail, "append", broken)
    with pytest.raises(RuntimeError):
        services.study_update(
            study=study,
            by=users.registrant,
            expected_version=study.version,
            fields={"title_sv": "Får inte sparas"},
        )
    study.refresh_from_db()
    assert study.title_sv == "Fysisk träning vid hjärtsvikt"


def test_passwords_are_never_written_to_the_trail(users):
    users.registrant.set_password("ett-hemligt-losenord")
    users.registrant.save()
    event = _events(users.registrant)[-1]
    assert event["changes"]["password"] == ["[masked]", "[masked]"]
    assert "ett-hemligt" not in AuditEvent.objects.last().payload
    assert "md5$" not in AuditEvent.objects.last().payload


def test_logins_failed_logins_and_logouts_are_recorded(client, users):
    client.post("/accounts/login/", {"username": "registrant", "password": "wrong"})
    client.post("/accounts/login/", {"username": "registrant", "password": "pw-registrant"})
    client.post("/accounts/logout/")
    actions = list(AuditEvent.objects.values_list("action", flat=True).order_by("-seq")[:3])
    assert actions == ["logout", "login", "login_failed"]


def test_role_grants_and_revocations_are_recorded(users):
    from django.utils import timezone

    assignment = users.coordinator.role_assignments.get()
    assert _events(assignment)[0]["action"] == "create"
    assignment.revoked_at = timezone.now()
    assignment.save()
    assert "revoked_at" in _events(assignment)[-1]["changes"]


def test_api_writes_are_attributed_to_the_token_owner(client, users):
    from trialnode.organisations.services import api_token_create

    _token, secret = api_token_create(user=users.registrant, name="script")
    response = client.post(
        "/api/v1/studies",
        {**complete_fields(), "sites": [{"care_provider": "akademiska"}]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    study = Study.objects.get(pk=response.json()["id"])
    created = _events(study)[0]
    assert created["actor"]["id"] == users.registrant.pk
    assert created["via"] == "api"


def test_events_cannot_be_changed_or_deleted_through_the_orm(make_study):
    event = AuditEvent.objects.first()
    event.payload = "{}"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(payload="{}")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()


def test_the_chain_verifies_after_ordinary_work(users, make_study):
    make_study()
    services.study_create(by=users.registrant, fields=complete_fields(), allow_duplicate=True)
    assert trail.verify().intact


def test_concurrent_writers_in_one_transaction_each_get_their_own_link(make_study):
    with transaction.atomic():
        make_study(title_sv="A")
        make_study(title_sv="B")
    seqs = list(AuditEvent.objects.values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert trail.verify().intact


def test_a_user_with_history_is_deactivated_not_deleted(users):
    from django.db.models import ProtectedError

    with acting_as(actor=users.registrant, via="web"):
        services.study_create(by=users.registrant, fields=complete_fields())
    with pytest.raises(ProtectedError):
        users.registrant.delete()
    users.registrant.is_active = False
    users.registrant.save()
    assert not type(users.registrant).objects.get(pk=users.registrant.pk).is_active


def test_the_admin_offers_no_way_to_edit_the_trail(client, users):
    users.outsider.is_superuser = True
    users.outsider.save()
    client.force_login(users.outsider)
    assert client.get("/admin/audit/auditevent/").status_code == 404


def test_commands_are_named_as_the_actor(tmp_path, sample_data):
    import os
    import sqlite3
    import subprocess
    import sys

    environment = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)},
        "TRIALNODE_DATA_DIR": str(tmp_path),
    }
    for command in (
        ["manage", "migrate", "-v", "0"],
        ["manage", "load_reference_data"],
        ["import", "ctgov", str(sample_data / "ctgov" / "sweden.json")],
    ):
        subprocess.run(
            [sys.executable, "-m", "trialnode.cli", *command],
            env=environment,
            check=True,
            capture_output=True,
            timeout=300,
        )
    with sqlite3.connect(tmp_path / "trialnode.sqlite3") as db:
        vias = {
            row[0]
            for row in db.execute(
                "SELECT DISTINCT json_extract(payload, '$.via') FROM audit_auditevent"
            )
        }
    assert vias == {"command:manage load_reference_data", "command:import ctgov"}


def test_saving_a_study_with_unchanged_sites_leaves_no_site_events(users):
    study = services.study_create(
        by=users.registrant, fields=complete_fields(), **complete_children()
    )
    site = study.sites.get()
    before = AuditEvent.objects.filter(object_type="studies.studysite").count()
    services.study_update(
        study=study,
        by=users.registrant,
        expected_version=study.version,
        fields={"acronym": "NY"},
        **complete_children(),
    )
    assert study.sites.get().pk == site.pk
    assert AuditEvent.objects.filter(object_type="studies.studysite").count() == before


def test_events_gathered_in_a_block_join_the_chain_together_at_its_end(make_study):
    study = make_study(title_sv="Före")
    before = AuditEvent.objects.count()
    with transaction.atomic(), trail.appends_gathered():
        study.title_sv = "Efter"
        study.save()
        other = make_study(title_sv="Ny")
        # Nothing is written until the block ends, and a nested block waits for it too.
        with trail.appends_gathered():
            other.title_sv = "Ändrad"
            other.save()
        assert AuditEvent.objects.count() == before
    assert [e["changes"]["title_sv"] for e in _events(study)[-1:]] == [["Före", "Efter"]]
    assert _events(other)[-1]["changes"]["title_sv"] == ["Ny", "Ändrad"]
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert trail.verify().intact


def test_gathered_events_of_a_failed_block_are_not_written(make_study):
    study = make_study(title_sv="Före")
    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic(), trail.appends_gathered():
        study.title_sv = "Efter"
        study.save()
        raise RuntimeError("the batch fails")
    assert AuditEvent.objects.count() == before
    study.refresh_from_db()
    assert study.title_sv == "Före"


@pytest.mark.django_db(transaction=True)
def test_events_are_gathered_only_in_the_transaction_of_the_changes_they_record():
    with pytest.raises(transaction.TransactionManagementError), trail.appends_gathered():
        pass
