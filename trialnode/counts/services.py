"""Counting on this instance's data: protection, limits and the audit of every query."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from trialnode.audit.context import because
from trialnode.audit.models import AuditEvent
from trialnode.audit.trail import record_event
from trialnode.counts.compiler import Keys
from trialnode.counts.definition import DefinitionError, check_definition
from trialnode.counts.engines import EngineError, QueryTimeout, open_engine
from trialnode.counts.evaluate import Evaluation, evaluate
from trialnode.counts.models import (
    COUNTING_ROLES,
    STAFF_ROLES,
    CountRequest,
    DataSource,
    NodeQuery,
    ReleaseAnchor,
    TrustedHub,
    UsedNonce,
)
from trialnode.counts.protection import Policy, Released
from trialnode.counts.signing import CLOCK_WINDOW_SECONDS


def policy() -> Policy:
    """The disclosure policy from the settings (checked strictly)."""
    threshold = settings.TRIALNODE_COUNTS_THRESHOLD
    base = settings.TRIALNODE_COUNTS_ROUND_TO
    noise = settings.TRIALNODE_COUNTS_NOISE
    if threshold < 1 or base < 1 or noise < 0 or noise > 100:
        raise ImproperlyConfigured(
            "TRIALNODE_COUNTS_THRESHOLD and TRIALNODE_COUNTS_ROUND_TO must be at least 1, "
            "TRIALNODE_COUNTS_NOISE between 0 and 100."
        )
    return Policy(threshold=threshold, base=base, noise=noise)


def record_keys() -> Keys:
    """The node's secret record-key constants (from TRIALNODE_COUNTS_SECRET or the
    secret key)."""
    from trialnode.counts.protection import keys_from_secret

    secret = (
        settings.TRIALNODE_COUNTS_SECRET
        or hmac.new(settings.SECRET_KEY.encode(), b"trialnode-counts", hashlib.sha256).hexdigest()
    )
    return keys_from_secret(secret.encode())


class DatabaseAnchors:
    """Release anchors kept in the database, per data version."""

    def candidates(self, data_version: str) -> Iterable[tuple[int, bytes]]:
        rows = ReleaseAnchor.objects.filter(data_version=data_version).values_list("id", "sketch")
        return [(pk, bytes(sketch)) for pk, sketch in rows]

    def value_of(self, anchor_id: int) -> int:
        return ReleaseAnchor.objects.values_list("value", flat=True).get(pk=anchor_id)

    def add(self, data_version: str, sketch: bytes, value: int) -> None:
        ReleaseAnchor.objects.create(data_version=data_version, sketch=sketch, value=value)


def definition_hash(definition: Mapping[str, Any]) -> str:
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def can_count(user) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.active_roles() & COUNTING_ROLES)
    )


def may_use(user) -> bool:
    """Who may open the patient counts: those who count, and the staff who review them."""
    return can_count(user) or any(user.has_role(role) for role in STAFF_ROLES)


def queries_today(user) -> int:
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return (
        CountRequest.objects.filter(created_by=user, created_at__gte=start).count()
        + NodeQuery.objects.filter(user=user, created_at__gte=start).count()
    )


def check_quota(user) -> None:
    limit = settings.TRIALNODE_COUNTS_DAILY_LIMIT
    if queries_today(user) >= limit:
        raise PermissionDenied(
            _("You have used today's %(limit)s count queries. Try again tomorrow.")
            % {"limit": limit}
        )


def requester_queries_today(hub: TrustedHub, requester: str) -> int:
    start = timezone.now() - timedelta(days=1)
    return NodeQuery.objects.filter(hub=hub, requester=requester, created_at__gte=start).count()


def run_count(
    *,
    engine_kind: str,
    location: str,
    definition: Mapping[str, Any],
    exact: bool = False,
) -> tuple[Evaluation, dict[str, Released] | None]:
    """Count on the data; the released values unless ``exact``. Raises
    DefinitionError or EngineError with a message fit to show."""
    definition = check_definition(dict(definition))
    engine = open_engine(engine_kind, location)
    try:
        result = evaluate(
            definition,
            engine,
            keys=record_keys(),
            timeout=float(settings.TRIALNODE_COUNTS_TIMEOUT_SECONDS),
        )
    finally:
        engine.close()
    if exact:
        return result, None
    with transaction.atomic():
        released = result.release(policy=policy(), anchors=DatabaseAnchors())
    return result, released


def audit_query(
    *,
    result: Evaluation | None,
    released: Mapping[str, Released] | None,
    definition: Mapping[str, Any],
    source: str,
    requester: str,
    query: NodeQuery | None = None,
    error: str = "",
    exact_shown: bool = False,
) -> None:
    """One audit event per query: who, what, on which data, the exact values (for
    auditors) and what was released."""
    extra: dict[str, Any] = {
        "kind": "count",
        "source": source,
        "requester": requester,
        "definition": dict(definition),
        "definition_sha256": definition_hash(definition),
    }
    if result is not None:
        extra["data_version"] = result.data_version
        extra["engine"] = result.engine
        extra["exact"] = result.exact_json()
        extra["seconds"] = round(result.seconds, 3)
    if released is not None and result is not None:
        extra["released"] = result.released_json(released)
    extra["exact_shown"] = exact_shown
    if error:
        extra["error"] = error
    record_event(
        action=AuditEvent.Action.EXPORT,
        instance=query,
        object_type="" if query else "counts.query",
        object_id="" if query else definition_hash(definition)[:16],
        extra=extra,
    )


def cli_evaluate(
    *, engine_kind: str, location: str, definition: Mapping[str, Any], exact: bool
) -> dict[str, Any]:
    """``trialnode counts evaluate``: the data holder's own count, audited."""
    try:
        result, released = run_count(
            engine_kind=engine_kind, location=location, definition=definition, exact=exact
        )
    except (DefinitionError, EngineError) as exc:
        with transaction.atomic():
            audit_query(
                result=None,
                released=None,
                definition=definition if isinstance(definition, Mapping) else {},
                source=f"{engine_kind}:command line",
                requester="command line",
                error=str(exc),
            )
        raise
    with transaction.atomic(), because("Count on the data holder's own machine"):
        audit_query(
            result=result,
            released=released,
            definition=definition,
            source=f"{engine_kind}:command line",
            requester="command line",
            exact_shown=exact,
        )
    if exact:
        return result.exact_json()
    assert released is not None
    return result.released_json(released)


