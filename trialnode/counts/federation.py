"""The hub: send a count request to every region node, collect the signed answers.

Each node gets one signed HTTP request (``signing``) and has ``Peer.timeout_seconds``
to answer; the whole fan-out waits at most as long as the slowest allowance, so a node
that hangs is marked late and nothing else waits for it. An answer whose signature
does not verify with the node's key, or that does not repeat the request's id and
nonce, is ignored and marked as such. A node that needs its officer's approval answers
"awaiting approval"; the hub asks again when the page is refreshed.
"""

from __future__ import annotations

import secrets
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from trialnode.counts import attachments, signing
from trialnode.counts.definition import DefinitionError, check_definition
from trialnode.counts.models import CountRequest, NodeQuery, Peer, RegionResult
from trialnode.counts.services import can_count, check_quota

NODE_STATES: dict[str, str] = {
    NodeQuery.State.ANSWERED: RegionResult.State.ANSWERED,
    NodeQuery.State.AWAITING_APPROVAL: RegionResult.State.AWAITING_APPROVAL,
    NodeQuery.State.REFUSED: RegionResult.State.REFUSED,
    NodeQuery.State.FAILED: RegionResult.State.ERROR,
}
OPEN_STATES = (
    RegionResult.State.PENDING,
    RegionResult.State.AWAITING_APPROVAL,
    RegionResult.State.LATE,
)


def hub_name() -> str:
    return settings.TRIALNODE_COUNTS_HUB_NAME


def hub_public_key() -> str:
    return signing.public_pem(signing.private_key("hub"))


@dataclass
class Reply:
    state: str
    released: dict[str, Any]
    message: str = ""
    data_version: str = ""


def resolve_url(peer_url: str, base_url: str = "") -> str:
    """A peer's address; a path alone ("/api/v1/counts/node/x") is a data source of this
    instance, reached through this instance's own address."""
    if peer_url.startswith("/"):
        base = base_url or settings.TRIALNODE_COUNTS_SELF_URL
        return base.rstrip("/") + peer_url
    return peer_url


def _post(peer_url: str, public_key: str, kind: str, message: dict[str, Any], timeout: float):
    """One signed request and the checked, signed answer (runs in a worker thread)."""
    url = peer_url.rstrip("/") + f"/{kind}"
    path = urlsplit(url).path
    body = signing.encode(message)
    key = signing.private_key("hub")
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            signing.SIGNATURE_HEADER: signing.sign(key, "POST", path, body),
            signing.KEY_HEADER: signing.key_id(signing.public_pem(key)),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = response.read(signing.MAX_MESSAGE_BYTES + 1)
            signature = response.headers.get(signing.SIGNATURE_HEADER, "")
    except urllib.error.HTTPError as exc:
        detail = exc.read(2000).decode("utf-8", "replace")
        return Reply(RegionResult.State.ERROR, {}, f"HTTP {exc.code}: {detail[:300]}")
    except TimeoutError:
        return Reply(RegionResult.State.LATE, {}, "no answer in time")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            return Reply(RegionResult.State.LATE, {}, "no answer in time")
        return Reply(RegionResult.State.ERROR, {}, f"cannot reach the node: {reason}"[:300])
    try:
        signing.verify(signing.load_public(public_key), signature, "RESPONSE", path, answer)
        reply = signing.decode(answer)
    except signing.SignatureError as exc:
        return Reply(RegionResult.State.BAD_SIGNATURE, {}, str(exc))
    if reply.get("request_id") != message["request_id"] or reply.get("nonce") != message["nonce"]:
        return Reply(RegionResult.State.BAD_SIGNATURE, {}, "the answer is not to this request")
    state = NODE_STATES.get(str(reply.get("state")), RegionResult.State.ERROR)
    raw = reply.get("released")
    released: dict[str, Any] = raw if isinstance(raw, dict) else {}
    return Reply(
        state,
        released,
        str(reply.get("message", ""))[:500],
        str(reply.get("data_version", ""))[:32],
    )


def _message(request: CountRequest, kind: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "kind": kind,
        "hub": hub_name(),
        "request_id": str(request.request_id),
        "nonce": secrets.token_hex(16),
        "issued_at": timezone.now().isoformat(),
    }
    if kind == "evaluate":
        message["definition"] = request.definition
        message["title"] = request.title
        message["requester"] = f"{request.created_by.get_username()}@{hub_name()}"
    return message


