"""The study record: identifiers, design, conditions, interventions, sites and status history."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import ClassVar, NamedTuple

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from trialnode.audit.models import AuditedModel, AuditedQuerySet
from trialnode.organisations.models import CareProvider, Region, Role, Unit
from trialnode.studies import validators as v


class Status(models.TextChoices):
    """Overall (and site) status, in ClinicalTrials.gov's ``overallStatus`` values."""

    NOT_YET_RECRUITING = "NOT_YET_RECRUITING", _("Not yet recruiting")
    RECRUITING = "RECRUITING", _("Recruiting")
    ENROLLING_BY_INVITATION = "ENROLLING_BY_INVITATION", _("Enrolling by invitation")
    ACTIVE_NOT_RECRUITING = "ACTIVE_NOT_RECRUITING", _("Active, not recruiting")
    SUSPENDED = "SUSPENDED", _("Suspended")
    TERMINATED = "TERMINATED", _("Terminated")
    COMPLETED = "COMPLETED", _("Completed")
    WITHDRAWN = "WITHDRAWN", _("Withdrawn")
    UNKNOWN = "UNKNOWN", _("Unknown status")
    WITHHELD = "WITHHELD", _("Withheld")
    AVAILABLE = "AVAILABLE", _("Available (expanded access)")
    NO_LONGER_AVAILABLE = "NO_LONGER_AVAILABLE", _("No longer available")
    TEMPORARILY_NOT_AVAILABLE = "TEMPORARILY_NOT_AVAILABLE", _("Temporarily not available")
    APPROVED_FOR_MARKETING = "APPROVED_FOR_MARKETING", _("Approved for marketing")


STATUS_LABELS = dict(Status.choices)  # code -> label, translated when shown

ONGOING_STATUSES = frozenset(
    {Status.RECRUITING, Status.ACTIVE_NOT_RECRUITING, Status.ENROLLING_BY_INVITATION}
)


class RegistrationState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted for validation")
    RETURNED = "returned", _("Returned with comments")
    PUBLISHED = "published", _("Published")


class StudyType(models.TextChoices):
    INTERVENTIONAL = "INTERVENTIONAL", _("Interventional")
    OBSERVATIONAL = "OBSERVATIONAL", _("Observational")
    OTHER = "OTHER", _("Other")


class InterventionalKind(models.TextChoices):
    """The minimal data set's sub-types of interventional studies."""

    DRUG = "DRUG", _("Drug trial")
    DEVICE = "DEVICE", _("Medical device")
    DIAGNOSTIC = "DIAGNOSTIC", _("Diagnostics")
    OTHER_TREATMENT = "OTHER_TREATMENT", _("Other treatment")


class Phase(models.TextChoices):
    NA = "NA", _("Not applicable")
    EARLY_PHASE1 = "EARLY_PHASE1", _("Early phase 1")
    PHASE1 = "PHASE1", _("Phase 1")
    PHASE1_PHASE2 = "PHASE1_PHASE2", _("Phase 1/2")
    PHASE2 = "PHASE2", _("Phase 2")
    PHASE2_PHASE3 = "PHASE2_PHASE3", _("Phase 2/3")
    PHASE3 = "PHASE3", _("Phase 3")
    PHASE4 = "PHASE4", _("Phase 4")


class SponsorType(models.TextChoices):
    INDUSTRY = "INDUSTRY", _("Industry")
    ACADEMIC = "ACADEMIC", _("Academic or public")
    OTHER = "OTHER", _("Other")


class Sex(models.TextChoices):
    ALL = "ALL", _("All")
    FEMALE = "FEMALE", _("Female")
    MALE = "MALE", _("Male")


class Title(NamedTuple):
    """A title and the language it is written in (for the page's ``lang``)."""

    text: str
    lang: str


class Source(models.TextChoices):
    LOCAL = "LOCAL", _("Local registration")
    CTGOV = "CTGOV", _("ClinicalTrials.gov")
    CTIS = "CTIS", _("EU CTIS")


