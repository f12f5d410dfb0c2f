"""The flow of an inquiry, each step a service: submit, ask the sponsor, reply, triage,
propose and dispatch to units in two regions, answer by link, compile, close."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied

from tests.feasibility.conftest import submit_country, submit_site
from trialnode.audit.models import AuditEvent
from trialnode.feasibility import answers, services
from trialnode.feasibility.models import Inquiry, InquiryState, Recipient

pytestmark = pytest.mark.django_db


def _token(mail) -> tuple[int, str]:
    match = re.search(r"/forfragningar/svar/(\d+)/([^/\s]+)/", mail.body)
    assert match, mail.body
    return int(match.group(1)), match.group(2)


def test_a_site_inquiry_goes_from_submission_to_closing(
    users,
    organisation,
    directory,
    national_coordinator,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        inquiry = submit_site(users.sponsor)
    assert inquiry.state == InquiryState.SUBMITTED
    assert any("coordinator@example.se" in m.to for m in mailoutbox)

    with django_capture_on_commit_callbacks(execute=True):
        services.inquiry_ask_sponsor(inquiry=inquiry, by=users.coordinator, text="Antal patienter?")
    assert Inquiry.objects.get(pk=inquiry.pk).state == InquiryState.AWAITING_SPONSOR
    services.inquiry_reply_to_question(inquiry=inquiry, by=users.sponsor, text="Cirka 60")
    services.inquiry_triage(inquiry=inquiry, by=users.coordinator)

    proposed = services.proposal_entries(Inquiry.objects.get(pk=inquiry.pk), national_coordinator)
    assert {e.pk for e in proposed} == {
        directory["uppsala_heart"].pk,
        directory["orebro_heart"].pk,
    }
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        recipients = services.inquiry_dispatch(
            inquiry=inquiry, by=national_coordinator, entries=proposed
        )
    assert {r.region.slug for r in recipients} == {"uppsala", "orebro"}
    links = [_token(m) for m in mailoutbox if "/forfragningar/svar/" in m.body]
    assert len(links) == 2

    (first_id, first_token), (second_id, second_token) = links
    answers.recipient_answer(
        recipient_id=first_id,
        token=first_token,
        answer={"response": "interested", "eligible_per_year": 15, "comments": "Gärna"},
    )
    answers.recipient_answer(
        recipient_id=second_id,
        token=second_token,
        answer={"response": "declines", "decline_reason": "Konkurrerande studie"},
    )
    # The answer can be changed until the reply date.
    changed = answers.recipient_answer(
        recipient_id=first_id, token=first_token, answer={"response": "more_information"}
    )
    assert changed.response == "more_information"
    assert changed.first_answered_at <= changed.answered_at

    services.inquiry_compile(
        inquiry=inquiry, by=national_coordinator, text="En klinik vill veta mer."
    )
    inquiry.refresh_from_db()
    assert inquiry.state == InquiryState.ANSWERED
    services.inquiry_close(inquiry=inquiry, by=users.coordinator)
    inquiry.refresh_from_db()
    assert inquiry.state == InquiryState.CLOSED
    transitions = AuditEvent.objects.filter(
        object_type="feasibility.inquiry", object_id=str(inquiry.pk), action="transition"
    ).count()
    assert transitions == 6


def test_a_country_inquiry_goes_to_the_leading_experts_and_takes_the_feedback_form(
    users,
    organisation,
    directory,
    national_coordinator,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    inquiry = submit_country(users.sponsor)
    services.inquiry_triage(inquiry=inquiry, by=national_coordinator)
    proposed = services.proposal_entries(inquiry, national_coordinator)
    assert all(e.is_expert for e in proposed) and len(proposed) == 2
    with django_capture_on_commit_callbacks(execute=True):
        services.inquiry_dispatch(inquiry=inquiry, by=national_coordinator, entries=proposed[:1])
    recipient_id, token = _token(
        mailoutbox[-2] if "svar" in mailoutbox[-2].body else mailoutbox[-1]
    )
    with pytest.raises(Exception) as refused:
        answers.recipient_answer(
            recipient_id=recipient_id, token=token, answer={"response": "interested"}
        )
    assert "feedback form" in str(refused.value)
    answered = answers.recipient_answer(
        recipient_id=recipient_id,
        token=token,
        answer={
            "response": "interested",
            "population_exists": "yes",
            "recruitment_chance": "good",
            "recruitment_limit": "competing",
            "discouraging_factors": "no",
            "standard_of_care": "yes",
            "care_setting": "Specialistmottagning",
        },
    )
    assert answered.recruitment_chance == "good"


def test_a_coordinator_sends_only_to_units_of_their_own_regions(users, organisation, directory):
    inquiry = submit_site(users.sponsor)
    services.inquiry_triage(inquiry=inquiry, by=users.coordinator)
    proposed = services.proposal_entries(inquiry, users.coordinator)
    assert [e.pk for e in proposed] == [directory["uppsala_heart"].pk]
    with pytest.raises(PermissionDenied):
        services.inquiry_dispatch(
            inquiry=inquiry, by=users.coordinator, entries=[directory["orebro_heart"]]
        )
    assert not Recipient.objects.exists()


def test_reminders_send_a_new_link_and_the_old_one_stops(
    users, organisation, directory, mailoutbox, django_capture_on_commit_callbacks
):
    import datetime as dt

    inquiry = submit_site(users.sponsor, reply_by=dt.date.today() + dt.timedelta(days=2))
    services.inquiry_triage(inquiry=inquiry, by=users.coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        services.inquiry_dispatch(
            inquiry=inquiry, by=users.coordinator, entries=[directory["uppsala_heart"]]
        )
    old_id, old_token = _token(mailoutbox[-1] if "svar" in mailoutbox[-1].body else mailoutbox[-2])
    with django_capture_on_commit_callbacks(execute=True):
        assert services.reminders_send() == 1
    assert services.reminders_send() == 0  # once per unit
    new_id, new_token = _token(
        next(m for m in mailoutbox if "Påminnelse" in m.subject or "Reminder" in m.subject)
    )
    assert new_id == old_id and new_token != old_token
    with pytest.raises(answers.LinkRefused, match="replaced"):
        answers.recipient_for_link(old_id, old_token)
    assert answers.recipient_for_link(new_id, new_token).pk == new_id


def test_coordinators_are_alerted_once_when_an_inquiry_waits_at_a_stage(
    users, organisation, directory, mailoutbox, django_capture_on_commit_callbacks
):
    import datetime as dt

    from django.utils import timezone

    inquiry = submit_site(users.sponsor)
    later = timezone.now() + dt.timedelta(days=10)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.stage_alerts_send(now=later) == 1
    assert services.stage_alerts_send(now=later) == 0
    assert any("waited" in m.subject and "coordinator@example.se" in m.to for m in mailoutbox)
    services.inquiry_triage(inquiry=inquiry, by=users.coordinator)
    assert Inquiry.objects.get(pk=inquiry.pk).stage_alerted_at is None


def test_the_reminder_job_runs_both_reminders(users, organisation, directory):
    from trialnode.feasibility.tasks import send_feasibility_reminders

    submit_site(users.sponsor)
    assert send_feasibility_reminders.call() == {
        "recipients_reminded": 0,
        "coordinators_alerted": 0,
    }
