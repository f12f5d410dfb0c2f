"""Status periods (``StatusSpan``) derived from each study's dated status history.

The history of a locally registered study is complete: every status change is
recorded with the date it took effect. An imported registry record's history starts
when it was first imported, so its registered dates fill in what came before: a
study whose status says it has started is taken to be ongoing from its start date,
and a completed or terminated one to have ended on its completion date.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db import transaction

from trialnode.studies.models import (
    ONGOING_STATUSES,
    Source,
    Status,
    StatusSpan,
    Study,
    StudyStatusChange,
)

STARTED_STATUSES = ONGOING_STATUSES | {Status.COMPLETED, Status.TERMINATED, Status.SUSPENDED}
ENDED_STATUSES = frozenset({Status.COMPLETED, Status.TERMINATED})


def timeline(changes: list[tuple[date, str]]) -> list[tuple[date, str]]:
    """Dated statuses from changes in the order they were recorded.

    Each change holds from its effective date on and overrides what was recorded before
    for those days: a change recorded later with an earlier date (a registration that
    says the study has recruited since March) replaces the statuses after that date. So
    the status today is always the last one recorded, as on the study itself.
    """
    points: list[tuple[date, str]] = []
    for day, status in changes:
        points = [point for point in points if point[0] < day]
        points.append((day, status))
    return points


def periods(study: Study, changes: list[tuple[date, str]]) -> list[StatusSpan]:
    """The status periods of one study from its changes, in the order they were recorded."""
    points = timeline(changes)
    if study.source != Source.LOCAL and points:
        first_date, first_status = points[0]
        if (
            first_status in ENDED_STATUSES
            and study.completion_date
            and (study.completion_date < first_date)
        ):
            points.insert(0, (study.completion_date, first_status))
            first_date = study.completion_date
        if first_status in STARTED_STATUSES and study.start_date and study.start_date < first_date:
            implied = (
                first_status if first_status in ONGOING_STATUSES else Status.ACTIVE_NOT_RECRUITING
            )
            points.insert(0, (study.start_date, implied))
    spans: list[StatusSpan] = []
    for day, status in points:
        if spans and spans[-1].status == status:
            continue
        if spans:
            spans[-1].end = day
        spans.append(StatusSpan(study_id=study.pk, status=status, start=day))
    for span in spans:
        if span.status in ONGOING_STATUSES:
            span.first_ongoing = True
            break
    return spans


def refresh_spans(study_ids: Iterable[int]) -> None:
    """Recompute the status periods of these studies (in the caller's transaction)."""
    ids = sorted(set(study_ids))
    for offset in range(0, len(ids), 2000):
        chunk = ids[offset : offset + 2000]
        studies = Study.objects.filter(pk__in=chunk).only(
            "id", "source", "start_date", "completion_date"
        )
        history: dict[int, list[tuple[date, str]]] = {}
        for study_id, day, status in (
            StudyStatusChange.objects.filter(study_id__in=chunk)
            .order_by("study_id", "recorded_at", "id")
            .values_list("study_id", "effective_date", "status")
        ):
            history.setdefault(study_id, []).append((day, status))
        rows = [span for study in studies for span in periods(study, history.get(study.pk, []))]
        with transaction.atomic():
            StatusSpan.objects.filter(study_id__in=chunk).delete()
            StatusSpan.objects.bulk_create(rows, batch_size=2000)


def spans_of_new(studies: Iterable[tuple[Study, list[tuple[date, str]]]]) -> list[StatusSpan]:
    """The unsaved status periods of studies just created, from their status changes at
    hand (the same periods ``refresh_spans`` computes, without reading anything back)."""
    return [span for study, changes in studies for span in periods(study, changes)]


def rebuild_all_spans() -> int:
    """Recompute every study's periods (after a restore, or to check the kept ones)."""
    ids = list(Study.objects.values_list("pk", flat=True))
    refresh_spans(ids)
    return StatusSpan.objects.count()
