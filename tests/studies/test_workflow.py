"""The registration workflow: draft → submitted → published or returned; each transition."""

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from tests.conftest import complete_children, complete_fields
from trialnode.studies import services
from trialnode.studies.models import RegistrationState, Status, Study


@pytest.fixture
def draft(users):
    return services.study_create(
        by=users.registrant, fields=complete_fields(), **complete_children()
    )


def test_a_registrant_creates_a_draft_they_own(users, draft):
    assert draft.registration_state == RegistrationState.DRAFT
    assert draft.owner == users.registrant
    assert draft.sites.get().region.slug == "uppsala"
    assert draft.status_history.count() == 1


def test_a_user_without_a_registering_role_cannot_create(users):
    with pytest.raises(PermissionDenied):
        services.study_create(by=users.sponsor, fields=complete_fields())


def test_create_rejects_an_invalid_identifier_and_saves_nothing(users):
    with pytest.raises(ValidationError) as error:
        services.study_create(by=users.registrant, fields=complete_fields(nct_id="NCT123"))
    assert "nct_id" in error.value.message_dict
    assert not Study.objects.exists()


def test_create_rejects_an_invalid_child_row_and_saves_nothing(users):
    children = complete_children()
    children["conditions"] = [{"icd10_code": "not-a-code", "text": "x"}]
    with pytest.raises(ValidationError, match="not-a-code"):
        services.study_create(by=users.registrant, fields=complete_fields(), **children)
    assert not Study.objects.exists()


def test_create_rejects_over_long_text(users):
    with pytest.raises(ValidationError) as error:
        services.study_create(by=users.registrant, fields=complete_fields(title_sv="x" * 601))
    assert "title_sv" in error.value.message_dict


def test_create_warns_about_a_study_with_the_same_identifier(users, make_study):
    existing = make_study(nct_id="NCT01234567", title_sv="Något helt annat")
    with pytest.raises(services.PossibleDuplicates) as error:
        services.study_create(by=users.registrant, fields=complete_fields(nct_id="NCT01234567"))
    assert error.value.duplicates == [existing]


def test_create_warns_about_a_near_same_title_and_sponsor(users, make_study):
    existing = make_study(
        title_sv="Fysisk träning vid hjärtsvikt", sponsor_name="Uppsala universitet"
    )
    with pytest.raises(services.PossibleDuplicates) as error:
        services.study_create(
            by=users.registrant,
            fields=complete_fields(title_sv="Fysisk träning vid hjärtsvikt.", epm_dnr=""),
        )
    assert error.value.duplicates == [existing]


def test_a_similar_title_from_another_sponsor_is_not_a_duplicate(users, make_study):
    make_study(title_sv="Fysisk träning vid hjärtsvikt", sponsor_name="AstraZeneca")
    study = services.study_create(by=users.registrant, fields=complete_fields(epm_dnr=""))
    assert study.pk


def test_the_registrant_may_create_anyway_after_checking(users, make_study):
    make_study(nct_id="NCT01234567")
    study = services.study_create(
        by=users.registrant, fields=complete_fields(nct_id="NCT01234567"), allow_duplicate=True
    )
    assert Study.objects.filter(nct_id="NCT01234567").count() == 2
    assert study.owner == users.registrant


def test_submit_requires_the_minimal_data_set(users):
    study = services.study_create(
        by=users.registrant, fields={"title_sv": "Ofullständig", "study_type": "OBSERVATIONAL"}
    )
    with pytest.raises(ValidationError) as error:
        services.study_submit(study=study, by=users.registrant)
    assert "At least one site is required." in error.value.messages
    study.refresh_from_db()
    assert study.registration_state == RegistrationState.DRAFT


def test_only_the_owner_submits(users, draft):
    with pytest.raises(PermissionDenied):
        services.study_submit(study=draft, by=users.other_registrant)


def test_the_owner_submits_a_complete_draft(users, draft):
    study = services.study_submit(study=draft, by=users.registrant)
    assert study.registration_state == RegistrationState.SUBMITTED
    assert study.submitted_at is not None


def test_a_submitted_study_cannot_be_submitted_again(users, draft):
    services.study_submit(study=draft, by=users.registrant)
    with pytest.raises(ValidationError):
        services.study_submit(study=draft, by=users.registrant)


def test_the_coordinator_of_the_region_publishes(users, draft):
    services.study_submit(study=draft, by=users.registrant)
    study = services.study_publish(
        study=draft, by=users.coordinator, password="pw-coordinator", reason="Validerad"
    )
    assert study.registration_state == RegistrationState.PUBLISHED
    assert study.published_by == users.coordinator
    assert study.last_confirmed_at == timezone.localdate()


def test_a_coordinator_of_another_region_cannot_publish(users, draft):
    services.study_submit(study=draft, by=users.registrant)
    with pytest.raises(PermissionDenied):
        services.study_publish(
            study=draft,
            by=users.other_coordinator,
            password="pw-coordinator_orebro",
            reason="Validerad",
        )
    draft.refresh_from_db()
    assert draft.registration_state == RegistrationState.SUBMITTED


def test_a_draft_cannot_be_published_before_it_is_submitted(users, draft):
    with pytest.raises(PermissionDenied):
        services.study_publish(
            study=draft, by=users.coordinator, password="pw-coordinator", reason="Validerad"
        )


def test_the_coordinator_returns_with_a_comment_the_registrant_sees(users, draft, client):
    services.study_submit(study=draft, by=users.registrant)
    study = services.study_return(study=draft, by=users.coordinator, comment="Ange EU CT-nummer.")
    assert study.registration_state == RegistrationState.RETURNED
    client.force_login(users.registrant)
    assert "Ange EU CT-nummer." in client.get(f"/studier/{study.pk}/").content.decode()


