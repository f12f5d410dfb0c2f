"""The audit trail: an append-only, hash-chained log of every write to a domain record."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from django.conf import settings
from django.db import connections, models, transaction
from django.db.models.expressions import Combinable
from django.utils.translation import gettext_lazy as _

from trialnode.core.copyinsert import copy_insert

_M = TypeVar("_M", bound="AuditedModel")


class AuditedQuerySet(models.QuerySet[_M]):
    """Bulk writes that leave an event per row, like single saves do."""

    def update(self, **kwargs: Any) -> int:
        from trialnode.audit import trail

        with transaction.atomic(using=self.db, savepoint=False):
            before = {obj.pk: trail.snapshot(obj) for obj in self.select_for_update()}
            count = super().update(**kwargs)
            after = self.model._base_manager.using(self.db).filter(pk__in=list(before))
            for obj in after:
                trail.record_change(obj, before[obj.pk])
        return count

    def bulk_create(self, objs, *args: Any, **kwargs: Any):
        from trialnode.audit import trail

        if kwargs.get("ignore_conflicts") or kwargs.get("update_conflicts"):
            raise ValueError("Audited rows cannot be bulk-created with conflict handling.")
        objs = list(objs)
        with transaction.atomic(using=self.db, savepoint=False):
            if connections[self.db].vendor == "postgresql" and objs:
                for obj in objs:
                    if type(obj) is not self.model:
                        raise TypeError(f"{obj!r} is not a {self.model.__name__}")
                created = copy_insert(objs, using=self.db)
            else:
                created = super().bulk_create(objs, *args, **kwargs)
            trail.record_many_created(created)
        return created

    def bulk_update(self, objs, fields, *args: Any, **kwargs: Any) -> int:
        raise NotImplementedError("Use save() or update(): bulk_update leaves no audit event.")


class AuditedModel(models.Model):
    """Every create, change and delete of a subclass leaves an audit event.

    ``audit_masked_fields`` are recorded as changed without their values;
    ``audit_ignored_fields`` are not compared at all; a change of one of
    ``audit_state_fields`` is recorded as a workflow transition.
    """

    audit_masked_fields: ClassVar[frozenset[str]] = frozenset()
    audit_ignored_fields: ClassVar[frozenset[str]] = frozenset({"updated_at"})
    audit_state_fields: ClassVar[tuple[str, ...]] = ()

    objects = AuditedQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        from trialnode.audit import trail

        using = kwargs.get("using") or "default"
        with transaction.atomic(using=using, savepoint=False):
            adding = self._state.adding
            before = None if adding else trail.loaded_values(self)
            super().save(*args, **kwargs)
            pending = [
                f.attname
                for f in self._meta.concrete_fields
                if isinstance(getattr(self, f.attname, None), Combinable)
            ]
            if pending:
                self.refresh_from_db(fields=pending)
            if before is None:
                trail.record_created(self)
            else:
                trail.record_change(self, before, update_fields=kwargs.get("update_fields"))
            self._audit_loaded = trail.snapshot(self)

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._audit_loaded = dict(zip(field_names, values, strict=True))
        return instance


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("Audit events cannot be changed.")

    def delete(self):
        raise PermissionError("Audit events cannot be deleted.")

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        raise PermissionError("Audit events cannot be changed.")


class AuditEvent(models.Model):
    """One entry of the trail. ``payload`` is the canonical JSON that ``hash`` covers;
    the other columns repeat parts of it for searching and are checked against it."""

    class Action(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Changed")
        DELETE = "delete", _("Deleted")
        TRANSITION = "transition", _("Workflow step")
        SIGNATURE = "signature", _("Electronic signature")
        LOGIN = "login", _("Logged in")
        LOGIN_FAILED = "login_failed", _("Failed login")
        LOGOUT = "logout", _("Logged out")
        ROLE_GRANT = "role_grant", _("Role granted")
        ROLE_REVOKE = "role_revoke", _("Role revoked")
        EXPORT = "export", _("Exported")
        LOCKOUT = "lockout", _("Login locked after failed attempts")
        LOCKOUT_LIFTED = "lockout_lifted", _("Login lock lifted")

    audit_exempt = "the trail itself"

    seq = models.BigIntegerField(unique=True)
    occurred_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=True,
        # "audit_actor" (actor, seq) serves lookups by actor: a second index on the same
        # column would only slow down every event written.
        db_index=False,
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64, blank=True)
    payload = models.TextField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["object_type", "object_id", "seq"], name="audit_object"),
            models.Index(fields=["actor", "seq"], name="audit_actor"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any):
        raise PermissionError("Audit events cannot be deleted.")


class AuditChainHead(models.Model):
    """The last link of the chain (one row), so appends serialise on one row lock."""

    audit_exempt = "the state of the trail itself, checked by verify()"

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)
    prev = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash[:12]}"


class AuditReview(AuditedModel):
    """A planned review of the trail for a period, and its outcome once done."""

    class Outcome(models.TextChoices):
        NO_FINDINGS = "no_findings", _("No findings")
        FINDINGS = "findings", _("Findings, no action needed")
        ACTION_REQUIRED = "action_required", _("Findings that require action")

    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    scope = models.CharField(_("scope"), max_length=300, help_text=_("What the review covers."))
    planned_for = models.DateField(_("planned for"))
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("reviewer"),
    )
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    findings = models.TextField(_("findings"), max_length=10000, blank=True)

    class Meta:
        ordering = ["-planned_for", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(period_start__lte=models.F("period_end")),
                name="audit_review_period_ordered",
                violation_error_message=_("The period must start before it ends."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope} ({self.period_start}–{self.period_end})"
