"""Keep each study's status periods in step with its history, whatever saved it.

Bulk inserts send no signals: code that bulk-creates studies or status changes calls
``spans.refresh_spans`` itself (the registry import and the synthetic generator do).
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from trialnode.studies.models import Study, StudyStatusChange
from trialnode.studies.spans import refresh_spans


@receiver(post_save, sender=StudyStatusChange)
@receiver(post_delete, sender=StudyStatusChange)
def status_history_changed(sender, instance: StudyStatusChange, **kwargs) -> None:
    refresh_spans([instance.study_id])


SPAN_INPUTS = ("start_date", "completion_date", "source")


@receiver(post_save, sender=Study)
def study_saved(sender, instance: Study, created: bool, **kwargs) -> None:
    # The dates and the source decide how an imported record's history is filled in; a
    # new study has no history yet (its first status change refreshes the periods).
    if created:
        return
    before = getattr(instance, "_audit_loaded", None)
    if before is None or any(before.get(name) != getattr(instance, name) for name in SPAN_INPUTS):
        refresh_spans([instance.pk])
