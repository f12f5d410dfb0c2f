"""Every write with a rule on feasibility inquiries: each step of the case is one function,
in one transaction, audited, with its mail queued for after the commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from trialnode.audit.context import because
from trialnode.feasibility import conf
from trialnode.feasibility.answers import mail_link, new_link, recipient_remind
from trialnode.feasibility.mail import absolute_url, queue_mail
from trialnode.feasibility.models import (
    DirectoryEntry,
    Inquiry,
    InquiryKind,
    InquiryMessage,
    InquiryState,
    Recipient,
    SponsorMembership,
    SponsorOrganisation,
    handled_region_ids,
    organisation_of,
)
from trialnode.feasibility.synopses import synopsis_check_and_store, synopsis_dir
from trialnode.organisations.models import CareProvider, Region, Role, RoleAssignment, User


def _sponsor_addresses(inquiry: Inquiry) -> list[str]:
    members = inquiry.organisation.memberships.select_related("user")
    return [inquiry.sponsor_contact_email, *(m.user.email for m in members)]


def _coordinator_addresses(inquiry: Inquiry) -> list[str]:
    regions = inquiry.region_ids()
    assignments = RoleAssignment.objects.filter(
        role=Role.COORDINATOR, revoked_at__isnull=True, user__is_active=True
    ).select_related("user")
    return [a.user.email for a in assignments if a.user.region_ids_for(Role.COORDINATOR) & regions]


def _move(inquiry: Inquiry, state: str, *fields: str) -> None:
    inquiry.state = state
    inquiry.stage_since = timezone.now()
    inquiry.stage_alerted_at = None
    inquiry.save(update_fields=["state", "stage_since", "stage_alerted_at", *fields])


def _locked(inquiry: Inquiry) -> Inquiry:
    return Inquiry.objects.select_for_update().get(pk=inquiry.pk)


def _require_handler(inquiry: Inquiry, by: User) -> None:
    if not Inquiry.objects.handled_by(by).filter(pk=inquiry.pk).exists():
        raise PermissionDenied(_("You do not handle this inquiry."))


def _require_sponsor(inquiry: Inquiry, by: User) -> None:
    if not Inquiry.objects.of_sponsor(by).filter(pk=inquiry.pk).exists():
        raise PermissionDenied(_("This inquiry belongs to another organisation."))


def _require_state(inquiry: Inquiry, *states: str) -> None:
    if inquiry.state not in states:
        raise ValidationError(
            _("This cannot be done while the inquiry is “%(state)s”.")
            % {"state": inquiry.get_state_display()}
        )


# -- sponsor organisations -----------------------------------------------------------------


@transaction.atomic
def organisation_create(*, by: User, name: str, kind: str) -> SponsorOrganisation:
    """A sponsor registers the organisation they act for and becomes its first member."""
    if not by.has_role(Role.SPONSOR):
        raise PermissionDenied(_("Only sponsor accounts create sponsor organisations."))
    if SponsorMembership.objects.filter(user=by).exists():
        raise ValidationError(_("You already belong to a sponsor organisation."))
    name = name.strip()
    if SponsorOrganisation.objects.filter(name__iexact=name).exists():
        raise ValidationError(
            {"name": _("That organisation exists; ask one of its members to add you.")}
        )
    organisation = SponsorOrganisation(name=name, kind=kind)
    organisation.full_clean()
    organisation.save()
    SponsorMembership.objects.create(organisation=organisation, user=by)
    return organisation


@transaction.atomic
def organisation_add_member(
    *, organisation: SponsorOrganisation, by: User, email: str
) -> SponsorMembership:
    """A member adds a colleague who has a sponsor account."""
    if organisation_of(by) != organisation:
        raise PermissionDenied(_("Only members add colleagues to the organisation."))
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None or not user.has_role(Role.SPONSOR):
        raise ValidationError({"email": _("No sponsor account has that e-mail address.")})
    if SponsorMembership.objects.filter(user=user).exists():
        raise ValidationError({"email": _("That user already belongs to a sponsor organisation.")})
    return SponsorMembership.objects.create(organisation=organisation, user=user)


# -- submission and triage -------------------------------------------------------------------

COUNTRY_REQUIRED = ("title", "therapy_area", "product", "planned_start")
SITE_REQUIRED = ("title", "therapy_area", "indication_purpose", "phase", "inclusion_criteria")


@transaction.atomic
def inquiry_submit(
    *,
    by: User,
    kind: str,
    fields: Mapping[str, Any],
    all_sweden: bool,
    regions: Iterable[Region] = (),
    providers: Iterable[CareProvider] = (),
    synopsis: UploadedFile | None = None,
    base_url: str | None = None,
) -> Inquiry:
    """A sponsor's member submits a country or site inquiry to the nodes."""
    organisation = organisation_of(by)
    if organisation is None:
        raise PermissionDenied(_("Register your sponsor organisation before you submit."))
    if kind not in InquiryKind.values:
        raise ValidationError({"kind": _("Choose a country or a site inquiry.")})
    regions, providers = list(regions), list(providers)
    errors: dict[str, list[str]] = {}
    for name in COUNTRY_REQUIRED if kind == InquiryKind.COUNTRY else SITE_REQUIRED:
        if fields.get(name) in (None, ""):
            errors.setdefault(name, []).append(_("This field is required."))
    if kind == InquiryKind.COUNTRY and fields.get("is_atmp") is None:
        errors.setdefault("is_atmp", []).append(_("Say whether the product is an ATMP."))
    if not all_sweden and not regions and not providers:
        errors.setdefault("regions", []).append(
            _("Choose regions or care providers, or all of Sweden.")
        )
    reply_by = fields.get("reply_by")
    if isinstance(reply_by, dt.date) and reply_by <= timezone.localdate():
        errors.setdefault("reply_by", []).append(_("The last reply date must be in the future."))
    if kind == InquiryKind.COUNTRY and synopsis is None:
        errors.setdefault("synopsis", []).append(_("A country inquiry needs a synopsis."))
    if errors:
        raise ValidationError(errors)
    inquiry = Inquiry(organisation=organisation, created_by=by, kind=kind, all_sweden=all_sweden)
    for name, value in fields.items():
        if name in {f.name for f in Inquiry._meta.concrete_fields} and name not in {
            "id",
            "organisation",
            "created_by",
            "kind",
            "state",
            "all_sweden",
        }:
            setattr(inquiry, name, value)
    inquiry.submitted_at = inquiry.stage_since = timezone.now()
    inquiry.full_clean(exclude=["synopsis_path"])
    stored = synopsis_check_and_store(synopsis) if synopsis is not None else None
    if stored is not None:
        inquiry.synopsis_name = stored.name
        inquiry.synopsis_path = stored.path
        inquiry.synopsis_size = stored.size
        inquiry.synopsis_sha256 = stored.sha256
    try:
        inquiry.save()
        inquiry.target_regions.set(regions)
        inquiry.target_providers.set(providers)
    except Exception:
        if stored is not None:
            (synopsis_dir() / stored.path).unlink(missing_ok=True)
        raise
    detail = absolute_url(reverse("feasibility:detail", args=[inquiry.pk]), base_url)
    queue_mail(
        _("New feasibility inquiry %(reference)s") % {"reference": inquiry.reference},
        _("%(organisation)s has submitted “%(title)s”. Check it: %(url)s")
        % {"organisation": organisation.name, "title": inquiry.title, "url": detail},
        _coordinator_addresses(inquiry),
    )
    return inquiry


