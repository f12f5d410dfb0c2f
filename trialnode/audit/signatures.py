"""Electronic signatures (ES1): one person, name, time and meaning, bound to the record,
given by entering the password again."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from trialnode.audit import trail
from trialnode.audit.models import AuditEvent


class SignatureRefused(ValidationError):
    pass


def check_signer(*, user: Any, password: str, otp_token: str = "") -> None:
    """Raise unless ``password`` (and the second factor, when the signer has one) is the
    signer's own; call before changing anything."""
    from trialnode.organisations.twofactor import confirmed_device

    if not password or not user.is_active or not user.check_password(password):
        raise SignatureRefused(
            _("The password is not right: nothing was signed and nothing changed."),
            code="signature",
        )
    device = confirmed_device(user)
    if device is not None and not (otp_token and device.verify_token(otp_token.strip())):
        raise SignatureRefused(
            _("The code from the authenticator is not right: nothing was signed."),
            code="signature",
        )


def record_signature(*, user: Any, instance: models.Model, meaning: str) -> None:
    trail.record_event(
        action=AuditEvent.Action.SIGNATURE,
        instance=instance,
        actor=user,
        extra={
            "signature": {
                "meaning": meaning,
                "signed_at": timezone.now().isoformat(),
                "signer_id": user.pk,
                "signer_name": user.get_full_name() or user.get_username(),
            }
        },
    )
