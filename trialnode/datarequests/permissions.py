"""Who may take which step on a case: the applicant, or staff of the data holder's region
in the role the step needs. Seeing a case is ``DataRequest.objects.visible_to``."""

from __future__ import annotations

from trialnode.datarequests.models import OFFICER_ROLES, DataRequest
from trialnode.organisations.models import Role


def is_applicant(user, case: DataRequest) -> bool:
    return user.is_authenticated and user.is_active and case.applicant_id == user.pk


def holds_role_for(user, case: DataRequest, *roles: str) -> bool:
    """Whether ``user`` holds one of ``roles`` in the region of the case's data holder."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    region = case.data_holder.region_id
    return any(region in user.region_ids_for(role) for role in roles)


def is_officer(user, case: DataRequest) -> bool:
    """Case officers (and node admins) prepare the case and sign the data holder's
    decision."""
    return holds_role_for(user, case, *OFFICER_ROLES)


def is_legal_reviewer(user, case: DataRequest) -> bool:
    return holds_role_for(user, case, Role.LEGAL_REVIEWER)


def is_data_engineer(user, case: DataRequest) -> bool:
    return holds_role_for(user, case, Role.DATA_ENGINEER)


def is_staff_anywhere(user) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    staff = (*OFFICER_ROLES, Role.LEGAL_REVIEWER, Role.DATA_ENGINEER)
    return any(user.has_role(role) for role in staff)


def is_handbook_editor(user) -> bool:
    return user.is_authenticated and (user.is_superuser or user.has_role(Role.NODE_ADMIN))
