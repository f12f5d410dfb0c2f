"""Work that runs in the background (registry imports, yearly reports), with its progress."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from trialnode.audit.models import AuditedModel


class Job(AuditedModel):
    """One run of a background job: who started it, how far it has come, how it ended.

    Progress updates are frequent and say nothing new about who did what, so they are
    left out of the trail; the start, the end and the outcome are recorded.
    """

    class Kind(models.TextChoices):
        IMPORT_CTGOV = "import_ctgov", _("Import from ClinicalTrials.gov")
        IMPORT_CTIS = "import_ctis", _("Import from EU CTIS")
        YEARLY_REPORT = "yearly_report", _("Yearly report")

    class State(models.TextChoices):
        QUEUED = "queued", _("Waiting to start")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    audit_state_fields = ("state",)
    audit_ignored_fields = frozenset({"progress", "message"})

    kind = models.CharField(_("job"), max_length=20, choices=Kind.choices)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    input_name = models.CharField(_("file"), max_length=255, blank=True)
    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        editable=False,
        help_text="The language of whoever started the job: its messages, and the reasons "
        "it keeps, are written in it.",
    )
    input_path = models.CharField(max_length=500, blank=True, editable=False)
    output_path = models.CharField(max_length=500, blank=True, editable=False)
    progress = models.FloatField(
        _("progress"), null=True, blank=True, help_text="Share done, 0–1; empty when unknown."
    )
    message = models.CharField(_("status"), max_length=300, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="jobs",
        verbose_name=_("started by"),
    )
    created_at = models.DateTimeField(_("queued at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("background job")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)

    @property
    def percent(self) -> int | None:
        return None if self.progress is None else round(100 * self.progress)