# -- a node answering hubs ---------------------------------------------------------------


def nonce_accept(*, key_id: str, nonce: str, issued_at: str) -> None:
    """Refuse a request outside the clock window or one already seen."""
    import datetime as dt

    from django.db import IntegrityError

    try:
        issued = dt.datetime.fromisoformat(issued_at)
    except (TypeError, ValueError):
        raise ValidationError("issued_at is not a time") from None
    if issued.tzinfo is None:
        raise ValidationError("issued_at has no time zone")
    now = timezone.now()
    if abs((now - issued).total_seconds()) > CLOCK_WINDOW_SECONDS:
        raise ValidationError("the request is outside the clock window")
    if not isinstance(nonce, str) or not 16 <= len(nonce) <= 64 or not nonce.isalnum():
        raise ValidationError("the nonce is malformed")
    UsedNonce.objects.filter(seen_at__lt=now - timedelta(seconds=2 * CLOCK_WINDOW_SECONDS)).delete()
    try:
        with transaction.atomic():
            UsedNonce.objects.create(key_id=key_id, nonce=nonce, seen_at=now)
    except IntegrityError:
        raise ValidationError("the request was replayed") from None


def _answer(query: NodeQuery) -> NodeQuery:
    """Count a query's definition on its source and record what was released."""
    source = query.source
    try:
        result, released = run_count(
            engine_kind=source.engine, location=source.location, definition=query.definition
        )
    except (DefinitionError, EngineError) as exc:
        query.state = NodeQuery.State.FAILED
        # An engine's own message may quote the statement (and the secret constants of the
        # record keys in it): it goes to the audit trail, the requester gets a plain one.
        shown = (
            str(exc)
            if isinstance(exc, DefinitionError | QueryTimeout)
            else ("The node could not run the count; its staff find the reason in the audit trail.")
        )
        query.message = shown[:500]
        query.save(update_fields=["state", "message"])
        audit_query(
            result=None,
            released=None,
            definition=query.definition,
            source=source.slug,
            requester=query.requester,
            query=query,
            error=str(exc),
        )
        return query
    assert released is not None
    query.state = NodeQuery.State.ANSWERED
    query.released = result.released_json(released)
    query.data_version = result.data_version
    query.message = ""
    query.save(update_fields=["state", "released", "data_version", "message"])
    audit_query(
        result=result,
        released=released,
        definition=query.definition,
        source=source.slug,
        requester=query.requester,
        query=query,
    )
    return query


def node_query_receive(
    *,
    source: DataSource,
    hub: TrustedHub,
    request_id: str,
    requester: str,
    title: str,
    definition: Any,
) -> NodeQuery:
    """A hub's count request: recorded, then answered now or after approval."""
    existing = NodeQuery.objects.filter(hub=hub, request_id=request_id, source=source).first()
    if existing is not None:
        return existing
    if requester_queries_today(hub, requester) >= settings.TRIALNODE_COUNTS_DAILY_LIMIT:
        raise PermissionDenied("the requester has used today's count queries")
    try:
        definition = check_definition(definition)
    except DefinitionError as exc:
        raise ValidationError(str(exc)) from None
    query = NodeQuery.objects.create(
        source=source,
        hub=hub,
        request_id=request_id,
        requester=requester[:300],
        title=title[:200],
        definition=definition,
        state=NodeQuery.State.AWAITING_APPROVAL,
    )
    if source.requires_approval:
        return query
    return _answer(query)


def node_query_decide(*, query: NodeQuery, by, approve: bool, reason: str = "") -> NodeQuery:
    """The local officer approves (the count runs) or refuses a waiting query."""
    if not DataSource.objects.approvable_by(by).filter(pk=query.source_id).exists():
        raise PermissionDenied(_("You may not decide on counts of this data source."))
    if query.state != NodeQuery.State.AWAITING_APPROVAL:
        raise ValidationError(_("This query has already been decided."))
    if not approve and not reason.strip():
        raise ValidationError({"reason": _("Say why the count is refused.")})
    with because(reason.strip() or "Approved by the local officer"):
        query.decided_by = by
        if not approve:
            query.state = NodeQuery.State.REFUSED
            query.message = reason.strip()[:500]
            query.save(update_fields=["decided_by", "state", "message"])
            return query
        query.save(update_fields=["decided_by"])
        return _answer(query)


def vocabulary_engine():
    """An engine over the OMOP vocabulary the builder looks codes up in: the first active
    data source of this instance (concept ids are the same in every OMOP database)."""
    from trialnode.counts.engines import Engine

    for source in DataSource.objects.filter(is_active=True).order_by("pk"):
        try:
            engine: Engine = open_engine(source.engine, source.location)
        except EngineError:
            continue
        return engine
    return None
