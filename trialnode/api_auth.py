"""API authentication: a personal token (``Authorization: Bearer …``) or the browser session."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from trialnode.audit import context as audit_context
from trialnode.organisations.models import User
from trialnode.organisations.services import api_token_user


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        user = api_token_user(token)
        if user is not None:
            audit_context.set_actor(user)
        return user


class ActiveSessionAuth(SessionAuth):
    def authenticate(self, request: HttpRequest, key):
        user = super().authenticate(request, key)
        return user if user and user.is_active else None


WRITE_AUTH = [TokenAuth(), ActiveSessionAuth()]


class WriteAuthRequest(HttpRequest):
    """A request to an operation with ``auth=WRITE_AUTH``: ``auth`` is the active account that
    the token or the session authenticated (django-ninja sets it before the operation runs).

    Only for annotations; the operations still receive plain ``HttpRequest`` objects.
    """

    auth: User
