"""Who sees which accounts and roles: the access review is the node's own."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from trialnode.organisations.models import Region, Role, RoleAssignment, User

REVIEWING_ROLES = (Role.NODE_ADMIN, Role.AUDITOR, Role.SECURITY_AUDITOR)


def can_review_access(user: Any) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.active_roles() & set(REVIEWING_ROLES))
    )


def reviewed_scope(user: Any, roles: tuple[str, ...] = REVIEWING_ROLES) -> tuple[bool, Q]:
    """(whether ``user`` covers every region through ``roles``, the condition on role
    assignments that are theirs to see otherwise: in their regions, at their nodes or at
    care providers of their regions)."""
    if user.is_superuser:
        return True, Q()
    regions: set[int] = set()
    nodes: set[int] = set()
    for role in roles:
        regions |= user.region_ids_for(role)
    for assignment in user._active_assignments:
        if assignment.role in roles and assignment.node_id:
            nodes.add(assignment.node_id)
    if regions and len(regions) >= Region.objects.count():
        return True, Q()
    return False, (
        Q(region_id__in=regions)
        | Q(node_id__in=nodes)
        | Q(node__regions__in=regions)
        | Q(care_provider__region_id__in=regions)
    )


def assignments_reviewable_by(user: Any) -> QuerySet[RoleAssignment]:
    """Role assignments in the access review: a node admin's or auditor's node only; a
    national one (covering every region) and a superuser see all."""
    if not can_review_access(user):
        return RoleAssignment.objects.none()
    everything, condition = reviewed_scope(user)
    assignments = RoleAssignment.objects.all()
    return assignments if everything else assignments.filter(condition).distinct()


def users_in_scope_of(user: Any, roles: tuple[str, ...]) -> QuerySet[User] | None:
    """Accounts holding a role in the part of the country ``user`` covers through ``roles``;
    None when that is all of it."""
    everything, condition = reviewed_scope(user, roles)
    if everything:
        return None
    return User.objects.filter(pk__in=RoleAssignment.objects.filter(condition).values("user_id"))
