"""Count requests over the API, and the signed node endpoints a hub calls."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from trialnode.api_auth import WRITE_AUTH
from trialnode.counts import federation, signing
from trialnode.counts.models import CountRequest, DataSource, NodeQuery, TrustedHub
from trialnode.counts.selectors import request_summary
from trialnode.counts.services import node_query_decide, node_query_receive, nonce_accept

router = Router(tags=["counts"])


class CountRequestIn(Schema):
    title: str = Field(max_length=200)
    definition: dict[str, Any] = Field(description="An OHDSI cohort definition (Circe JSON)")
    study_id: int | None = Field(None, description="Attach the count to this study")
    target_type: str = Field("", description="Attach to another record: app label and model")
    target_id: str = Field("", description="… and its id")


class CountRequestOut(Schema):
    id: int
    title: str
    state: str
    created_at: Any
    study_id: int | None
    target_type: str
    target_id: str
    definition: dict[str, Any]
    result: dict[str, Any]


class Detail(Schema):
    detail: str


def _user(request: HttpRequest) -> Any:
    """The authenticated user (django-ninja sets ``request.auth``)."""
    return request.auth  # type: ignore[attr-defined]


def _out(request: CountRequest) -> dict[str, Any]:
    return {
        "id": request.pk,
        "title": request.title,
        "state": request.state,
        "created_at": request.created_at,
        "study_id": request.study_id,
        "target_type": request.target_type,
        "target_id": request.target_id,
        "definition": request.definition,
        "result": request_summary(request).as_dict(),
    }


@router.post(
    "/counts/requests",
    response={201: CountRequestOut, 400: Detail, 401: Detail, 403: Detail},
    auth=WRITE_AUTH,
    summary="Count persons in every region",
)
def create_count_request(request: HttpRequest, payload: CountRequestIn):
    study = None
    if payload.study_id is not None:
        from trialnode.studies.models import Study

        study = get_object_or_404(Study.objects.visible_to(_user(request)), pk=payload.study_id)
    created = federation.count_request_create(
        by=_user(request),
        title=payload.title,
        definition=payload.definition,
        study=study,
        target_type=payload.target_type,
        target_id=payload.target_id,
        base_url=request.build_absolute_uri("/"),
    )
    return Status(201, _out(created))


@router.get(
    "/counts/requests",
    response={200: list[CountRequestOut], 401: Detail},
    auth=WRITE_AUTH,
    summary="Count requests you may see, optionally those attached to one record",
)
def list_count_requests(
    request: HttpRequest, target_type: str | None = None, target_id: str | None = None
):
    queryset = CountRequest.objects.visible_to(_user(request))
    if target_type:
        queryset = queryset.for_target(target_type, target_id or "")
    return [_out(item) for item in queryset[:100]]


@router.get(
    "/counts/requests/{request_id}",
    response={200: CountRequestOut, 401: Detail, 404: Detail},
    auth=WRITE_AUTH,
    summary="One count request with its result per region",
)
def get_count_request(request: HttpRequest, request_id: int):
    item = get_object_or_404(CountRequest.objects.visible_to(_user(request)), pk=request_id)
    return _out(item)


@router.post(
    "/counts/requests/{request_id}/refresh",
    response={200: CountRequestOut, 401: Detail, 403: Detail, 404: Detail},
    auth=WRITE_AUTH,
    summary="Ask the regions that have not answered again",
)
def refresh_count_request(request: HttpRequest, request_id: int):
    item = get_object_or_404(CountRequest.objects.visible_to(_user(request)), pk=request_id)
    refreshed = federation.count_request_refresh(
        request=item, by=_user(request), base_url=request.build_absolute_uri("/")
    )
    return _out(refreshed)


class DecisionIn(Schema):
    approve: bool
    reason: str = Field("", max_length=500)


class NodeQueryOut(Schema):
    id: int
    source: str
    requester: str
    title: str
    state: str
    created_at: Any
    definition: dict[str, Any]
    released: dict[str, Any]
    message: str


def _query_out(query: NodeQuery) -> dict[str, Any]:
    return {
        "id": query.pk,
        "source": query.source.slug,
        "requester": query.requester,
        "title": query.title,
        "state": query.state,
        "created_at": query.created_at,
        "definition": query.definition,
        "released": query.released,
        "message": query.message,
    }


@router.get(
    "/counts/queries",
    response={200: list[NodeQueryOut], 401: Detail},
    auth=WRITE_AUTH,
    summary="Counts asked of this node's data that wait for your approval",
)
def list_waiting_queries(request: HttpRequest):
    queries = NodeQuery.objects.awaiting_approval_by(_user(request)).select_related("source")
    return [_query_out(query) for query in queries[:200]]


@router.post(
    "/counts/queries/{query_id}/decide",
    response={200: NodeQueryOut, 400: Detail, 401: Detail, 403: Detail, 404: Detail},
    auth=WRITE_AUTH,
    summary="Approve (the count runs) or refuse a waiting count",
)
def decide_query(request: HttpRequest, query_id: int, payload: DecisionIn):
    query = get_object_or_404(
        NodeQuery.objects.awaiting_approval_by(_user(request)).select_related("source"),
        pk=query_id,
    )
    decided = node_query_decide(
        query=query, by=_user(request), approve=payload.approve, reason=payload.reason
    )
    return _query_out(decided)


def _signed(source: DataSource, path: str, message: dict[str, Any], status: int = 200):
    body = signing.encode(message)
    response = HttpResponse(body, status=status, content_type="application/json")
    key = signing.private_key(f"source-{source.slug}")
    response[signing.SIGNATURE_HEADER] = signing.sign(key, "RESPONSE", path, body)
    return response


def _plain(status: int, detail: str) -> HttpResponse:
    return HttpResponse(
        signing.encode({"detail": detail}), status=status, content_type="application/json"
    )


def _trusted_hub(key: str) -> TrustedHub | None:
    for hub in TrustedHub.objects.filter(is_active=True):
        try:
            if signing.key_id(hub.public_key) == key:
                return hub
        except signing.SignatureError:
            continue
    return None


@router.post(
    "/counts/node/{source}/{kind}",
    response={200: dict, 400: Detail, 401: Detail, 403: Detail, 404: Detail, 409: Detail},
    auth=None,
    summary="A region node's endpoint for signed count requests from a hub",
    include_in_schema=True,
)
def node_endpoint(request: HttpRequest, source: str, kind: str):
    """``kind`` is ``evaluate`` (count) or ``status`` (ask again for an earlier count)."""
    data_source = DataSource.objects.filter(slug=source, is_active=True).first()
    if data_source is None or kind not in ("evaluate", "status"):
        return _plain(404, "no such node endpoint")
    hub = _trusted_hub(request.headers.get(signing.KEY_HEADER, ""))
    if hub is None:
        return _plain(401, "unknown hub key")
    body = request.body
    try:
        signing.verify(
            signing.load_public(hub.public_key),
            request.headers.get(signing.SIGNATURE_HEADER, ""),
            "POST",
            request.path,
            body,
        )
        message = signing.decode(body)
    except signing.SignatureError as exc:
        return _plain(401, str(exc))
    request_id = message.get("request_id")
    if message.get("kind") != kind or not isinstance(request_id, str) or len(request_id) > 64:
        return _plain(400, "the message does not match the endpoint")
    try:
        nonce_accept(
            key_id=signing.key_id(hub.public_key),
            nonce=message.get("nonce"),  # type: ignore[arg-type]
            issued_at=message.get("issued_at"),  # type: ignore[arg-type]
        )
    except ValidationError as exc:
        return _plain(409, " ".join(exc.messages))
    try:
        if kind == "evaluate":
            title = message.get("title", "")
            requester = message.get("requester", "")
            if not isinstance(title, str) or not isinstance(requester, str) or not requester:
                return _plain(400, "title and requester must be text")
            query = node_query_receive(
                source=data_source,
                hub=hub,
                request_id=request_id,
                requester=requester,
                title=title,
                definition=message.get("definition"),
            )
        else:
            found = NodeQuery.objects.filter(
                hub=hub, request_id=request_id, source=data_source
            ).first()
            if found is None:
                return _plain(404, "no such request")
            query = found
    except PermissionDenied as exc:
        return _plain(403, str(exc))
    except ValidationError as exc:
        return _plain(400, " ".join(exc.messages))
    return _signed(
        data_source,
        request.path,
        {
            "request_id": request_id,
            "nonce": message["nonce"],
            "source": data_source.slug,
            "region": data_source.region.slug,
            "state": query.state,
            "released": query.released,
            "message": query.message,
            "data_version": query.data_version,
        },
    )