MESSAGE_MAX = 5000
COMPILED_ANSWER_MAX = 20000


def _message_text(text: str) -> str:
    """A question or reply as written: an over-long one is refused, never cut."""
    text = text.strip()
    if len(text) > MESSAGE_MAX:
        raise ValidationError(
            {"text": _("Keep the message under %(limit)s characters.") % {"limit": MESSAGE_MAX}}
        )
    return text


@transaction.atomic
def inquiry_ask_sponsor(*, inquiry: Inquiry, by: User, text: str, base_url: str | None = None):
    """The coordinator asks the sponsor for what is missing; the case waits for the reply."""
    _require_handler(inquiry, by)
    inquiry = _locked(inquiry)
    _require_state(inquiry, InquiryState.SUBMITTED, InquiryState.AWAITING_SPONSOR)
    if not text.strip():
        raise ValidationError({"text": _("Write the question to the sponsor.")})
    message = InquiryMessage.objects.create(
        inquiry=inquiry, kind=InquiryMessage.Kind.QUESTION, author=by, text=_message_text(text)
    )
    with because("completeness check: question to the sponsor"):
        _move(inquiry, InquiryState.AWAITING_SPONSOR)
    queue_mail(
        _("A question about your inquiry %(reference)s") % {"reference": inquiry.reference},
        _("The node asks: %(text)s\n\nAnswer in the inquiry: %(url)s")
        % {
            "text": message.text,
            "url": absolute_url(reverse("feasibility:detail", args=[inquiry.pk]), base_url),
        },
        _sponsor_addresses(inquiry),
    )
    return message


