"""Links between a locally registered study and the same study in a public registry."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from trialnode.audit.models import AuditedModel


class StudyLink(AuditedModel):
    """A suggested (then confirmed or rejected) pairing of two records of one study."""

    class State(models.TextChoices):
        SUGGESTED = "suggested", _("Suggested")
        CONFIRMED = "confirmed", _("Confirmed")
        REJECTED = "rejected", _("Rejected")

    audit_state_fields = ("state",)

    local = models.ForeignKey(
        "studies.Study",
        on_delete=models.CASCADE,
        related_name="registry_links",
        verbose_name=_("local registration"),
    )
    registry = models.ForeignKey(
        "studies.Study",
        on_delete=models.CASCADE,
        related_name="local_links",
        verbose_name=_("registry record"),
    )
    score = models.PositiveSmallIntegerField(_("similarity"))
    reasons = models.CharField(_("why suggested"), max_length=300)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.SUGGESTED
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-score", "id"]
        verbose_name = _("study link")
        constraints = [
            models.UniqueConstraint(
                fields=["local", "registry"],
                name="study_link_unique_pair",
                violation_error_message=_("These records are already paired."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.local_id} ~ {self.registry_id} ({self.score})"


class SyncState(AuditedModel):
    """When a registry was last synchronised, so the next run asks only for changes."""

    name = models.CharField(max_length=30, unique=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_result = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("registry synchronisation")

    def __str__(self) -> str:
        return f"{self.name}: {self.last_synced_at or '-'}"
