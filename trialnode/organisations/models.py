"""Healthcare regions, regions, nodes, care providers, units, users and their roles."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import cached_property
from typing import ClassVar

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trialnode.audit.models import AuditedModel, AuditedQuerySet


def normalise_name(value: str) -> str:
    """Lower case, no diacritics, single spaces: for matching names from registries."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(ascii_only.replace("-", " ").split())


class HealthcareRegion(AuditedModel):
    """Sjukvårdsregion: one of the six regions for highly specialised care."""

    slug = models.SlugField(unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["name"]
        verbose_name = _("healthcare region")

    def __str__(self) -> str:
        return self.name


class Region(AuditedModel):
    """One of the 21 regions (the county-level healthcare principals)."""

    slug = models.SlugField(unique=True)
    code = models.CharField(_("county code"), max_length=2, unique=True)
    name = models.CharField(_("name"), max_length=100)
    healthcare_region = models.ForeignKey(
        HealthcareRegion, on_delete=models.PROTECT, related_name="regions"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("region")

    def __str__(self) -> str:
        return self.name


class Node(AuditedModel):
    """A regional node of Kliniska Studier Sverige, serving one or more regions."""

    slug = models.SlugField(unique=True)
    name = models.CharField(_("name"), max_length=100)
    regions = models.ManyToManyField(Region, related_name="nodes")

    class Meta:
        ordering = ["name"]
        verbose_name = _("node")

    def __str__(self) -> str:
        return self.name


class Locality(AuditedModel):
    """A town or municipality and the region it lies in, for placing registry sites."""

    name = models.CharField(max_length=100)
    normalised_name = models.CharField(max_length=100, unique=True, editable=False)
    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="localities")

    class Meta:
        ordering = ["name"]
        verbose_name = _("locality")
        verbose_name_plural = _("localities")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.normalised_name = normalise_name(self.name)
        super().save(*args, **kwargs)


class CareProvider(AuditedModel):
    """Vårdgivare: a hospital or other provider of care where studies run."""

    class Kind(models.TextChoices):
        UNIVERSITY_HOSPITAL = "university_hospital", _("University hospital")
        HOSPITAL = "hospital", _("Hospital")
        PRIMARY_CARE = "primary_care", _("Primary care")
        OTHER = "other", _("Other care provider")

    slug = models.SlugField(unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="care_providers")
    city = models.CharField(_("city"), max_length=100, blank=True)
    aliases = models.TextField(
        _("other names"),
        blank=True,
        help_text=_("One name per line, as registries spell it (for matching imported sites)."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("care provider")

    def __str__(self) -> str:
        return self.name

    def match_names(self) -> list[str]:
        names = [self.name, *self.aliases.splitlines()]
        return [normalise_name(name) for name in names if name.strip()]


class Unit(AuditedModel):
    """Klinik or enhet within a care provider."""

    care_provider = models.ForeignKey(CareProvider, on_delete=models.CASCADE, related_name="units")
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        ordering = ["name"]
        verbose_name = _("unit")
        constraints = [
            models.UniqueConstraint(
                fields=["care_provider", "name"],
                name="unit_unique_name_per_provider",
                violation_error_message=_("This care provider already has a unit of that name."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}, {self.care_provider.name}"


class Role(models.TextChoices):
    REGISTRANT = "registrant", _("Registrant")
    COORDINATOR = "coordinator", _("Node coordinator")
    SPONSOR = "sponsor", _("Sponsor")
    CASE_OFFICER = "case_officer", _("Case officer")
    LEGAL_REVIEWER = "legal_reviewer", _("Legal reviewer")
    DATA_ENGINEER = "data_engineer", _("Data engineer")
    NODE_ADMIN = "node_admin", _("Node administrator")
    AUDITOR = "auditor", _("Auditor")
    SECURITY_AUDITOR = "security_auditor", _("Security auditor")


class UserManager(DjangoUserManager["User"]):
    """Django's user manager whose querysets record bulk changes in the audit trail."""

    use_in_migrations = True

    def get_queryset(self) -> AuditedQuerySet:
        return AuditedQuerySet(self.model, using=self._db)


class User(AuditedModel, AbstractUser):
    """A personal account. Organisation-scoped rights come from its role assignments."""

    audit_masked_fields = frozenset({"password"})
    audit_ignored_fields = frozenset({"last_login"})

    email = models.EmailField(_("e-mail address"), unique=True)
    organisation_name = models.CharField(
        _("organisation"), max_length=200, blank=True, help_text=_("For sponsors and guests.")
    )

    # Django's user manager with the audited queryset: not the manager type the checker
    # derives for AuditedModel, though it has all of that manager's methods.
    objects: ClassVar = UserManager()  # type: ignore[assignment]

    # Set on the request's user by django_otp's OTPMiddleware: whether this session's login
    # was confirmed with a second factor.
    is_verified: Callable[[], bool]

    class Meta:
        verbose_name = _("user")

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @cached_property
    def _active_assignments(self) -> list[RoleAssignment]:
        return list(
            self.role_assignments.filter(revoked_at__isnull=True).select_related(
                "region", "node", "care_provider"
            )
        )

    def active_roles(self) -> frozenset[str]:
        if not self.is_active:
            return frozenset()
        return frozenset(a.role for a in self._active_assignments)

    def has_role(self, role: str) -> bool:
        return role in self.active_roles()

    def region_ids_for(self, role: str) -> frozenset[int]:
        """Regions in which the user holds ``role`` (directly or through a node)."""
        if not self.is_active:
            return frozenset()
        ids: set[int] = set()
        node_ids: set[int] = set()
        for assignment in self._active_assignments:
            if assignment.role != role:
                continue
            if assignment.region_id:
                ids.add(assignment.region_id)
            if assignment.node_id:
                node_ids.add(assignment.node_id)
            if assignment.care_provider is not None:
                ids.add(assignment.care_provider.region_id)
        if node_ids:
            ids.update(
                Node.regions.through.objects.filter(node_id__in=node_ids).values_list(
                    "region_id", flat=True
                )
            )
        return frozenset(ids)


class RoleAssignment(AuditedModel):
    """A role a user holds in a region, a node or at a care provider.

    Assignments are revoked, never deleted, so the role history stays.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.PROTECT)
    node = models.ForeignKey(Node, null=True, blank=True, on_delete=models.PROTECT)
    care_provider = models.ForeignKey(CareProvider, null=True, blank=True, on_delete=models.PROTECT)
    granted_at = models.DateTimeField(default=timezone.now)
    granted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user", "role"]
        verbose_name = _("role assignment")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(region__isnull=False, node__isnull=True, care_provider__isnull=True)
                    | Q(region__isnull=True, node__isnull=False, care_provider__isnull=True)
                    | Q(region__isnull=True, node__isnull=True, care_provider__isnull=False)
                    | Q(
                        region__isnull=True,
                        node__isnull=True,
                        care_provider__isnull=True,
                        role__in=["registrant", "sponsor"],
                    )
                ),
                name="role_assignment_one_scope",
                violation_error_message=_(
                    "A role is held in exactly one region, node or care provider."
                ),
            )
        ]

    def __str__(self) -> str:
        scope = self.region or self.node or self.care_provider or "–"
        return f"{self.user}: {self.get_role_display()} ({scope})"


class ApiToken(AuditedModel):
    """A personal API token. Only a hash is stored; the token is shown once at creation."""

    audit_masked_fields = frozenset({"key_hash"})
    audit_ignored_fields = frozenset({"last_used_at"})

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")

    def __str__(self) -> str:
        return f"{self.user}: {self.name}"