@transaction.atomic
def inquiry_reply_to_question(
    *, inquiry: Inquiry, by: User, text: str, base_url: str | None = None
):
    """The sponsor answers the coordinator's question in the same case."""
    _require_sponsor(inquiry, by)
    inquiry = _locked(inquiry)
    _require_state(inquiry, InquiryState.AWAITING_SPONSOR)
    if not text.strip():
        raise ValidationError({"text": _("Write your reply.")})
    message = InquiryMessage.objects.create(
        inquiry=inquiry, kind=InquiryMessage.Kind.REPLY, author=by, text=_message_text(text)
    )
    with because("the sponsor replied to the node's question"):
        _move(inquiry, InquiryState.SUBMITTED)
    queue_mail(
        _("The sponsor has replied: %(reference)s") % {"reference": inquiry.reference},
        _("Read the reply: %(url)s")
        % {"url": absolute_url(reverse("feasibility:detail", args=[inquiry.pk]), base_url)},
        _coordinator_addresses(inquiry),
    )
    return message


@transaction.atomic
def inquiry_triage(*, inquiry: Inquiry, by: User) -> Inquiry:
    """The coordinator finds the inquiry complete: next, recipients are chosen."""
    _require_handler(inquiry, by)
    inquiry = _locked(inquiry)
    _require_state(inquiry, InquiryState.SUBMITTED)
    inquiry.triaged_at = timezone.now()
    with because("the inquiry is complete"):
        _move(inquiry, InquiryState.TRIAGED, "triaged_at")
    return inquiry


# -- dispatch --------------------------------------------------------------------------------


def proposal_entries(inquiry: Inquiry, user: User):
    """The units the system proposes: active, in the therapy area, in a region the inquiry
    asks and the user handles; for a country inquiry only the leading experts."""
    regions = inquiry.region_ids() & (
        frozenset(Region.objects.values_list("pk", flat=True))
        if user.is_superuser
        else handled_region_ids(user)
    )
    entries: list[DirectoryEntry] = list(
        DirectoryEntry.objects.filter(
            is_active=True, care_provider__region_id__in=regions
        ).select_related("care_provider__region")
    )
    if not inquiry.all_sweden:
        chosen_regions = set(inquiry.target_regions.values_list("pk", flat=True))
        chosen_providers = set(inquiry.target_providers.values_list("pk", flat=True))
        entries = [
            e
            for e in entries
            if e.care_provider.region_id in chosen_regions or e.care_provider_id in chosen_providers
        ]
    if inquiry.kind == InquiryKind.COUNTRY:
        entries = [e for e in entries if e.is_expert]
    return [e for e in entries if inquiry.therapy_area in (e.therapy_areas or [])]


def dispatchable_entries(inquiry: Inquiry, user: User):
    """Every active unit the user may send this inquiry to (the proposal is a subset)."""
    regions = inquiry.region_ids()
    if not user.is_superuser:
        regions &= handled_region_ids(user)
    return DirectoryEntry.objects.filter(
        is_active=True, care_provider__region_id__in=regions
    ).select_related("care_provider__region")


