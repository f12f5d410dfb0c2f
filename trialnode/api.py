"""The HTTP API, ``/api/v1/``: OpenAPI at ``/api/v1/openapi.json``; every error is JSON."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError

from trialnode.counts.api import router as counts_router
from trialnode.datarequests.api import router as datarequests_router
from trialnode.statistics.api import router as statistics_router
from trialnode.studies.api import router as studies_router
from trialnode.studies.filters import FilterError
from trialnode.studies.services import PossibleDuplicates, StaleVersion

api = NinjaAPI(
    title="trialnode API",
    version="1",
    description="Clinical studies in Swedish healthcare: search, registration and statistics.",
    urls_namespace="api",
)
api.add_router("/", studies_router)
api.add_router("/", statistics_router)
api.add_router("/", counts_router)
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
