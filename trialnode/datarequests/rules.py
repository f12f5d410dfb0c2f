"""What every step of a case shares: one transaction attributed to the user taking it,
the stage check, the role check, text without personal identity numbers, the move to the
next stage with its period on the clock, and mail sent on commit."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from trialnode.audit import context as audit_context
from trialnode.audit.context import because
from trialnode.datarequests.models import (
    DataRequest,
    StagePeriod,
)
from trialnode.datarequests.validators import validate_no_identity_number
from trialnode.organisations.models import User

P = ParamSpec("P")
R = TypeVar("R")


def service(function: Callable[P, R]) -> Callable[P, R]:
    """Run a step in one transaction, attributed in the trail to the user taking it (``by``)
    when no request or job has named the actor already."""

    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        by = kwargs.get("by")
        current = audit_context.current()
        acting = (
            audit_context.acting_as(actor=by, via=current.via, ip=current.ip)
            if current.actor is None and by is not None
            else contextlib.nullcontext()
        )
        with acting, transaction.atomic():
            return function(*args, **kwargs)

    return run


class StepRefused(ValidationError):
    """A step that the case's stage does not allow now."""


def refuse_unless(case: DataRequest, *stages: str) -> None:
    if case.stage not in stages:
        raise StepRefused(
            _(
                "The case is at the stage “%(stage)s”: this step is not possible now. "
                "Nothing was changed."
            )
            % {"stage": case.get_stage_display()},
            code="out_of_order",
        )


def require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def clean_text(**values: str) -> None:
    """Reject any text that holds a personal identity number, naming the field."""
    errors: dict[str, list[ValidationError]] = {}
    for name, value in values.items():
        try:
            validate_no_identity_number(value or "")
        except ValidationError as exc:
            errors.setdefault(name, []).append(exc)
    if errors:
        raise ValidationError(errors)


def reason_text(reason: str, message: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": message})
    if len(reason) > 2000:
        raise ValidationError({"reason": _("Keep the reason to at most 2,000 characters.")})
    clean_text(reason=reason)
    return reason


def locked(case: DataRequest) -> DataRequest:
    return DataRequest.objects.select_for_update().select_related("data_holder").get(pk=case.pk)


def move(case: DataRequest, to: str, *, by: User, reason: str, **fields: Any) -> DataRequest:
    """End the current stage period and start the next; the stage change is audited as a
    workflow transition with ``reason``."""
    now = timezone.now()
    with because(reason):
        for period in StagePeriod.objects.filter(request=case, ended_at__isnull=True):
            period.ended_at = now
            period.save(update_fields=["ended_at"])
        StagePeriod.objects.create(
            request=case, version=case.version, stage=to, started_at=now, reason=reason, actor=by
        )
        case.stage = to
        case.stage_since = now
        for name, value in fields.items():
            setattr(case, name, value)
        case.save(update_fields=["stage", "stage_since", *fields])
    return case


def mail(recipients: Iterable[str], subject: str, body: str) -> None:
    """Queue a message to go out once the transaction commits."""
    to = sorted({address for address in recipients if address})
    if not to:
        return
    transaction.on_commit(
        lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to, fail_silently=True)
    )


def staff_addresses(case: DataRequest, *roles: str) -> list[str]:
    """The e-mail addresses of the active holders of ``roles`` in the data holder's region."""
    from django.db.models import Q

    region = case.data_holder.region_id
    users = User.objects.filter(
        is_active=True,
        role_assignments__revoked_at__isnull=True,
        role_assignments__role__in=roles,
    ).filter(
        Q(role_assignments__region_id=region)
        | Q(role_assignments__node__regions__id=region)
        | Q(role_assignments__care_provider__region_id=region)
    )
    return sorted(set(users.values_list("email", flat=True)))


def tell_applicant(case: DataRequest, subject: str, body: str) -> None:
    mail([case.applicant.email], f"{case.reference}: {subject}", body)
