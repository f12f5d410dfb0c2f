from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from trialnode.organisations.twofactor import confirmed_device, needs_second_factor

OPEN_PREFIXES = ("/accounts/tvafaktor/", "/accounts/logout/", "/static/", "/i18n/")


class SecondFactorMiddleware:
    """After the password, users with an authenticator (and all users whose roles require
    one) reach nothing but the second-factor pages until they give a code."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(OPEN_PREFIXES)
        ):
            has_device = confirmed_device(user) is not None
            if has_device or needs_second_factor(user):
                if request.path.startswith("/api/"):
                    return JsonResponse(
                        {"detail": "Confirm the second factor in the browser first."}, status=403
                    )
                target = "second_factor_verify" if has_device else "second_factor_setup"
                return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
