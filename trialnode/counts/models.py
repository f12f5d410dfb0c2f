"""Patient count estimation: the data sources a node holds, the hubs it answers, the
region nodes a hub asks, count requests and their results per region.

Exact counts are never stored in these tables: they go into the audit trail only
(``services.query_record``), for auditors. What is stored is what was released.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from trialnode.audit.models import AuditedModel, AuditedQuerySet
from trialnode.organisations.models import Region, Role

STAFF_ROLES = (Role.COORDINATOR, Role.NODE_ADMIN, Role.AUDITOR)
OFFICER_ROLES = (Role.CASE_OFFICER, Role.NODE_ADMIN)
COUNTING_ROLES = frozenset(
    {Role.REGISTRANT, Role.COORDINATOR, Role.SPONSOR, Role.NODE_ADMIN, Role.CASE_OFFICER}
)


class Engine(models.TextChoices):
    DUCKDB = "duckdb", "DuckDB"
    POSTGRES = "postgres", "PostgreSQL"
    SPARK = "spark", "Spark SQL"


class DataSourceQuerySet(AuditedQuerySet):
    def approvable_by(self, user) -> DataSourceQuerySet:
        """Sources whose answers ``user`` may approve as the local officer."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        regions: set[int] = set()
        for role in OFFICER_ROLES:
            regions |= user.region_ids_for(role)
        return self.filter(region_id__in=regions)


