"""Keep each study's status periods, condition areas and public search row in step,
whatever saved it.

Bulk inserts send no signals: code that bulk-creates studies, status changes or
conditions writes those rows itself, read back (``spans.refresh_spans``,
``concepts.refresh_condition_areas``) or computed from the rows at hand
(``spans.spans_of_new``, ``concepts.condition_areas_of_new``, as the registry import
and the synthetic generator do).
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver

from trialnode.studies.concepts import refresh_condition_areas
from trialnode.studies.models import Study, StudyCondition, StudySite, StudyStatusChange
from trialnode.studies.searchrows import refresh_search_rows
from trialnode.studies.spans import refresh_spans


@receiver(post_save, sender=StudyStatusChange)
@receiver(post_delete, sender=StudyStatusChange)
def status_history_changed(sender, instance: StudyStatusChange, **kwargs) -> None:
    refresh_spans([instance.study_id])


@receiver(post_save, sender=StudyCondition)
@receiver(post_delete, sender=StudyCondition)
def condition_changed(sender, instance: StudyCondition, **kwargs) -> None:
    refresh_condition_areas([instance.study_id])
    refresh_search_rows([instance.study_id])


@receiver(post_save, sender=StudySite)
@receiver(post_delete, sender=StudySite)
def site_changed(sender, instance: StudySite, **kwargs) -> None:
    refresh_search_rows([instance.study_id])


@receiver(pre_delete, sender=Study)
def study_deleting(sender, instance: Study, **kwargs) -> None:
    # Records marked as the same study become visible on their own once it is gone.
    instance._same_study_ids = list(  # type: ignore[attr-defined]
        instance.duplicates.values_list("pk", flat=True)
    )


@receiver(post_delete, sender=Study)
def study_deleted(sender, instance: Study, **kwargs) -> None:
    refresh_search_rows(getattr(instance, "_same_study_ids", []))


SPAN_INPUTS = ("start_date", "completion_date", "source")
AREA_INPUTS = ("mesh_terms", "therapeutic_area")


@receiver(post_save, sender=Study)
def study_saved(sender, instance: Study, created: bool, **kwargs) -> None:
    refresh_search_rows([instance.pk])
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
