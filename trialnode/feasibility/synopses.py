"""The synopsis of an inquiry: a PDF checked by its content and size, kept outside the web
root, read only by those who may, and every read recorded in the audit trail."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from trialnode.audit.models import AuditEvent
from trialnode.audit.trail import record_event
from trialnode.feasibility import conf
from trialnode.feasibility.models import Inquiry, Recipient
from trialnode.organisations.models import User

PDF_MAGIC = b"%PDF-"


STORED_SYNOPSIS = re.compile(r"^[0-9a-f]{32}\.pdf$")


def synopsis_dir() -> Path:
    """Outside the web root: under the data directory, never served as a static file."""
    folder = Path(settings.DATA_DIR) / "feasibility" / "synopses"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass(frozen=True)
class StoredSynopsis:
    name: str
    path: str
    size: int
    sha256: str


def synopsis_check_and_store(upload: UploadedFile) -> StoredSynopsis:
    """Keep a PDF of at most the configured size; anything else is refused with a reason."""
    limit = conf.SYNOPSIS_MAX_MB * 1024 * 1024
    name = Path(upload.name or "").name[:200]
    if upload.size is None or upload.size > limit:
        raise ValidationError(
            {"synopsis": _("The synopsis is larger than %(mb)s MB.") % {"mb": conf.SYNOPSIS_MAX_MB}}
        )
    if upload.size == 0:
        raise ValidationError({"synopsis": _("The synopsis file is empty.")})
    upload.seek(0)
    head = upload.read(len(PDF_MAGIC))
    if not name.lower().endswith(".pdf") or head != PDF_MAGIC:
        raise ValidationError({"synopsis": _("The synopsis must be a PDF file.")})
    upload.seek(0)
    target = synopsis_dir() / f"{uuid.uuid4().hex}.pdf"
    digest = hashlib.sha256()
    size = 0
    with target.open("wb") as out:
        for chunk in upload.chunks():
            size += len(chunk)
            if size > limit:
                out.close()
                target.unlink(missing_ok=True)
                raise ValidationError(
                    {
                        "synopsis": _("The synopsis is larger than %(mb)s MB.")
                        % {"mb": conf.SYNOPSIS_MAX_MB}
                    }
                )
            digest.update(chunk)
            out.write(chunk)
    return StoredSynopsis(name=name, path=target.name, size=size, sha256=digest.hexdigest())


def orphan_synopses_remove() -> int:
    """Remove synopsis files that no inquiry names (see ``core.orphans``)."""
    from trialnode.core.orphans import orphans_remove

    return orphans_remove(
        synopsis_dir(),
        pattern=STORED_SYNOPSIS,
        referenced=Inquiry.objects.values_list("synopsis_path", flat=True),
    )


def synopsis_file(inquiry: Inquiry) -> Path:
    return synopsis_dir() / Path(inquiry.synopsis_path).name


def synopsis_may_read(inquiry: Inquiry, user: User) -> bool:
    """The sponsor's members and the coordinators who handle the inquiry (recipients read
    it through their link)."""
    return (
        Inquiry.objects.of_sponsor(user).filter(pk=inquiry.pk).exists()
        or Inquiry.objects.handled_by(user).filter(pk=inquiry.pk).exists()
    )


def synopsis_open(
    *, inquiry: Inquiry, user: User | None = None, recipient: Recipient | None = None
):
    """Open the synopsis for reading and record the access in the audit trail."""
    if not inquiry.synopsis_path:
        raise ValidationError(_("This inquiry has no synopsis."))
    if recipient is None and (user is None or not synopsis_may_read(inquiry, user)):
        raise PermissionDenied(_("You may not read this synopsis."))
    if recipient is not None and recipient.inquiry_id != inquiry.pk:
        raise PermissionDenied(_("You may not read this synopsis."))
    handle = synopsis_file(inquiry).open("rb")
    with transaction.atomic():
        record_event(
            action=AuditEvent.Action.EXPORT,
            instance=inquiry,
            extra={
                "synopsis": inquiry.synopsis_name,
                "sha256": inquiry.synopsis_sha256,
                "read_by": f"recipient:{recipient.pk}" if recipient else "user",
                "recipient_unit": str(recipient.entry) if recipient else "",
            },
        )
    return handle
