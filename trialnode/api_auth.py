"""API authentication: a personal token (``Authorization: Bearer …``) or the browser session."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.errors import AuthenticationError
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


class OptionalTokenAuth(TokenAuth):
    """For operations open to everyone: without an ``Authorization`` header the request is
    the browser session's (or anonymous); with one, the token must be valid and stands in
    for the session, so an account sees the same through a token as in its browser."""

    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get(self.header)
        if not header:
            return request.user
        scheme, _space, token = header.partition(" ")
        user = self.authenticate(request, token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise AuthenticationError()
        request.user = user
        return user


WRITE_AUTH = [TokenAuth(), ActiveSessionAuth()]
OPTIONAL_AUTH = [OptionalTokenAuth()]


class WriteAuthRequest(HttpRequest):
    """A request to an operation with ``auth=WRITE_AUTH``: ``auth`` is the active account that
    the token or the session authenticated (django-ninja sets it before the operation runs).

    Only for annotations; the operations still receive plain ``HttpRequest`` objects.
    """

    auth: User
