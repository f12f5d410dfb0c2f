"""Writing and verifying the audit trail.

Each event's ``hash`` is HMAC-SHA256, keyed with the chain key (kept outside the
database, see ``keys``), over ``"{seq}|{prev_hash}|{payload}"``, where ``payload`` is
the event's canonical JSON. The chain head (one row) holds the last sequence number
and hash; advancing it takes that row's lock, which orders concurrent writers.

On PostgreSQL one event costs one statement: the writer computes the link from the
head it saw last and advances the head only if it is still that head (otherwise it
reads the head under its lock and tries again). Elsewhere the writer holds the
database's write lock (SQLite's immediate transactions). A batch of events advances
the head once.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from django.db import connection, models, transaction
from django.utils import timezone

from trialnode.audit import context, keys
from trialnode.audit.models import AuditChainHead, AuditedModel, AuditEvent
from trialnode.core.copyinsert import copy_rows

if TYPE_CHECKING:
    from trialnode.audit.checkpoints import Checkpoint

MASKED = "[masked]"
GENESIS = "0" * 64


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return MASKED
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def snapshot(instance: models.Model) -> dict[str, Any]:
    """The instance's concrete field values by column attribute name."""
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def loaded_values(instance: models.Model) -> dict[str, Any]:
    """Values as last read from or written to the database (read again if unknown)."""
    loaded = getattr(instance, "_audit_loaded", None)
    if loaded is not None and len(loaded) == len(instance._meta.concrete_fields):
        return loaded
    fresh = type(instance)._base_manager.filter(pk=instance.pk).first()
    return snapshot(fresh) if fresh is not None else {}


def _field_names(instance: models.Model) -> dict[str, str]:
    return {f.attname: f.name for f in instance._meta.concrete_fields}


def _diff(
    instance: AuditedModel,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    only: Iterable[str] | None = None,
) -> dict[str, list[Any]]:
    names = _field_names(instance)
    wanted = None
    if only is not None:
        wanted = {f.attname for f in instance._meta.concrete_fields if f.name in set(only)}
    changes: dict[str, list[Any]] = {}
    for attname, new in after.items():
        name = names[attname]
        if name in instance.audit_ignored_fields or (wanted is not None and attname not in wanted):
            continue
        old = before.get(attname)
        if old == new:
            continue
        if name in instance.audit_masked_fields:
            changes[name] = [MASKED if old not in (None, "") else None, MASKED]
        else:
            changes[name] = [_plain(old), _plain(new)]
    return changes


def _object_type(instance: models.Model) -> str:
    return instance._meta.label_lower


def _actor_fields(actor: Any) -> dict[str, Any]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return {"id": None, "name": "", "roles": ""}
    assignments = getattr(actor, "_active_assignments", [])
    roles = "; ".join(
        f"{a.role}@{(a.region or a.node or a.care_provider or '-')}" for a in assignments
    )
    return {"id": actor.pk, "name": actor.get_full_name() or actor.get_username(), "roles": roles}


@dataclass(frozen=True)
class Entry:
    action: str
    object_type: str
    object_id: str
    payload: str
    actor_id: int | None
    occurred_at: dt.datetime

    def event_values(self) -> tuple:
        """The event's own columns, in the order of ``EVENT_COLUMNS`` (between the
        sequence number and the hashes)."""
        return (
            self.occurred_at,
            self.actor_id,
            self.action,
            self.object_type,
            self.object_id,
            self.payload,
        )


