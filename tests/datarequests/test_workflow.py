"""The case's workflow: each step a service, in order, by its own role, audited."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tests.datarequests.conftest import (
    PASSWORD,
    application_fields,
    ready_application,
    run_to_decision,
    run_to_delivery,
)
from trialnode.audit.models import AuditEvent
from trialnode.audit.signatures import SignatureRefused
from trialnode.datarequests import services
from trialnode.datarequests.models import DataRequest, Stage, StagePeriod
from trialnode.datarequests.services import StepRefused

pytestmark = pytest.mark.django_db


def test_a_case_runs_from_application_to_closed(users, staff, draft):
    case = run_to_delivery(draft, users, staff)
    assert case.stage == Stage.DELIVERED
    assert case.checksum == "a" * 64 and case.row_count == 1234
    case = services.datarequest_confirm_receipt(case=case, by=users.registrant)
    assert case.stage == Stage.CLOSED
    assert case.receipt_confirmed_at is not None
    stages = list(StagePeriod.objects.filter(request=case).values_list("stage", flat=True))
    assert stages == [
        "draft",
        "submitted",
        "prequalification",
        "decision",
        "extraction",
        "disclosure_review",
        "delivered",
        "closed",
    ]


def test_submission_is_refused_while_the_checklist_has_gaps(users, staff):
    case = services.datarequest_create(
        by=users.registrant,
        fields=application_fields(),
    )
    with pytest.raises(ValidationError, match="variable"):
        services.datarequest_submit(case=case, by=users.registrant)
    case.refresh_from_db()
    assert case.stage == Stage.DRAFT


def test_a_return_for_supplement_goes_back_to_the_applicant_and_returns(users, staff, draft):
    case = services.datarequest_submit(case=draft, by=users.registrant)
    with pytest.raises(ValidationError):
        services.datarequest_return_for_supplement(case=case, by=staff.officer, reason=" ")
    case = services.datarequest_return_for_supplement(
        case=case, by=staff.officer, reason="Bifoga samtyckesblanketten."
    )
    assert case.stage == Stage.SUPPLEMENT and case.waits_on_applicant
    services.datarequest_update(case=case, by=users.registrant, fields={"title": "Ny titel"})
    case = services.datarequest_submit(case=case, by=users.registrant, reason="Bifogat.")
    assert case.stage == Stage.SUBMITTED


@pytest.mark.parametrize(
    "step",
    [
        lambda c, u, s: services.datarequest_accept_complete(case=c, by=s.officer),
        lambda c, u, s: services.review_record(
            case=c, by=s.legal, kind="legal", recommendation="approve", comment="ok"
        ),
        lambda c, u, s: services.datarequest_decide(
            case=c, by=s.officer, outcome="approved", text="", password=PASSWORD
        ),
        lambda c, u, s: services.datarequest_deliver(
            case=c, by=s.engineer, checksum="a" * 64, row_count=1
        ),
        lambda c, u, s: services.datarequest_confirm_receipt(case=c, by=u.registrant),
        lambda c, u, s: services.datarequest_amend(case=c, by=u.registrant, reason="mer"),
    ],
)
def test_a_step_out_of_order_is_refused_and_changes_nothing(users, staff, draft, step):
    events = AuditEvent.objects.count()
    with pytest.raises((StepRefused, PermissionDenied)):
        step(draft, users, staff)
    draft.refresh_from_db()
    assert draft.stage == Stage.DRAFT
    assert AuditEvent.objects.count() == events


def test_the_decision_is_refused_without_a_signature(users, staff, draft):
    case = run_to_decision(draft, users, staff)
    events = AuditEvent.objects.count()
    for password in ("", "wrong"):
        with pytest.raises(SignatureRefused):
            services.datarequest_decide(
                case=case, by=staff.officer, outcome="approved", text="", password=password
            )
    case.refresh_from_db()
    assert case.stage == Stage.DECISION and case.outcome == "" and case.decision_hash == ""
    assert AuditEvent.objects.count() == events


def test_a_signed_decision_keeps_the_hash_of_what_was_signed(users, staff, draft):
    case = run_to_decision(draft, users, staff)
    case = services.datarequest_decide(
        case=case, by=staff.officer, outcome="approved_with_conditions",
        text="Endast aggregerat.", password=PASSWORD,
    )  # fmt: skip
    content = services.decision_content(
        case, "approved_with_conditions", "Endast aggregerat.", staff.officer
    )
    assert case.decision_hash == hashlib.sha256(content.encode()).hexdigest()
    signature = AuditEvent.objects.filter(action="signature", object_id=str(case.pk)).get()
    assert case.decision_hash in signature.payload
    assert signature.actor_id == staff.officer.pk


def test_a_rejection_needs_reasons_and_closes_the_case(users, staff, draft):
    case = run_to_decision(draft, users, staff)
    with pytest.raises(ValidationError):
        services.datarequest_decide(
            case=case, by=staff.officer, outcome="rejected", text="", password=PASSWORD
        )
    case = services.datarequest_decide(
        case=case, by=staff.officer, outcome="rejected", text="Saknar grund.", password=PASSWORD
    )
    assert case.stage == Stage.CLOSED and case.outcome == "rejected"


def test_each_review_is_given_by_its_own_role(users, staff, draft):
    case = services.datarequest_submit(case=draft, by=users.registrant)
    case = services.datarequest_accept_complete(case=case, by=staff.officer)
    with pytest.raises(PermissionDenied):
        services.review_record(
            case=case, by=staff.engineer, kind="legal", recommendation="approve", comment="x"
        )
    with pytest.raises(PermissionDenied):
        services.review_record(
            case=case, by=staff.legal, kind="technical", recommendation="approve", comment="x"
        )
    with pytest.raises(PermissionDenied):
        services.review_record(
            case=case, by=staff.other_legal, kind="legal", recommendation="approve", comment="x"
        )
    services.review_record(
        case=case, by=staff.engineer, kind="technical", recommendation="reject", comment="Nej"
    )
    case.refresh_from_db()
    assert case.stage == Stage.PREQUALIFICATION  # the legal review is still missing
    services.review_record(
        case=case, by=staff.legal, kind="legal", recommendation="approve", comment="Ja"
    )
    case.refresh_from_db()
    assert case.stage == Stage.DECISION


def test_the_output_is_reviewed_by_someone_other_than_its_extractor(users, staff, draft):
    case = run_to_decision(draft, users, staff)
    case = services.datarequest_decide(
        case=case, by=staff.officer, outcome="approved", text="", password=PASSWORD
    )
    with pytest.raises(ValidationError):
        services.extraction_assign(
            case=case, by=staff.officer, engineer=users.registrant, estimated_hours=4
        )
    case = services.extraction_assign(
        case=case, by=staff.officer, engineer=staff.engineer, estimated_hours=4
    )
    with pytest.raises(PermissionDenied):
        services.extraction_complete(case=case, by=staff.second_engineer, output_description="x")
    case = services.extraction_complete(case=case, by=staff.engineer, output_description="Klar")
    with pytest.raises(PermissionDenied):
        services.disclosure_review_record(case=case, by=staff.engineer, passed=True, comment="ok")
    with pytest.raises(StepRefused):
        services.datarequest_deliver(case=case, by=staff.engineer, checksum="a" * 64, row_count=1)
    services.disclosure_review_record(
        case=case, by=staff.second_engineer, passed=False, comment="En cell med 2."
    )
    case.refresh_from_db()
    assert case.stage == Stage.EXTRACTION


def test_a_delivery_needs_a_sha256(users, staff, draft):
    case = run_to_decision(draft, users, staff)
    case = services.datarequest_decide(
        case=case, by=staff.officer, outcome="approved", text="", password=PASSWORD
    )
    services.extraction_assign(
        case=case, by=staff.officer, engineer=staff.engineer, estimated_hours=2
    )
    case = services.extraction_complete(case=case, by=staff.engineer, output_description="Klar")
    services.disclosure_review_record(case=case, by=staff.officer, passed=True, comment="ok")
    with pytest.raises(ValidationError):
        services.datarequest_deliver(case=case, by=staff.engineer, checksum="abc", row_count=1)
    case.refresh_from_db()
    assert case.stage == Stage.DISCLOSURE_REVIEW


@pytest.mark.parametrize("stage_steps", [0, 1, 2])
def test_the_applicant_withdraws_at_any_stage(users, staff, draft, stage_steps):
    case = draft
    if stage_steps >= 1:
        case = services.datarequest_submit(case=case, by=users.registrant)
    if stage_steps >= 2:
        case = services.datarequest_accept_complete(case=case, by=staff.officer)
    with pytest.raises(ValidationError):
        services.datarequest_withdraw(case=case, by=users.registrant, reason="")
    case = services.datarequest_withdraw(case=case, by=users.registrant, reason="Avbrutet")
    assert case.stage == Stage.WITHDRAWN and case.outcome == "withdrawn"
    with pytest.raises(StepRefused):
        services.datarequest_withdraw(case=case, by=users.registrant, reason="Igen")


def test_an_amendment_reopens_a_closed_case_as_a_new_version_keeping_history(users, staff, draft):
    case = run_to_delivery(draft, users, staff)
    case = services.datarequest_confirm_receipt(case=case, by=users.registrant)
    case = services.datarequest_amend(case=case, by=users.registrant, reason="Längre period")
    assert case.version == 2 and case.stage == Stage.DRAFT and case.outcome == ""
    kept = case.closed_versions.get()
    assert kept.version == 1 and kept.closed_outcome == "approved"
    assert kept.content["checksum"] == "a" * 64
    assert case.periods.filter(version=1).count() == 8
    assert case.reviews.filter(version=1).count() == 3
    case = services.datarequest_submit(case=case, by=users.registrant)
    assert case.stage == Stage.SUBMITTED and case.version == 2


def test_the_audit_trail_tells_the_full_story(users, staff, draft):
    case = run_to_delivery(draft, users, staff)
    services.datarequest_confirm_receipt(case=case, by=users.registrant)
    transitions = AuditEvent.objects.filter(
        action="transition", object_type="datarequests.datarequest", object_id=str(case.pk)
    ).order_by("seq")
    story = [
        (json.loads(e.payload)["from_state"], json.loads(e.payload)["to_state"], e.actor_id)
        for e in transitions
    ]
    assert story == [
        ("draft", "submitted", users.registrant.pk),
        ("submitted", "prequalification", staff.officer.pk),
        ("prequalification", "decision", staff.engineer.pk),
        ("decision", "extraction", staff.officer.pk),
        ("extraction", "disclosure_review", staff.engineer.pk),
        ("disclosure_review", "delivered", staff.engineer.pk),
        ("delivered", "closed", users.registrant.pk),
    ]
    reasons = [json.loads(e.payload)["reason"] for e in transitions]
    assert all(reasons)
    kinds = set(
        AuditEvent.objects.filter(object_type="datarequests.review").values_list(
            "action", flat=True
        )
    )
    assert kinds == {"create"}
    assert AuditEvent.objects.filter(action="signature", object_id=str(case.pk)).exists()


def test_other_regions_staff_cannot_act(users, staff, draft):
    case = services.datarequest_submit(case=draft, by=users.registrant)
    with pytest.raises(PermissionDenied):
        services.datarequest_accept_complete(case=case, by=staff.other_officer)
    with pytest.raises(PermissionDenied):
        services.datarequest_accept_complete(case=case, by=users.registrant)


def test_only_the_applicant_changes_the_application(users, staff, draft):
    with pytest.raises(PermissionDenied):
        services.datarequest_update(case=draft, by=staff.officer, fields={"title": "x"})
    other = ready_application(users.other_registrant)
    with pytest.raises(PermissionDenied):
        services.variables_replace(case=other, by=users.registrant, rows=[])
    assert DataRequest.objects.get(pk=draft.pk).title == "Hjärtsvikt efter covid-19"


def test_a_case_number_taken_meanwhile_gives_the_next_free_one(users, monkeypatch):
    """Two drafts started at the same moment would both compute the same next number."""
    from trialnode.datarequests import application

    first = application.datarequest_create(by=users.registrant, fields=application_fields())
    computed = iter([first.reference])
    original = application._next_reference
    monkeypatch.setattr(application, "_next_reference", lambda: next(computed, None) or original())
    second = application.datarequest_create(by=users.registrant, fields=application_fields())
    assert second.reference != first.reference
    assert second.reference.endswith(f"{int(first.reference[-4:]) + 1:04d}")
