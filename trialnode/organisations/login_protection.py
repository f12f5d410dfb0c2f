"""Login protection with django-axes: failures counted in the database per user name and
address together; after the limit that pair waits, and each further lock-out of it within
the window doubles the wait; attempts during the wait are refused without counting, so
trying the right password again does not make it longer. Each lock-out is in the audit
trail, and the node admin sees and lifts the lock-outs of their node's users."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from trialnode.audit import trail
from trialnode.audit.models import AuditEvent
from trialnode.organisations.models import Role, User


def cool_off_for(lockouts: int) -> dt.timedelta:
    """The wait of the ``lockouts``-th lock-out of a user name and address within
    LOGIN_COOLOFF_MAX_HOURS: the base for the first, doubled for each one after it, never
    more than the maximum."""
    base = dt.timedelta(minutes=settings.LOGIN_COOLOFF_MINUTES)
    longest = dt.timedelta(hours=settings.LOGIN_COOLOFF_MAX_HOURS)
    return min(base * 2 ** min(max(0, lockouts - 1), 20), longest)


def recent_lockouts(*, username: str | None, address: str | None) -> int:
    """Lock-outs of this user name from this address in the window, from the trail."""
    since = timezone.now() - dt.timedelta(hours=settings.LOGIN_COOLOFF_MAX_HOURS)
    name = json.dumps(username or "", ensure_ascii=False)
    return (
        AuditEvent.objects.filter(
            action=AuditEvent.Action.LOCKOUT,
            object_type="organisations.user",
            occurred_at__gte=since,
            payload__contains=f'"username":{name}',
        )
        .filter(payload__contains=f'"address":{json.dumps(address)}')
        .count()
    )


def cool_off(request: HttpRequest | None) -> dt.timedelta:
    """Axes' cool-off for this request's user name and address."""
    if request is None or request.method != "POST":
        return cool_off_for(1)
    return cool_off_for(
        recent_lockouts(
            username=request.POST.get("username"),
            address=getattr(request, "axes_ip_address", None),
        )
    )


def _minutes(delta: dt.timedelta) -> int:
    return max(1, round(delta.total_seconds() / 60))


def locked_out_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """The login page again, saying how long this user name must wait from here."""
    from django.contrib.auth.forms import AuthenticationForm

    form = AuthenticationForm(request)
    wait = _minutes(cool_off(request))
    form.errors["__all__"] = form.error_class(
        [
            _(
                "Too many failed attempts for this user name from your address. "
                "Wait %(minutes)d minutes and try again, or ask your node administrator "
                "to lift the lock."
            )
            % {"minutes": wait}
        ]
    )
    return render(request, "registration/login.html", {"form": form}, status=429)


@receiver(user_locked_out)
def record_lockout(
    sender: Any, request: HttpRequest, username: str | None, ip_address: str | None, **kwargs: Any
) -> None:
    failures = getattr(request, "axes_failures_since_start", None)
    if failures is None:
        # A further attempt while locked: axes refused it unread; a failed login is recorded.
        return
    trail.record_event(
        action=AuditEvent.Action.LOCKOUT,
        object_type="organisations.user",
        object_id=str(
            User.objects.filter(username=username).values_list("pk", flat=True).first() or ""
        ),
        extra={
            "username": (username or "")[:150],
            "lockout": {
                "address": ip_address,
                "failures": failures,
                "minutes": _minutes(
                    cool_off_for(recent_lockouts(username=username, address=ip_address) + 1)
                ),
            },
        },
    )


def may_lift_lockouts(user: Any) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.has_role(Role.NODE_ADMIN))
    )


def lockouts_visible_to(user: Any) -> QuerySet[AccessAttempt]:
    """Current lock-outs the user may see and lift: a node admin those of user names of
    their node's users (in its regions, at its node or at its care providers); a superuser
    every one, also of names that belong to no account."""
    locked = AccessAttempt.objects.filter(
        failures_since_start__gte=settings.LOGIN_FAILURE_LIMIT
    ).order_by("-attempt_time")
    if not may_lift_lockouts(user):
        return locked.none()
    if user.is_superuser:
        return locked
    regions = user.region_ids_for(Role.NODE_ADMIN)
    nodes = [a.node_id for a in user._active_assignments if a.role == Role.NODE_ADMIN and a.node_id]
    members = User.objects.filter(
        Q(role_assignments__region_id__in=regions)
        | Q(role_assignments__node_id__in=nodes)
        | Q(role_assignments__care_provider__region_id__in=regions),
        role_assignments__revoked_at__isnull=True,
    ).values("username")
    return locked.filter(username__in=members)


@transaction.atomic
def lockout_lift(*, attempt_id: int, by: Any) -> AccessAttempt:
    """Remove a lock-out (and its count of failures), recorded in the trail."""
    attempt = lockouts_visible_to(by).filter(pk=attempt_id).first()
    if attempt is None:
        raise PermissionDenied(_("This lock-out is not yours to lift."))
    AccessAttempt.objects.filter(username=attempt.username, ip_address=attempt.ip_address).delete()
    trail.record_event(
        action=AuditEvent.Action.LOCKOUT_LIFTED,
        object_type="organisations.user",
        object_id=str(
            User.objects.filter(username=attempt.username).values_list("pk", flat=True).first()
            or ""
        ),
        extra={
            "username": attempt.username or "",
            "lockout": {"address": attempt.ip_address, "failures": attempt.failures_since_start},
        },
    )
    return attempt