def _entry(
    *,
    action: str,
    object_type: str,
    object_id: Any,
    object_repr: str = "",
    changes: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    actor: Any = None,
) -> Entry:
    ctx = context.current()
    actor = actor if actor is not None else ctx.actor
    actor_fields = _actor_fields(actor)
    occurred_at = timezone.now()
    body = {
        "action": action,
        "actor": actor_fields,
        "changes": dict(changes or {}),
        "ip": ctx.ip,
        "object": {
            "id": "" if object_id is None else str(object_id),
            "repr": object_repr[:300],
            "type": object_type,
        },
        "occurred_at": occurred_at.isoformat(),
        "reason": ctx.reason,
        "request_id": ctx.request_id,
        "via": ctx.via,
        **dict(extra or {}),
    }
    payload = json.dumps(_plain(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return Entry(
        action, object_type, body["object"]["id"], payload, actor_fields["id"], occurred_at
    )


def link_hash(seq: int, prev_hash: str, payload: str) -> str:
    message = f"{seq}|{prev_hash}|{payload}".encode()
    return hmac.new(keys.chain_key(), message, hashlib.sha256).hexdigest()


_POSTGRES_APPEND = """
WITH head AS (
    UPDATE audit_auditchainhead
    SET seq = %s, prev = hash, hash = %s
    WHERE id = 1 AND seq = %s AND hash = %s
    RETURNING seq, prev, hash
)
INSERT INTO audit_auditevent
    (seq, occurred_at, actor_id, action, object_type, object_id, payload, prev_hash, hash)
SELECT head.seq, %s, %s, %s, %s, %s, %s, head.prev, head.hash FROM head
"""

# The head each database connection last wrote: a guess that saves reading the head
# under its lock. A wrong guess (another writer, a rolled-back transaction) only costs
# the locked read.
_last_head: dict[str, tuple[int, str]] = {}


# The entries of an ``appends_gathered`` block, added at its end; None outside one.
_gathered: ContextVar[list[Entry] | None] = ContextVar("audit_gathered", default=None)


@contextmanager
def appends_gathered() -> Iterator[None]:
    """Inside the block, which must be in a transaction, the events of every save are
    gathered and added to the chain together when it ends: one advance of the head, whose
    lock is then held only from there to the commit (a registry import updates hundreds
    of studies one by one). An error in the block adds nothing: its transaction is to be
    rolled back. So the block must not roll back part of its work and go on (a savepoint
    caught inside it): the events of that part would still be added. In an outer block,
    an inner one leaves its events to the outer's end."""
    if _gathered.get() is not None:
        yield
        return
    if not connection.in_atomic_block:
        raise transaction.TransactionManagementError(
            "Events are gathered only in a transaction, with the changes they record."
        )
    gathered: list[Entry] = []
    token = _gathered.set(gathered)
    try:
        yield
    finally:
        _gathered.reset(token)
    append(gathered)


def append(entries: list[Entry]) -> None:
    """Add entries to the chain, inside the caller's transaction (at the end of the
    ``appends_gathered`` block the caller is in, if any)."""
    if not entries:
        return
    gathered = _gathered.get()
    if gathered is not None:
        gathered.extend(entries)
        return
    with transaction.atomic(savepoint=False):
        if (
            connection.vendor == "postgresql"
            and len(entries) == 1
            and _append_one_on_guessed_head(entries[0])
        ):
            return
        head = AuditChainHead.objects.select_for_update().filter(pk=1).first() or _create_head()
        seq, previous = head.seq, head.hash
        # Rows in the order of EVENT_COLUMNS.
        rows = []
        for entry in entries:
            seq += 1
            digest = link_hash(seq, previous, entry.payload)
            rows.append((seq, *entry.event_values(), previous, digest))
            previous_hash_for_head, previous = previous, digest
        if connection.vendor == "postgresql":
            copy_rows(AuditEvent._meta.db_table, EVENT_COLUMNS, rows)
        else:
            AuditEvent.objects.bulk_create(
                [AuditEvent(**dict(zip(EVENT_COLUMNS, row, strict=True))) for row in rows],
                batch_size=1000,
            )
        AuditChainHead.objects.filter(pk=1).update(
            seq=seq, hash=previous, prev=previous_hash_for_head
        )
        _last_head[connection.alias] = (seq, previous)


def _append_one_on_guessed_head(entry: Entry) -> bool:
    guess = _last_head.get(connection.alias)
    if guess is None:
        return False
    seq, previous = guess[0] + 1, guess[1]
    digest = link_hash(seq, previous, entry.payload)
    with connection.cursor() as cursor:
        cursor.execute(
            _POSTGRES_APPEND,
            [seq, digest, guess[0], previous, *entry.event_values()],
        )
        written = cursor.rowcount == 1
    if written:
        _last_head[connection.alias] = (seq, digest)
    else:
        _last_head.pop(connection.alias, None)
    return written


EVENT_COLUMNS = (
    "seq",
    "occurred_at",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "payload",
    "prev_hash",
    "hash",
)


def _create_head() -> AuditChainHead:
    """Start the chain; refused (unique sequence) if events exist without a head."""
    if AuditEvent.objects.exists():
        raise RuntimeError("The audit chain head is missing while events exist.")
    head, _created = AuditChainHead.objects.get_or_create(pk=1)
    return head


def _state_extra(instance: AuditedModel, changes: Mapping[str, list[Any]]) -> dict[str, Any]:
    for name in instance.audit_state_fields:
        if name in changes:
            old, new = changes[name]
            return {"field": name, "from_state": old, "to_state": new}
    return {}


def record_created(instance: AuditedModel) -> None:
    append([_created_entry(instance)])


def _created_entry(instance: AuditedModel) -> Entry:
    changes = _diff(instance, {}, snapshot(instance))
    return _entry(
        action=AuditEvent.Action.CREATE,
        object_type=_object_type(instance),
        object_id=instance.pk,
        object_repr=str(instance),
        changes=changes,
    )


def record_many_created(instances: Iterable[AuditedModel]) -> None:
    append([_created_entry(instance) for instance in instances])


def record_change(
    instance: AuditedModel,
    before: Mapping[str, Any],
    update_fields: Iterable[str] | None = None,
) -> None:
    changes = _diff(instance, before, snapshot(instance), only=update_fields)
    if not changes:
        return
    extra = _state_extra(instance, changes)
    action = AuditEvent.Action.TRANSITION if extra else AuditEvent.Action.UPDATE
    append(
        [
            _entry(
                action=action,
                object_type=_object_type(instance),
                object_id=instance.pk,
                object_repr=str(instance),
                changes=changes,
                extra=extra,
            )
        ]
    )


def record_deleted(instance: AuditedModel) -> None:
    changes = {
        name: [value[1], None] for name, value in _diff(instance, {}, snapshot(instance)).items()
    }
    append(
        [
            _entry(
                action=AuditEvent.Action.DELETE,
                object_type=_object_type(instance),
                object_id=instance.pk,
                object_repr=str(instance),
                changes=changes,
            )
        ]
    )


def record_event(
    *,
    action: str,
    instance: models.Model | None = None,
    object_type: str = "",
    object_id: Any = "",
    extra: Mapping[str, Any] | None = None,
    changes: Mapping[str, Any] | None = None,
    actor: Any = None,
) -> None:
    """An event that is not a row change: a login, a signature, an export."""
    append(
        [
            _entry(
                action=action,
                object_type=_object_type(instance) if instance is not None else object_type,
                object_id=instance.pk if instance is not None else object_id,
                object_repr=str(instance) if instance is not None else "",
                changes=changes,
                extra=extra,
                actor=actor,
            )
        ]
    )


@dataclass(frozen=True)
class VerifyResult:
    events: int
    broken_seq: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_seq is None


def verify(*, chunk_size: int = 10_000, checkpoints: Sequence[Checkpoint] = ()) -> VerifyResult:
    """Walk the chain in order; report the first changed, deleted or inserted event, and
    any of ``checkpoints`` (signed, from outside the database) the trail no longer holds."""
    expected_seq, previous = 0, GENESIS
    at_checkpoint = {c.events: c for c in checkpoints}
    rows = (
        AuditEvent.objects.order_by("seq")
        .values_list(*EVENT_COLUMNS)
        .iterator(chunk_size=chunk_size)
    )
    count = 0
    for seq, occurred_at, actor_id, action, object_type, object_id, payload, prev, digest in rows:
        count += 1
        expected_seq += 1
        if seq != expected_seq:
            kind = "missing" if seq > expected_seq else "inserted"
            return VerifyResult(count, expected_seq, f"event {expected_seq} is {kind}")
        if prev != previous:
            return VerifyResult(count, seq, f"event {seq} does not link to event {seq - 1}")
        if not hmac.compare_digest(link_hash(seq, prev, payload), digest):
            return VerifyResult(count, seq, f"event {seq} was changed (hash mismatch)")
        body = orjson.loads(payload)
        if (
            body["action"] != action
            or body["object"]["type"] != object_type
            or body["object"]["id"] != object_id
            or body["actor"]["id"] != actor_id
            or body["occurred_at"] != occurred_at.isoformat()
        ):
            return VerifyResult(count, seq, f"event {seq} was changed (columns differ)")
        checkpoint = at_checkpoint.get(seq)
        if checkpoint is not None and checkpoint.head != digest:
            return VerifyResult(
                count,
                seq,
                f"event {seq} differs from the checkpoint of {checkpoint.created_at} "
                "(the trail was rewritten)",
            )
        previous = digest
    longest = max((c for c in checkpoints), key=lambda c: c.events, default=None)
    if longest is not None and longest.events > expected_seq:
        return VerifyResult(
            count,
            expected_seq + 1,
            f"the trail ends at event {expected_seq} but the checkpoint of "
            f"{longest.created_at} recorded {longest.events} events (events were removed)",
        )
    head = AuditChainHead.objects.filter(pk=1).values_list("seq", "hash").first()
    if head is None or tuple(head) != (expected_seq, previous):
        return VerifyResult(
            count,
            expected_seq + 1,
            "the chain head does not match the last event (events were removed from the end)",
        )
    return VerifyResult(count)


_SCALARS = frozenset({str, int, bool})


def created_entries(instances: Iterable[AuditedModel]) -> list[Entry]:
    """The creation events of rows written together in one transaction, built in one pass.

    Each payload is the one ``record_created`` would write for the row at the same
    moment; the context, the actor and the time are read once for all of them. Pass the
    entries to ``append`` (with those of the rest of the batch) to advance the chain once.
    """
    ctx = context.current()
    occurred_at = timezone.now()
    common = _plain(
        {
            "action": AuditEvent.Action.CREATE.value,
            "actor": _actor_fields(ctx.actor),
            "ip": ctx.ip,
            "occurred_at": occurred_at.isoformat(),
            "reason": ctx.reason,
            "request_id": ctx.request_id,
            "via": ctx.via,
        }
    )
    actor_id = common["actor"]["id"]
    columns: dict[type, tuple[str, list[tuple[str, str, bool]]]] = {}
    entries = []
    for instance in instances:
        model = type(instance)
        described = columns.get(model)
        if described is None:
            described = columns[model] = (
                _object_type(instance),
                [
                    (f.attname, f.name, f.name in instance.audit_masked_fields)
                    for f in instance._meta.concrete_fields
                    if f.name not in instance.audit_ignored_fields
                ],
            )
        object_type, fields = described
        changes: dict[str, list[Any]] = {}
        for attname, name, masked in fields:
            value = getattr(instance, attname)
            if value is not None:
                changes[name] = [
                    None,
                    MASKED if masked else value if type(value) in _SCALARS else _plain(value),
                ]
        object_id = "" if instance.pk is None else str(instance.pk)
        body = {
            **common,
            "changes": changes,
            "object": {"id": object_id, "repr": str(instance)[:300], "type": object_type},
        }
        # The same canonical JSON as json.dumps(sort_keys, compact, unescaped) gives.
        payload = orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode()
        entries.append(
            Entry(AuditEvent.Action.CREATE, object_type, object_id, payload, actor_id, occurred_at)
        )
    return entries
