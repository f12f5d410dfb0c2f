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
    "action": _("Action"),
    "actor": _("Done by"),
    "added_at": _("Added"),
    "answered_at": _("Answered"),
    "author": _("Written by"),
    "body": _("Text"),
    "body_stems": _("Word stems of the text"),
    "closed_outcome": _("Outcome when closed"),
    "condition_areas": _("Condition areas"),
    "content": _("Content"),
    "created_by": _("Created by"),
    "data_version": _("Data version"),
    "decided_at": _("Decided"),
    "dispatched_at": _("Sent to the unit"),
    "dispatched_by": _("Sent by"),
    "due": _("Due"),
    "end": _("End"),
    "ended_at": _("Ended"),
    "expires_at": _("Valid until"),
    "first_answered_at": _("First answered"),
    "first_ongoing": _("First ongoing day"),
    "granted_at": _("Granted"),
    "granted_by": _("Granted by"),
    "hash": _("Checksum"),
    "healthy_volunteers": _("Healthy volunteers"),
    "inquiry": _("Inquiry"),
    "max_age_years": _("Maximum age (years)"),
    "min_age_years": _("Minimum age (years)"),
    "position": _("Order"),
    "recipients": _("Recipients"),
    "reminded_at": _("Reminded"),
    "replaced_at": _("Replaced"),
    "sent_at": _("Sent"),
    "sha256": _("Checksum (SHA-256)"),
    "stage_alerted_at": _("Coordinators alerted about the stage"),
    "stage_since": _("In this stage since"),
    "stored_name": _("Stored file name"),
    "synopsis_name": _("Synopsis file name"),
    "synopsis_path": _("Where the synopsis is stored"),
    "synopsis_sha256": _("Checksum of the synopsis"),
    "synopsis_size": _("Size of the synopsis"),
    "tags": _("Filter tags"),
    "title_sort": _("Title for sorting"),
    "token_hash": _("Checksum of the link"),
    "tsv": _("Search vector"),
    "uploaded_at": _("Uploaded"),
    "uploaded_by": _("Uploaded by"),
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
