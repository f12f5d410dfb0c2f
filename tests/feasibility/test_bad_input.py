"""Bad input is refused with a clear reason and changes nothing: expired, replaced and
other recipients' links, answers after the reply date, uploads that are not a PDF or too
large, and a sponsor reaching for another sponsor's inquiry by id."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from tests.feasibility.conftest import pdf, submit_country, submit_site
from trialnode.audit.models import AuditEvent
from trialnode.feasibility import answers, conf, services, synopses
from trialnode.feasibility.models import AnswerLink, Inquiry, Recipient

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_links(users, organisation, directory, national_coordinator, monkeypatch):
    """A dispatched inquiry with two recipients and their tokens."""
    tokens = iter(
        ["token-of-the-uppsala-unit-0001", "token-of-the-orebro-unit-0002", "new-link-0003"]
    )
    monkeypatch.setattr(answers.secrets, "token_urlsafe", lambda n: next(tokens))
    inquiry = submit_site(users.sponsor)
    services.inquiry_triage(inquiry=inquiry, by=national_coordinator)
    first, second = services.inquiry_dispatch(
        inquiry=inquiry,
        by=national_coordinator,
        entries=[directory["uppsala_heart"], directory["orebro_heart"]],
    )
    return (
        inquiry,
        (first, "token-of-the-uppsala-unit-0001"),
        (second, "token-of-the-orebro-unit-0002"),
    )


def _post_answer(recipient_id: int, token: str, **answer):
    client = Client()
    return client.post(
        f"/forfragningar/svar/{recipient_id}/{token}/", {"response": "interested", **answer}
    )


def _unchanged(recipient: Recipient, before: int):
    recipient.refresh_from_db()
    assert recipient.response == ""
    assert AuditEvent.objects.count() == before


def test_an_expired_link_is_refused_and_changes_nothing(two_links):
    _inquiry, (recipient, token), _ = two_links
    AnswerLink.objects.filter(recipient=recipient).update(expires_at=timezone.now())
    before = AuditEvent.objects.count()
    response = _post_answer(recipient.pk, token)
    assert response.status_code == 403
    assert "expired" in response.content.decode()
    _unchanged(recipient, before)


def test_a_replaced_link_is_refused_and_changes_nothing(two_links):
    _inquiry, (recipient, token), _ = two_links
    answers.recipient_remind(recipient=recipient)
    before = AuditEvent.objects.count()
    response = _post_answer(recipient.pk, token)
    assert response.status_code == 403
    assert "replaced" in response.content.decode()
    _unchanged(recipient, before)


def test_a_link_used_for_another_recipient_is_refused_and_changes_nothing(two_links):
    _inquiry, (first, first_token), (second, _token) = two_links
    before = AuditEvent.objects.count()
    response = _post_answer(second.pk, first_token)
    assert response.status_code == 403
    assert "another recipient" in response.content.decode()
    _unchanged(second, before)
    _unchanged(first, before)


def test_an_unknown_link_is_refused(two_links):
    _inquiry, (recipient, _token), _ = two_links
    response = Client().get(f"/forfragningar/svar/{recipient.pk}/guessed-token/")
    assert response.status_code == 403


def test_an_answer_after_the_reply_date_is_refused_and_changes_nothing(two_links):
    inquiry, (recipient, token), _ = two_links
    # The link itself is still valid; the inquiry's reply date has passed.
    Inquiry.objects.filter(pk=inquiry.pk).update(
        reply_by=timezone.localdate() - dt.timedelta(days=1)
    )
    before = AuditEvent.objects.count()
    response = _post_answer(recipient.pk, token)
    assert response.status_code == 403
    assert "reply date has passed" in response.content.decode()
    _unchanged(recipient, before)
    with pytest.raises(answers.LinkRefused):
        answers.recipient_answer(
            recipient_id=recipient.pk, token=token, answer={"response": "interested"}
        )


def test_declining_without_a_reason_is_refused(two_links):
    _inquiry, (recipient, token), _ = two_links
    before = AuditEvent.objects.count()
    response = _post_answer(recipient.pk, token, response="declines")
    assert response.status_code == 200
    assert "Say why the unit declines" in response.content.decode()
    _unchanged(recipient, before)


@pytest.mark.parametrize(
    "upload, message",
    [
        (SimpleUploadedFile("synopsis.pdf", b"PK\x03\x04 a zip file"), "must be a PDF"),
        (SimpleUploadedFile("synopsis.docx", b"%PDF-1.4 renamed"), "must be a PDF"),
        (SimpleUploadedFile("synopsis.pdf", b""), "empty"),
    ],
)
def test_a_synopsis_that_is_not_a_pdf_is_refused_and_nothing_is_stored(
    users, organisation, settings, upload, message
):
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError, match=message):
        services.inquiry_submit(
            by=users.sponsor,
            kind="country",
            fields={
                "title": "Prov",
                "therapy_area": "IX",
                "product": "X",
                "planned_start": dt.date.today(),
                "is_atmp": False,
                "sponsor_contact_name": "K",
                "sponsor_contact_email": "k@example.se",
                "reply_by": dt.date.today() + dt.timedelta(days=9),
            },
            all_sweden=True,
            synopsis=upload,
        )
    assert not Inquiry.objects.exists()
    assert AuditEvent.objects.count() == before
    assert not list(synopses.synopsis_dir().iterdir())


def test_a_synopsis_larger_than_the_limit_is_refused_on_the_page(users, organisation, monkeypatch):
    monkeypatch.setattr(conf, "SYNOPSIS_MAX_MB", 1)
    client = Client()
    client.force_login(users.sponsor)
    before = AuditEvent.objects.count()
    response = client.post(
        "/forfragningar/ny/country/",
        {
            "title": "Prov",
            "therapy_area": "IX",
            "product": "X",
            "planned_start": "2030-01-01",
            "is_atmp": "no",
            "reply_by": (dt.date.today() + dt.timedelta(days=9)).isoformat(),
            "sponsor_contact_name": "K",
            "sponsor_contact_email": "k@example.se",
            "all_sweden": "on",
            "synopsis": pdf(size=1024 * 1024 + 10),
        },
    )
    assert response.status_code == 200
    assert "larger than 1 MB" in response.content.decode()
    assert not Inquiry.objects.exists()
    assert AuditEvent.objects.count() == before
    assert not list(synopses.synopsis_dir().iterdir())


def test_a_sponsor_cannot_reach_another_sponsors_inquiry_by_id(users, organisation, other_sponsor):
    inquiry = submit_country(users.sponsor)
    client = Client()
    client.force_login(other_sponsor)
    before = AuditEvent.objects.count()
    for url in (
        f"/forfragningar/{inquiry.pk}/",
        f"/forfragningar/{inquiry.pk}/synopsis/",
        f"/forfragningar/{inquiry.pk}/svar.xlsx",
        f"/api/v1/feasibility/inquiries/{inquiry.pk}",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/forfragningar/{inquiry.pk}/svara/", {"text": "x"}).status_code == 404
    response = client.post(
        f"/api/v1/feasibility/inquiries/{inquiry.pk}/replies",
        {"text": "x"},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert AuditEvent.objects.count() == before
    with pytest.raises(Exception, match="another organisation"):
        services.inquiry_reply_to_question(inquiry=inquiry, by=other_sponsor, text="x")
    assert [i.pk for i in Inquiry.objects.visible_to(other_sponsor)] == []


def test_every_read_of_a_synopsis_is_in_the_audit_trail(users, organisation):
    inquiry = submit_country(users.sponsor)
    client = Client()
    client.force_login(users.coordinator)
    response = client.get(f"/forfragningar/{inquiry.pk}/synopsis/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    event = AuditEvent.objects.filter(action="export", object_type="feasibility.inquiry").last()
    assert event is not None and event.actor == users.coordinator
    # Node staff who do not handle inquiries do not read it.
    client.force_login(users.node_admin)
    assert client.get(f"/forfragningar/{inquiry.pk}/synopsis/").status_code == 403