@transaction.atomic
def inquiry_dispatch(
    *, inquiry: Inquiry, by: User, entries: Iterable[DirectoryEntry], base_url: str | None = None
) -> list[Recipient]:
    """Send the inquiry to units: each gets a personal answer link by e-mail."""
    _require_handler(inquiry, by)
    inquiry = _locked(inquiry)
    _require_state(inquiry, InquiryState.TRIAGED, InquiryState.DISPATCHED)
    if inquiry.reply_date_passed:
        raise ValidationError(_("The last reply date has passed."))
    entries = list(entries)
    if not entries:
        raise ValidationError({"entries": _("Choose at least one unit.")})
    allowed = set(dispatchable_entries(inquiry, by).values_list("pk", flat=True))
    outside = [e for e in entries if e.pk not in allowed]
    if outside:
        raise PermissionDenied(
            _("You may not send this inquiry to %(unit)s.") % {"unit": outside[0]}
        )
    already = set(inquiry.recipients.values_list("entry_id", flat=True))
    created = []
    now = timezone.now()
    for entry in entries:
        if entry.pk in already:
            continue
        recipient = Recipient.objects.create(
            inquiry=inquiry,
            entry=entry,
            region_id=entry.care_provider.region_id,
            dispatched_at=now,
            dispatched_by=by,
        )
        token = new_link(recipient, inquiry)
        mail_link(recipient, inquiry, token, reminder=False, base_url=base_url)
        created.append(recipient)
    if not created:
        raise ValidationError({"entries": _("These units have already received the inquiry.")})
    if inquiry.state == InquiryState.TRIAGED:
        inquiry.dispatched_at = now
        with because(f"sent to {len(created)} units"):
            _move(inquiry, InquiryState.DISPATCHED, "dispatched_at")
    queue_mail(
        _("Your inquiry %(reference)s has been sent to units") % {"reference": inquiry.reference},
        _("%(count)s units have been asked. Follow the answers: %(url)s")
        % {
            "count": len(created),
            "url": absolute_url(reverse("feasibility:detail", args=[inquiry.pk]), base_url),
        },
        _sponsor_addresses(inquiry),
    )
    return created


def inquiry_remind(*, inquiry: Inquiry, by: User, base_url: str | None = None) -> int:
    """The coordinator reminds the units of their regions that have not answered."""
    _require_handler(inquiry, by)
    _require_state(inquiry, InquiryState.DISPATCHED)
    if inquiry.reply_date_passed:
        raise ValidationError(_("The last reply date has passed."))
    regions = handled_region_ids(by) if not by.is_superuser else None
    waiting = inquiry.recipients.filter(response="")
    if regions is not None:
        waiting = waiting.filter(region_id__in=regions)
    count = 0
    with transaction.atomic():
        for recipient in waiting:
            recipient_remind(recipient=recipient, base_url=base_url)
            count += 1
    return count


# -- the compiled answer ---------------------------------------------------------------------


def compiled_answer_draft(inquiry: Inquiry) -> str:
    """A starting text for the compiled answer, from the answers received."""
    lines = []
    for recipient in inquiry.recipients.select_related("entry__care_provider", "region"):
        answer = recipient.get_response_display() if recipient.response else _("No answer")
        line = f"- {recipient.entry.unit_name}, {recipient.entry.care_provider.name}: {answer}"
        if recipient.eligible_per_year is not None:
            line += " " + _("(about %(n)s eligible patients a year)") % {
                "n": recipient.eligible_per_year
            }
        lines.append(line)
    return "\n".join(lines)


@transaction.atomic
def inquiry_compile(
    *, inquiry: Inquiry, by: User, text: str, base_url: str | None = None
) -> Inquiry:
    """The coordinator sends the compiled answer to the sponsor."""
    _require_handler(inquiry, by)
    inquiry = _locked(inquiry)
    _require_state(inquiry, InquiryState.DISPATCHED)
    if not text.strip():
        raise ValidationError({"text": _("Write the compiled answer.")})
    if len(text.strip()) > COMPILED_ANSWER_MAX:
        raise ValidationError(
            {
                "text": _("Keep the compiled answer under %(limit)s characters.")
                % {"limit": COMPILED_ANSWER_MAX}
            }
        )
    inquiry.compiled_answer = text.strip()
    inquiry.answered_at = timezone.now()
    with because("compiled answer sent to the sponsor"):
        _move(inquiry, InquiryState.ANSWERED, "compiled_answer", "answered_at")
    queue_mail(
        _("The answer to your inquiry %(reference)s") % {"reference": inquiry.reference},
        _("The node has compiled the answers: %(url)s")
        % {"url": absolute_url(reverse("feasibility:detail", args=[inquiry.pk]), base_url)},
        _sponsor_addresses(inquiry),
    )
    return inquiry


