"""Who reads which part of the trail.

An auditor reads the events of their node's organisations: changes to studies with a
site in its regions (and to their sites, conditions, interventions, contacts and status
history), to accounts and role assignments there, and whatever an account holding a role
there did. A national auditor (a role covering every region) and a superuser read all.
Client addresses are shown to security auditors and superusers only.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast

from trialnode.audit.models import AuditEvent
from trialnode.organisations.models import Role, RoleAssignment
from trialnode.organisations.permissions import reviewed_scope, users_in_scope_of

TRAIL_ROLES = (Role.AUDITOR, Role.SECURITY_AUDITOR)
STUDY_PARTS = (
    "studies.studysite",
    "studies.studycondition",
    "studies.studyintervention",
    "studies.studycontact",
    "studies.studystatuschange",
)


def can_review_trail(user: Any) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.active_roles() & set(TRAIL_ROLES))
    )


def sees_client_addresses(user: Any) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.has_role(Role.SECURITY_AUDITOR))
    )


def _ids(queryset: QuerySet) -> QuerySet:
    return queryset.annotate(text_id=Cast("pk", CharField())).values("text_id")


def events_readable_by(user: Any) -> QuerySet[AuditEvent]:
    if not can_review_trail(user):
        return AuditEvent.objects.none()
    members = users_in_scope_of(user, TRAIL_ROLES)
    if members is None:
        return AuditEvent.objects.all()
    from trialnode.studies.models import Study

    regions = set().union(*(user.region_ids_for(role) for role in TRAIL_ROLES))
    studies = Study.objects.filter(sites__region_id__in=regions)
    _everything, assignments = reviewed_scope(user, TRAIL_ROLES)
    condition = (
        Q(actor__in=members)
        | Q(object_type="studies.study", object_id__in=_ids(studies))
        | Q(object_type="organisations.user", object_id__in=_ids(members))
        | Q(
            object_type="organisations.roleassignment",
            object_id__in=_ids(RoleAssignment.objects.filter(assignments)),
        )
    )
    for object_type in STUDY_PARTS:
        model = apps.get_model(object_type)
        condition |= Q(
            object_type=object_type,
            object_id__in=_ids(model._default_manager.filter(study__in=studies)),
        )
    return AuditEvent.objects.filter(condition)
