"""The second factor (TOTP) for the roles that see personal data."""

from __future__ import annotations

import io
from typing import Any

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from trialnode.audit import trail
from trialnode.audit.models import AuditEvent
from trialnode.organisations.models import Role

SECOND_FACTOR_ROLES = frozenset(
    {
        Role.COORDINATOR,
        Role.CASE_OFFICER,
        Role.LEGAL_REVIEWER,
        Role.DATA_ENGINEER,
        Role.NODE_ADMIN,
        Role.AUDITOR,
    }
)


def needs_second_factor(user: Any) -> bool:
    return bool(settings.REQUIRE_SECOND_FACTOR) and (
        user.is_superuser or bool(user.active_roles() & SECOND_FACTOR_ROLES)
    )


def confirmed_device(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def pending_device(user: Any) -> TOTPDevice:
    """The unconfirmed device being set up (created on first need)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def qr_svg(device: TOTPDevice) -> str:
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


def secret_text(device: TOTPDevice) -> str:
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@transaction.atomic
def second_factor_confirm(*, user: Any, device: TOTPDevice, token: str) -> TOTPDevice:
    """Confirm a new authenticator with a code from it; the trail records it."""
    if device.user_id != user.pk or not device.verify_token(token.strip()):
        raise ValidationError(_("The code is not right. Check the time on your phone."))
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    trail.record_event(
        action=AuditEvent.Action.UPDATE,
        instance=user,
        actor=user,
        changes={"second_factor": [None, "totp"]},
    )
    return device


def verify_second_factor(*, user: Any, token: str) -> TOTPDevice:
    device = confirmed_device(user)
    if device is None or not token or not device.verify_token(token.strip()):
        raise ValidationError(_("The code is not right."), code="otp")
    return device
