"""Attachments on disk: PDF only, size-checked, under ``TRIALNODE_DATA_DIR`` (never the web
root), named by a random key; read back only through the view that checks the case."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from trialnode.env import env_int

PDF_MAGIC = b"%PDF-"
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.pdf$")


def max_bytes() -> int:
    return env_int("TRIALNODE_DATAREQUEST_MAX_ATTACHMENT_MB", 20) * 1024 * 1024


def folder() -> Path:
    path = Path(settings.DATA_DIR) / "datarequests" / "attachments"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class Stored:
    name: str
    size: int
    sha256: str


def display_name(name: str) -> str:
    base = Path(name).name
    return re.sub(r"[^\w. ()-]+", "_", base)[-200:] or "dokument.pdf"


def store_pdf(upload: UploadedFile) -> Stored:
    """Check the upload is a PDF within the size limit and write it under a random name."""
    limit = max_bytes()
    if not (upload.name or "").lower().endswith(".pdf"):
        raise ValidationError({"file": _("Only PDF files can be attached.")})
    if upload.size is None or upload.size > limit:
        raise ValidationError(
            {"file": _("The file is larger than %(mb)d MB.") % {"mb": limit // 1024 // 1024}}
        )
    first = b""
    digest = hashlib.sha256()
    name = f"{uuid.uuid4().hex}.pdf"
    target = folder() / name
    size = 0
    try:
        with target.open("xb") as out:
            for chunk in upload.chunks():
                if not first:
                    first = chunk[:5]
                size += len(chunk)
                if size > limit:
                    raise ValidationError(
                        {
                            "file": _("The file is larger than %(mb)d MB.")
                            % {"mb": limit // 1024 // 1024}
                        }
                    )
                digest.update(chunk)
                out.write(chunk)
        if not first.startswith(PDF_MAGIC):
            raise ValidationError(
                {"file": _("The file is not a PDF (its content says otherwise).")}
            )
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return Stored(name=name, size=size, sha256=digest.hexdigest())


def path_of(stored_name: str) -> Path:
    if not STORED_NAME.match(stored_name):
        raise FileNotFoundError(stored_name)
    return folder() / stored_name


def remove(stored_name: str) -> None:
    path_of(stored_name).unlink(missing_ok=True)


def orphans_remove() -> int:
    """Remove attachment files that no attachment names (see ``core.orphans``)."""
    from trialnode.core.orphans import orphans_remove as remove_unreferenced
    from trialnode.datarequests.models import Attachment

    return remove_unreferenced(
        folder(),
        pattern=STORED_NAME,
        referenced=Attachment.objects.values_list("stored_name", flat=True),
    )