class StudyQuerySet(AuditedQuerySet["Study"]):
    """The one place that decides who may see and who may change a study."""

    def published(self) -> StudyQuerySet:
        """Public studies conducted in Sweden, each once (see ``counted``)."""
        return self.counted()

    def counted(self, *, unpublished_in_regions: frozenset[int] | None = None) -> StudyQuerySet:
        """The studies the search, the exports and the statistics show, each once.

        A study is shown when it is published and conducted in Sweden (a registry record
        whose last Swedish site is gone is kept but not shown). A record of the same
        study as another shown record (a registry record linked to a local
        registration, a CTIS record of a ClinicalTrials.gov trial) is shown through
        that one. The staff view also shows the submitted and returned registrations
        of ``unpublished_in_regions``.
        """
        shown = Q(registration_state=RegistrationState.PUBLISHED)
        if unpublished_in_regions is not None:
            shown |= ~Q(registration_state=RegistrationState.DRAFT) & self._in_regions(
                unpublished_in_regions
            )
        twin_shown = Exists(Study.objects.filter(shown, pk=OuterRef("duplicate_of_id")))
        return self.filter(shown, conducted_in_sweden=True).exclude(twin_shown)

    def _in_regions(self, region_ids: frozenset[int]) -> Q:
        return Q(Exists(StudySite.objects.filter(study=OuterRef("pk"), region_id__in=region_ids)))

    def visible_to(self, user) -> StudyQuerySet:
        if not user.is_authenticated or not user.is_active:
            return self.published()
        if user.is_superuser:
            return self.all()
        condition = Q(registration_state=RegistrationState.PUBLISHED) | Q(owner=user)
        staff_regions: set[int] = set()
        for role in (Role.COORDINATOR, Role.NODE_ADMIN, Role.AUDITOR):
            staff_regions |= user.region_ids_for(role)
        if staff_regions:
            condition |= ~Q(registration_state=RegistrationState.DRAFT) & self._in_regions(
                frozenset(staff_regions)
            )
        return self.filter(condition)

    def editable_by(self, user) -> StudyQuerySet:
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        condition = Q(owner=user) & ~Q(registration_state=RegistrationState.SUBMITTED)
        regions = user.region_ids_for(Role.COORDINATOR)
        if regions:
            condition |= ~Q(registration_state=RegistrationState.DRAFT) & self._in_regions(regions)
        return self.filter(condition)

    def validatable_by(self, user) -> StudyQuerySet:
        """Submitted studies that ``user`` may publish or return."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        submitted = self.filter(registration_state=RegistrationState.SUBMITTED)
        if user.is_superuser:
            return submitted
        regions = user.region_ids_for(Role.COORDINATOR)
        if not regions:
            return self.none()
        return submitted.filter(self._in_regions(regions))

    def followable_by(self, user) -> StudyQuerySet:
        """Studies whose history (drafts and changes before publication included) ``user``
        may read: their own, and as staff those of their regions."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        regions: set[int] = set()
        for role in (Role.COORDINATOR, Role.NODE_ADMIN, Role.AUDITOR):
            regions |= user.region_ids_for(role)
        condition = Q(owner=user)
        if regions:
            condition |= self._in_regions(frozenset(regions))
        return self.filter(condition)

    def stale(self, *, today: date | None = None) -> StudyQuerySet:
        """Published studies not re-confirmed within the configured period."""
        today = today or timezone.localdate()
        limit = today - timedelta(days=settings.TRIALNODE_RECONFIRM_AFTER_DAYS)
        return self.published().filter(
            Q(last_confirmed_at__lt=limit) | Q(last_confirmed_at__isnull=True),
            source=Source.LOCAL,
        )


