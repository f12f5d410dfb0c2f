"""Personal answer links and the answers of the units: no account, a token whose hash is
kept, valid until the reply date; a new link replaces the old one."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from trialnode.audit.context import because
from trialnode.feasibility import conf
from trialnode.feasibility.mail import absolute_url, queue_mail
from trialnode.feasibility.models import (
    AnswerLink,
    Inquiry,
    InquiryKind,
    InquiryState,
    Recipient,
    Response,
)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _end_of_day(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


def new_link(recipient: Recipient, inquiry: Inquiry) -> str:
    """A fresh link for the recipient; any earlier one stops working."""
    now = timezone.now()
    AnswerLink.objects.filter(recipient=recipient, replaced_at__isnull=True).update(replaced_at=now)
    token = secrets.token_urlsafe(32)
    AnswerLink.objects.create(
        recipient=recipient,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=min(
            _end_of_day(inquiry.reply_by), now + dt.timedelta(days=conf.LINK_VALID_DAYS)
        ),
    )
    return token


def answer_path(recipient: Recipient, token: str) -> str:
    return reverse("feasibility:answer", args=[recipient.pk, token])


def mail_link(recipient: Recipient, inquiry: Inquiry, token: str, *, reminder: bool, base_url):
    subject = (
        _("Reminder: feasibility inquiry %(reference)s")
        if reminder
        else _("Feasibility inquiry %(reference)s: can your unit take part?")
    ) % {"reference": inquiry.reference}
    body = _(
        "%(unit)s is asked about the study “%(title)s” (%(kind)s) from %(sponsor)s.\n\n"
        "Answer by %(reply_by)s with this personal link (no account needed; you can "
        "change your answer until that date):\n%(url)s"
    ) % {
        "unit": recipient.entry.unit_name,
        "title": inquiry.title,
        "kind": inquiry.get_kind_display(),
        "sponsor": inquiry.organisation.name,
        "reply_by": inquiry.reply_by.isoformat(),
        "url": absolute_url(answer_path(recipient, token), base_url),
    }
    queue_mail(subject, body, [recipient.entry.email])


@transaction.atomic
def recipient_remind(*, recipient: Recipient, base_url: str | None = None) -> None:
    """A new answer link by e-mail to a unit that has not answered (the old link stops)."""
    recipient = (
        Recipient.objects.select_for_update()
        .select_related("entry", "inquiry")
        .get(pk=recipient.pk)
    )
    inquiry = recipient.inquiry
    if recipient.has_answered or inquiry.state != InquiryState.DISPATCHED:
        return
    if inquiry.reply_date_passed:
        return
    token = new_link(recipient, inquiry)
    recipient.reminded_at = timezone.now()
    with because("reminder before the reply date"):
        recipient.save(update_fields=["reminded_at"])
    mail_link(recipient, inquiry, token, reminder=True, base_url=base_url)


class LinkRefused(Exception):
    """An answer link that cannot be used; the message says why (fit to show)."""


def recipient_for_link(recipient_id: int, token: str) -> Recipient:
    """The recipient a valid link belongs to; otherwise LinkRefused with the reason."""
    link = (
        AnswerLink.objects.select_related("recipient__inquiry__organisation", "recipient__entry")
        .filter(token_hash=token_hash(token or ""))
        .first()
    )
    if link is None:
        raise LinkRefused(_("This link is not valid. Use the latest link you received by e-mail."))
    if link.recipient_id != recipient_id:
        raise LinkRefused(_("This link belongs to another recipient."))
    if link.replaced_at is not None:
        raise LinkRefused(
            _("This link has been replaced by a newer one. Use the latest link you received.")
        )
    if timezone.now() >= link.expires_at:
        raise LinkRefused(_("This link has expired. Ask the node for a new one."))
    return link.recipient


ANSWER_FIELDS = (
    "response",
    "decline_reason",
    "eligible_per_year",
    "comments",
    "population_exists",
    "recruitment_chance",
    "recruitment_limit",
    "discouraging_factors",
    "standard_of_care",
    "care_setting",
)


@transaction.atomic
def recipient_answer(*, recipient_id: int, token: str, answer: Mapping[str, Any]) -> Recipient:
    """A unit answers (or changes its answer) through its link, until the reply date."""
    recipient = recipient_for_link(recipient_id, token)
    recipient = Recipient.objects.select_for_update().select_related("inquiry").get(pk=recipient.pk)
    inquiry = recipient.inquiry
    if inquiry.state != InquiryState.DISPATCHED:
        raise LinkRefused(_("The inquiry is no longer open for answers."))
    if inquiry.reply_date_passed:
        raise LinkRefused(_("The last reply date has passed; the answer can no longer change."))
    errors: dict[str, list[str]] = {}
    response = answer.get("response") or ""
    if response not in Response.values:
        errors["response"] = [_("Choose an answer.")]
    if response == Response.DECLINES and not (answer.get("decline_reason") or "").strip():
        errors["decline_reason"] = [_("Say why the unit declines.")]
    eligible = answer.get("eligible_per_year")
    if eligible is not None and not 0 <= int(eligible) <= 1_000_000:
        errors["eligible_per_year"] = [_("Give a number between 0 and 1,000,000.")]
    if inquiry.kind == InquiryKind.COUNTRY and not answer.get("population_exists"):
        errors["population_exists"] = [_("Answer the first question of the feedback form.")]
    if errors:
        raise ValidationError(errors)
    for name in ANSWER_FIELDS:
        value = answer.get(name)
        setattr(recipient, name, "" if value is None and name != "eligible_per_year" else value)
    if recipient.response != Response.DECLINES:
        recipient.decline_reason = ""
    now = timezone.now()
    recipient.answered_at = now
    recipient.first_answered_at = recipient.first_answered_at or now
    recipient.full_clean(exclude=["inquiry", "entry", "region", "dispatched_by"])
    with because("answer through the recipient's link"):
        recipient.save()
    return recipient
