"""Feasibility inquiries (Feasibility Sweden): sponsor organisations, their inquiries, the
directory of units and investigators, the recipients an inquiry is sent to, their answer
links and answers, and the questions between coordinator and sponsor in the case."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from trialnode.audit.models import AuditedModel, AuditedQuerySet
from trialnode.organisations.models import CareProvider, Region, Role
from trialnode.studies.filters import CONDITION_AREA_LABELS
from trialnode.studies.models import Phase
from trialnode.studies.validators import ICD10_CHAPTERS

STAFF_READ_ROLES = (Role.COORDINATOR, Role.NODE_ADMIN)
THERAPY_AREAS = [
    (chapter, format_lazy("{} {}", chapter, CONDITION_AREA_LABELS[chapter]))
    for chapter, *_range in ICD10_CHAPTERS
]


def handled_region_ids(user) -> frozenset[int]:
    """Regions whose inquiries ``user`` handles as a coordinator."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    return user.region_ids_for(Role.COORDINATOR)


def staff_region_ids(user) -> frozenset[int]:
    """Regions whose inquiries ``user`` may read as node staff."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    ids: set[int] = set()
    for role in STAFF_READ_ROLES:
        ids |= user.region_ids_for(role)
    return frozenset(ids)


class SponsorOrganisation(AuditedModel):
    """A company, CRO or academic sponsor; its members share its inquiries."""

    class Kind(models.TextChoices):
        INDUSTRY = "industry", _("Company")
        CRO = "cro", _("CRO")
        ACADEMIC = "academic", _("Academic sponsor")

    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("type of sponsor"), max_length=10, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("sponsor organisation")

    def __str__(self) -> str:
        return self.name


class SponsorMembership(AuditedModel):
    """A user acting for a sponsor organisation (one organisation per user)."""

    organisation = models.ForeignKey(
        SponsorOrganisation, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sponsor_membership"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["organisation", "user"]
        verbose_name = _("sponsor membership")

    def __str__(self) -> str:
        return f"{self.user} ({self.organisation})"


def organisation_of(user) -> SponsorOrganisation | None:
    if not user.is_authenticated or not user.is_active or not user.has_role(Role.SPONSOR):
        return None
    membership = SponsorMembership.objects.filter(user=user).select_related("organisation").first()
    return membership.organisation if membership else None


class DirectoryEntryQuerySet(AuditedQuerySet):
    def maintainable_by(self, user) -> DirectoryEntryQuerySet:
        if user.is_authenticated and user.is_active and user.is_superuser:
            return self.all()
        return self.filter(care_provider__region_id__in=handled_region_ids(user))


class DirectoryEntry(AuditedModel):
    """A unit (klinik) and its investigator, with the therapy areas they take inquiries in."""

    care_provider = models.ForeignKey(
        CareProvider,
        on_delete=models.PROTECT,
        related_name="feasibility_entries",
        verbose_name=_("care provider"),
    )
    unit_name = models.CharField(_("unit"), max_length=200)
    investigator = models.CharField(_("investigator"), max_length=200)
    email = models.EmailField(_("e-mail address"))
    phone = models.CharField(_("telephone"), max_length=40, blank=True)
    specialty = models.CharField(_("specialty"), max_length=200)
    therapy_areas = models.JSONField(_("therapy areas (ICD-10 chapters)"), default=list, blank=True)
    is_expert = models.BooleanField(_("leading expert (receives country inquiries)"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    objects = DirectoryEntryQuerySet.as_manager()  # type: ignore[misc]

    class Meta:
        ordering = ["care_provider__name", "unit_name", "investigator"]
        verbose_name = _("directory entry")
        verbose_name_plural = _("directory entries")

    def __str__(self) -> str:
        return f"{self.unit_name}, {self.care_provider.name} ({self.investigator})"

    @property
    def region_id(self) -> int:
        return self.care_provider.region_id


class InquiryKind(models.TextChoices):
    COUNTRY = "country", _("Country inquiry")
    SITE = "site", _("Site inquiry")


class InquiryState(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    AWAITING_SPONSOR = "awaiting_sponsor", _("Waiting for the sponsor")
    TRIAGED = "triaged", _("Checked, recipients being chosen")
    DISPATCHED = "dispatched", _("Sent to units")
    ANSWERED = "answered", _("Answer sent to the sponsor")
    CLOSED = "closed", _("Closed")


class YesNoUnknown(models.TextChoices):
    YES = "yes", _("Yes")
    NO = "no", _("No")
    UNKNOWN = "unknown", _("Unknown")


class InquiryQuerySet(AuditedQuerySet):
    """The one place that decides who sees and who handles an inquiry."""

    def _in_regions(self, region_ids: frozenset[int]) -> Q:
        return (
            Q(all_sweden=True)
            | Q(target_regions__in=region_ids)
            | Q(target_providers__region_id__in=region_ids)
            | Q(recipients__entry__care_provider__region_id__in=region_ids)
        )

    def visible_to(self, user) -> InquiryQuerySet:
        """Sponsors: their organisation's; node staff: those that concern their regions."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        condition = Q(pk__in=[])
        organisation = organisation_of(user)
        if organisation is not None:
            condition |= Q(organisation=organisation)
        regions = staff_region_ids(user)
        if regions:
            condition |= self._in_regions(regions)
        ids = self.model.objects.filter(condition).values("pk")
        return self.filter(pk__in=ids)

    def handled_by(self, user) -> InquiryQuerySet:
        """Inquiries a coordinator handles: those that concern a region of theirs."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        regions = handled_region_ids(user)
        if not regions:
            return self.none()
        ids = self.model.objects.filter(self._in_regions(regions)).values("pk")
        return self.filter(pk__in=ids)

    def of_sponsor(self, user) -> InquiryQuerySet:
        organisation = organisation_of(user)
        if organisation is None:
            return self.none()
        return self.filter(organisation=organisation)


class Inquiry(AuditedModel):
    """A sponsor's country or site inquiry, from submission to the compiled answer."""

    audit_state_fields = ("state",)
    audit_masked_fields = frozenset({"synopsis_path"})

    organisation = models.ForeignKey(
        SponsorOrganisation, on_delete=models.PROTECT, related_name="inquiries"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="feasibility_inquiries"
    )
    kind = models.CharField(_("type of inquiry"), max_length=10, choices=InquiryKind.choices)
    state = models.CharField(
        _("state"), max_length=20, choices=InquiryState.choices, default=InquiryState.SUBMITTED
    )
    # Both kinds
    title = models.CharField(_("study title"), max_length=300)
    therapy_area = models.CharField(
        _("therapy area (ICD-10 chapter)"), max_length=6, choices=THERAPY_AREAS
    )
    specialty = models.CharField(_("specialty"), max_length=200, blank=True)
    product = models.CharField(_("product"), max_length=300, blank=True)
    reply_by = models.DateField(_("last reply date"))
    sponsor_contact_name = models.CharField(_("sponsor contact"), max_length=200)
    sponsor_contact_email = models.EmailField(_("sponsor contact's e-mail"))
    # Country inquiry
    planned_start = models.DateField(_("planned start"), null=True, blank=True)
    is_atmp = models.BooleanField(_("ATMP (advanced therapy)"), null=True, blank=True)
    # Site inquiry
    indication_purpose = models.TextField(_("indication and purpose"), max_length=5000, blank=True)
    phase = models.CharField(_("phase"), max_length=20, choices=Phase.choices, blank=True)
    ce_marked = models.CharField(
        _("CE mark (medical devices)"), max_length=10, choices=YesNoUnknown.choices, blank=True
    )
    inclusion_criteria = models.TextField(_("inclusion criteria"), max_length=10000, blank=True)
    exclusion_criteria = models.TextField(_("exclusion criteria"), max_length=10000, blank=True)
    special_requirements = models.TextField(
        _("special skills or equipment needed"), max_length=5000, blank=True
    )
    timeline = models.TextField(_("time and enrolment plan"), max_length=5000, blank=True)
    target_enrolment = models.PositiveIntegerField(
        _("patients to enrol in Sweden"), null=True, blank=True
    )
    investigators_contacted = models.TextField(
        _("investigators already contacted"), max_length=5000, blank=True
    )
    sweden_chosen = models.CharField(
        _("Sweden already chosen as a study country"),
        max_length=10,
        choices=YesNoUnknown.choices,
        blank=True,
    )
    # Where the inquiry should go
    all_sweden = models.BooleanField(_("all of Sweden"), default=False)
    target_regions = models.ManyToManyField(
        Region, blank=True, related_name="+", verbose_name=_("regions")
    )
    target_providers = models.ManyToManyField(
        CareProvider, blank=True, related_name="+", verbose_name=_("care providers")
    )
    # The synopsis (a PDF kept outside the web root)
    synopsis_name = models.CharField(_("synopsis"), max_length=200, blank=True)
    synopsis_path = models.CharField(max_length=500, blank=True, editable=False)
    synopsis_size = models.PositiveIntegerField(null=True, blank=True, editable=False)
    synopsis_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    # The case
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)
    triaged_at = models.DateTimeField(_("checked"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("first sent to units"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answer sent"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    stage_since = models.DateTimeField(default=timezone.now, editable=False)
    stage_alerted_at = models.DateTimeField(null=True, blank=True, editable=False)
    compiled_answer = models.TextField(_("compiled answer"), max_length=20000, blank=True)

    objects = InquiryQuerySet.as_manager()  # type: ignore[misc]

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("feasibility inquiry")
        verbose_name_plural = _("feasibility inquiries")
        constraints = [
            models.CheckConstraint(
                condition=Q(synopsis_size__isnull=True) | Q(synopsis_size__gte=0),
                name="inquiry_synopsis_size_not_negative",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.title}"

    @property
    def reference(self) -> str:
        return f"FS-{self.submitted_at:%Y}-{self.pk:04d}"

    @property
    def is_open(self) -> bool:
        return self.state not in (InquiryState.ANSWERED, InquiryState.CLOSED)

    @property
    def reply_date_passed(self) -> bool:
        return timezone.localdate() > self.reply_by

    def region_ids(self) -> frozenset[int]:
        """The regions the inquiry asks (every region for all of Sweden)."""
        if self.all_sweden:
            return frozenset(Region.objects.values_list("pk", flat=True))
        ids = set(self.target_regions.values_list("pk", flat=True))
        ids |= set(self.target_providers.values_list("region_id", flat=True))
        return frozenset(ids)


class InquiryMessage(AuditedModel):
    """A question from a coordinator to the sponsor, or the sponsor's reply, in the case."""

    class Kind(models.TextChoices):
        QUESTION = "question", _("Question to the sponsor")
        REPLY = "reply", _("Reply from the sponsor")

    inquiry = models.ForeignKey(Inquiry, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("message"), max_length=5000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("message in an inquiry")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.created_at:%Y-%m-%d})"


class Response(models.TextChoices):
    INTERESTED = "interested", _("Interested in taking part")
    MORE_INFORMATION = "more_information", _("Wants more information")
    DECLINES = "declines", _("Declines")


class RecruitmentChance(models.TextChoices):
    VERY_GOOD = "very_good", _("Very good")
    GOOD = "good", _("Good")
    SMALL = "small", _("Small")


class RecruitmentLimit(models.TextChoices):
    COMPETING = "competing", _("Competing studies")
    EXCLUSION = "exclusion", _("Exclusion criteria")
    NONE = "none", _("Nothing")
    OTHER = "other", _("Other")


POSITIVE_RESPONSES = (Response.INTERESTED, Response.MORE_INFORMATION)


class Recipient(AuditedModel):
    """A unit an inquiry was sent to, and its answer (changeable until the reply date)."""

    inquiry = models.ForeignKey(Inquiry, on_delete=models.CASCADE, related_name="recipients")
    entry = models.ForeignKey(DirectoryEntry, on_delete=models.PROTECT, related_name="recipients")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    dispatched_at = models.DateTimeField(default=timezone.now)
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reminded_at = models.DateTimeField(null=True, blank=True)
    first_answered_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    response = models.CharField(_("answer"), max_length=20, choices=Response.choices, blank=True)
    decline_reason = models.TextField(_("reason for declining"), max_length=2000, blank=True)
    eligible_per_year = models.PositiveIntegerField(
        _("estimated eligible patients per year"), null=True, blank=True
    )
    comments = models.TextField(_("comments"), max_length=5000, blank=True)
    # The Early Feedback Form (country inquiries)
    population_exists = models.CharField(
        _("The patient population exists in Sweden"),
        max_length=10,
        choices=YesNoUnknown.choices,
        blank=True,
    )
    recruitment_chance = models.CharField(
        _("Chance to recruit the target number"),
        max_length=10,
        choices=RecruitmentChance.choices,
        blank=True,
    )
    recruitment_limit = models.CharField(
        _("What limits recruitment"), max_length=10, choices=RecruitmentLimit.choices, blank=True
    )
    discouraging_factors = models.CharField(
        _("Factors that may discourage patients"),
        max_length=10,
        choices=YesNoUnknown.choices,
        blank=True,
    )
    standard_of_care = models.CharField(
        _("Compatible with Swedish standard of care"),
        max_length=10,
        choices=YesNoUnknown.choices,
        blank=True,
    )
    care_setting = models.CharField(_("Normal care setting"), max_length=500, blank=True)

    class Meta:
        ordering = ["region__name", "entry__care_provider__name", "entry__unit_name"]
        verbose_name = _("recipient")
        constraints = [
            models.UniqueConstraint(
                fields=["inquiry", "entry"],
                name="recipient_once_per_inquiry",
                violation_error_message=_("This unit has already received the inquiry."),
            ),
            models.CheckConstraint(
                condition=~Q(response="declines") | ~Q(decline_reason=""),
                name="recipient_decline_has_reason",
                violation_error_message=_("Say why the unit declines."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entry} – {self.inquiry.reference}"

    @property
    def has_answered(self) -> bool:
        return bool(self.response)

    @property
    def is_positive(self) -> bool:
        return self.response in POSITIVE_RESPONSES


class AnswerLink(AuditedModel):
    """A personal link to answer, sent by e-mail. Only a hash of its token is kept; a new
    link (a reminder) replaces the old one."""

    audit_masked_fields: ClassVar[frozenset[str]] = frozenset({"token_hash"})

    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    replaced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("answer link")

    def __str__(self) -> str:
        return f"{self.recipient} ({self.created_at:%Y-%m-%d})"
