"""Health-data request cases (utlämnande av hälsodata): the application, its stages with
their clock, reviews, the signed decision, extraction, disclosure review and delivery.

Who sees a case is decided in one place, ``DataRequestQuerySet.visible_to``.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from trialnode.audit.models import AuditedModel, AuditedQuerySet
from trialnode.organisations.models import CareProvider, Role
from trialnode.studies.validators import validate_epm_dnr


class Stage(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Completeness check")
    SUPPLEMENT = "supplement", _("Returned for supplement")
    PREQUALIFICATION = "prequalification", _("Pre-qualification")
    DECISION = "decision", _("Decision")
    EXTRACTION = "extraction", _("Extraction")
    DISCLOSURE_REVIEW = "disclosure_review", _("Disclosure review")
    DELIVERED = "delivered", _("Delivered")
    CLOSED = "closed", _("Closed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


OPEN_STAGES = (
    Stage.SUBMITTED,
    Stage.SUPPLEMENT,
    Stage.PREQUALIFICATION,
    Stage.DECISION,
    Stage.EXTRACTION,
    Stage.DISCLOSURE_REVIEW,
    Stage.DELIVERED,
)
WAITING_ON_APPLICANT = (Stage.DRAFT, Stage.SUPPLEMENT)
"""Stages in which the clock is stopped: the case waits on the applicant."""

# Which staff role sees a case at which stage (case officers and node admins see them all).
ROLE_STAGES: dict[str, tuple[str, ...]] = {
    Role.LEGAL_REVIEWER: (Stage.PREQUALIFICATION,),
    Role.DATA_ENGINEER: (Stage.PREQUALIFICATION, Stage.EXTRACTION, Stage.DISCLOSURE_REVIEW),
}
OFFICER_ROLES = (Role.CASE_OFFICER, Role.NODE_ADMIN)


class Source(models.TextChoices):
    PATIENT_RECORDS = "patient_records", _("Patient records")
    ADMINISTRATIVE = "administrative", _("Administrative database")
    QUALITY_REGISTRY = "quality_registry", _("Local quality registry")
    LABORATORY = "laboratory", _("Laboratory and imaging systems")
    OTHER = "other", _("Other source")


class ApplicantKind(models.TextChoices):
    UNIVERSITY = "university", _("University or college")
    HEALTHCARE = "healthcare", _("Healthcare")


class LegalBasis(models.TextChoices):
    EPM_APPROVAL = "epm", _("Approved ethical review (public interest research)")
    EPM_AND_CONSENT = "epm_consent", _("Approved ethical review and consent")
    OTHER = "other", _("Other legal basis (explain in the purpose)")


class OutputKind(models.TextChoices):
    AGGREGATED = "aggregated", _("Aggregated tables")
    PSEUDONYMISED = "pseudonymised", _("Pseudonymised microdata")


class Outcome(models.TextChoices):
    APPROVED = "approved", _("Approved")
    APPROVED_WITH_CONDITIONS = "approved_with_conditions", _("Approved with conditions")
    REJECTED = "rejected", pgettext_lazy("health-data request", "Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class DataRequestQuerySet(AuditedQuerySet):
    def visible_to(self, user) -> DataRequestQuerySet:
        """A researcher sees their own cases; staff see the submitted cases of their data
        holders' regions: case officers and node admins at every stage, legal reviewers
        and data engineers only at the stages where they act."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        condition = Q(applicant=user)
        submitted = ~Q(stage=Stage.DRAFT)
        for role in OFFICER_ROLES:
            regions = user.region_ids_for(role)
            if regions:
                condition |= submitted & Q(data_holder__region_id__in=regions)
        for staff_role, stages in ROLE_STAGES.items():
            regions = user.region_ids_for(staff_role)
            if regions:
                condition |= Q(data_holder__region_id__in=regions, stage__in=stages)
        return self.filter(condition)