def test_returning_needs_a_comment(users, draft):
    services.study_submit(study=draft, by=users.registrant)
    with pytest.raises(ValidationError):
        services.study_return(study=draft, by=users.coordinator, comment="  ")


def test_a_returned_study_can_be_corrected_and_submitted_again(users, draft):
    services.study_submit(study=draft, by=users.registrant)
    services.study_return(study=draft, by=users.coordinator, comment="Rätta titeln.")
    draft.refresh_from_db()
    services.study_update(
        study=draft,
        by=users.registrant,
        expected_version=draft.version,
        fields={"title_sv": "Rättad titel"},
    )
    study = services.study_submit(study=draft, by=users.registrant)
    assert study.registration_state == RegistrationState.SUBMITTED


def test_a_status_change_is_recorded_with_its_date(users, make_study):
    study = make_study(status=Status.RECRUITING, regions=("uppsala",))
    changed = services.study_change_status(
        study=study,
        by=users.coordinator,
        status=Status.ACTIVE_NOT_RECRUITING,
        effective_date=timezone.localdate().replace(day=1),
        reason="Målet nått",
    )
    assert changed.status == Status.ACTIVE_NOT_RECRUITING
    assert list(changed.status_history.values_list("status", flat=True)) == [
        Status.RECRUITING,
        Status.ACTIVE_NOT_RECRUITING,
    ]


def test_a_status_change_cannot_take_effect_in_the_future(users, make_study):
    from datetime import timedelta

    study = make_study(regions=("uppsala",))
    with pytest.raises(ValidationError):
        services.study_change_status(
            study=study,
            by=users.coordinator,
            status=Status.COMPLETED,
            effective_date=timezone.localdate() + timedelta(days=1),
        )


def test_an_unknown_status_is_refused(users, make_study):
    study = make_study(regions=("uppsala",))
    with pytest.raises(ValidationError):
        services.study_change_status(study=study, by=users.coordinator, status="FINISHED")


def test_stale_studies_are_listed_and_their_contacts_emailed_once(users, draft):
    from datetime import timedelta

    services.study_submit(study=draft, by=users.registrant)
    services.study_publish(
        study=draft, by=users.coordinator, password="pw-coordinator", reason="Validerad"
    )
    Study.objects.filter(pk=draft.pk).update(
        last_confirmed_at=timezone.localdate() - timedelta(days=400)
    )
    assert list(Study.objects.stale()) == [draft]
    assert services.stale_studies_notify() == 1
    assert sorted(mail.outbox[0].to) == ["registrant@example.se", "studie@example.se"]
    assert draft.reference in mail.outbox[0].subject
    assert services.stale_studies_notify() == 0


def test_confirming_a_stale_study_takes_it_off_the_list(users, draft):
    from datetime import timedelta

    services.study_submit(study=draft, by=users.registrant)
    services.study_publish(
        study=draft, by=users.coordinator, password="pw-coordinator", reason="Validerad"
    )
    Study.objects.filter(pk=draft.pk).update(
        last_confirmed_at=timezone.localdate() - timedelta(days=400)
    )
    services.study_confirm(study=draft, by=users.registrant)
    assert not Study.objects.stale().exists()


def test_publishing_is_refused_with_a_wrong_password_and_nothing_changes(users, draft):
    from trialnode.audit.models import AuditEvent
    from trialnode.audit.signatures import SignatureRefused

    services.study_submit(study=draft, by=users.registrant)
    events = AuditEvent.objects.count()
    with pytest.raises(SignatureRefused):
        services.study_publish(study=draft, by=users.coordinator, password="fel", reason="OK")
    draft.refresh_from_db()
    assert draft.registration_state == RegistrationState.SUBMITTED
    assert AuditEvent.objects.count() == events


def test_publishing_leaves_a_signature_with_name_time_and_meaning(users, draft):
    import orjson

    from trialnode.audit.models import AuditEvent

    users.coordinator.first_name, users.coordinator.last_name = "Nodsamordnare", "Uppsala"
    users.coordinator.save()
    services.study_submit(study=draft, by=users.registrant)
    services.study_publish(
        study=draft, by=users.coordinator, password="pw-coordinator", reason="Validerad mot MDS"
    )
    event = AuditEvent.objects.filter(action="signature", object_id=str(draft.pk)).get()
    signature = orjson.loads(event.payload)["signature"]
    assert signature["signer_name"] == "Nodsamordnare Uppsala"
    assert signature["meaning"] == "published"
    assert signature["signed_at"]
    assert orjson.loads(event.payload)["reason"] == "Validerad mot MDS"


def test_publishing_needs_a_reason(users, draft):
    services.study_submit(study=draft, by=users.registrant)
    with pytest.raises(ValidationError):
        services.study_publish(
            study=draft, by=users.coordinator, password="pw-coordinator", reason=" "
        )


def test_a_change_to_a_published_study_needs_a_reason(users, make_study):
    study = make_study(regions=("uppsala",))
    with pytest.raises(ValidationError) as error:
        services.study_update(
            study=study,
            by=users.coordinator,
            expected_version=study.version,
            fields={"acronym": "X"},
        )
    assert "reason" in error.value.message_dict
    services.study_update(
        study=study,
        by=users.coordinator,
        expected_version=study.version,
        fields={"acronym": "X"},
        reason="Akronym saknades",
    )
    study.refresh_from_db()
    assert study.acronym == "X"
