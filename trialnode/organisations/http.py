"""Request types for views that only signed-in users reach."""

from __future__ import annotations

from django.http import HttpRequest

from trialnode.organisations.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """A request behind ``login_required``: its user is a signed-in account, never anonymous.

    Only for annotations; Django still passes plain ``HttpRequest`` objects.
    """

    user: User