class DataRequest(AuditedModel):
    """One case: a researcher's application for health data and everything done with it.

    An amendment reopens a closed case as a new ``version``; the closed version's content
    is kept in ``DataRequestVersion`` and its stage periods stay with their version.
    """

    audit_state_fields: ClassVar[tuple[str, ...]] = ("stage",)

    reference = models.CharField(_("case number"), max_length=20, unique=True)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="data_requests",
        verbose_name=_("applicant"),
    )
    applicant_organisation = models.CharField(_("applicant's organisation"), max_length=200)
    applicant_kind = models.CharField(
        _("the applicant works in"), max_length=20, choices=ApplicantKind.choices
    )
    data_holder = models.ForeignKey(
        CareProvider,
        on_delete=models.PROTECT,
        related_name="data_requests",
        verbose_name=_("data holder (care provider that decides)"),
    )
    other_care_providers = models.CharField(
        _("other care providers asked"), max_length=500, blank=True
    )
    source = models.CharField(_("data source"), max_length=30, choices=Source.choices)
    title = models.CharField(_("project title"), max_length=300)
    purpose = models.TextField(_("purpose of the project"), max_length=5000)
    legal_basis = models.CharField(_("legal basis"), max_length=20, choices=LegalBasis.choices)
    epm_dnr = models.CharField(
        _("EPM reference number"), max_length=20, validators=[validate_epm_dnr]
    )
    epm_decision_date = models.DateField(_("date of the EPM decision"), null=True, blank=True)
    cohort_description = models.TextField(
        _("cohort definition in words"), max_length=5000, blank=True
    )
    environment = models.TextField(
        _("environment where the data will be processed"), max_length=2000, blank=True
    )
    output_kind = models.CharField(_("output wanted"), max_length=20, choices=OutputKind.choices)

    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices, default=Stage.DRAFT)
    stage_since = models.DateTimeField(_("in this stage since"), default=timezone.now)
    outcome = models.CharField(_("outcome"), max_length=30, choices=Outcome.choices, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    submitted_at = models.DateTimeField(_("first submitted"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    decision_text = models.TextField(_("conditions or reasons"), max_length=5000, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_hash = models.CharField(_("signed content (SHA-256)"), max_length=64, blank=True)

    engineer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("data engineer"),
    )
    estimated_hours = models.PositiveIntegerField(_("estimated effort (hours)"), null=True)
    extraction_done_at = models.DateTimeField(_("extraction done"), null=True, blank=True)
    output_description = models.TextField(_("output prepared"), max_length=2000, blank=True)

    checksum = models.CharField(_("checksum (SHA-256)"), max_length=64, blank=True)
    row_count = models.PositiveIntegerField(_("rows delivered"), null=True, blank=True)
    receipt_confirmed_at = models.DateTimeField(_("receipt confirmed"), null=True, blank=True)

    objects = DataRequestQuerySet.as_manager()  # type: ignore[misc]

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("health-data request")
        constraints = [
            models.CheckConstraint(
                condition=Q(version__gte=1),
                name="datarequest_version_positive",
                violation_error_message=_("The version starts at 1."),
            ),
            models.CheckConstraint(
                condition=~Q(stage__in=["extraction", "disclosure_review", "delivered"])
                | Q(outcome__in=["approved", "approved_with_conditions"]),
                name="datarequest_extracted_only_when_approved",
                violation_error_message=_("Only an approved case is extracted."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.title}"

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES

    @property
    def waits_on_applicant(self) -> bool:
        return self.stage in WAITING_ON_APPLICANT


class StagePeriod(AuditedModel):
    """A stretch of time a case spent in one stage: the clock of the waiting times."""

    request = models.ForeignKey(DataRequest, on_delete=models.CASCADE, related_name="periods")
    version = models.PositiveSmallIntegerField(default=1)
    stage = models.CharField(max_length=20, choices=Stage.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(_("reason"), max_length=2000, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["started_at", "id"]
        verbose_name = _("stage period")
        constraints = [
            models.UniqueConstraint(
                fields=["request"],
                condition=Q(ended_at__isnull=True),
                name="datarequest_one_open_period",
                violation_error_message=_("A case is in one stage at a time."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.stage} {self.started_at:%Y-%m-%d}"

    @property
    def waits_on_applicant(self) -> bool:
        return self.stage in WAITING_ON_APPLICANT


class Variable(AuditedModel):
    """One row of the structured variable list: source, variable and period."""

    request = models.ForeignKey(DataRequest, on_delete=models.CASCADE, related_name="variables")
    source = models.CharField(_("source"), max_length=200)
    name = models.CharField(_("variable"), max_length=200)
    period_from = models.DateField(_("from"))
    period_to = models.DateField(_("to"))
    comment = models.CharField(_("comment"), max_length=500, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("variable")
        constraints = [
            models.CheckConstraint(
                condition=Q(period_from__lte=models.F("period_to")),
                name="datarequest_variable_period_ordered",
                violation_error_message=_("The period must start before it ends."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.source}: {self.name}"


class Attachment(AuditedModel):
    """A PDF of the case, stored outside the web root under a random name."""

    class Kind(models.TextChoices):
        EPM_APPLICATION = "epm_application", _("EPM application with amendments")
        EPM_DECISION = "epm_decision", _("EPM decision")
        CONSENT = "consent", _("Patient information and consent forms")
        OTHER = "other", _("Other document")

    request = models.ForeignKey(DataRequest, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(_("document"), max_length=20, choices=Kind.choices)
    original_name = models.CharField(_("file name"), max_length=200)
    stored_name = models.CharField(max_length=80, unique=True, editable=False)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("attachment")

    def __str__(self) -> str:
        return self.original_name


class Review(AuditedModel):
    """A recorded recommendation: legal review, technical feasibility or disclosure review."""

    class Kind(models.TextChoices):
        LEGAL = "legal", _("Legal review")
        TECHNICAL = "technical", _("Technical feasibility")
        DISCLOSURE = "disclosure", _("Disclosure review")

    class Recommendation(models.TextChoices):
        APPROVE = "approve", pgettext_lazy("health-data request", "Approve")
        APPROVE_WITH_CONDITIONS = "approve_with_conditions", _("Approve with conditions")
        REJECT = "reject", _("Reject")

    request = models.ForeignKey(DataRequest, on_delete=models.CASCADE, related_name="reviews")
    version = models.PositiveSmallIntegerField(default=1)
    kind = models.CharField(_("review"), max_length=20, choices=Kind.choices)
    recommendation = models.CharField(
        _("recommendation"), max_length=30, choices=Recommendation.choices
    )
    comment = models.TextField(_("comment"), max_length=5000)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("review")
        constraints = [
            models.UniqueConstraint(
                fields=["request", "version", "kind"],
                condition=Q(kind__in=["legal", "technical"]),
                name="datarequest_one_review_of_a_kind_per_version",
                violation_error_message=_("This review has already been recorded."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.get_recommendation_display()}"


class DataRequestVersion(AuditedModel):
    """The content of a closed version, kept when an amendment reopens the case."""

    request = models.ForeignKey(
        DataRequest, on_delete=models.CASCADE, related_name="closed_versions"
    )
    version = models.PositiveSmallIntegerField()
    content = models.JSONField()
    closed_outcome = models.CharField(max_length=30, choices=Outcome.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["version"]
        verbose_name = _("earlier version")
        constraints = [
            models.UniqueConstraint(
                fields=["request", "version"], name="datarequest_version_kept_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.request_id} v{self.version}"


class DeadlineNotice(AuditedModel):
    """A warning before a stage's deadline, or an escalation after it; sent once per
    stage period."""

    class Kind(models.TextChoices):
        WARNING = "warning", _("Deadline approaching")
        ESCALATION = "escalation", _("Deadline passed")

    period = models.ForeignKey(StagePeriod, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    due = models.DateField()
    recipients = models.TextField(blank=True)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["sent_at"]
        verbose_name = _("deadline notice")
        constraints = [
            models.UniqueConstraint(
                fields=["period", "kind"], name="datarequest_one_notice_of_a_kind_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.due}"


class HandbookPage(AuditedModel):
    """A handbook or FAQ page in Swedish and English, edited by node admins, linked from
    the step of the form it explains."""

    class Step(models.TextChoices):
        GENERAL = "general", _("General")
        PROJECT = "project", _("Project and purpose")
        ETHICS = "ethics", _("Ethical approval and legal basis")
        DATA = "data", _("Data sources and variables")
        ENVIRONMENT = "environment", _("Environment and output")
        ATTACHMENTS = "attachments", _("Attachments")
        PROCESS = "process", _("After submission")
        FAQ = "faq", _("Frequently asked questions")

    slug = models.SlugField(unique=True)
    step = models.CharField(_("form step"), max_length=20, choices=Step.choices)
    title_sv = models.CharField(_("title (Swedish)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    body_sv = models.TextField(_("text (Swedish)"), max_length=20000)
    body_en = models.TextField(_("text (English)"), max_length=20000)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "slug"]
        verbose_name = _("handbook page")

    def __str__(self) -> str:
        return self.title_sv

    def title_in(self, language: str) -> str:
        return self.title_en if language.startswith("en") else self.title_sv

    def body_in(self, language: str) -> str:
        return self.body_en if language.startswith("en") else self.body_sv