class Study(AuditedModel):
    audit_state_fields = ("registration_state", "status")
    # Identifiers
    local_id = models.CharField(
        _("local identifier"), max_length=60, blank=True, help_text=_("Protocol or local number.")
    )
    epm_dnr = models.CharField(
        _("EPM reference number"), max_length=20, blank=True, validators=[v.validate_epm_dnr]
    )
    eudract_number = models.CharField(
        _("EudraCT number"), max_length=14, blank=True, validators=[v.validate_eudract]
    )
    eu_ct_number = models.CharField(
        _("EU CT number"), max_length=17, blank=True, validators=[v.validate_eu_ct_number]
    )
    nct_id = models.CharField(
        _("ClinicalTrials.gov number"), max_length=11, blank=True, validators=[v.validate_nct_id]
    )
    isrctn = models.CharField(
        _("ISRCTN number"), max_length=14, blank=True, validators=[v.validate_isrctn]
    )

    # Titles and description
    title_sv = models.CharField(_("title in Swedish"), max_length=600, blank=True)
    title_en = models.CharField(_("title in English"), max_length=600, blank=True)
    acronym = models.CharField(_("acronym"), max_length=60, blank=True)
    summary_sv = models.TextField(
        _("plain-language summary in Swedish"), max_length=5000, blank=True
    )
    summary_en = models.TextField(
        _("plain-language summary in English"), max_length=5000, blank=True
    )
    research_subject = models.CharField(_("research subject (SCB)"), max_length=200, blank=True)

    # Design
    study_type = models.CharField(_("study type"), max_length=20, choices=StudyType.choices)
    interventional_kind = models.CharField(
        _("kind of interventional study"),
        max_length=20,
        choices=InterventionalKind.choices,
        blank=True,
    )
    phase = models.CharField(_("phase"), max_length=20, choices=Phase.choices, blank=True)
    is_multicentre = models.BooleanField(_("multi-centre study"), default=False)
    sponsor_name = models.CharField(_("sponsor"), max_length=300, blank=True)
    sponsor_type = models.CharField(
        _("sponsor type"), max_length=10, choices=SponsorType.choices, blank=True
    )
    member_states = models.CharField(
        _("EU/EEA countries"),
        max_length=300,
        blank=True,
        help_text=_("Countries where the trial is authorised, as registered in CTIS."),
    )
    therapeutic_area = models.CharField(_("therapeutic area"), max_length=500, blank=True)
    mesh_terms = models.TextField(
        _("MeSH terms"),
        blank=True,
        help_text=_(
            "The registry's medical subject headings for the conditions and their broader "
            "terms, one per line (ClinicalTrials.gov)."
        ),
    )
    conducted_in_sweden = models.BooleanField(
        _("conducted in Sweden"),
        default=True,
        help_text=_(
            "A registry record whose last Swedish site is gone is kept, but no longer public."
        ),
    )

    # Status
    status = models.CharField(
        _("overall status"),
        max_length=30,
        choices=Status.choices,
        default=Status.NOT_YET_RECRUITING,
    )
    start_date = models.DateField(_("start date"), null=True, blank=True)
    primary_completion_date = models.DateField(
        _("primary completion date"),
        null=True,
        blank=True,
        help_text=_("When the last participant is examined for the main outcome."),
    )
    completion_date = models.DateField(_("completion date"), null=True, blank=True)
    planned_enrolment = models.PositiveIntegerField(
        _("planned enrolment"), null=True, blank=True, validators=[MaxValueValidator(10_000_000)]
    )
    actual_enrolment = models.PositiveIntegerField(
        _("actual enrolment"), null=True, blank=True, validators=[MaxValueValidator(10_000_000)]
    )

    # Eligibility
    min_age_years = models.PositiveSmallIntegerField(
        _("minimum age (years)"), null=True, blank=True, validators=[MaxValueValidator(120)]
    )
    max_age_years = models.PositiveSmallIntegerField(
        _("maximum age (years)"), null=True, blank=True, validators=[MaxValueValidator(120)]
    )
    sex = models.CharField(_("sex"), max_length=6, choices=Sex.choices, default=Sex.ALL)
    healthy_volunteers = models.BooleanField(_("accepts healthy volunteers"), default=False)
    eligibility_criteria = models.TextField(_("eligibility criteria"), max_length=20000, blank=True)

    # Registration workflow and provenance
    source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, default=Source.LOCAL
    )
    registration_state = models.CharField(
        _("registration state"),
        max_length=12,
        choices=RegistrationState.choices,
        default=RegistrationState.DRAFT,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_studies",
        verbose_name=_("owner"),
    )
    return_comment = models.TextField(_("comment from the coordinator"), blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    last_confirmed_at = models.DateField(_("last confirmed"), null=True, blank=True)
    duplicate_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="duplicates",
        verbose_name=_("same study as"),
        help_text=_("Set when a coordinator confirms that two records are one study."),
    )
    source_hash = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="SHA-256 of the imported registry record, so an unchanged re-import is skipped.",
    )
    reconfirmation_requested_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar = StudyQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = _("study")
        verbose_name_plural = _("studies")
        indexes = [
            models.Index(fields=["registration_state", "status"], name="study_state_status"),
            models.Index(fields=["nct_id"], name="study_nct"),
            models.Index(fields=["eu_ct_number"], name="study_eu_ct"),
            models.Index(fields=["epm_dnr"], name="study_epm_dnr"),
            models.Index(fields=["updated_at"], name="study_updated"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["nct_id"],
                condition=Q(source="CTGOV"),
                name="study_unique_ctgov_record",
                violation_error_message=_("A ClinicalTrials.gov record with this number exists."),
            ),
            models.UniqueConstraint(
                fields=["eu_ct_number"],
                condition=Q(source="CTIS"),
                name="study_unique_ctis_record",
                violation_error_message=_("A CTIS record with this number exists."),
            ),
            models.CheckConstraint(
                condition=Q(min_age_years__isnull=True)
                | Q(max_age_years__isnull=True)
                | Q(min_age_years__lte=models.F("max_age_years")),
                name="study_age_range_ordered",
                violation_error_message=_("The minimum age must not exceed the maximum age."),
            ),
            models.CheckConstraint(
                condition=~Q(title_sv="", title_en=""),
                name="study_has_title",
                violation_error_message=_("Give a title in Swedish or English."),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        super().clean()
        errors = v.study_date_errors(
            start=self.start_date,
            primary_completion=self.primary_completion_date,
            completion=self.completion_date,
        )
        if errors:
            raise ValidationError(errors)

    @property
    def reference(self) -> str:
        return f"TN-{self.pk:06d}" if self.pk else ""

    @property
    def title(self) -> str:
        return self.title_sv or self.title_en

    @property
    def reader_title(self) -> Title:
        """The title in the reader's language (the active one) where the study has it,
        else in the other."""
        titles = self._titles()
        return titles[0] if titles else Title("", "sv")

    @property
    def second_title(self) -> Title | None:
        """The title in the other language, when the study has both (a subtitle)."""
        titles = self._titles()
        return titles[1] if len(titles) > 1 else None

    def _titles(self) -> list[Title]:
        titles = [Title(t, lang) for t, lang in ((self.title_sv, "sv"), (self.title_en, "en")) if t]
        if get_language() == "en":
            titles.reverse()
        return titles

    @property
    def is_open_for_recruitment(self) -> bool:
        return self.status == Status.RECRUITING

    @property
    def is_published(self) -> bool:
        return self.registration_state == RegistrationState.PUBLISHED

    def identifiers(self) -> dict[str, str]:
        names = ("nct_id", "eu_ct_number", "eudract_number", "epm_dnr", "isrctn", "local_id")
        return {name: getattr(self, name) for name in names if getattr(self, name)}


class StudyStatusChange(AuditedModel):
    """The dated history of a study's overall status."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="status_history")
    status = models.CharField(max_length=30, choices=Status.choices)
    effective_date = models.DateField(_("effective date"))
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["effective_date", "recorded_at", "id"]
        indexes = [models.Index(fields=["study", "effective_date"], name="status_change_study")]

    def __str__(self) -> str:
        # The label from a mapping made once: ``get_status_display`` builds its choices
        # anew for every call (0.47 s of an import of 5,000 studies naming its events).
        return f"{self.effective_date}: {STATUS_LABELS.get(self.status, self.status)}"


class StudyPart(AuditedModel):
    """A row of a study (a site, condition, intervention or contact), from its registry
    record or entered here."""

    entered_here = models.BooleanField(
        _("entered here, not from the registry"),
        default=False,
        editable=False,
        help_text=_(
            "A row a coordinator or registrant added: a new version of the study's registry "
            "record replaces the rows it brought, never this one."
        ),
    )

    class Meta:
        abstract = True


class StudyCondition(StudyPart):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="conditions")
    icd10_code = models.CharField(
        _("ICD-10-SE code"), max_length=8, blank=True, validators=[v.validate_icd10]
    )
    text = models.CharField(_("condition"), max_length=300)
    chapter = models.CharField(max_length=6, blank=True, editable=False)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["chapter", "study"], name="condition_chapter")]

    def __str__(self) -> str:
        return f"{self.icd10_code} {self.text}".strip()

    def save(self, *args, **kwargs) -> None:
        self.chapter = v.icd10_chapter(self.icd10_code) if self.icd10_code else ""
        super().save(*args, **kwargs)


class InterventionType(models.TextChoices):
    DRUG = "DRUG", _("Drug")
    BIOLOGICAL = "BIOLOGICAL", _("Biological")
    ATMP = "ATMP", _("Advanced therapy (ATMP)")
    DEVICE = "DEVICE", _("Medical device")
    PROCEDURE = "PROCEDURE", _("Procedure")
    RADIATION = "RADIATION", _("Radiation")
    BEHAVIORAL = "BEHAVIORAL", _("Behavioural")
    DIAGNOSTIC_TEST = "DIAGNOSTIC_TEST", _("Diagnostic test")
    DIETARY_SUPPLEMENT = "DIETARY_SUPPLEMENT", _("Dietary supplement")
    GENETIC = "GENETIC", _("Genetic")
    COMBINATION_PRODUCT = "COMBINATION_PRODUCT", _("Combination product")
    OTHER = "OTHER", _("Other")


class StudyIntervention(StudyPart):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="interventions")
    type = models.CharField(_("type"), max_length=20, choices=InterventionType.choices)
    name = models.CharField(_("name"), max_length=300)
    atc_code = models.CharField(
        _("ATC code"), max_length=7, blank=True, validators=[v.validate_atc]
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class StudySite(StudyPart):
    """A place in Sweden where the study runs: its region, and the care provider and unit
    when known. A registry site whose region could not be told from its facility or
    city keeps its region empty until a coordinator places it."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="sites")
    region = models.ForeignKey(
        Region,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="study_sites",
        help_text=_("Empty for a registry site in Sweden that could not yet be placed."),
    )
    care_provider = models.ForeignKey(
        CareProvider, null=True, blank=True, on_delete=models.PROTECT, related_name="study_sites"
    )
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.PROTECT)
    facility_name = models.CharField(_("facility as registered"), max_length=300, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    investigator = models.CharField(_("site investigator"), max_length=200, blank=True)
    recruitment_status = models.CharField(
        _("site recruitment status"), max_length=30, choices=Status.choices, blank=True
    )

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["region", "study"], name="site_region_study"),
            models.Index(fields=["care_provider", "study"], name="site_provider_study"),
        ]

    def __str__(self) -> str:
        return self.care_provider.name if self.care_provider else self.facility_name or self.city

    @property
    def display_name(self) -> str:
        parts = [self.care_provider.name if self.care_provider else self.facility_name]
        if self.unit:
            parts.append(self.unit.name)
        return (
            ", ".join(p for p in parts if p)
            or self.city
            or (self.region.name if self.region else str(_("Place not known")))
        )


