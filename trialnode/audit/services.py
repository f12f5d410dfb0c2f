"""Writes with a rule in the audit app: planning and completing reviews of the trail."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from trialnode.audit.models import AuditReview
from trialnode.audit.selectors import can_review_trail


@transaction.atomic
def review_plan(
    *, by, scope: str, period_start: dt.date, period_end: dt.date, planned_for: dt.date
) -> AuditReview:
    if not can_review_trail(by):
        raise PermissionDenied(_("Only auditors plan reviews of the audit trail."))
    review = AuditReview(
        scope=scope,
        period_start=period_start,
        period_end=period_end,
        planned_for=planned_for,
        reviewer=by,
    )
    review.full_clean()
    review.save()
    return review


@transaction.atomic
def review_complete(*, review: AuditReview, by, outcome: str, findings: str) -> AuditReview:
    if not can_review_trail(by):
        raise PermissionDenied(_("Only auditors record reviews of the audit trail."))
    review = AuditReview.objects.select_for_update().get(pk=review.pk)
    if review.completed_at is not None:
        raise ValidationError(_("This review is already completed."))
    if outcome != AuditReview.Outcome.NO_FINDINGS and not findings.strip():
        raise ValidationError(_("Describe the findings."))
    review.outcome = outcome
    review.findings = findings
    review.completed_at = timezone.now()
    review.reviewer = by
    review.full_clean()
    review.save()
    return review
