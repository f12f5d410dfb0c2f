"""The two keys of the trail, both kept outside the database.

The chain key (HMAC-SHA256) links the events: someone who can write to the database but
does not hold the key cannot recompute the chain after a change. The signing key
(Ed25519) signs checkpoints of the chain head, written outside the database.

Each comes from a setting (``TRIALNODE_AUDIT_KEY``, ``TRIALNODE_AUDIT_SIGNING_KEY``; both
may be read from ``*_FILE``), or else from a file in the data directory, created with
mode 0600 on first use.
"""

from __future__ import annotations

import base64
import functools
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _key_file(name: str, make: bytes) -> bytes:
    path = Path(settings.DATA_DIR) / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with path.open("xb") as out:
                path.chmod(0o600)
                out.write(make)
        except FileExistsError:
            pass
    return path.read_bytes().strip()


@functools.cache
def chain_key() -> bytes:
    configured = settings.TRIALNODE_AUDIT_KEY
    if configured:
        key = configured.encode()
    else:
        key = _key_file("audit_chain_key", secrets.token_urlsafe(48).encode())
    if len(key) < 32:
        raise ImproperlyConfigured("TRIALNODE_AUDIT_KEY must be at least 32 characters long.")
    return key


@functools.cache
def signing_key() -> Ed25519PrivateKey:
    configured = settings.TRIALNODE_AUDIT_SIGNING_KEY
    if configured:
        pem = configured.encode()
    else:
        pem = _key_file(
            "audit_signing_key.pem",
            Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except ValueError as exc:
        raise ImproperlyConfigured(f"TRIALNODE_AUDIT_SIGNING_KEY is not a PEM key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured("TRIALNODE_AUDIT_SIGNING_KEY must be an Ed25519 private key.")
    return key


def public_key() -> Ed25519PublicKey:
    return signing_key().public_key()


def public_key_text() -> str:
    """The verifying key as one line, for auditors to keep beside the checkpoints."""
    raw = public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def forget() -> None:
    """Read the keys again on next use (after the settings changed, in tests)."""
    chain_key.cache_clear()
    signing_key.cache_clear()
