"""Who may attach records of other capabilities to an inquiry."""

from __future__ import annotations

from typing import Any

from trialnode.feasibility.models import Inquiry


def may_attach_count(user: Any, inquiry_id: str) -> bool:
    """A patient count is attached to an inquiry by a coordinator who handles it; its
    released values then appear in the inquiry's answer to the sponsor."""
    return (
        inquiry_id.isdigit()
        and Inquiry.objects.handled_by(user).filter(pk=int(inquiry_id)).exists()
    )
