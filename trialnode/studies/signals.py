"""Keep each study's status periods and condition areas in step, whatever saved it.

Bulk inserts send no signals: code that bulk-creates studies, status changes or
conditions calls ``spans.refresh_spans`` and ``concepts.refresh_condition_areas``
itself (the registry import and the synthetic generator do).
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from trialnode.studies.concepts import refresh_condition_areas
from trialnode.studies.models import Study, StudyCondition, StudyStatusChange
from trialnode.studies.spans import refresh_spans


@receiver(post_save, sender=StudyStatusChange)
@receiver(post_delete, sender=StudyStatusChange)
def status_history_changed(sender, instance: StudyStatusChange, **kwargs) -> None:
    refresh_spans([instance.study_id])


@receiver(post_save, sender=StudyCondition)
@receiver(post_delete, sender=StudyCondition)
def condition_changed(sender, instance: StudyCondition, **kwargs) -> None:
    refresh_condition_areas([instance.study_id])


SPAN_INPUTS = ("start_date", "completion_date", "source")
AREA_INPUTS = ("mesh_terms", "therapeutic_area")


@receiver(post_save, sender=Study)
def study_saved(sender, instance: Study, created: bool, **kwargs) -> None:
    # The dates and the source decide how an imported record's history is filled in; a
    # new study has no history yet (its first status change refreshes the periods).
    before = getattr(instance, "_audit_loaded", None)

    def changed(names: tuple[str, ...]) -> bool:
        return before is None or any(before.get(n) != getattr(instance, n) for n in names)

    if created:
        if instance.mesh_terms or instance.therapeutic_area:
            refresh_condition_areas([instance.pk])
        return
    if changed(SPAN_INPUTS):
        refresh_spans([instance.pk])
    if changed(AREA_INPUTS):
        refresh_condition_areas([instance.pk])
