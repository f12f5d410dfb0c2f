"""The study's history in words: field labels and value labels, never columns or codes.

The audit trail keeps what was written (column names, stored values); this module turns
the events of one study into what its followers read on the history page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils import formats, timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from trialnode.audit.selectors import MASK, ReadableEvent
from trialnode.core.labels import field_label, model_of

HIDDEN_FIELDS = {
    "id",
    "study",
    "version",
    "created_at",
    "updated_at",
    "source_hash",
    "search_text",
}
"""Bookkeeping columns with no meaning for a reader of the study's history (the audit
pages still show them to auditors)."""

SHOWN_WHEN_SET = {"entered_here"}
"""Flags that say something only when set: "entered here, not from the registry: no" on
every row an import brought would be noise, and a double negative."""

MODEL_LABELS: dict[str, Any] = {
    "studies.study": _("Study"),
    "studies.studysite": _("Site"),
    "studies.studycondition": _("Condition"),
    "studies.studyintervention": _("Intervention"),
    "studies.studycontact": _("Contact"),
    "studies.studystatuschange": _("Status"),
}


@dataclass(frozen=True)
class HistoryEntry:
    event: ReadableEvent
    object_label: str
    from_state: str
    to_state: str
    changes: list[tuple[str, str, str]]
    actor: str


# Who made a change no person made, by the channel the trail records ("command:import
# ctgov", "job:feasibility_reminders"): the kind in words, and what ran.
CHANNELS = {
    "command": _("the command line (%(what)s)"),
    "job": _("a background job (%(what)s)"),
    "schedule": _("a scheduled task (%(what)s)"),
}


def actor_label(event: ReadableEvent) -> str:
    """The person who made the change, else the channel it came through in words."""
    kind, _colon, what = event.via.partition(":")
    if event.actor_name and event.actor_name != event.via:
        return event.actor_name
    if kind in CHANNELS and what:
        return str(CHANNELS[kind]) % {"what": what}
    if event.via == "demo":
        return gettext("the demo data")
    return gettext("the system")


class _Values:
    """Turns stored values into what a reader understands; related rows are read in one
    query per model for the whole page."""

    def __init__(self, events: list[ReadableEvent]) -> None:
        wanted: dict[type[models.Model], set[Any]] = {}
        for event in events:
            model = model_of(event.object_type)
            if model is None:
                continue
            for name, old, new in event.changes:
                field = _field(model, name)
                if isinstance(field, models.ForeignKey):
                    keys = wanted.setdefault(field.related_model, set())
                    keys.update(v for v in (old, new) if v not in (None, "", MASK))
        self.related = {
            related: {obj.pk: obj for obj in related._default_manager.filter(pk__in=keys)}
            for related, keys in wanted.items()
        }

    def show(self, model: type[models.Model] | None, name: str, value: Any) -> str:
        if value is None or value == "":
            return "–"
        if value == MASK or model is None:
            return str(value)
        field = _field(model, name)
        if field is None:
            return str(value)
        if field.choices:
            return str(dict(field.flatchoices).get(value, value))
        if isinstance(field, models.BooleanField):
            return gettext("Yes") if value else gettext("No")
        if isinstance(field, models.ForeignKey):
            obj = self.related.get(field.related_model, {}).get(value)
            if obj is None:
                return gettext("(removed)")
            full_name = getattr(obj, "get_full_name", None)
            return (full_name() if full_name else "") or str(obj)
        if isinstance(field, models.DateTimeField) and isinstance(value, str):
            moment = dt.datetime.fromisoformat(value)
            return formats.date_format(timezone.localtime(moment), "Y-m-d H:i")
        return str(value)


def _field(model: type[models.Model], name: str) -> Any:
    try:
        return model._meta.get_field(name)
    except Exception:
        return None


def _state_label(model: type[models.Model] | None, state: str | None) -> str:
    if not state:
        return ""
    for name in ("registration_state", "status"):
        field = _field(model, name) if model else None
        if field is not None and field.choices and state in dict(field.flatchoices):
            return str(dict(field.flatchoices)[state])
    return state


def history_entries(events: list[ReadableEvent]) -> list[HistoryEntry]:
    """The events in words: what changed, from what, to what."""
    values = _Values(events)
    entries = []
    for event in events:
        model = model_of(event.object_type)
        changes = []
        for name, old, new in event.changes:
            if name in HIDDEN_FIELDS or (name in SHOWN_WHEN_SET and not old and not new):
                continue
            before, after = values.show(model, name, old), values.show(model, name, new)
            if before != after:  # an empty field created empty is no change to read
                changes.append((field_label(model, name), before, after))
        entries.append(
            HistoryEntry(
                event=event,
                object_label=str(MODEL_LABELS.get(event.object_type, event.object_label)),
                from_state=_state_label(model, event.from_state),
                to_state=_state_label(model, event.to_state),
                changes=changes,
                actor=actor_label(event),
            )
        )
    return entries
