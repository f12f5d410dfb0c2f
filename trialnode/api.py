"""The HTTP API, ``/api/v1/``: OpenAPI at ``/api/v1/openapi.json``; every error is JSON."""

from __future__ import annotations

from typing import Any

import orjson
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import BaseRenderer
from ninja.responses import NinjaJSONEncoder

from trialnode.api_auth import OPTIONAL_AUTH
from trialnode.counts.api import router as counts_router
from trialnode.datarequests.api import router as datarequests_router
from trialnode.feasibility.api import router as feasibility_router
from trialnode.statistics.api import router as statistics_router
from trialnode.studies.api import router as studies_router
from trialnode.studies.filters import FilterError
from trialnode.studies.services import PossibleDuplicates, StaleVersion

ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "errors": {}},
    "required": ["detail"],
}
ERROR_RESPONSES = {
    400: "The request is not valid; `detail` says why.",
    401: "A token was sent and is not valid, or the operation needs a token or a session.",
    403: "The account may not do this.",
    404: "There is no such record (or one the request names), or the account may not see it.",
    409: "The change conflicts with the record's state (a newer version, a duplicate).",
}


class JSONRenderer(BaseRenderer):
    """Answers encoded by orjson: a search answer (20 studies, every facet) took 9 % of
    its request's time in the standard library's encoder. Dates, times, decimals and
    translated texts go to Django Ninja's own encoder, so they read as before; only the
    spacing is compact and non-ASCII letters are sent as UTF-8, not escaped."""

    media_type = "application/json"
    _encoder = NinjaJSONEncoder()

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> bytes:
        return orjson.dumps(
            data,
            default=self._encoder.default,
            option=orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS,
        )


class TrialnodeAPI(NinjaAPI):
    """The API whose OpenAPI document also names the errors every operation can answer
    with (they come from the shared handlers below), and marks the token as optional
    where an operation is open to everyone."""

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                codes = {400, 401}
                if "{" in path or method != "get":
                    codes.add(404)
                if method != "get":
                    codes |= {403, 409}
                responses = operation.setdefault("responses", {})
                for code in sorted(codes - {int(c) for c in responses}):
                    responses[code] = {
                        "description": ERROR_RESPONSES[code],
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    }
                security = operation.get("security", [])
                if any("OptionalTokenAuth" in entry for entry in security):
                    operation["security"] = [*security, {}]
        return schema


api = TrialnodeAPI(
    title="trialnode API",
    version="1",
    description="Clinical studies in Swedish healthcare: search, registration and statistics. "
    "Every operation accepts a personal token (`Authorization: Bearer …`); "
    "those open to everyone answer the same without one.",
    urls_namespace="api",
    auth=OPTIONAL_AUTH,
    renderer=JSONRenderer(),
)
api.add_router("/", studies_router)
api.add_router("/", statistics_router)
api.add_router("/", counts_router)
api.add_router("/", feasibility_router)

api.add_router("/", datarequests_router)


@api.exception_handler(FilterError)
def filter_error(request: HttpRequest, exc: FilterError):
    return api.create_response(request, {"detail": str(exc), "errors": exc.errors}, status=400)


@api.exception_handler(NinjaValidationError)
def request_invalid(request: HttpRequest, exc: NinjaValidationError):
    errors = [
        {"field": ".".join(str(p) for p in e.get("loc", [])[1:]), "message": e.get("msg", "")}
        for e in exc.errors
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "Invalid request"
    return api.create_response(request, {"detail": detail, "errors": errors}, status=400)


@api.exception_handler(PossibleDuplicates)
def possible_duplicates(request: HttpRequest, exc: PossibleDuplicates):
    return api.create_response(
        request,
        {
            "detail": exc.messages[0],
            "duplicates": [
                {"id": d.pk, "reference": d.reference, "title": d.title} for d in exc.duplicates
            ],
        },
        status=409,
    )


@api.exception_handler(StaleVersion)
def stale_version(request: HttpRequest, exc: StaleVersion):
    return api.create_response(request, {"detail": exc.messages[0]}, status=409)


@api.exception_handler(ValidationError)
def invalid(request: HttpRequest, exc: ValidationError):
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return api.create_response(
        request, {"detail": " ".join(exc.messages), "errors": errors}, status=400
    )


@api.exception_handler(PermissionDenied)
def forbidden(request: HttpRequest, exc: PermissionDenied):
    return api.create_response(request, {"detail": str(exc) or "Forbidden"}, status=403)


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: AuthenticationError):
    return api.create_response(request, {"detail": "Authentication required"}, status=401)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404):
    return api.create_response(request, {"detail": "Not found"}, status=404)