def fan_out(
    request: CountRequest, results: Iterable[RegionResult], kind: str, base_url: str = ""
) -> None:
    """Ask every node of ``results`` at once; record each answer, or that none came."""
    results = list(results)
    if not results:
        return
    calls = {}
    with ThreadPoolExecutor(max_workers=min(32, len(results))) as pool:
        for result in results:
            peer = result.peer
            calls[result.pk] = pool.submit(
                _post,
                resolve_url(peer.url, base_url),
                peer.public_key,
                kind,
                _message(request, kind),
                float(peer.timeout_seconds),
            )
        deadline = max(r.peer.timeout_seconds for r in results) + 2
        done, _pending = wait(calls.values(), timeout=deadline)
        replies = {
            pk: future.result() if future in done else Reply(RegionResult.State.LATE, {}, "")
            for pk, future in calls.items()
        }
        pool.shutdown(wait=False, cancel_futures=True)
    with transaction.atomic():
        for result in results:
            reply = replies[result.pk]
            if reply.state == RegionResult.State.ANSWERED and not _valid_released(reply.released):
                reply = Reply(RegionResult.State.ERROR, {}, "the answer is malformed")
            result.state = reply.state
            result.released = reply.released
            result.message = reply.message
            result.data_version = reply.data_version
            result.save(
                update_fields=["state", "released", "message", "data_version", "updated_at"]
            )
        if not request.results.filter(state__in=OPEN_STATES).exists():
            request.state = CountRequest.State.COMPLETE
            request.save(update_fields=["state"])


def _valid_released(released: Mapping[str, Any]) -> bool:
    interval = released.get("interval")
    persons = released.get("persons")
    return (
        isinstance(interval, list)
        and len(interval) == 2
        and all(type(v) is int and v >= 0 for v in interval)
        and interval[0] <= interval[1]
        and (type(persons) is int or (isinstance(persons, str) and persons.startswith("<")))
    )


def count_request_create(
    *,
    by,
    title: str,
    definition: Any,
    study=None,
    target_type: str = "",
    target_id: str = "",
    peers: Iterable[Peer] | None = None,
    base_url: str = "",
) -> CountRequest:
    """Send a count to every active region node (or ``peers``) and collect the answers."""
    if not can_count(by):
        raise PermissionDenied(_("Your roles do not allow count queries."))
    if study is not None:
        from trialnode.studies.models import Study

        if not Study.objects.visible_to(by).filter(pk=study.pk).exists():
            raise PermissionDenied(_("You cannot see that study."))
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise ValidationError({"title": _("Give a title of at most 200 characters.")})
    try:
        definition = check_definition(definition)
    except DefinitionError as exc:
        raise ValidationError({"definition": str(exc)}) from None
    if bool(target_type) != bool(target_id) or len(target_type) > 100 or len(target_id) > 64:
        raise ValidationError({"target": _("Give both the kind and the id of the record.")})
    if study is not None and not target_type:
        target_type, target_id = "studies.study", str(study.pk)
    if target_type and not attachments.may_attach(by, target_type, target_id):
        raise PermissionDenied(_("You cannot attach a count to that record."))
    check_quota(by)
    chosen = list(peers if peers is not None else Peer.objects.filter(is_active=True))
    if not chosen:
        raise ValidationError(_("No region node is configured for counts."))
    with transaction.atomic():
        request = CountRequest.objects.create(
            title=title,
            definition=definition,
            created_by=by,
            study=study,
            target_type=target_type,
            target_id=str(target_id),
        )
        results = [RegionResult.objects.create(request=request, peer=peer) for peer in chosen]
    fan_out(request, results, "evaluate", base_url)
    return request


def count_request_refresh(*, request: CountRequest, by, base_url: str = "") -> CountRequest:
    """Ask again the nodes that have not answered (late, or waiting for approval)."""
    if not CountRequest.objects.visible_to(by).filter(pk=request.pk).exists():
        raise PermissionDenied
    open_results = list(request.results.filter(state__in=OPEN_STATES).select_related("peer"))
    late = [r for r in open_results if r.state != RegionResult.State.AWAITING_APPROVAL]
    waiting = [r for r in open_results if r.state == RegionResult.State.AWAITING_APPROVAL]
    fan_out(request, late, "evaluate", base_url)
    fan_out(request, waiting, "status", base_url)
    request.refresh_from_db()
    return request
