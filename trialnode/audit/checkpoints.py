"""Signed checkpoints of the chain head, kept outside the database.

A checkpoint says: at this time the trail held this many events and the last one had
this hash. It is signed with the Ed25519 signing key and written as a JSON file to the
checkpoint directory (``TRIALNODE_AUDIT_CHECKPOINT_DIR``), and mailed to the addresses in
``TRIALNODE_AUDIT_CHECKPOINT_MAIL`` when there are any. Someone who rewrites, shortens or
empties the trail in the database cannot make it agree with the checkpoints written
before without the chain key, and cannot write a new checkpoint without the signing key.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from trialnode.audit import keys
from trialnode.audit.models import AuditChainHead

FORMAT = "trialnode-audit-checkpoint/1"


@dataclass(frozen=True)
class Checkpoint:
    events: int
    head: str
    created_at: str
    path: Path | None = None

    def signed_text(self) -> bytes:
        body = {
            "format": FORMAT,
            "events": self.events,
            "head": self.head,
            "created_at": self.created_at,
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


class CheckpointError(Exception):
    """A checkpoint file that cannot be read or whose signature is not ours."""


def checkpoint_dir() -> Path:
    folder = settings.TRIALNODE_AUDIT_CHECKPOINT_DIR
    return Path(folder) if folder else Path(settings.DATA_DIR) / "audit-checkpoints"


def checkpoint_write() -> Checkpoint:
    """Sign the current head and write it to the checkpoint directory (and mail it)."""
    with transaction.atomic():
        # The head row's lock: no event is added between reading and signing the head.
        head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
        seq, digest = (head.seq, head.hash) if head is not None else (0, "0" * 64)
        checkpoint = Checkpoint(
            events=seq, head=digest, created_at=timezone.now().isoformat(timespec="microseconds")
        )
    signature = keys.signing_key().sign(checkpoint.signed_text())
    document = {
        **json.loads(checkpoint.signed_text()),
        "signature": base64.b64encode(signature).decode(),
        "public_key": keys.public_key_text(),
    }
    folder = checkpoint_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = checkpoint.created_at.replace(":", "").replace("+", "Z").replace(".", "-")
    path = folder / f"checkpoint-{checkpoint.events:012d}-{stamp}.json"
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    recipients = settings.TRIALNODE_AUDIT_CHECKPOINT_MAIL
    if recipients:
        send_mail(
            subject=f"trialnode audit checkpoint: {checkpoint.events} events",
            message=(
                "Keep this message: it lets an audit of the trail show that no event up to "
                "this one was changed or removed later (trialnode audit verify).\n\n" + text
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=list(recipients),
        )
    return Checkpoint(checkpoint.events, checkpoint.head, checkpoint.created_at, path)


def read_checkpoint(path: Path) -> Checkpoint:
    """The checkpoint in ``path``, refused unless our signing key signed it."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        checkpoint = Checkpoint(
            events=int(document["events"]),
            head=str(document["head"]),
            created_at=str(document["created_at"]),
            path=path,
        )
        signature = base64.b64decode(document["signature"], validate=True)
        if document.get("format") != FORMAT:
            raise ValueError(f"unknown format {document.get('format')!r}")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path.name} cannot be read: {exc}") from exc
    try:
        keys.public_key().verify(signature, checkpoint.signed_text())
    except InvalidSignature:
        raise CheckpointError(f"{path.name} is not signed with this node's key") from None
    return checkpoint


def all_checkpoints() -> list[Checkpoint]:
    """Every checkpoint in the directory, oldest first; raises on any that is not ours."""
    folder = checkpoint_dir()
    if not folder.is_dir():
        return []
    found = [read_checkpoint(path) for path in sorted(folder.glob("checkpoint-*.json"))]
    return sorted(found, key=lambda c: (dt.datetime.fromisoformat(c.created_at), c.events))