class DataSource(AuditedModel):
    """A region's OMOP data held by this instance: it answers counts on them as that
    region's node. ``location`` is a folder or file for DuckDB and Spark, a
    ``postgres://…?schema=`` URL for PostgreSQL."""

    audit_masked_fields: ClassVar[frozenset[str]] = frozenset({"location"})

    slug = models.SlugField(unique=True)
    name = models.CharField(_("name"), max_length=200)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="count_sources")
    engine = models.CharField(_("engine"), max_length=10, choices=Engine.choices)
    location = models.CharField(_("location of the OMOP data"), max_length=500)
    requires_approval = models.BooleanField(
        _("answers need a local officer's approval"), default=False
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = DataSourceQuerySet.as_manager()  # type: ignore[misc]

    class Meta:
        ordering = ["name"]
        verbose_name = _("OMOP data source")

    def __str__(self) -> str:
        return self.name


class TrustedHub(AuditedModel):
    """A hub whose signed count requests this instance's sources answer."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    public_key = models.TextField(_("public key (PEM)"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("trusted hub")

    def __str__(self) -> str:
        return self.name


class Peer(AuditedModel):
    """A region node this instance (as a hub) sends count requests to."""

    slug = models.SlugField(unique=True)
    name = models.CharField(_("name"), max_length=200)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="count_peers")
    url = models.URLField(_("address of the node's count endpoint"), max_length=500)
    public_key = models.TextField(_("the node's public key (PEM)"))
    timeout_seconds = models.PositiveIntegerField(_("answer within (seconds)"), default=20)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["region__name", "name"]
        verbose_name = _("region node")

    def __str__(self) -> str:
        return self.name


class CountRequestQuerySet(AuditedQuerySet):
    def visible_to(self, user) -> CountRequestQuerySet:
        """Own requests; staff see those that asked a region of theirs."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        regions: set[int] = set()
        for role in STAFF_ROLES:
            regions |= user.region_ids_for(role)
        condition = Q(created_by=user)
        if regions:
            condition |= Q(results__peer__region_id__in=regions)
        return self.filter(condition).distinct()

    def for_target(self, label: str, pk: object) -> CountRequestQuerySet:
        return self.filter(target_type=label, target_id=str(pk))


class CountRequest(AuditedModel):
    """A count asked of the region nodes, attached to a study or another record."""

    class State(models.TextChoices):
        SENT = "sent", _("Sent to the regions")
        COMPLETE = "complete", _("All regions answered")

    audit_state_fields: ClassVar[tuple[str, ...]] = ("state",)

    request_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=200)
    definition = models.JSONField(_("cohort definition (Circe JSON)"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="count_requests"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.SENT)
    study = models.ForeignKey(
        "studies.Study",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="count_requests",
        verbose_name=_("study"),
    )
    target_type = models.CharField(
        _("attached to (app label and model)"), max_length=100, blank=True
    )
    target_id = models.CharField(_("attached to (id)"), max_length=64, blank=True)

    objects = CountRequestQuerySet.as_manager()  # type: ignore[misc]

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("count request")
        indexes = [models.Index(fields=["target_type", "target_id"], name="count_target")]

    def __str__(self) -> str:
        return self.title


class RegionResult(AuditedModel):
    """What one region node answered to a count request (released values only)."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for an answer")
        AWAITING_APPROVAL = "awaiting_approval", _("Waiting for the region's approval")
        ANSWERED = "answered", _("Answered")
        REFUSED = "refused", _("Refused by the region")
        LATE = "late", _("Did not answer in time")
        BAD_SIGNATURE = "bad_signature", _("Answer with a bad signature (ignored)")
        ERROR = "error", _("Could not count")

    audit_state_fields: ClassVar[tuple[str, ...]] = ("state",)

    request = models.ForeignKey(CountRequest, on_delete=models.CASCADE, related_name="results")
    peer = models.ForeignKey(Peer, on_delete=models.PROTECT, related_name="results")
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    released = models.JSONField(default=dict, blank=True)
    message = models.CharField(max_length=500, blank=True)
    data_version = models.CharField(max_length=32, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["peer__region__name", "peer__name"]
        verbose_name = _("result of a region")
        constraints = [
            models.UniqueConstraint(fields=["request", "peer"], name="count_result_per_peer")
        ]

    def __str__(self) -> str:
        return f"{self.request}: {self.peer}"


class NodeQueryQuerySet(AuditedQuerySet):
    def awaiting_approval_by(self, user) -> NodeQueryQuerySet:
        sources = DataSource.objects.approvable_by(user)
        return self.filter(source__in=sources, state=NodeQuery.State.AWAITING_APPROVAL)


class NodeQuery(AuditedModel):
    """A count asked of one of this instance's data sources (by a local user, the
    command line or a hub): who asked, what, on which data, and what was released."""

    class State(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", _("Waiting for approval")
        ANSWERED = "answered", _("Answered")
        REFUSED = "refused", _("Refused")
        FAILED = "failed", _("Could not count")

    audit_state_fields: ClassVar[tuple[str, ...]] = ("state",)

    source = models.ForeignKey(DataSource, on_delete=models.PROTECT, related_name="queries")
    hub = models.ForeignKey(
        TrustedHub, null=True, blank=True, on_delete=models.PROTECT, related_name="queries"
    )
    request_id = models.CharField(max_length=64, blank=True)
    requester = models.CharField(_("asked by"), max_length=300)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="count_queries",
    )
    title = models.CharField(_("title"), max_length=200, blank=True)
    definition = models.JSONField()
    state = models.CharField(max_length=20, choices=State.choices)
    released = models.JSONField(default=dict, blank=True)
    message = models.CharField(max_length=500, blank=True)
    data_version = models.CharField(max_length=32, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = NodeQueryQuerySet.as_manager()  # type: ignore[misc]

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("count query")
        constraints = [
            models.UniqueConstraint(
                fields=["hub", "request_id", "source"],
                condition=Q(hub__isnull=False),
                name="count_query_once_per_hub_request",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source}: {self.title or self.requester}"


class ReleaseAnchor(models.Model):
    """The sketch of a set of persons whose count was released (see protection.py)."""

    audit_exempt = "protection state; every release it takes part in is audited as a query"

    data_version = models.CharField(max_length=32, db_index=True)
    sketch = models.BinaryField()
    value = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.data_version}: {self.value}"


class UsedNonce(models.Model):
    """A signed request already seen (replay protection), kept for the clock window."""

    audit_exempt = "replay protection: nonces of signed requests, kept a few minutes"

    key_id = models.CharField(max_length=64)
    nonce = models.CharField(max_length=64)
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key_id", "nonce"], name="count_nonce_once")]

    def __str__(self) -> str:
        return self.nonce
