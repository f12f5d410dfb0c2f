"""Who may open the inquiries, and attach records of other capabilities to one."""

from __future__ import annotations

from typing import Any

from trialnode.feasibility.models import Inquiry, staff_region_ids
from trialnode.organisations.models import Role


def is_sponsor(user: Any) -> bool:
    return user.has_role(Role.SPONSOR)


def is_staff(user: Any) -> bool:
    """Node staff of some region (or a superuser): they handle their regions' inquiries."""
    return user.is_superuser or bool(staff_region_ids(user))


def may_open_inquiries(user: Any) -> bool:
    """Sponsors (their organisation's inquiries) and node staff (their regions' queue)."""
    return user.is_authenticated and (is_sponsor(user) or is_staff(user))


def may_attach_count(user: Any, inquiry_id: str) -> bool:
    """A patient count is attached to an inquiry by a coordinator who handles it; its
    released values then appear in the inquiry's answer to the sponsor."""
    return (
        inquiry_id.isdigit()
        and Inquiry.objects.handled_by(user).filter(pk=int(inquiry_id)).exists()
    )