@transaction.atomic
def inquiry_close(*, inquiry: Inquiry, by: User, reason: str = "") -> Inquiry:
    """Close the case (after the answer, or earlier with a reason)."""
    _require_handler(inquiry, by)
    inquiry = _locked(inquiry)
    if inquiry.state == InquiryState.CLOSED:
        raise ValidationError(_("The inquiry is already closed."))
    if inquiry.state != InquiryState.ANSWERED and not reason.strip():
        raise ValidationError({"reason": _("Say why the inquiry is closed without an answer.")})
    inquiry.closed_at = timezone.now()
    with because(reason.strip() or "closed after the answer"):
        _move(inquiry, InquiryState.CLOSED, "closed_at")
    return inquiry


# -- the jobs: reminders and stage alerts ----------------------------------------------------


def reminders_send(*, now: dt.datetime | None = None, base_url: str | None = None) -> int:
    """Remind each unit that has not answered, once, when the reply date is near."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    soon = today + dt.timedelta(days=conf.REMIND_DAYS_BEFORE)
    waiting = Recipient.objects.filter(
        response="",
        reminded_at__isnull=True,
        inquiry__state=InquiryState.DISPATCHED,
        inquiry__reply_by__gte=today,
        inquiry__reply_by__lte=soon,
    )
    count = 0
    for recipient in waiting:
        recipient_remind(recipient=recipient, base_url=base_url)
        count += 1
    return count


WAITING_STAGES = (InquiryState.SUBMITTED, InquiryState.TRIAGED, InquiryState.DISPATCHED)


def stage_alerts_send(*, now: dt.datetime | None = None, base_url: str | None = None) -> int:
    """Alert the coordinators of an inquiry that has waited too long at its stage (once per
    stage); a dispatched one waits too long when its reply date has passed unanswered."""
    now = now or timezone.now()
    limit = now - dt.timedelta(days=conf.STAGE_ALERT_DAYS)
    waiting = Inquiry.objects.filter(
        state__in=WAITING_STAGES, stage_alerted_at__isnull=True, stage_since__lt=limit
    )
    count = 0
    for inquiry in waiting:
        if inquiry.state == InquiryState.DISPATCHED and not inquiry.reply_date_passed:
            continue
        with transaction.atomic():
            Inquiry.objects.filter(pk=inquiry.pk).update(stage_alerted_at=now)
            days = (now - inquiry.stage_since).days
            queue_mail(
                _("Inquiry %(reference)s has waited %(days)s days")
                % {
                    "reference": inquiry.reference,
                    "days": days,
                },
                _("“%(title)s” has been “%(state)s” for %(days)s days: %(url)s")
                % {
                    "title": inquiry.title,
                    "state": inquiry.get_state_display(),
                    "days": days,
                    "url": absolute_url(reverse("feasibility:detail", args=[inquiry.pk]), base_url),
                },
                _coordinator_addresses(inquiry),
            )
        count += 1
    return count


# -- the directory ---------------------------------------------------------------------------


@transaction.atomic
def directory_entry_save(*, entry: DirectoryEntry, by: User) -> DirectoryEntry:
    """A coordinator adds or changes a unit of a care provider in their regions."""
    regions = handled_region_ids(by)
    if not by.is_superuser and entry.care_provider.region_id not in regions:
        raise PermissionDenied(_("You maintain the directory of your own regions only."))
    if entry.pk and not DirectoryEntry.objects.maintainable_by(by).filter(pk=entry.pk).exists():
        raise PermissionDenied(_("You maintain the directory of your own regions only."))
    entry.therapy_areas = sorted(set(entry.therapy_areas or []))
    entry.full_clean()
    entry.save()
    return entry
