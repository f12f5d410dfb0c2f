"""Receivers: deletes (also cascades and queryset deletes), many-to-many changes, logins."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, post_delete
from django.dispatch import receiver

from trialnode.audit import trail
from trialnode.audit.models import AuditedModel, AuditEvent


def record_delete(sender: type, instance: Any, **kwargs: Any) -> None:
    trail.record_deleted(instance)


def connect_delete_receivers() -> None:
    """Per audited model, so unaudited tables keep Django's fast bulk delete."""
    for model in apps.get_models():
        if issubclass(model, AuditedModel):
            post_delete.connect(record_delete, sender=model, dispatch_uid=f"audit-{model}")


@receiver(m2m_changed)
def record_m2m(
    sender: type, instance: Any, action: str, model: type, pk_set: Any, **kwargs: Any
) -> None:
    if not isinstance(instance, AuditedModel) or action not in (
        "post_add",
        "post_remove",
        "post_clear",
    ):
        return
    field = next(
        (f.name for f in instance._meta.many_to_many if f.remote_field.through is sender), "?"
    )
    change = {"post_add": "added", "post_remove": "removed", "post_clear": "cleared"}[action]
    trail.record_event(
        action=AuditEvent.Action.UPDATE,
        instance=instance,
        changes={field: {change: sorted(pk_set or [])}},
    )


@receiver(user_logged_in)
def record_login(sender: type, request: Any, user: Any, **kwargs: Any) -> None:
    trail.record_event(action=AuditEvent.Action.LOGIN, instance=user, actor=user)


@receiver(user_logged_out)
def record_logout(sender: type, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        trail.record_event(action=AuditEvent.Action.LOGOUT, instance=user, actor=user)


@receiver(user_login_failed)
def record_failed_login(
    sender: type, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    trail.record_event(
        action=AuditEvent.Action.LOGIN_FAILED,
        object_type="organisations.user",
        object_id="",
        extra={"username": str(credentials.get("username", ""))[:150]},
    )
