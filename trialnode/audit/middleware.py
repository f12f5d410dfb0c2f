from __future__ import annotations

import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from trialnode.audit.context import AuditContext, _current
from trialnode.core.client_address import client_address


class AuditContextMiddleware:
    """Attributes the writes of a request to its user, with a request id and address."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        context = AuditContext(
            actor=user if user is not None and user.is_authenticated else None,
            via="api" if request.path.startswith("/api/") else "web",
            request_id=uuid.uuid4().hex,
            ip=client_address(request),
        )
        token = _current.set(context)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response.headers.setdefault("X-Request-Id", context.request_id)
        return response
