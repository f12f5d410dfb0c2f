"""Reading the trail: per record, per period, and masked for the reader."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
from django.apps import apps
from django.db.models import Q, QuerySet
from django.utils import timezone

from trialnode.audit.models import AuditEvent
from trialnode.audit.permissions import can_review_trail, sees_client_addresses

__all__ = ["can_review_trail"]

# Values of these fields are shown only to auditors (AT8): personal data of accounts.
RESTRICTED_FIELDS = {
    "organisations.user": {"email", "first_name", "last_name", "username"},
}
MASK = "•••"


@dataclass(frozen=True)
class ReadableEvent:
    seq: int
    occurred_at: dt.datetime
    action: str
    action_label: str
    object_type: str
    object_label: str
    object_id: str
    object_repr: str
    actor_name: str
    actor_roles: str
    via: str
    reason: str
    from_state: str | None
    to_state: str | None
    changes: list[tuple[str, Any, Any]]
    ip: str | None
    request_id: str


def _model_label(object_type: str) -> str:
    try:
        return str(apps.get_model(object_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return object_type


def readable(event: AuditEvent, *, reader: Any) -> ReadableEvent:
    body = orjson.loads(event.payload)
    restricted = (
        set() if can_review_trail(reader) else RESTRICTED_FIELDS.get(event.object_type, set())
    )
    changes = []
    for field, values in body.get("changes", {}).items():
        if isinstance(values, list) and len(values) == 2:
            old, new = values
        else:
            old, new = None, values
        if field in restricted:
            old, new = (MASK if old is not None else None), MASK
        changes.append((field, old, new))
    return ReadableEvent(
        seq=event.seq,
        occurred_at=event.occurred_at,
        action=event.action,
        action_label=str(AuditEvent.Action(event.action).label),
        object_type=event.object_type,
        object_label=_model_label(event.object_type),
        object_id=event.object_id,
        object_repr=body["object"].get("repr", ""),
        actor_name=body["actor"].get("name") or body.get("via", ""),
        actor_roles=body["actor"].get("roles", ""),
        via=body.get("via", ""),
        reason=body.get("reason", ""),
        from_state=body.get("from_state"),
        to_state=body.get("to_state"),
        changes=changes,
        ip=body.get("ip") if sees_client_addresses(reader) else None,
        request_id=body.get("request_id", ""),
    )


def study_history(study: Any) -> QuerySet[AuditEvent]:
    """Events of the study and of its sites, conditions, interventions, contacts, statuses."""
    children = {
        "studies.studysite": study.sites,
        "studies.studycondition": study.conditions,
        "studies.studyintervention": study.interventions,
        "studies.studycontact": study.contacts,
        "studies.studystatuschange": study.status_history,
    }
    condition = Q(object_type="studies.study", object_id=str(study.pk))
    for object_type, related in children.items():
        ids = [str(pk) for pk in related.values_list("pk", flat=True)]
        # Rows deleted since are found through the study id in their recorded values.
        condition |= Q(object_type=object_type) & (
            Q(object_id__in=ids)
            | Q(payload__contains=f'"study":[{study.pk},')
            | Q(payload__contains=f'"study":[null,{study.pk}]')
        )
    return AuditEvent.objects.filter(condition).order_by("seq")


@dataclass
class EventFilter:
    object_type: str = ""
    object_id: str = ""
    actor: str = ""
    organisation: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def apply(self, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        if self.object_type:
            queryset = queryset.filter(object_type=self.object_type)
        if self.object_id:
            queryset = queryset.filter(object_id=self.object_id)
        if self.actor:
            queryset = queryset.filter(Q(actor__username=self.actor) | Q(actor__email=self.actor))
        if self.organisation:
            queryset = queryset.filter(payload__contains=f"@{self.organisation}")
        zone = timezone.get_current_timezone()
        if self.date_from:
            start = dt.datetime.combine(self.date_from, dt.time.min, tzinfo=zone)
            queryset = queryset.filter(occurred_at__gte=start)
        if self.date_to:
            end = dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
            queryset = queryset.filter(occurred_at__lt=end)
        return queryset
