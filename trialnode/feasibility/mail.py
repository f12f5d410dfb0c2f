"""E-mail of feasibility inquiries: queued for after the commit, with absolute links."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from trialnode.env import env_str

SITE_URL = env_str("TRIALNODE_SITE_URL", "http://127.0.0.1:8000") or "http://127.0.0.1:8000"


def queue_mail(subject: str, body: str, recipients: Iterable[str]) -> None:
    """Queue one e-mail for after the commit (nothing is sent for a rolled-back step)."""
    to = sorted({address for address in recipients if address})
    if not to:
        return
    transaction.on_commit(
        lambda: send_mail(
            subject=subject,
            message=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=to,
            fail_silently=True,
        )
    )


def absolute_url(path: str, base_url: str | None) -> str:
    return (base_url or SITE_URL).rstrip("/") + path
