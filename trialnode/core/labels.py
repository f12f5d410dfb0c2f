"""Field labels for pages that show stored changes: the translated name, never the column."""

from __future__ import annotations

import contextlib
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

FIELD_LABELS: dict[str, Any] = {
    "region": _("Region"),
    "care_provider": _("Care provider"),
    "unit": _("Unit"),
    "published_by": _("Published by"),
    "recorded_by": _("Recorded by"),
    "submitted_at": _("Submitted"),
    "published_at": _("Published"),
    "chapter": _("ICD-10 chapter"),
    # Bookkeeping columns, shown on the audit trail's pages.
    "created_at": _("Created"),
    "updated_at": _("Updated"),
    "version": _("Version"),
    "source_hash": _("Checksum of the imported record"),
    "reconfirmation_requested_at": _("Re-confirmation requested"),
    "recorded_at": _("Recorded"),
    "occurred_at": _("Occurred"),
    "object_type": _("Record type"),
    "payload": _("Recorded values"),
    "prev_hash": _("Checksum of the previous event"),
    "prev": _("Previous event"),
    "seq": _("Sequence number"),
    "slug": _("Short name"),
    "regions": _("Regions"),
    "normalised_name": _("Name for matching"),
    "term": _("Search term"),
    "title_stems": _("Title words for search"),
    "start": _("Start"),
    "input_path": _("Input file"),
    "output_path": _("Output file"),
    "params": _("Parameters"),
    "result": _("Result"),
    "message": _("Message"),
    "key_hash": _("Checksum of the key"),
    "key_id": _("Key"),
    "last_used_at": _("Last used"),
    "revoked_at": _("Revoked"),
    "last_result": _("Last result"),
    "last_synced_at": _("Last synchronised"),
    "nonce": _("One-time value"),
    "seen_at": _("Seen"),
    "hub": _("Hub"),
    "peer": _("Region node"),
    "released": _("Released"),
    "request": _("Request"),
    "request_id": _("Request id"),
    "sketch": _("Sketch"),
    "value": _("Value"),
}
"""Labels of the columns that carry no translated name of their own."""


def field_label(model: type[models.Model] | None, name: str) -> str:
    """The field's translated label; its column name never reaches the page."""
    if name in FIELD_LABELS:
        return str(FIELD_LABELS[name])
    verbose_name: Any = name.replace("_", " ")
    if model is not None:
        with contextlib.suppress(FieldDoesNotExist):
            verbose_name = getattr(model._meta.get_field(name), "verbose_name", verbose_name)
    if isinstance(verbose_name, Promise):
        return capfirst(str(verbose_name))
    # A name without a translated label: the catalogue may still know it.
    return capfirst(gettext(str(verbose_name)))


def model_of(object_type: str) -> type[models.Model] | None:
    """The model of an ``app_label.model_name`` string, None if there is none."""
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None