def region_names(sites: Iterable[StudySite]) -> list[str]:
    """The regions of these sites by name, "region not known" for a site not yet placed."""
    names = {site.region.name if site.region else str(_("Region not known")) for site in sites}
    return sorted(names)


class StudyContact(StudyPart):
    """A public contact for the study (name, role, e-mail, phone)."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=200)
    role = models.CharField(_("role"), max_length=100, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


# The rows that belong to one study and are written together with it.
StudyRow = StudyStatusChange | StudyCondition | StudyIntervention | StudySite | StudyContact


class StudySearchDocument(models.Model):
    """The text a study is found by, kept in step with the study by ``search.index_studies``.

    On PostgreSQL a generated ``tsv`` column (Swedish and English configurations)
    with a GIN index is added by migration; on SQLite an FTS5 table indexes the
    stemmed columns through triggers.
    """

    audit_exempt = "derived from audited study records and rebuilt from them"

    study = models.OneToOneField(
        Study, on_delete=models.CASCADE, primary_key=True, related_name="search_document"
    )
    title = models.TextField()
    body = models.TextField()
    title_stems = models.TextField()
    body_stems = models.TextField()

    def __str__(self) -> str:
        return self.title


class PublicSearchRow(models.Model):
    """One narrow row per published study: everything the public search matches, filters,
    counts and sorts by, so that a search reads one table (PostgreSQL only).

    The text vector is copied from the study's search document; ``tags`` holds, sorted,
    the number (in the dictionary ``studies_searchtag``) of every filter value the study
    meets, e.g. of ``region:uppsala``. ``studies.searchrows`` keeps the rows in step with
    the studies (after every save of a study, its sites or conditions, and every re-index)
    and rebuilds them all (``rebuild_derived_data``). On SQLite the table does not exist and
    the search reads the studies themselves.
    """

    audit_exempt = "derived from audited study records and rebuilt from them"

    # The database deletes the row with its study (ON DELETE CASCADE on PostgreSQL).
    study = models.OneToOneField(
        Study, on_delete=models.DO_NOTHING, primary_key=True, related_name="+"
    )
    tsv = SearchVectorField()
    updated_at = models.DateTimeField()
    start_date = models.DateField(null=True)
    title_sort = models.TextField()
    tags = ArrayField(models.IntegerField())

    class Meta:
        managed = False
        db_table = "studies_publicsearchrow"

    def __str__(self) -> str:
        return str(self.study_id)


class SearchTerm(models.Model):
    """Every word that occurs in a search document, for typo-tolerant query expansion."""

    audit_exempt = "derived from audited study records and rebuilt from them"

    term = models.CharField(max_length=60, primary_key=True)

    def __str__(self) -> str:
        return self.term


class ConditionArea(models.Model):
    """An ICD-10 chapter a study counts in, derived by ``studies.concepts`` from the codes
    of its conditions and, for registry records, the registry's subject headings."""

    audit_exempt = "derived from the audited conditions and registry terms and rebuilt from them"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="condition_areas")
    chapter = models.CharField(max_length=6)

    class Meta:
        ordering = ["study_id", "chapter"]
        indexes = [models.Index(fields=["chapter", "study"], name="condition_area_chapter")]
        constraints = [
            models.UniqueConstraint(fields=["study", "chapter"], name="condition_area_once")
        ]

    def __str__(self) -> str:
        return f"{self.study_id} {self.chapter}"


class StatusSpan(models.Model):
    """A period during which a study had one overall status, derived from its history.

    ``end`` is the first day of the next status (exclusive), empty while the status is
    in force. Statistics count from these rows; ``studies.spans`` keeps them in step
    with the status history (and the start and completion dates that fill in the
    history of imported registry records).
    """

    audit_exempt = "derived from the audited status history and rebuilt from it"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="status_spans")
    status = models.CharField(max_length=30, choices=Status.choices)
    start = models.DateField()
    end = models.DateField(null=True, blank=True)
    first_ongoing = models.BooleanField(
        default=False, help_text="The study's first ongoing period: its start as a study."
    )

    class Meta:
        ordering = ["study_id", "start"]
        indexes = [
            models.Index(fields=["status", "start", "end", "study"], name="span_status_period"),
            models.Index(fields=["study"], name="span_study"),
        ]

    def __str__(self) -> str:
        return f"{self.study_id} {self.status} {self.start}–{self.end or ''}"
