"""Login with throttling: repeated failures pause further attempts for a while."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def _keys(username: str, address: str | None) -> tuple[str, str]:
    return f"login-failures:user:{username.casefold()}", f"login-failures:address:{address}"


def _count_failure(key: str) -> None:
    timeout = settings.LOGIN_LOCKOUT_MINUTES * 60
    if not cache.add(key, 1, timeout):
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout)


class ThrottledAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": _("Too many failed attempts. Wait %(minutes)d minutes and try again."),
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        address = self.request.META.get("REMOTE_ADDR") if self.request else None
        user_key, address_key = _keys(username, address)
        if (
            cache.get(user_key, 0) >= settings.LOGIN_FAILURE_LIMIT
            or cache.get(address_key, 0) >= settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS
        ):
            raise ValidationError(
                self.error_messages["throttled"],
                code="throttled",
                params={"minutes": settings.LOGIN_LOCKOUT_MINUTES},
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            _count_failure(user_key)
            _count_failure(address_key)
            raise
        cache.delete(user_key)
        return cleaned


class SecondFactorForm(forms.Form):
    token = forms.CharField(
        label=_("Six-digit code from your authenticator app"),
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )
